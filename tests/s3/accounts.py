"""Three local AWS "accounts" on one moto server that keeps them apart (dev, sit, prod).

``accounts_endpoint`` runs tests/s3/moto_accounts.py as a separate process with
``MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS=false``. The base credentials ("testing") act in
moto's default account; each environment's role, assumed through moto's STS, acts in that
environment's account, exactly like the AWS setup with one account per environment.
"""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def accounts_endpoint() -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS"] = "false"
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


@pytest.fixture
def aws_env(accounts_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point every boto3 client of this process at the accounts server with base keys."""
    from bbws_mail.publish import credentials

    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    for var, value in {"AWS_ENDPOINT_URL": accounts_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                       "AWS_CONFIG_FILE": os.devnull,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull}.items():
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
