"""Prod's replica in eu-west-1: the replication check judges rules by effect, the destination
by the primary's preflight, SES in both regions; status shows both sides and the lag.

All in prod's own local account (tests/s3/accounts.py), with the code under test getting
its clients from bbws_mail.publish.credentials like every command does.
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import layout
from bbws_mail.config import Config, EnvConfig
from bbws_mail.publish import credentials, envcheck, replication, ses
from bbws_mail.publish.preflight import BucketReport, check_bucket
from tests.s3.accounts import (
    ACCOUNTS,
    accounts_endpoint,
    aws_env,
    make_replica_bucket,
    ready_ses,
    role_arn,
    role_client,
)
from tests.s3.conftest import REGION, make_bucket

pytestmark = pytest.mark.s3
__all__ = ["accounts_endpoint", "aws_env"]

REPLICA_REGION = "eu-west-1"
REPLICATION_ROLE = f"arn:aws:iam::{ACCOUNTS['prod']}:role/bbws-templates-replication"
_n = itertools.count()


class Prod:
    """prod's primary and replica buckets, and the Config that names them."""

    def __init__(self, endpoint: str, *, replica_versioned: bool = True) -> None:
        self.s3 = role_client(endpoint, "prod")
        self.s3_eu = role_client(endpoint, "prod", region=REPLICA_REGION)
        self.bucket = make_bucket(self.s3)
        self.replica = make_replica_bucket(
            self.s3_eu, f"bbws-replica-{next(_n)}-{uuid.uuid4().hex[:8]}",
            region=REPLICA_REGION, versioning=replica_versioned)
        self.env = EnvConfig(name="prod", bucket=self.bucket, region=REGION,
                             role_arn=role_arn("prod"), replica_bucket=self.replica,
                             replica_region=REPLICA_REGION, ses_identity="bbws.co.za",
                             ses_configuration_set="bbws-transactional",
                             requires_approval=True)
        self.config = Config(root=Path("."), envs={"prod": self.env})
        ready_ses(endpoint, "prod", [REGION, REPLICA_REGION])

    def replicate(self, conf: dict[str, Any]) -> None:
        self.s3.put_bucket_replication(Bucket=self.bucket, ReplicationConfiguration=conf)

    def check(self) -> list[BucketReport]:
        """The replica's sections and SES's, as the environment's preflight has them."""
        return [*replication.check_replication(self.config, credentials.client_for, "prod"),
                ses.check_ses(self.env, credentials.client_for)]


def _errors(reports: list[BucketReport]) -> list[str]:
    return [e for r in reports for e in r.errors]


def _correct(prod: Prod, kms_key: str = "") -> dict[str, Any]:
    return replication.suggested_configuration(prod.env, REPLICATION_ROLE, kms_key)


def test_fails_without_replication(aws_env: str) -> None:
    prod = Prod(aws_env)
    rules, destination, ses = prod.check()
    [error] = rules.errors
    assert error.startswith(f"no replication configured: nothing reaches {prod.replica}")
    assert f"aws s3api put-bucket-replication --bucket {prod.bucket}" in error
    assert not destination.errors and not ses.errors


def test_passes_with_the_suggested_configuration(aws_env: str) -> None:
    prod = Prod(aws_env)
    prod.replicate(_correct(prod))
    reports = prod.check()
    assert _errors(reports) == []
    rules = reports[0]
    assert rules.lines()[0] == f"replication {prod.bucket} -> {prod.replica} ({REPLICA_REGION}):"
    assert reports[2].lines()[0] == f"SES identity bbws.co.za ({REGION}, {REPLICA_REGION}):"
    assert any("covers every key the publisher writes" in m for m in rules.ok)
    assert any("Replication Time Control on" in m for m in rules.ok)
    [warning] = rules.warnings  # existing objects need Batch Replication, always said
    assert "S3 Batch Replication" in warning and "aws s3control create-job" in warning
    assert any("versioning enabled" in m for m in reports[1].ok)
    assert reports[1].bucket.startswith(prod.replica)
    assert [m for m in reports[2].ok if "verified for sending" in m] == [
        f"verified for sending in {REGION}, DKIM verified",
        f"verified for sending in {REPLICA_REGION}, DKIM verified"]


def test_fails_when_a_rule_set_misses_one_template_prefix(aws_env: str) -> None:
    prod = Prod(aws_env)
    conf = _correct(prod)
    template = conf["Rules"][0]
    prefixes = ["manifest.json", "builds/", "history/", "assets/", "receipts/",
                "notifications/"]  # invoices/ forgotten
    conf["Rules"] = [{**template, "ID": f"r{i}", "Priority": i + 1, "Filter": {"Prefix": p}}
                     for i, p in enumerate(prefixes)]
    prod.replicate(conf)
    [error] = _errors(prod.check())
    assert error.startswith("template bundles under invoices/: not replicated")
    assert "receipts" not in error and "manifest.json" not in error


def test_a_tag_filter_selects_nothing_the_publisher_writes(aws_env: str) -> None:
    prod = Prod(aws_env)
    conf = _correct(prod)
    conf["Rules"][0]["Filter"] = {"And": {"Prefix": "", "Tags": [{"Key": "dr",
                                                                   "Value": "yes"}]}}
    prod.replicate(conf)
    [error] = _errors(prod.check())
    assert "the pointer manifest.json" in error and "not replicated" in error


def test_a_disabled_higher_priority_rule_does_not_hide_the_gap(aws_env: str) -> None:
    prod = Prod(aws_env)
    conf = _correct(prod)
    good = conf["Rules"][0]
    conf["Rules"] = [{**good, "Status": "Disabled"},
                     {**good, "ID": "templates-only", "Priority": 2,
                      "Filter": {"Prefix": "receipts/"}}]
    prod.replicate(conf)
    [error] = _errors(prod.check())
    assert "the pointer manifest.json" in error and "under receipts/" not in error


def test_fails_with_an_unversioned_destination(aws_env: str) -> None:
    prod = Prod(aws_env, replica_versioned=False)
    prod.replicate(_correct(prod))
    rules, destination, _ = prod.check()
    assert not rules.errors
    assert any("versioning is off" in e for e in destination.errors)


def test_fails_without_delete_marker_replication(aws_env: str) -> None:
    prod = Prod(aws_env)
    conf = _correct(prod)
    conf["Rules"][0]["DeleteMarkerReplication"] = {"Status": "Disabled"}
    prod.replicate(conf)
    [error] = _errors(prod.check())
    assert "without delete markers" in error and "the pointer manifest.json" in error


def test_rtc_off_is_a_warning(aws_env: str) -> None:
    prod = Prod(aws_env)
    conf = _correct(prod)
    del conf["Rules"][0]["Destination"]["ReplicationTime"]
    del conf["Rules"][0]["Destination"]["Metrics"]
    prod.replicate(conf)
    reports = prod.check()
    assert _errors(reports) == []
    assert any(w.startswith("Replication Time Control is off") for w in reports[0].warnings)


def test_sse_kms_source_needs_selected_objects_and_a_replica_key(aws_env: str) -> None:
    prod = Prod(aws_env)
    prod.s3.put_bucket_encryption(Bucket=prod.bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/bbws-templates"}}]})
    prod.replicate(_correct(prod))
    [error] = _errors(prod.check())
    assert "SSE-KMS objects not selected" in error
    key = f"arn:aws:kms:{{}}:{ACCOUNTS['prod']}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    prod.replicate(_correct(prod, key.format(REGION)))  # a key in the wrong region
    [error] = _errors(prod.check())
    assert f"no replica KMS key in {REPLICA_REGION}" in error
    prod.replicate(_correct(prod, key.format(REPLICA_REGION)))
    reports = prod.check()
    assert _errors(reports) == []
    assert any("SSE-KMS with a replica key" in m for m in reports[0].ok)


def test_ses_identity_must_exist_and_be_verified_in_both_regions(aws_env: str) -> None:
    prod = Prod(aws_env)
    ses_eu = role_client(aws_env, "prod", "sesv2", REPLICA_REGION)
    ses_eu.delete_email_identity(EmailIdentity="bbws.co.za")
    prod.replicate(_correct(prod))
    [error] = _errors(prod.check())
    assert error.startswith(f"not set up in {REPLICA_REGION}")
    assert f"create-email-identity --email-identity bbws.co.za --region {REPLICA_REGION}" in error
    ses_eu.create_email_identity(EmailIdentity="bbws.co.za")  # DNS records not published yet
    [error] = _errors(prod.check())
    assert error.startswith(f"not verified for sending in {REPLICA_REGION}")


def test_destination_check_is_the_callable_given(aws_env: str) -> None:
    prod = Prod(aws_env)
    prod.replicate(_correct(prod))
    seen: list[str] = []

    def strict(client: Any, bucket: str) -> BucketReport:
        seen.append(bucket)
        report = check_bucket(client, bucket)
        report.add("refuse", "stricter rule")
        return report

    reports = replication.check_replication(prod.config, credentials.client_for, "prod",
                                            check_bucket=strict)
    assert seen == [prod.replica] and list(reports[1].errors) == ["stricter rule"]


def test_bucket_check_sections_for_prod_and_for_an_environment_without_replica(
        aws_env: str) -> None:
    prod = Prod(aws_env)
    prod.replicate(_correct(prod))
    prod.s3.put_bucket_policy(Bucket=prod.bucket, Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": role_arn("sit")}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{prod.bucket}/*"}))
    reports = envcheck.check_environment(prod.config, credentials.client_for, "prod").sections
    assert [r.lines()[0] for r in reports] == [
        f"bucket {prod.bucket}:", f"replication {prod.bucket} -> {prod.replica} (eu-west-1):",
        f"bucket {prod.replica} (replica, eu-west-1):",
        "SES identity bbws.co.za (af-south-1, eu-west-1):"]
    assert any("versioning enabled" in m for m in reports[0].ok)
    assert any("a role in another account s3:PutObject" in w for w in reports[0].warnings)
    assert _errors(reports) == []
    dev = EnvConfig(name="dev", bucket=prod.bucket, role_arn=role_arn("prod"))
    [only] = envcheck.check_environment(Config(root=Path("."), envs={"dev": dev}),
                                        credentials.client_for, "dev").sections
    assert only.lines()[0] == f"bucket {prod.bucket}:"


def test_no_replica_no_sections() -> None:
    env = EnvConfig(name="dev", bucket="bbws-templates-dev")
    assert replication.check_replication(Config(root=Path("."), envs={"dev": env}),
                                         lambda *a: None, "dev") == []


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_bucket_policy_writers_other_than_the_deploy_role_warn(aws_env: str) -> None:
    prod = Prod(aws_env)
    client = credentials.client_for(prod.env)
    report = replication.check_bucket_policy(client, prod.env)
    assert list(report.ok) == [
        "no bucket policy: only IAM in the bucket's own account grants writes"]
    arn = f"arn:aws:s3:::{prod.bucket}/*"
    deploy = {"Sid": "Deploy", "Effect": "Allow", "Principal": {"AWS": role_arn("prod")},
              "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": arn}
    reader = {"Sid": "Lambda", "Effect": "Allow",
              "Principal": {"AWS": f"arn:aws:iam::{ACCOUNTS['prod']}:role/lambda"},
              "Action": "s3:GetObject", "Resource": arn}
    prod.s3.put_bucket_policy(Bucket=prod.bucket, Policy=_policy(deploy, reader))
    report = replication.check_bucket_policy(client, prod.env)
    assert not report.warnings and list(report.ok) == [
        "bucket policy lets no one but the deploy role write"]
    intruder = {"Effect": "Allow", "Principal": {"AWS": [role_arn("dev")]},
                "Action": "s3:Put*", "Resource": arn}
    everyone = {"Sid": "Oops", "Effect": "Allow", "Principal": "*", "Action": "s3:*",
                "Resource": arn, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    prod.s3.put_bucket_policy(Bucket=prod.bucket, Policy=_policy(deploy, reader, intruder,
                                                                 everyone))
    report = replication.check_bucket_policy(client, prod.env, BucketReport(prod.bucket))
    [warning] = report.warnings
    assert "statement 3 lets a role in another account s3:PutObject;" in warning
    assert ("statement 4 (Oops) lets anyone (Principal *) s3:PutObject/s3:DeleteObject/"
            "s3:DeleteObjectVersion, under a condition") in warning
    assert "Deploy" not in warning and "Lambda" not in warning
    assert ACCOUNTS["dev"] not in warning  # described, not copied
    assert f"aws s3api put-bucket-policy --bucket {prod.bucket}" in warning


# -- status: primary and replica side by side ----------------------------------------------
def _publish_pointer(s3: Any, bucket: str, version: str, published_at: datetime, *,
                     with_bundle: bool = True) -> None:
    """A minimal format-2 build (one template) as the publisher lays it out."""
    bundle = layout.encode_bundle("receipt", f"<p>{version}</p>", version, "Receipt", {})
    digest = layout.sha256_hex(bundle)
    manifest = {"format": 2, "kind": layout.BUILD_KIND, "buildVersion": version,
                "templates": {"receipt": {"category": "receipts", "sha256": digest,
                                          "key": layout.bundle_key("receipts", "receipt",
                                                                   digest)}}}
    build_sha = layout.sha256_hex(layout.canonical_json(manifest))
    pointer = {"format": 2, "kind": layout.POINTER_KIND, "env": "prod",
               "build": {"key": layout.build_key(build_sha), "sha256": build_sha},
               "manifest": manifest,
               "publishedAt": published_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    layout.check_pointer(pointer)
    if with_bundle:
        s3.put_object(Bucket=bucket, Key=manifest["templates"]["receipt"]["key"], Body=bundle)
    s3.put_object(Bucket=bucket, Key=layout.POINTER_KEY, Body=layout.canonical_json(pointer))


def test_status_shows_primary_and_replica_with_the_lag(aws_env: str) -> None:
    prod = Prod(aws_env)
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    row = replication.replica_status(prod.config, credentials.client_for, "prod", now=now)
    assert row["primary"]["buildVersion"] is None and row["replica"]["buildVersion"] is None
    assert replication.status_lines(row)[1].endswith("nothing published")

    _publish_pointer(prod.s3_eu, prod.replica, "aaaa1111", now - timedelta(hours=3))
    _publish_pointer(prod.s3, prod.bucket, "bbbb2222", now - timedelta(minutes=20))
    row = replication.replica_status(prod.config, credentials.client_for, "prod", now=now)
    assert (row["primary"]["buildVersion"], row["replica"]["buildVersion"]) == (
        "bbbb2222", "aaaa1111")
    assert row["lagSeconds"] == 2 * 3600 + 40 * 60 and row["inSync"] is False
    assert row["replica"]["ageSeconds"] == 3 * 3600 and row["replica"]["complete"] is True
    lines = replication.status_lines(row)
    assert "build bbbb2222" in lines[0] and "(20 min ago)" in lines[0]
    assert "build aaaa1111" in lines[1] and REPLICA_REGION in lines[1]
    assert lines[2].strip() == "replica lags: 2 h behind the primary"

    # The pointer replicated before the bundle it names: same build, not complete yet.
    _publish_pointer(prod.s3_eu, prod.replica, "bbbb2222", now - timedelta(minutes=20),
                     with_bundle=False)
    row = replication.replica_status(prod.config, credentials.client_for, "prod", now=now)
    assert row["replica"]["complete"] is False and row["inSync"] is False
    assert "objects still arriving" in replication.status_lines(row)[1]

    _publish_pointer(prod.s3_eu, prod.replica, "bbbb2222", now - timedelta(minutes=20))
    row = replication.replica_status(prod.config, credentials.client_for, "prod", now=now)
    assert row["inSync"] is True and row["lagSeconds"] == 0
    assert replication.status_lines(row)[2].strip() == "replica in sync"


def test_status_reads_the_pointers_replication_status_from_s3(aws_env: str) -> None:
    """Progress is what S3 reports for manifest.json (x-amz-replication-status), not a
    guess from the two sides (the accounts server reports it as S3 does)."""
    prod = Prod(aws_env)
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    _publish_pointer(prod.s3, prod.bucket, "bbbb2222", now)
    row = replication.replica_status(prod.config, credentials.client_for, "prod", now=now)
    assert row["pointerReplication"] is None
    assert replication.status_lines(row)[-1].strip().startswith(
        "manifest.json has no replication status: no replication rule applies to it")
    prod.replicate(_correct(prod))
    _publish_pointer(prod.s3, prod.bucket, "bbbb2222", now)
    row = replication.replica_status(prod.config, credentials.client_for, "prod", now=now)
    assert row["pointerReplication"] == "PENDING"
    assert "replication PENDING" in replication.status_lines(row)[-1]
    _publish_pointer(prod.s3_eu, prod.replica, "bbbb2222", now)
    row = replication.replica_status(prod.config, credentials.client_for, "prod", now=now)
    assert row["pointerReplication"] == "COMPLETED"
    assert replication.status_lines(row)[-1].strip() == (
        "manifest.json replicated (S3 says COMPLETED)")


def _side(build: str, complete: bool = True) -> dict[str, Any]:
    return {"bucket": "b", "region": "r", "error": "", "buildVersion": build,
            "publishedAt": "2026-12-02T10:00:00Z", "ageSeconds": 60, "complete": complete}


@pytest.mark.parametrize(("primary", "replica", "lag", "says"), [
    ("bbbb2222", "aaaa1111", 0, "replica lags: under 1 s behind the primary"),
    ("bbbb2222", "aaaa1111", 59, "replica lags: 59 s behind the primary"),
    ("bbbb2222", "aaaa1111", None, "replica not in sync yet"),
    ("bbbb2222", "aaaa1111", -5, "replica not in sync yet"),
])
def test_status_says_a_different_build_lags_however_small_the_gap(
        primary: str, replica: str, lag: int | None, says: str) -> None:
    row = {"env": "prod", "primary": _side(primary), "replica": _side(replica),
           "inSync": False, "lagSeconds": lag}
    assert replication.status_lines(row)[2].strip() == says


def test_status_reports_an_unreadable_side_without_raising(aws_env: str) -> None:
    prod = Prod(aws_env)
    prod.s3.put_object(Bucket=prod.bucket, Key=layout.POINTER_KEY, Body=b"{not json")
    row = replication.replica_status(prod.config, credentials.client_for, "prod")
    assert "not valid JSON" in row["primary"]["error"]
    assert "{not json" not in row["primary"]["error"]
    assert row["lagSeconds"] is None


def test_key_classes_cover_every_key_the_layout_has() -> None:
    zero = "0" * 64
    examples = [layout.POINTER_KEY, layout.build_key(zero),
                layout.history_key("2026-01-01T00:00:00Z", zero[:16], "publish"),
                layout.asset_key("logo.png", zero),
                *(layout.bundle_key(c, "t", zero) for c in layout.CATEGORIES)]
    assert {layout.key_class(k) for k in examples} == {"pointer", "build", "history", "asset",
                                                      "bundle"}
    prefixes = replication.key_classes().values()
    assert all(any(k.startswith(p) for p in prefixes) for k in examples)
    assert {p for p in prefixes if layout.key_class(p + zero + ".json") == "legacy"} == {
        f"{c}/" for c in layout.CATEGORIES}
    # With the project's [templates], each template's own prefix must be replicated.
    named = Config(root=Path("."), templates={"receipt": "receipts", "invoice": "invoices"})
    assert [p for p in replication.key_classes(named).values() if "/" in p[:-1]] == [
        "invoices/invoice/", "receipts/receipt/"]


def test_a_rule_for_one_template_leaves_the_others_of_its_category_uncovered(
        aws_env: str) -> None:
    prod = Prod(aws_env)
    prod.config = Config(root=Path("."), envs={"prod": prod.env},
                         templates={"receipt": "receipts", "receipt_internal": "receipts"})
    conf = _correct(prod)
    template = conf["Rules"][0]
    prefixes = ["manifest.json", "builds/", "history/", "assets/", "receipts/receipt/"]
    conf["Rules"] = [{**template, "ID": f"r{i}", "Priority": i + 1, "Filter": {"Prefix": p}}
                     for i, p in enumerate(prefixes)]
    prod.replicate(conf)
    [error] = _errors(prod.check())
    assert error.startswith("template bundles under receipts/receipt_internal/: not replicated")
    prod.replicate(_correct(prod))
    assert _errors(prod.check()) == []


def test_v1_rule_with_a_prefix_covers_only_that_prefix(aws_env: str) -> None:
    prod = Prod(aws_env)
    prod.replicate({"Role": REPLICATION_ROLE, "Rules": [{
        "ID": "v1", "Status": "Enabled", "Prefix": "receipts/",
        "Destination": {"Bucket": f"arn:aws:s3:::{prod.replica}"}}]})
    errors = _errors(prod.check())
    assert any(e.startswith("the pointer manifest.json, ") and "not replicated" in e
               and "under receipts/" not in e for e in errors)
    assert any(e.startswith("template bundles under receipts/: replicated without delete "
                            "markers") for e in errors)


# -- the CLI: bucket check and status with prod's replica ----------------------------------
def _project(root: Path, prod: Prod) -> list[str]:
    root.mkdir()
    (root / "bbws-mail.toml").write_text(
        f'[env.prod]\nbucket = "{prod.bucket}"\nrole_arn = "{role_arn("prod")}"\n'
        f'replica_bucket = "{prod.replica}"\nreplica_region = "{REPLICA_REGION}"\n'
        'ses_identity = "bbws.co.za"\nses_configuration_set = "bbws-transactional"\n')
    return ["--root", str(root)]


def test_cli_bucket_check_fails_until_the_replica_is_right(
        aws_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bbws_mail.cli import main

    prod = Prod(aws_env, replica_versioned=False)
    root = _project(tmp_path / "project", prod)
    assert main(["bucket", "check", "--env", "prod", *root]) == 1
    out = capsys.readouterr()
    assert out.err == ""
    assert f"  REFUSE   no replication configured: nothing reaches {prod.replica}" in out.out
    prod.replicate(_correct(prod))
    assert main(["bucket", "check", "--env", "prod", *root]) == 1
    out = capsys.readouterr().out
    assert "no replication configured" not in out
    assert "  REFUSE   versioning is off" in out.split(f"bucket {prod.replica} (replica")[1]
    prod.s3_eu.put_bucket_versioning(Bucket=prod.replica,
                                     VersioningConfiguration={"Status": "Enabled"})
    assert main(["bucket", "check", "--env", "prod", *root]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if not line.startswith(" ")] == [
        f"bucket {prod.bucket}:",
        f"replication {prod.bucket} -> {prod.replica} ({REPLICA_REGION}):",
        f"bucket {prod.replica} (replica, {REPLICA_REGION}):",
        f"SES identity bbws.co.za ({REGION}, {REPLICA_REGION}):"]
    assert not any("REFUSE" in line for line in lines)


def test_cli_status_shows_primary_and_replica_side_by_side(
        aws_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bbws_mail.cli import main

    prod = Prod(aws_env)
    root = _project(tmp_path / "project", prod)
    now = datetime.now(UTC)
    _publish_pointer(prod.s3_eu, prod.replica, "aaaa1111", now - timedelta(hours=3))
    _publish_pointer(prod.s3, prod.bucket, "bbbb2222", now - timedelta(minutes=20))
    assert main(["status", "--env", "prod", *root]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"prod  primary {prod.bucket} ({REGION}): build bbbb2222 ")
    assert lines[1].startswith(f"      replica {prod.replica} ({REPLICA_REGION}): build "
                               "aaaa1111 ")
    assert lines[2:] == ["      replica lags: 2 h behind the primary",
                         "      manifest.json has no replication status: no replication rule "
                         "applies to it (`bbws-mail bucket check --env prod`)"]
    assert main(["status", "--env", "prod", "--json", *root]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["buildVersion"], row["replica"]["buildVersion"]) == ("bbbb2222", "aaaa1111")
    assert row["lagSeconds"] == 2 * 3600 + 40 * 60 and row["inSync"] is False

    prod.s3_eu.put_object(Bucket=prod.replica, Key=layout.POINTER_KEY, Body=b"{not json")
    assert main(["status", "--env", "prod", *root]) == 1
    out = capsys.readouterr()
    assert "not valid JSON" in out.out.splitlines()[1] and "{not json" not in out.out
    assert "Traceback" not in out.err
