"""One AWS account per environment: the tools act in each with that environment's credentials.

Runs against a moto server that keeps accounts apart (tests/s3/accounts.py): dev's
credentials cannot read sit's bucket there, as in AWS without a cross-account policy.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import config
from bbws_mail.config import EnvConfig
from bbws_mail.errors import error_code
from bbws_mail.publish import credentials
from tests.s3.accounts import ACCOUNTS, accounts_endpoint, aws_env, role_arn, role_client
from tests.s3.conftest import REGION, make_bucket

pytestmark = pytest.mark.s3
__all__ = ["accounts_endpoint", "aws_env"]  # fixtures used by the tests below


def _env(name: str, **changes: Any) -> EnvConfig:
    return EnvConfig(name=name, bucket=f"bbws-templates-{name}", region=REGION,
                     role_arn=role_arn(name), **changes)


def _assume_role_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record the parameters of every AssumeRole the code under test sends."""
    calls: list[dict[str, Any]] = []
    real = credentials._base_session

    def recording(env: EnvConfig) -> Any:
        session = real(env)
        session._session.register("provide-client-params.sts.AssumeRole",
                                  lambda params, **_: calls.append(dict(params)))
        return session

    monkeypatch.setattr(credentials, "_base_session", recording)
    return calls


def _s3_requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """(environment, x-amz-expected-bucket-owner, url) of every S3 request the tools send."""
    sent: list[tuple[str, str, str]] = []
    real = credentials.client_for
    recorded: set[int] = set()

    def recording(env: EnvConfig, service: str = "s3", region: str | None = None) -> Any:
        client = real(env, service, region)
        if service == "s3" and id(client) not in recorded:
            recorded.add(id(client))

            def record(request: Any, **_: Any) -> None:
                owner = request.headers.get("x-amz-expected-bucket-owner", b"")
                sent.append((env.name, owner.decode() if isinstance(owner, bytes) else owner,
                             request.url))
            client.meta.events.register("before-send.s3", record)
        return client

    monkeypatch.setattr(credentials, "client_for", recording)
    monkeypatch.setattr("bbws_mail.publish.publisher.client_for", recording)  # bound there
    return sent


def test_each_environment_acts_in_its_own_account(aws_env: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _assume_role_calls(monkeypatch)
    for name, account in ACCOUNTS.items():
        identity = credentials.client_for(_env(name), "sts").get_caller_identity()
        assert identity["Account"] == account
        assert f":assumed-role/bbws-templates-deploy/bbws-mail-{name}-" in identity["Arn"]
    assert [c["RoleArn"] for c in calls] == [role_arn(n) for n in ACCOUNTS]
    assert all("ExternalId" not in c for c in calls)


def test_external_id_and_session_name_are_sent(aws_env: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _assume_role_calls(monkeypatch)
    monkeypatch.setenv("GITHUB_RUN_ID", "4711")
    credentials.client_for(_env("sit", external_id="bbws-ci-sit"), "sts").get_caller_identity()
    [call] = calls
    assert call["ExternalId"] == "bbws-ci-sit"
    assert call["RoleSessionName"] == "bbws-mail-sit-gh4711"


def test_dev_credentials_alone_cannot_read_sit_bucket(aws_env: str) -> None:
    for name in ("dev", "sit"):
        s3 = role_client(aws_env, name)
        make_bucket(s3, name=f"bbws-templates-{name}-{os.getpid()}")
        s3.put_object(Bucket=f"bbws-templates-{name}-{os.getpid()}", Key="manifest.json",
                      Body=b"{}")
    dev = credentials.client_for(_env("dev"))
    assert dev.get_object(Bucket=f"bbws-templates-dev-{os.getpid()}",
                          Key="manifest.json")["Body"].read() == b"{}"
    for call in (lambda: dev.get_object(Bucket=f"bbws-templates-sit-{os.getpid()}",
                                        Key="manifest.json"),
                 lambda: dev.list_objects_v2(Bucket=f"bbws-templates-sit-{os.getpid()}")):
        with pytest.raises(Exception) as denied:
            call()
        assert error_code(denied.value) == "AccessDenied"
    sit = credentials.client_for(_env("sit"))  # the publisher's entry point, sit's own account
    assert sit.get_object(Bucket=f"bbws-templates-sit-{os.getpid()}",
                          Key="manifest.json")["Body"].read() == b"{}"


def test_sessions_and_clients_are_cached_per_environment(aws_env: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _assume_role_calls(monkeypatch)
    dev = _env("dev")
    assert credentials.client_for(dev) is credentials.client_for(dev)
    assert credentials.client_for(dev) is not credentials.client_for(dev, region="eu-west-1")
    assert credentials.client_for(dev) is not credentials.client_for(_env("sit"))
    assert calls == []  # a role is assumed on first use, not when a client is made
    for _ in range(3):
        credentials.client_for(dev, "sts").get_caller_identity()
        credentials.client_for(_env("sit"), "sts").get_caller_identity()
    assert sorted(c["RoleArn"] for c in calls) == [role_arn("dev"), role_arn("sit")]


def test_assumed_credentials_are_refreshed_before_they_expire(aws_env: str) -> None:
    # 15-minute credentials are inside botocore's advisory refresh window from the start,
    # so every use refreshes them: what a long publish sees near the end of an hour.
    creds = credentials.session_for(_env("prod"), duration=900).get_credentials()
    first = creds.get_frozen_credentials().access_key
    second = creds.get_frozen_credentials().access_key
    assert first != second
    s3 = credentials.session_for(_env("prod"), duration=900).client("s3")
    assert isinstance(s3.list_buckets()["Buckets"], list)


def test_no_second_assume_role_when_already_the_environment_role(
        aws_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    sts = boto3.client("sts", region_name=REGION)
    c = sts.assume_role(RoleArn=role_arn("dev"), RoleSessionName="ci-oidc")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", c["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", c["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", c["SessionToken"])
    calls = _assume_role_calls(monkeypatch)
    identity = credentials.client_for(_env("dev"), "sts").get_caller_identity()
    assert identity["Account"] == ACCOUNTS["dev"] and identity["Arn"].endswith("/ci-oidc")
    assert calls == []
    # ...but another environment's role is still assumed from those credentials.
    assert credentials.client_for(_env("sit"), "sts").get_caller_identity()[
        "Account"] == ACCOUNTS["sit"]
    assert [c["RoleArn"] for c in calls] == [role_arn("sit")]


def test_profile_is_used_and_a_missing_profile_is_a_clear_error(
        aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config"
    cfg.write_text("[profile bbws-dev]\nregion = af-south-1\n"
                   "aws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    env = _env("dev", profile="bbws-dev")
    assert credentials.client_for(env, "sts").get_caller_identity()[
        "Account"] == ACCOUNTS["dev"]
    with pytest.raises(credentials.CredentialsError) as err:
        credentials.client_for(dataclasses.replace(env, profile="no-such-profile"))
    assert "[env.dev] profile" in str(err.value) and "no-such-profile" not in str(err.value)


def test_project_config_names_one_account_per_environment() -> None:
    cfg = config.load()
    assert {name: cfg.env(name).account_id for name in ACCOUNTS} == ACCOUNTS
    prod = cfg.env("prod")
    assert (prod.replica_bucket, prod.replica_region) == ("bbws-templates-prod-replica",
                                                          "eu-west-1")
    for name in ACCOUNTS:  # what a reader may see never names a role, profile or id
        settings = json.dumps(cfg.env(name).reader_settings())
        assert "arn:aws:iam" not in settings and "profile" not in settings


def test_publish_promote_and_status_each_with_its_own_credentials(
        aws_env: str, mini: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bbws_mail.cli import main

    sent = _s3_requests(monkeypatch)
    suffix = f"cli-{os.getpid()}"
    toml = ""
    for name in ACCOUNTS:
        make_bucket(role_client(aws_env, name), name=f"bbws-templates-{name}-{suffix}")
        toml += (f'[env.{name}]\nbucket = "bbws-templates-{name}-{suffix}"\n'
                 f'role_arn = "{role_arn(name)}"\n')
    fixture = (mini / "bbws-mail.toml").read_text()  # its [company] and [templates]
    (mini / "bbws-mail.toml").write_text(toml + fixture[fixture.index("[company]"):])
    root = ["--root", str(mini)]
    assert main(["build", *root, "-q"]) == 0
    assert main(["publish", "--env", "dev", *root]) == 0
    assert main(["promote", "--from", "dev", "--to", "sit", *root]) == 0
    assert main(["promote", "--from", "sit", "--to", "prod", "--confirm-prod", *root]) == 0
    capsys.readouterr()
    assert main(["status", "--json", *root]) == 0
    rows = {r["env"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["dev"]["buildVersion"]
    assert rows["dev"]["buildVersion"] == rows["sit"]["buildVersion"] == rows["prod"][
        "buildVersion"]
    assert [rows[n]["action"] for n in ACCOUNTS] == ["publish", "promote", "promote"]
    assert main(["status", *root]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [
        [name, f"bbws-templates-{name}-{suffix}:"] for name in ACCOUNTS]
    # Each build landed in its environment's own account, where only that account reads it.
    for name in ACCOUNTS:
        pointer = role_client(aws_env, name).get_object(
            Bucket=f"bbws-templates-{name}-{suffix}", Key="manifest.json")["Body"].read()
        assert json.loads(pointer)["env"] == name
    with pytest.raises(Exception) as denied:
        role_client(aws_env, "dev").get_object(Bucket=f"bbws-templates-prod-{suffix}",
                                               Key="manifest.json")
    assert error_code(denied.value) == "AccessDenied"
    # Every request of the tools named the account that must own the bucket: a bucket of
    # the same name in another account would refuse it rather than take or serve templates.
    assert {name for name, _, _ in sent} == set(ACCOUNTS)
    for name, owner, url in sent:
        assert owner == ACCOUNTS[name], (name, url)


def test_ci_assumes_one_deploy_role_per_environment() -> None:
    import yaml

    from tests.conftest import ROOT

    text = (ROOT / ".github/workflows/templates.yml").read_text()
    doc = yaml.safe_load(text)
    assert doc["permissions"]["id-token"] == "write"
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    for job_name, job in doc["jobs"].items():
        logins = [s for s in job["steps"]
                  if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")]
        if job_name == "validate":
            assert logins == [] and "environment" not in job
            continue
        [login] = logins  # exactly one role, the one of the job's GitHub environment
        assert job["environment"] in ACCOUNTS
        assert login["with"]["role-to-assume"] == "${{ vars.BBWS_DEPLOY_ROLE_ARN }}"
    runs = [s.get("run", "") for s in doc["jobs"]["promote-prod"]["steps"]]
    check = runs.index("bbws-mail bucket check --env prod")
    assert check < runs.index("bbws-mail promote --from sit --to prod --confirm-prod")
