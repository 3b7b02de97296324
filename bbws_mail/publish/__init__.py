"""Publishing ``build/`` to the S3 buckets ``bbws-templates-<env>`` (needs the ``[publish]`` extra).

The layout is docs/s3-layout.md: immutable content-addressed bundles and build
manifests, one pointer ``manifest.json`` written last and conditionally, immutable
history records, and collection of what no kept build references.
"""

from bbws_mail.errors import (
    ApprovalError,
    BreakingChangeError,
    PreflightError,
    PublishConflictError,
    PublishError,
)
from bbws_mail.publish.publisher import Publisher, promote

__all__ = ["ApprovalError", "BreakingChangeError", "PreflightError", "PublishConflictError",
           "PublishError", "Publisher", "promote"]
