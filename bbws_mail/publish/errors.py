"""Publishing errors: each says what was (not) changed, so an operator knows where things stand."""

from bbws_mail.errors import BBWSMailError


class PublishError(BBWSMailError):
    """A publish, promote or rollback did not happen; readers still see the previous version."""


class PreflightError(PublishError):
    """The bucket is not safe to publish to (versioning off, public access open, ...)."""


class PublishConflictError(PublishError):
    """Another publisher changed the manifest between our read and our write."""


class ApprovalError(PublishError):
    """A write to an environment that requires approval (prod) came without it."""


class BreakingChangeError(PublishError):
    """The new build's schemas reject data the live build accepts (producers would break)."""
