"""Every exception of the toolkit, in one tree: catch ``BBWSMailError`` for any failure.

Each class is defined here and nowhere else; modules raise them and re-export the ones
their callers catch. Messages name the file:line, JSON path, key or template, and
describe values (type and length) rather than copy them, because the people reading
them are designers fixing a template, Lambda authors fixing a payload and operators,
and values may be customers' secrets. A test holds this drawing to the classes::

    BBWSMailError
    ├── TemplateDataError        render data does not match the schema (.problems)
    ├── UnknownTemplateError     the name is not in the build (lists the known ones)
    ├── MessageError             a message cannot be written safely (recipient, header value)
    ├── FormattingError          a value the formatting helpers cannot show
    ├── SourceError              compiled templates could not be loaded
    │   ├── BrokenTemplateError  a template of the build is not a usable template
    │   ├── BuildLayoutError     build/ is not what docs/build-layout.md says (rebuild)
    │   ├── LayoutError          a bucket object is not what docs/s3-layout.md says
    │   ├── ManifestRefused      the bucket's pointer cannot be used here
    │   ├── S3Unavailable        S3 did not answer usefully (network, 5xx, access denied)
    │   └── SourceNameError      source= names no known kind of source
    ├── SendError                sending failed
    │   ├── PermanentSendError   retrying cannot help: drop after logging
    │   │   └── RejectedAddressError
    │   └── RetryableSendError   throttling, 5xx, network: try again later
    │       └── DeploymentError  the deployment cannot send (identity, sandbox, credentials)
    ├── BadMessageError          an SQS message body that is not a JSON object (dropped)
    ├── ConfigError              bbws-mail.toml cannot be used (file:line and the fix)
    ├── TemplateError            a template source cannot be built (file:line)
    ├── BuildError               a build failed (.errors lists every TemplateError)
    │   └── TemplateBuildFailed  one template does not build (.findings, for the tools)
    ├── ScaffoldError            `bbws-mail new` cannot write the template; nothing changed
    ├── PackageError             the Lambda zip cannot be made
    ├── ToolError                SpamAssassin is missing or failed (bbws-mail check)
    ├── VisualError              the visual regression cannot run or update as asked
    └── PublishError             a publish, promote or rollback did not happen
        ├── ApprovalError        a prod change without approval
        ├── BreakingChangeError  the new schemas reject data the live build accepts
        ├── CredentialsError     no credentials for the environment
        ├── PreflightError       the bucket is not safe to publish to
        └── PublishConflictError another publisher moved the pointer first

Some also derive from the built-in a caller would catch without knowing the toolkit
(``KeyError`` for an unknown template, ``ValueError`` for bad data, settings or names).
An AWS error (botocore's) is read here too, by ``error_code`` and ``status_code`` only.
"""

from __future__ import annotations

from bbws_mail._namedtuple import NamedTuple
from bbws_mail.names import shown

TYPE_CHECKING = False  # typing is not imported at run time: see bbws_mail._namedtuple
if TYPE_CHECKING:
    from typing import Any


class BBWSMailError(Exception):
    """Base class: catch this to handle any bbws-mail failure.

    Errors cross process boundaries (process pools, multiprocessing, Lambda
    extensions), so every subclass pickles: the default ``Exception`` pickling
    calls ``cls(*args)`` with the formatted message, which breaks any subclass
    whose ``__init__`` takes structured arguments. Instead the instance is rebuilt
    from its message and attributes, without calling ``__init__`` again.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.__class__, self.args, self.__dict__))


def _rebuild(cls: type[BBWSMailError], args: tuple[Any, ...], state: dict[str, Any]
             ) -> BBWSMailError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` ('' for anything else).

    The one place an AWS error is read: botocore's network errors carry
    ``response=None``, not a dict, and a test double may carry anything.
    """
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        if isinstance(error, dict):
            return str(error.get("Code", "") or "")
    return ""


def status_code(exc: BaseException) -> int:
    """The HTTP status of a botocore ``ClientError`` (0 for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        meta = response.get("ResponseMetadata")
        if isinstance(meta, dict):
            try:
                return int(meta.get("HTTPStatusCode", 0) or 0)
            except (TypeError, ValueError):
                return 0
    return 0


class Location(NamedTuple):
    """A place in a source file; ``line`` and ``column`` are 1-based.

    NamedTuple rather than a dataclass: ``dataclasses`` costs ~12 ms of import
    time, which a Lambda cold start pays for nothing.
    """

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        if not self.column:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


class TemplateError(BBWSMailError):
    """A template source cannot be built: the message starts with file:line."""

    def __init__(self, location: Location | str, message: str, hint: str = "") -> None:
        self.location = location
        self.message = message
        self.hint = hint
        text = f"{location}: {message}"
        if hint:
            text += f" (hint: {hint})"
        super().__init__(text)


class BuildError(BBWSMailError):
    """A build failed; ``errors`` holds every problem found, not just the first."""

    def __init__(self, errors: list[TemplateError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class UnknownTemplateError(BBWSMailError, KeyError):
    """The template name is not in the build; the message lists the known ones.

    The name may come from data (a queue message's body), so it is shown only when it
    looks like a template name; anything else is described by its type and length.
    """

    def __init__(self, name: Any, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown template {shown(name)}; known templates: "
                         f"{', '.join(sorted(known))}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class DataProblem(NamedTuple):
    """One reason why render data does not match the template's schema."""

    path: str  # JSON path, e.g. "$.items[2].unitPrice"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# How many problems a TemplateDataError message lists; the rest are counted. A Lambda
# logs the message, and a payload with a million bad values must not make a huge log.
SHOWN_PROBLEMS = 20


class TemplateDataError(BBWSMailError, ValueError):
    """Render data does not match the schema; ``problems`` lists the mismatches.

    Messages describe values (JSON path, rule, type and length), never quote them:
    the data is customers' and may hold secrets. ``more`` counts problems found
    beyond those kept in ``problems``.
    """

    def __init__(self, template: str, problems: list[DataProblem], more: int = 0) -> None:
        self.template = template
        self.problems = problems
        self.more = more
        total = len(problems) + more
        shown = problems[:SHOWN_PROBLEMS]
        lines = "\n".join(f"  {p}" for p in shown)
        hidden = total - len(shown)
        if hidden:
            lines += f"\n  ... and {hidden} more"
        super().__init__(f"data for template {template!r} has {total} problem(s):\n{lines}")


class MessageError(BBWSMailError, ValueError):
    """A message cannot be written safely: an impossible recipient, sender or header value."""


class ConfigError(BBWSMailError, ValueError):
    """``bbws-mail.toml`` cannot be used: the message starts with file:line and says the fix."""


class SourceError(BBWSMailError):
    """Compiled templates could not be loaded (missing build, unreachable bucket, bad manifest)."""


class BuildLayoutError(SourceError):
    """A ``build/`` folder is not what this version writes (docs/build-layout.md): missing,
    unreadable, of another format, or a file that does not match its hash. Rebuilding
    fixes it (``bbws_mail.buildlayout``)."""


class BrokenTemplateError(SourceError):
    """A template of the build cannot be read or compiled: its files are not a template.

    Raised on every render of it (templates from S3 are data: whoever can write the
    bucket decides them). The message names the template, where the build came from
    and the kind of failure, never the files' text.
    """

    def __init__(self, name: str, origin: str, cause: BaseException) -> None:
        self.name = name
        self.origin = origin
        super().__init__(f"template {name!r} of the build at {origin or '?'} cannot be used: "
                         f"{type(cause).__name__} while reading or compiling it; publish a "
                         "build made by `bbws-mail build`")


class ManifestRefused(SourceError):
    """The bucket's manifest cannot be used here (another environment's, or malformed)."""


class S3Unavailable(SourceError):
    """S3 did not answer usefully (network, timeout, throttling, 5xx, access denied)."""


class SourceNameError(SourceError):
    """``source=`` named no known kind of source; the message says what is wrong with it."""


class LayoutError(SourceError):
    """An object in the bucket is not what the layout says it must be.

    The message names the key and the rule broken, never the object's content.
    """


class FormattingError(BBWSMailError, ValueError):
    """A value cannot be shown as asked; the message says what kind of value is expected.

    Every failure of the formatting helpers is one (a Decimal past the decimal context, a
    date at the calendar's edge), so a handler catching the project's errors catches them.
    """


class SendError(BBWSMailError):
    """Sending failed; see the subclasses for what to do about it."""


class PermanentSendError(SendError):
    """Retrying cannot help: drop the message (after logging it)."""


class RejectedAddressError(PermanentSendError):
    """A recipient address is malformed, or every recipient was refused."""


class RetryableSendError(SendError):
    """Throttling, a server or network failure: try again later."""


class DeploymentError(RetryableSendError):
    """The deployment cannot send (From, identity, sandbox, configuration set, credentials,
    Sender-level tags): raised by ``Sender()`` where it can be seen, else retried (never
    dropped) until an operator fixes it; the message says what to fix."""


class BadMessageError(BBWSMailError, ValueError):
    """An SQS message body that is not a JSON object (permanent: dropped)."""


class TemplateBuildFailed(BuildError):
    """One template does not build; what the stages that did run found stays available.

    ``bbws-mail check`` reports ``findings`` (rule findings, with the allow-list applied)
    instead of re-running the stages, and reads MRML's HTML from ``mrml_html`` when the
    source compiled. ``spliced`` is the spliced source, when splicing worked. (They are
    typed loosely: this module is the bottom layer and knows no pipeline types.)
    """

    def __init__(self, errors: list[TemplateError], findings: list[Any],
                 spliced: Any = None, mrml_html: str = "") -> None:
        super().__init__(errors)
        self.findings = findings
        self.spliced = spliced
        self.mrml_html = mrml_html


class ScaffoldError(BBWSMailError, ValueError):
    """The scaffold cannot be written; nothing was changed."""


class PackageError(BBWSMailError):
    """The Lambda zip cannot be made; the message says why and what to run."""


class ToolError(BBWSMailError):
    """A program a command runs (SpamAssassin) is missing or failed; the message says which
    and how to install it."""


class VisualError(BBWSMailError):
    """The visual regression cannot run as asked: no Chromium, unreadable baselines, or an
    ``--update`` that would re-bless shots it was not asked to (the message says the way on).
    """


class PublishError(BBWSMailError):
    """A publish, promote or rollback did not happen; readers still see the previous version.

    Each message says what was (not) changed, so an operator knows where things stand.
    """


class PreflightError(PublishError):
    """The bucket is not safe to publish to (versioning off, public access open, ...)."""


class PublishConflictError(PublishError):
    """Another publisher changed the manifest between our read and our write."""


class ApprovalError(PublishError):
    """A write to an environment that requires approval (prod) came without it."""


class BreakingChangeError(PublishError):
    """The new build's schemas reject data the live build accepts (producers would break)."""


class CredentialsError(PublishError):
    """The credentials for an environment could not be obtained; nothing was changed."""
