"""The boto3 S3 client, configured the boto3 way (profiles, env vars, AWS_ENDPOINT_URL)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bbws_mail.config import EnvConfig


def make_client(*, region: str | None = None, endpoint_url: str | None = None,
                profile: str | None = None) -> Any:
    """An S3 client with botocore's standard retry mode (4 attempts, with backoff).

    Credentials, profile and endpoint come from the usual boto3 sources; an
    explicit ``endpoint_url`` (or ``AWS_ENDPOINT_URL``) points at a local server.
    """
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(profile_name=profile or os.environ.get("AWS_PROFILE") or None)
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 4},
        connect_timeout=5,
        read_timeout=30,
        # Only send/verify checksums when an operation asks for them: we set SHA-256 ourselves.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return session.client(
        "s3",
        region_name=region or session.region_name or "af-south-1",
        endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL") or None,
        config=config,
    )


def error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def status_code(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def client_for(env: EnvConfig) -> Any:
    """The one way the publisher gets a client for an environment's bucket.

    Each environment lives in its own AWS account, so every read and write of an
    environment goes through the client this returns for it (promote reads with the
    source's and writes with the target's).
    """
    return make_client(region=env.region)
