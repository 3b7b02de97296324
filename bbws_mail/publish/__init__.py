"""Publishing ``build/`` to the S3 buckets ``bbws-templates-<env>`` (needs the ``[publish]`` extra).

Readers trust exactly one object, ``manifest.json``, which pins the S3 VersionId
of every file. Publishing uploads new object versions first (invisible to
readers) and writes the manifest last with a conditional PUT, so a Lambda sees
the complete old version or the complete new one, never a mix.
"""

from bbws_mail.publish.errors import PreflightError, PublishConflictError, PublishError
from bbws_mail.publish.publisher import Publisher

__all__ = ["PreflightError", "PublishConflictError", "PublishError", "Publisher"]
