"""Three local AWS "accounts" on one moto server that keeps them apart (dev, sit, prod).

``accounts_endpoint`` runs tests/s3/moto_accounts.py as a separate process with
``MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS=false``. The base credentials ("testing") act in
moto's default account; each environment's role, assumed through moto's STS, acts in that
environment's account, exactly like the AWS setup with one account per environment.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.s3.conftest import REGION, _free_port, _wait_port

ACCOUNTS = {"dev": "536580886816", "sit": "815856636111", "prod": "093646564004"}
BASE_ACCOUNT = "123456789012"  # moto's default account: the "testing" keys act there
SERVER = Path(__file__).with_name("moto_accounts.py")


def role_arn(env: str) -> str:
    return f"arn:aws:iam::{ACCOUNTS[env]}:role/bbws-templates-deploy"


@contextlib.contextmanager
def accounts_server(*, separate: bool = True) -> Iterator[str]:
    """A moto server process; ``separate``: one account cannot read another's buckets."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS"] = "false" if separate else "true"
    proc = subprocess.Popen([sys.executable, str(SERVER), str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def accounts_endpoint() -> Iterator[str]:
    with accounts_server(separate=True) as endpoint:
        yield endpoint


def base_environment(endpoint: str) -> dict[str, str]:
    """AWS_* settings that point boto3 at ``endpoint`` with the base ("testing") keys and
    no profile files of the machine running the tests."""
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


@pytest.fixture
def aws_env(accounts_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point every boto3 client of this process at the accounts server with base keys."""
    from bbws_mail.publish import credentials

    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    for var, value in base_environment(accounts_endpoint).items():
        monkeypatch.setenv(var, value)
    credentials.clear_cache()
    yield accounts_endpoint
    credentials.clear_cache()


def role_client(endpoint: str, env: str, service: str = "s3", region: str = REGION) -> Any:
    """A client acting in ``env``'s account, made by the test itself (not by the code under
    test), to arrange buckets and to look at what the code did."""
    import boto3

    sts = boto3.client("sts", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    c = sts.assume_role(RoleArn=role_arn(env), RoleSessionName="test-arrange")["Credentials"]
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=c["AccessKeyId"],
                        aws_secret_access_key=c["SecretAccessKey"],
                        aws_session_token=c["SessionToken"])


def make_replica_bucket(client: Any, name: str, *, region: str = "eu-west-1",
                        versioning: bool = True) -> str:
    """A bucket in ``region`` configured like a primary (versioned, private, encrypted,
    noncurrent versions kept 90 days), as the replica of prod must be."""
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if versioning:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    client.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        flag: True for flag in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                "RestrictPublicBuckets")})
    client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    client.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [{
        "ID": "expire-noncurrent", "Status": "Enabled", "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 90}}]})
    return name


def verified_ses_identity(endpoint: str, env: str, identity: str, regions: list[str]) -> None:
    """Create ``identity`` in SES in each region, verified (see moto_accounts.py)."""
    for region in regions:
        role_client(endpoint, env, "sesv2", region).create_email_identity(
            EmailIdentity=identity, Tags=[{"Key": "moto-verified", "Value": "true"}])


def ready_ses(endpoint: str, env: str, regions: list[str], identity: str = "bbws.co.za",
              config_set: str = "bbws-transactional") -> None:
    """SES as the design asks, in ``env``'s account: identity and DKIM verified, out of
    the sandbox, suppression of bounces and complaints, the configuration set with a
    bounce and complaint event destination."""
    for region in regions:
        client = role_client(endpoint, env, "sesv2", region)
        with contextlib.suppress(client.exceptions.NotFoundException):  # start afresh
            client.delete_email_identity(EmailIdentity=identity)
        if config_set in client.list_configuration_sets()["ConfigurationSets"]:
            client.delete_configuration_set(ConfigurationSetName=config_set)
        client.put_account_details(ProductionAccessEnabled=True, MailType="TRANSACTIONAL",
                                   WebsiteURL=f"https://{identity}", UseCaseDescription="t")
        client.put_account_suppression_attributes(SuppressedReasons=["BOUNCE", "COMPLAINT"])
        client.create_configuration_set(ConfigurationSetName=config_set)
        client.create_configuration_set_event_destination(
            ConfigurationSetName=config_set, EventDestinationName="events", EventDestination={
                "Enabled": True, "MatchingEventTypes": ["BOUNCE", "COMPLAINT", "DELIVERY"],
                "SnsDestination": {"TopicArn": f"arn:aws:sns:{region}:{ACCOUNTS[env]}:t"}})
    verified_ses_identity(endpoint, env, identity, regions)
