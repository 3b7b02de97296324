"""One preflight per environment (publish/envcheck.py): `bucket check` prints it, every write
obeys it, every fix it prints works as printed; builds carry where they came from.

On the accounts server (tests/s3/accounts.py): each environment in its own account,
cross-account access off. SES v2 calls moto lacks (GetAccount, PutAccountDetails,
PutAccountSuppressionAttributes, PutConfigurationSetSuppressionOptions, the
configuration-set event destinations) are answered by that server's stand-ins
(tests/s3/moto_accounts.py), shaped from botocore's sesv2 service model, so the same
calls go over HTTP as against AWS.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from bbws_mail.config import Config, EnvConfig
from bbws_mail.publish import credentials, envcheck, ses
from bbws_mail.publish.replication import suggested_configuration
from tests.s3 import awscli
from tests.s3.accounts import (
    ACCOUNTS,
    accounts_endpoint,
    aws_env,
    make_replica_bucket,
    ready_ses,
    role_arn,
    role_client,
    verified_ses_identity,
)
from tests.s3.conftest import REGION, make_bucket

pytestmark = pytest.mark.s3
__all__ = ["accounts_endpoint", "aws_env"]
REPLICA_REGION = "eu-west-1"
IDENTITY = "bbws.co.za"
CONFIG_SET = "bbws-transactional"  # what ready_ses sets up


def _maker(endpoint: str, env: str) -> awscli.ClientMaker:
    return lambda service, region: role_client(endpoint, env, service, region or REGION)


def _fixes(report: envcheck.EnvReport) -> list[str]:
    seen: list[str] = []
    for section in report.sections:
        for finding in section.findings:
            if finding.fix and finding.fix not in seen:
                seen.append(finding.fix)
    return seen


def test_every_printed_fix_applied_clears_its_finding(aws_env: str) -> None:
    """From no bucket at all to a clean preflight, applying only what it prints."""
    bucket = f"bbws-fixes-{os.getpid()}"
    config = Config(root=Path("."), envs={"sit": EnvConfig(
        name="sit", bucket=bucket, region=REGION, role_arn=role_arn("sit"))})
    make = _maker(aws_env, "sit")
    first = envcheck.check_environment(config, credentials.client_for, "sit")
    [missing] = first.bucket.findings
    assert missing.message == (f"the bucket does not exist (NoSuchBucket) in this account and "
                               f"region ({REGION}): create and configure it as "
                               "docs/runbooks/setup.md says, acting in this environment's "
                               "account")
    rounds = [first]
    for _ in range(4):
        for fix in _fixes(rounds[-1]):
            awscli.run(fix, make)
        rounds.append(envcheck.check_environment(config, credentials.client_for, "sit"))
        if not _fixes(rounds[-1]):
            break
    last = rounds[-1]
    assert last.refusals() == [] and last.warnings() == [], "\n".join(last.lines())
    # the round after the bucket exists: refusals printed first, each fix once
    second = rounds[1]
    lines = second.lines()
    assert [line for line in lines if "fix: aws s3api put-bucket-lifecycle" in line] and len(
        [line for line in lines if "fix: aws s3api put-bucket-lifecycle" in line]) == 1
    labels = [line.split()[0] for line in lines[1:] if not line.lstrip().startswith("fix:")]
    assert labels == sorted(labels, key=["REFUSE", "warning", "ok"].index), lines


def test_a_lifecycle_that_expires_our_keys_prints_one_fix_that_clears_all(aws_env: str
                                                                         ) -> None:
    s3 = role_client(aws_env, "sit")
    bucket = make_bucket(s3)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "tidy", "Status": "Enabled", "Filter": {"Prefix": ""},
        "Expiration": {"Days": 30}}]})
    config = Config(root=Path("."), envs={"sit": EnvConfig(
        name="sit", bucket=bucket, region=REGION, role_arn=role_arn("sit"))})
    report = envcheck.check_environment(config, credentials.client_for, "sit")
    lifecycle = [f for f in report.bucket.findings
                 if f.fix.startswith("aws s3api put-bucket-lifecycle-configuration")]
    assert len(lifecycle) >= 4 and len({f.fix for f in lifecycle}) == 1
    assert any("lifecycle rule tidy expires current versions" in f.message for f in lifecycle)
    assert sum("fix: aws s3api put-bucket-lifecycle" in line for line in report.lines()) == 1
    awscli.run(lifecycle[0].fix, _maker(aws_env, "sit"))
    after = envcheck.check_environment(config, credentials.client_for, "sit")
    assert not [m for m in after.refusals() + after.warnings() if "lifecycle" in m]


def test_ses_readiness_every_printed_fix_clears_its_finding(aws_env: str) -> None:
    env = EnvConfig(name="sit", bucket="unused", region=REGION, role_arn=role_arn("sit"),
                    ses_identity=IDENTITY, ses_configuration_set=CONFIG_SET)
    verified_ses_identity(aws_env, "sit", IDENTITY, [REGION])
    report = ses.check_ses(env, credentials.client_for)
    refusals = " | ".join(report.errors)
    for expected in ("in the SES sandbox in af-south-1",
                     f"configuration set {CONFIG_SET} does not exist in af-south-1",
                     "does not cover BOUNCE and COMPLAINT"):
        assert expected in refusals, refusals
    for _ in range(3):
        fixes = list(dict.fromkeys(f.fix for f in report.findings if f.fix))
        for fix in fixes:
            awscli.run(fix, _maker(aws_env, "sit"))
        report = ses.check_ses(env, credentials.client_for)
        if not report.errors:
            break
    assert not report.errors and not report.warnings, "\n".join(report.lines())
    assert any("sends bounce and complaint events" in m for m in report.ok)
    # the configuration set's own suppression options override the account's
    client = role_client(aws_env, "sit", "sesv2")
    client.put_configuration_set_suppression_options(ConfigurationSetName=CONFIG_SET,
                                                     SuppressedReasons=["BOUNCE"])
    [refusal] = ses.check_ses(env, credentials.client_for).findings[-1:]
    assert refusal.verdict == "refuse" and "does not cover COMPLAINT" in refusal.message
    assert "put-configuration-set-suppression-options" in refusal.fix
    awscli.run(refusal.fix, _maker(aws_env, "sit"))
    assert not ses.check_ses(env, credentials.client_for).errors


def test_dkim_must_be_verified_in_each_sending_region(aws_env: str) -> None:
    env = EnvConfig(name="sit", bucket="unused", region=REGION, role_arn=role_arn("sit"),
                    ses_identity="dkim.example", ses_configuration_set=CONFIG_SET)
    client = role_client(aws_env, "sit", "sesv2")
    client.create_email_identity(EmailIdentity="dkim.example")  # DNS not published
    client.delete_email_identity(EmailIdentity="dkim.example")
    verified_ses_identity(aws_env, "sit", "dkim.example", [REGION])
    assert any("DKIM verified" in m for m in ses.check_ses(env, credentials.client_for).ok)


# -- the write path: publish, promote, rollback --------------------------------------------
def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True, env={**os.environ, "GIT_AUTHOR_NAME": "t",
                                          "GIT_AUTHOR_EMAIL": "t@example.com",
                                          "GIT_COMMITTER_NAME": "t",
                                          "GIT_COMMITTER_EMAIL": "t@example.com"}).stdout


class Estate:
    """dev, sit and prod in their own accounts; prod with its replica and SES."""

    def __init__(self, endpoint: str, root: Path) -> None:
        self.endpoint, self.root = endpoint, root
        self.suffix = f"wp-{uuid.uuid4().hex[:10]}"
        toml = ""
        for name in ACCOUNTS:
            make_bucket(role_client(endpoint, name), name=self.bucket(name))
            toml += (f'[env.{name}]\nbucket = "{self.bucket(name)}"\n'
                     f'role_arn = "{role_arn(name)}"\n')
        self.replica = f"bbws-replica-{self.suffix}"
        make_replica_bucket(role_client(endpoint, "prod", region=REPLICA_REGION), self.replica,
                            region=REPLICA_REGION)
        toml += (f'replica_bucket = "{self.replica}"\nreplica_region = "{REPLICA_REGION}"\n'
                 f'ses_identity = "{IDENTITY}"\nses_configuration_set = "{CONFIG_SET}"\n')
        fixture = (root / "bbws-mail.toml").read_text()  # its [company] and [templates]
        (root / "bbws-mail.toml").write_text(toml + fixture[fixture.index("[company]"):])
        self.args = ["--root", str(root)]

    def bucket(self, env: str) -> str:
        return f"bbws-templates-{env}-{self.suffix}"

    def replicate_rule(self) -> None:
        from bbws_mail import config

        env = config.load(self.root).env("prod")
        role_client(self.endpoint, "prod").put_bucket_replication(
            Bucket=env.bucket, ReplicationConfiguration=suggested_configuration(
                env, f"arn:aws:iam::{ACCOUNTS['prod']}:role/bbws-templates-replication"))

    def prod_keys(self) -> list[str]:
        listed = role_client(self.endpoint, "prod").list_objects_v2(Bucket=self.bucket("prod"))
        return [o["Key"] for o in listed.get("Contents", [])]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from bbws_mail.cli import main

    capsys.readouterr()
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out + out.err


def _refuse_lines(output: str) -> list[str]:
    return [line.split("REFUSE", 1)[1].strip() for line in output.splitlines()
            if line.lstrip().startswith("REFUSE")]


def test_promote_to_prod_obeys_the_whole_preflight_and_bucket_check_agrees(
        aws_env: str, mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    estate = Estate(aws_env, mini)
    args = estate.args
    assert _run(["build", *args, "-q"], capsys)[0] == 0
    assert _run(["publish", "--env", "dev", *args], capsys)[0] == 0
    assert _run(["promote", "--from", "dev", "--to", "sit", *args], capsys)[0] == 0
    promote = ["promote", "--from", "sit", "--to", "prod", "--confirm-prod", *args]

    def verdicts() -> tuple[int, str, int, str]:
        check, check_out = _run(["bucket", "check", "--env", "prod", *args], capsys)
        code, out = _run(promote, capsys)
        return check, check_out, code, out

    # no replication rule, no SES at all
    check, check_out, code, out = verdicts()
    assert (check, code) == (1, 1), out
    assert "no replication configured" in out and "not set up in af-south-1" in out
    for refusal in _refuse_lines(check_out):  # the same verdict, for the same reasons
        assert refusal in out, (refusal, out)
    assert "nothing was written" in out and estate.prod_keys() == []
    # replication right, SES identity missing in eu-west-1
    estate.replicate_rule()
    ready_ses(aws_env, "prod", [REGION, REPLICA_REGION])
    role_client(aws_env, "prod", "sesv2", REPLICA_REGION).delete_email_identity(
        EmailIdentity=IDENTITY)
    check, check_out, code, out = verdicts()
    assert (check, code) == (1, 1), out
    assert _refuse_lines(check_out) == [
        f"not set up in {REPLICA_REGION}: emails cannot be sent from there (once created, "
        "publish its DKIM records in DNS)"]
    assert estate.prod_keys() == []
    # an explicit override writes, and the history says so
    code, out = _run([*promote, "--override-preflight", "SES eu-west-1 set up tomorrow"],
                     capsys)
    assert code == 0, out
    code, out = _run(["history", "--env", "prod", "--json", *args], capsys)
    [entry] = json.loads(out)
    assert entry["preflight"]["override"]["reason"] == "SES eu-west-1 set up tomorrow"
    assert "not set up in eu-west-1" in entry["preflight"]["override"]["refusals"][0]
    # a correct setup passes both
    verified_ses_identity(aws_env, "prod", IDENTITY, [REPLICA_REGION])
    check, check_out, code, out = verdicts()
    assert (check, code) == (0, 0), check_out + out
    assert not _refuse_lines(check_out)


def test_a_build_from_uncommitted_sources_is_marked_and_stopped_before_prod(
        aws_env: str, mini: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    estate = Estate(aws_env, mini)
    estate.replicate_rule()
    ready_ses(aws_env, "prod", [REGION, REPLICA_REGION])
    args = estate.args
    _git(mini, "init", "-q")
    assert _run(["build", *args, "-q"], capsys)[0] == 0
    _git(mini, "add", "-A")
    _git(mini, "commit", "-qm", "first")
    head = _git(mini, "rev-parse", "HEAD").strip()
    assert _run(["publish", "--env", "dev", *args], capsys)[0] == 0
    source = mini / "templates_src" / "mini.mjml"
    text = source.read_text()
    assert "</mj-text>" in text
    source.write_text(text.replace("</mj-text>", " (edited)</mj-text>", 1))  # not committed
    assert _run(["build", *args, "-q"], capsys)[0] == 0
    code, out = _run(["publish", "--env", "dev", *args], capsys)
    assert code == 0, out
    code, out = _run(["history", "--env", "dev", *args], capsys)
    newest, older = out.splitlines()[:2]
    assert f"commit {head[:12]} (sources differ from the commit (mini))" in newest
    assert f"commit {head[:12]} (sources match)" in older
    code, out = _run(["status", "--env", "dev", *args], capsys)
    assert "(sources differ from the commit (mini))" in out
    assert _run(["promote", "--from", "dev", "--to", "sit", *args], capsys)[0] == 0
    promote = ["promote", "--from", "sit", "--to", "prod", "--confirm-prod", *args]
    code, out = _run(promote, capsys)
    assert code == 1 and "differ from commit" in out and "--accept-unmatched-source" in out
    assert estate.prod_keys() == []
    code, out = _run([*promote, "--accept-unmatched-source", "hotfix, committed in #12"],
                     capsys)
    assert code == 0, out
    code, out = _run(["history", "--env", "prod", "--json", *args], capsys)
    [entry] = json.loads(out)
    assert entry["provenance"]["matchesCommit"] is False
    assert entry["provenance"]["acceptedUnmatched"]["reason"] == "hotfix, committed in #12"
    assert entry["gitCommit"] == head
    code, out = _run(["status", "--env", "prod", *args], capsys)
    assert out.splitlines()[0].startswith(
        f"prod  primary {estate.bucket('prod')} ({REGION}): build {entry['buildVersion']} "
        f"(commit {head[:12]}, sources differ from the commit (mini); accepted: hotfix, "
        "committed in #12) published ")


def test_rollback_of_prod_works_while_eu_west_1_and_ses_are_unreachable(
        aws_env: str, mini: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    estate = Estate(aws_env, mini)
    estate.replicate_rule()
    ready_ses(aws_env, "prod", [REGION, REPLICA_REGION])
    args = estate.args
    for edit in ("", " (second)"):
        if edit:
            source = mini / "templates_src" / "mini.mjml"
            source.write_text(source.read_text().replace("</mj-text>", f"{edit}</mj-text>", 1))
        assert _run(["build", *args, "-q"], capsys)[0] == 0
        assert _run(["publish", "--env", "dev", *args], capsys)[0] == 0
        assert _run(["promote", "--from", "dev", "--to", "sit", *args], capsys)[0] == 0
        code, out = _run(["promote", "--from", "sit", "--to", "prod", "--confirm-prod", *args],
                         capsys)
        assert code == 0, out
    real = credentials.client_for
    endpoint = {"url": "http://127.0.0.1:9"}  # nothing listens: connection refused

    def outage(env: EnvConfig, service: str = "s3", region: str | None = None) -> Any:
        if service == "sesv2" or region == REPLICA_REGION:
            import boto3

            from bbws_mail.publish.client import client_config

            return boto3.client(service, region_name=region or env.region,
                                endpoint_url=endpoint["url"], config=client_config())
        return real(env, service, region)

    from bbws_mail.publish import publisher

    monkeypatch.setattr(credentials, "client_for", outage)
    monkeypatch.setattr(publisher, "client_for", outage)  # the name the publisher calls
    code, out = _run(["promote", "--from", "sit", "--to", "prod", "--confirm-prod", *args],
                     capsys)
    assert code == 1 and "nothing was written" in out  # a deploy waits for the replica
    code, out = _run(["rollback", "--env", "prod", "--confirm-prod", *args], capsys)
    assert code == 0, out
    assert "prod: manifest.json -> build" in out and "(rollback)" in out
    code, out = _run(["history", "--env", "prod", "--json", *args], capsys)
    newest = json.loads(out)[0]
    assert newest["action"] == "rollback"
    warnings = " | ".join(newest["preflight"]["warnings"])
    assert "cannot read it in af-south-1" in warnings or "cannot read" in warnings
    assert REPLICA_REGION in warnings
    # a region that takes connections and never answers is not waited for either
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        monkeypatch.setattr(publisher, "INCIDENT_WAIT_SECONDS", 1.0)
        endpoint["url"] = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        code, out = _run(["rollback", "--env", "prod", "--confirm-prod", *args], capsys)
        waited = time.monotonic() - started
        assert code == 0, out
    code, out = _run(["history", "--env", "prod", "--json", *args], capsys)
    newest = json.loads(out)[0]
    assert newest["action"] == "rollback"
    assert ("replica and SES: not checked: no answer within 1 s (eu-west-1 or SES "
            "unreachable?); not waited for") in newest["preflight"]["warnings"]
    assert waited < 60  # botocore alone would wait 4 x 30 s per unanswered request


def test_a_bucket_created_in_the_wrong_account_is_caught(aws_env: str) -> None:
    """The rehearsal's point: setup done with dev's profile leaves prod without its bucket."""
    bucket = f"bbws-wrong-{uuid.uuid4().hex[:10]}"
    make_bucket(role_client(aws_env, "dev"), name=bucket)
    config = Config(root=Path("."), envs={"prod": EnvConfig(
        name="prod", bucket=bucket, region=REGION, role_arn=role_arn("prod"),
        requires_approval=True)})
    [refusal] = envcheck.check_environment(config, credentials.client_for, "prod").refusals()
    assert "belongs to another account than this environment's role_arn" in refusal, refusal
