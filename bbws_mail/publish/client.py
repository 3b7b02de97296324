"""boto3 clients: the tools' per environment (``client_for``, each in its own account) and
the S3 reader's (``make_client``, configured the boto3 way: profiles, env vars,
AWS_ENDPOINT_URL)."""

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

    session = boto3.session.Session(profile_name=profile or os.environ.get("AWS_PROFILE") or None)
    config = client_config()
    return session.client(
        "s3",
        region_name=region or session.region_name or "af-south-1",
        endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL") or None,
        config=config,
    )


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


def client_for(env: EnvConfig, service: str = "s3", region: str | None = None) -> Any:
    """A client for ``service`` acting in ``env``'s own account (its profile and/or assumed
    role), in ``region`` (default: the environment's own; ``env.replica_region`` for its
    replica).

    Every command gets its clients here; ``promote`` asks once per side, ``status`` and
    ``bucket check`` once per environment and region.
    """
    from bbws_mail.publish import credentials

    return credentials.client_for(env, service, region)


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

