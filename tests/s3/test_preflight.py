"""`bucket check` judges each setting by its effect on the keys the publisher writes."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from bbws_mail.publish.preflight import BucketReport, check_bucket
from tests.s3.conftest import make_bucket, make_test_client
from tests.s3.project import Project, _publisher

pytestmark = pytest.mark.s3
NONCURRENT_90 = {"ID": "expire-noncurrent", "Status": "Enabled", "Filter": {"Prefix": ""},
                 "NoncurrentVersionExpiration": {"NoncurrentDays": 90}}


def _lifecycle(client: Any, bucket: str, *rules: dict[str, Any]) -> None:
    client.put_bucket_lifecycle_configuration(Bucket=bucket,
                                              LifecycleConfiguration={"Rules": list(rules)})


def _logging_on(client: Any, bucket: str) -> None:
    logs = make_bucket(client, lifecycle=False)
    grantee = 'uri="http://acs.amazonaws.com/groups/s3/LogDelivery"'
    client.put_bucket_acl(Bucket=logs, GrantWrite=grantee, GrantReadACP=grantee)
    client.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": logs, "TargetPrefix": f"{bucket}/"}})


@pytest.fixture
def s3(moto_endpoint: str, project: Project) -> tuple[Any, str, Project]:
    """A bucket set up as the design asks (versioning, public access blocked, SSE,
    collected versions kept 90 days, access logging)."""
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    _logging_on(client, bucket)
    return client, bucket, project


def _check(s3: tuple[Any, str, Project], client: Any = None) -> BucketReport:
    real, bucket, project = s3
    return check_bucket(client or real, bucket, project.config)


def _only(report: BucketReport, verdict: str, text: str) -> str:
    found = [m for m in getattr(report, verdict) if text in m]
    assert len(found) == 1, "\n".join(report.lines())
    return found[0]


def _fix_args(message: str, flag: str) -> str:
    command = shlex.split(message.split("fix: ", 1)[1])
    assert command[:2] == ["aws", "s3api"]
    return command[command.index(flag) + 1]


def test_the_designed_bucket_is_ok(s3: tuple[Any, str, Project]) -> None:
    report = _check(s3)
    assert not report.errors and not report.warnings, "\n".join(report.lines())
    assert any("collected versions expire after 90 days" in m for m in report.ok)


def test_expiring_current_versions_is_refused_and_the_fix_command_fixes_it(
        s3: tuple[Any, str, Project]) -> None:
    client, bucket, _ = s3
    _lifecycle(client, bucket, NONCURRENT_90, {"ID": "tidy", "Status": "Enabled",
                                               "Filter": {"Prefix": ""},
                                               "Expiration": {"Days": 30}})
    report = _check(s3)
    message = _only(report, "errors", "the pointer manifest.json")
    assert "tidy expires current versions after 30 days" in message
    fixed = json.loads(_fix_args(message, "--lifecycle-configuration"))
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=fixed)
    after = _check(s3)
    assert not after.errors and not after.warnings, "\n".join(after.lines())


def test_a_one_day_rule_beside_a_90_day_rule_on_logs_warns(s3: tuple[Any, str, Project]) -> None:
    client, bucket, _ = s3
    _lifecycle(client, bucket,
               {"ID": "all", "Status": "Enabled", "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
               {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 90}})
    report = _check(s3)
    assert not report.errors
    message = _only(report, "warnings", "template bundles")
    assert "after 1 days, below the design's 90" in message
    assert not any("lifecycle" in m and "90 days" in m for m in report.ok)
    fixed = json.loads(_fix_args(message, "--lifecycle-configuration"))
    assert [r["NoncurrentVersionExpiration"]["NoncurrentDays"] for r in fixed["Rules"]] == \
        [90, 90]


def test_a_rule_on_a_prefix_that_covers_no_template_warns_never_collected(
        s3: tuple[Any, str, Project]) -> None:
    client, bucket, _ = s3
    _lifecycle(client, bucket, {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
                                "NoncurrentVersionExpiration": {"NoncurrentDays": 90}})
    report = _check(s3)
    assert not report.errors
    assert "never removed" in _only(report, "warnings", "template bundles")


def test_no_lifecycle_at_all_warns(moto_endpoint: str, project: Project) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client, lifecycle=False)
    report = check_bucket(client, bucket, project.config)
    assert not report.errors
    assert "put-bucket-lifecycle-configuration" in _only(report, "warnings", "template bundles")


@pytest.mark.parametrize(("prefix", "hit"), [
    ("receipts/", "template bundles"), ("receipts/mini2/", "template bundles"),
    ("r", "template bundles"), ("builds/", "build manifests"), ("history/", "history records"),
    ("manifest", "the pointer"), ("assets/", "assets"),
])
def test_expiration_on_a_prefix_is_refused_for_the_key_class_it_reaches(
        s3: tuple[Any, str, Project], prefix: str, hit: str) -> None:
    client, bucket, _ = s3
    _lifecycle(client, bucket, NONCURRENT_90, {"ID": "p", "Status": "Enabled",
                                               "Filter": {"Prefix": prefix},
                                               "Expiration": {"Days": 400}})
    assert hit in _only(_check(s3), "errors", "expires current versions")


@pytest.mark.parametrize("flt", [
    {"Prefix": "logs/"}, {"Prefix": "receipts/other_template/"},
    {"Tag": {"Key": "temporary", "Value": "yes"}},
    {"And": {"Prefix": "", "Tags": [{"Key": "temporary", "Value": "yes"}]}},
], ids=["other-prefix", "unmapped-template", "tag", "and-tag"])
def test_expiration_that_reaches_none_of_our_keys_is_ok(s3: tuple[Any, str, Project],
                                                        flt: dict[str, Any]) -> None:
    client, bucket, _ = s3
    _lifecycle(client, bucket, NONCURRENT_90, {"ID": "x", "Status": "Enabled", "Filter": flt,
                                               "Expiration": {"Days": 1}})
    report = _check(s3)
    assert not report.errors and not report.warnings, "\n".join(report.lines())


def test_a_disabled_rule_is_ignored(s3: tuple[Any, str, Project]) -> None:
    client, bucket, _ = s3
    _lifecycle(client, bucket, NONCURRENT_90, {"ID": "off", "Status": "Disabled",
                                               "Filter": {"Prefix": ""},
                                               "Expiration": {"Days": 1}})
    assert not _check(s3).errors


@pytest.mark.parametrize(("storage_class", "verdict"), [
    ("GLACIER", "errors"), ("DEEP_ARCHIVE", "errors"), ("GLACIER_IR", "ok"),
    ("STANDARD_IA", "ok"),
])
def test_transitions_to_an_archive_tier_are_refused_readable_tiers_pass(
        s3: tuple[Any, str, Project], storage_class: str, verdict: str) -> None:
    client, bucket, _ = s3
    _lifecycle(client, bucket, {**NONCURRENT_90, "Transitions": [
        {"Days": 30, "StorageClass": storage_class}]})
    report = _check(s3)
    if verdict == "errors":
        assert f"to {storage_class}: GetObject fails" in _only(report, "errors", "moves current")
    else:
        assert not report.errors and not report.warnings, "\n".join(report.lines())


class WithIntelligentTiering:
    """moto stores intelligent-tiering configurations but does not list them: answer that
    one call as S3 does, pass everything else to the real server."""

    def __init__(self, client: Any, configs: list[dict[str, Any]]) -> None:
        self._client = client
        self._configs = configs

    def list_bucket_intelligent_tiering_configurations(self, **_: Any) -> dict[str, Any]:
        return {"IntelligentTieringConfigurationList": self._configs}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.mark.parametrize(("tier_prefix", "refused"), [("", True), ("logs/", False)])
def test_intelligent_tiering_with_an_archive_tier_is_refused(
        s3: tuple[Any, str, Project], tier_prefix: str, refused: bool) -> None:
    client, bucket, _ = s3
    _lifecycle(client, bucket, {**NONCURRENT_90, "Transitions": [
        {"Days": 0, "StorageClass": "INTELLIGENT_TIERING"}]})
    tiers = [{"Id": "archive", "Status": "Enabled", "Filter": {"Prefix": tier_prefix},
              "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]}]
    report = _check(s3, WithIntelligentTiering(client, tiers))
    assert bool(report.errors) is refused, "\n".join(report.lines())
    if refused:
        assert "archive access tier" in _only(report, "errors", "INTELLIGENT_TIERING")


@pytest.mark.parametrize("status", ["off", "Suspended"])
def test_versioning_off_or_suspended_is_refused(moto_endpoint: str, project: Project,
                                                status: str) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client, versioning=status != "off")
    if status == "Suspended":
        client.put_bucket_versioning(Bucket=bucket,
                                     VersioningConfiguration={"Status": "Suspended"})
    message = _only(check_bucket(client, bucket, project.config), "errors", "versioning")
    assert f"versioning is {status.lower()}" in message
    assert json.loads(_fix_args(message, "--versioning-configuration")) == {"Status": "Enabled"}


def test_public_access_not_fully_blocked_is_refused(moto_endpoint: str, project: Project) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": True})
    message = _only(check_bucket(client, bucket, project.config), "errors", "public access")
    assert "BlockPublicPolicy off" in message and "put-public-access-block" in message


def test_access_logging_off_warns_with_the_command(moto_endpoint: str, project: Project) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    report = check_bucket(client, bucket, project.config)
    message = _only(report, "warnings", "access logging is off")
    status = json.loads(_fix_args(message, "--bucket-logging-status"))
    assert status["LoggingEnabled"]["TargetPrefix"] == f"{bucket}/"


def test_missing_default_encryption_warns(moto_endpoint: str, project: Project) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client, encryption=False)
    _logging_on(client, bucket)
    report = check_bucket(client, bucket, project.config)
    assert not report.errors
    assert "put-bucket-encryption" in _only(report, "warnings", "no default encryption")


def test_default_sse_kms_is_respected_by_every_upload(s3: tuple[Any, str, Project]) -> None:
    client, bucket, project = s3
    key_arn = "arn:aws:kms:af-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                "KMSMasterKeyID": key_arn}}]})
    report = _check(s3)
    assert "aws:kms with a customer KMS key" in _only(report, "ok", "default encryption")
    assert key_arn not in "\n".join(report.lines()), "settings are described, not copied"
    forced: list[str] = []
    client.meta.events.register("before-parameter-build.s3.PutObject",
                                lambda params, **_: forced.extend(
                                    k for k in params if k.startswith("ServerSideEncryption")
                                    or k.startswith("SSEKMS")))
    _publisher(project, client, bucket).publish(project.build("b1"))
    assert forced == []
    listing = client.list_objects_v2(Bucket=bucket)["Contents"]
    for item in listing:
        head = client.head_object(Bucket=bucket, Key=item["Key"])
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn


@pytest.mark.parametrize("retention", [None, {"Mode": "GOVERNANCE", "Days": 1}])
def test_object_lock_is_detected(moto_endpoint: str, project: Project,
                                 retention: dict[str, Any] | None) -> None:
    client = make_test_client(moto_endpoint)
    bucket = f"bbws-lock-{id(retention) % 100000}-{'r' if retention else 'n'}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True,
                         CreateBucketConfiguration={"LocationConstraint": "af-south-1"})
    lock: dict[str, Any] = {"ObjectLockEnabled": "Enabled"}
    if retention:
        lock["Rule"] = {"DefaultRetention": retention}
    client.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=lock)
    message = _only(check_bucket(client, bucket, project.config), "ok", "Object Lock on")
    assert ("GOVERNANCE 1 days" in message) if retention else ("no default retention" in message)
    plain = make_bucket(client)
    assert _only(check_bucket(client, plain, project.config), "ok", "Object Lock")


class WithLifecycle:
    """moto drops NewerNoncurrentVersions from a stored lifecycle rule: answer the
    configuration as S3 keeps it, pass everything else to the real server."""

    def __init__(self, client: Any, rules: list[dict[str, Any]]) -> None:
        self._client = client
        self._rules = rules

    def get_bucket_lifecycle_configuration(self, **_: Any) -> dict[str, Any]:
        return {"Rules": self._rules}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_newer_noncurrent_versions_means_collected_objects_are_never_removed(
        s3: tuple[Any, str, Project]) -> None:
    client, _bucket, _ = s3
    rules = [{**NONCURRENT_90, "NoncurrentVersionExpiration": {
        "NoncurrentDays": 90, "NewerNoncurrentVersions": 3}}]
    report = _check(s3, WithLifecycle(client, rules))
    assert not report.errors
    message = _only(report, "warnings", "template bundles")
    assert "NewerNoncurrentVersions" in message and "never removed" in message
    fixed = json.loads(_fix_args(message, "--lifecycle-configuration"))
    assert fixed["Rules"] == [NONCURRENT_90]
    assert not _check(s3, WithLifecycle(client, fixed["Rules"])).warnings
