"""Credentials per environment: each environment lives in its own AWS account.

Every command gets its boto3 clients here, so that ``promote --from dev --to sit`` reads
dev with dev's credentials and writes sit with sit's, and no bucket policy has to open one
account to another. An environment names how to reach its account in ``bbws-mail.toml``:

- ``profile``: a named AWS profile (SSO, keys, or a profile that itself assumes a role);
- ``role_arn`` (+ ``external_id``): a role assumed through STS from the base credentials
  (the profile, or the usual boto3 chain: environment, OIDC web identity in CI, ...).

Assumed-role credentials are refreshed by botocore before they expire (its
``DeferredRefreshableCredentials``, the same machinery a ``role_arn`` profile uses), so a
long publish never fails half-way on an expired token. When the base credentials already
are the environment's role (the CI job of that environment assumed it through OIDC), no
second AssumeRole is made: a role usually may not assume itself.

Sessions and clients are cached per process (a client costs 150-200 ms to create).
boto3 is imported lazily: this module is never on a Lambda's render path.
"""

from __future__ import annotations

import getpass
import os
import re
import threading
from typing import Any

from bbws_mail.config import EnvConfig
from bbws_mail.errors import CredentialsError
from bbws_mail.publish.client import client_config

SESSION_SECONDS = 3600
_lock = threading.Lock()
_sessions: dict[tuple[str, str, str, str, int], Any] = {}
_clients: dict[tuple[Any, ...], Any] = {}


def session_name(env: EnvConfig) -> str:
    """The RoleSessionName CloudTrail shows: tool, environment and who ran it (CI run or user)."""
    who = os.environ.get("GITHUB_RUN_ID") and f"gh{os.environ['GITHUB_RUN_ID']}"
    if not who:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
    name = re.sub(r"[^A-Za-z0-9+=,.@_-]", "-", f"bbws-mail-{env.name}-{who}")
    return name[:64]


def _base_session(env: EnvConfig) -> Any:
    """The profile's session (or the default chain's), in the environment's region unless
    the profile names one: STS tokens from the global endpoint are not valid in opt-in
    regions such as af-south-1, so STS must be called regionally."""
    import boto3
    import botocore.session

    try:
        core = botocore.session.Session(profile=env.profile or None)
        if not core.get_config_variable("region"):
            core.set_config_variable("region", env.region)
        return boto3.session.Session(botocore_session=core)
    except Exception as exc:  # botocore's ProfileNotFound and friends
        raise CredentialsError(
            f"environment {env.name}: its AWS profile cannot be loaded "
            f"({type(exc).__name__}); define it in ~/.aws/config or change [env.{env.name}] "
            "profile in bbws-mail.toml") from None


def _is_already(base: Any, role_arn: str) -> bool:
    """True when the base credentials are a session of ``role_arn`` itself."""
    if base.get_credentials() is None:
        return False
    try:
        arn = str(base.client("sts", region_name=base.region_name or "us-east-1")
                  .get_caller_identity()["Arn"])
    except Exception:
        return False
    account, _, role_path = role_arn.removeprefix("arn:aws:iam::").partition(":role/")
    role_name = role_path.rsplit("/", 1)[-1]
    match = re.match(r"arn:aws[a-z-]*:sts::([0-9]{12}):assumed-role/([^/]+)/", arn)
    return match is not None and match.group(1) == account and match.group(2) == role_name


def _assumed_session(env: EnvConfig, base: Any, duration: int) -> Any:
    import boto3
    import botocore.session
    from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

    source = base.get_credentials()
    if source is None:
        raise CredentialsError(
            f"environment {env.name}: no base AWS credentials to assume its role with: "
            "log in (aws sso login, a profile) or set AWS_* variables")
    extra: dict[str, Any] = {"RoleSessionName": session_name(env), "DurationSeconds": duration}
    if env.external_id:
        extra["ExternalId"] = env.external_id
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=base._session.create_client,
        source_credentials=source,
        role_arn=env.role_arn,
        extra_args=extra,
    )
    credentials = DeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method="assume-role")
    core = botocore.session.Session(profile=env.profile or None)
    core.set_config_variable("region", base.region_name or env.region)
    # botocore has no public setter for refreshable credentials; this is the usual way.
    core._credentials = credentials
    return boto3.session.Session(botocore_session=core)


def session_for(env: EnvConfig, *, duration: int = SESSION_SECONDS) -> Any:
    """The boto3 Session that acts in ``env``'s account (cached per environment setting)."""
    key = (env.profile, env.role_arn, env.external_id, env.region, duration)
    with _lock:
        cached = _sessions.get(key)
    if cached is not None:
        return cached
    session = _base_session(env)
    if env.role_arn and not _is_already(session, env.role_arn):
        session = _assumed_session(env, session, duration)
    with _lock:
        return _sessions.setdefault(key, session)


def client_for(env: EnvConfig, service: str = "s3", region: str | None = None) -> Any:
    """A boto3 client for ``service`` acting in ``env``'s account, in ``region`` (default:
    the environment's own; pass ``env.replica_region`` for its replica).

    Endpoints come from botocore's usual settings (``AWS_ENDPOINT_URL``,
    ``AWS_ENDPOINT_URL_S3``...), which is how tests point every service at a local server.
    """
    session = session_for(env)
    key = (id(session), service, region or env.region)
    with _lock:
        cached = _clients.get(key)
    if cached is not None:
        return cached
    client = session.client(service, region_name=region or env.region, config=client_config())
    if service == "s3" and env.account_id:
        expect_owner(client, env.account_id)
    with _lock:
        return _clients.setdefault(key, client)


def expect_owner(client: Any, account_id: str) -> None:
    """Make every request of ``client`` name the account that must own its bucket(s).

    S3 refuses a request whose bucket belongs to another account (403), so a bucket of
    the same name elsewhere (a deleted one re-created by someone else, a name typed
    wrong) can never receive templates nor hand them to the tools. The account is the
    one of the environment's ``role_arn``; each environment's buckets, its replica's
    included, live in its own account.
    """

    def add(params: dict[str, Any], model: Any, **_: Any) -> None:
        members = model.input_shape.members if model.input_shape is not None else {}
        for member in ("ExpectedBucketOwner", "ExpectedSourceBucketOwner"):
            if member in members:
                params.setdefault(member, account_id)

    client.meta.events.register("before-parameter-build.s3", add)


def clear_cache() -> None:
    """Forget cached sessions and clients (tests; a long-lived process after a re-login)."""
    with _lock:
        _sessions.clear()
        _clients.clear()
