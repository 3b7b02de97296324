"""How the tools' boto3 clients behave, and how their errors read.

``credentials.client_for`` makes every client of the tools (each environment in its own
account) with :func:`client_config`; AWS errors are read by ``error_code`` and
``status_code`` (defined with the error tree in ``bbws_mail.errors``, re-exported here
for the publish modules).
"""

from __future__ import annotations

from typing import Any

from bbws_mail.errors import error_code, status_code

__all__ = ["client_config", "error_code", "status_code"]


def client_config() -> Any:
    """The botocore Config every client of the tools uses: standard retries (4 attempts,
    with backoff), short timeouts, checksums only where an operation asks for them (the
    publisher sets SHA-256 itself)."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "total_max_attempts": 4},
        connect_timeout=5,
        read_timeout=30,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
