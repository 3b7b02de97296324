"""Prod's disaster-recovery replica in eu-west-1: is it really there, and how far behind?

``check_replication`` reads the primary bucket's replication rules and judges them *by
effect*: for every prefix of the key classes the preflight knows (the pointer, build
manifests, history records, assets, each template's or category's bundles) it finds the
rule S3 would apply to all of it and checks that rule. A rule that
exists but whose filter misses ``invoices/`` leaves invoices without a replica, which
reading the rule's ID would never show. It also checks the destination bucket with the
same preflight as a primary (a failover reads it) and the SES sending identity in both
regions (a failover sends from eu-west-1).

``replica_status`` puts the pointer of the primary and of the replica side by side: which
build each serves, when it was published, and how far the replica lags.

Findings use the preflight's report style (ok / warning / REFUSE lines), each with the
``aws`` command that fixes it. Read-only: nothing here writes to any bucket.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bbws_mail import layout
from bbws_mail.config import Config, EnvConfig
from bbws_mail.publish import preflight, provenance
from bbws_mail.publish.client import error_code
from bbws_mail.publish.preflight import ARCHIVE_CLASSES, BucketReport, Section

ClientFor = Callable[..., Any]  # (env, service="s3", region=None) -> boto3 client
BucketCheck = Callable[[Any, str], BucketReport]


def _preflight(config: Config, check_bucket: BucketCheck | None) -> BucketCheck:
    """The bucket check given, or the publisher's preflight with ``config``'s key classes."""
    if check_bucket is not None:
        return check_bucket
    return lambda client, bucket: preflight.check_bucket(client, bucket, config)


WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion")


def key_classes(config: Config | None = None) -> dict[str, str]:
    """Label -> prefix (or exact key) of everything the publisher writes: the preflight's
    key classes, one part per prefix, each of which a rule must select whole."""
    return {label: literal for cls in preflight.key_classes(config)
            for label, literal in cls.parts().items()}


def _filter_of(rule: dict[str, Any]) -> tuple[str, bool]:
    """(prefix, needs_tags) of a rule, from its V2 Filter or its V1 Prefix."""
    if "Filter" not in rule:
        return str(rule.get("Prefix") or ""), False
    flt = rule.get("Filter") or {}
    if "And" in flt:
        both = flt["And"] or {}
        return str(both.get("Prefix") or ""), bool(both.get("Tags"))
    return str(flt.get("Prefix") or ""), bool(flt.get("Tag"))


def rule_for(rules: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The rule S3 applies to ``key``, or to every key under the prefix ``key``: the enabled
    rule of highest priority whose prefix ``key`` starts with.

    The publisher writes no object tags, so a rule that filters on tags selects none of
    its objects."""
    matching = []
    for rule in rules:
        prefix, needs_tags = _filter_of(rule)
        if rule.get("Status") == "Enabled" and not needs_tags and key.startswith(prefix):
            matching.append(rule)
    return max(matching, key=lambda r: int(r.get("Priority") or 0), default=None)


def _status(value: Any) -> str:
    return str((value or {}).get("Status") or "Disabled")


def _put_replication(bucket: str) -> str:
    return (f"aws s3api put-bucket-replication --bucket {bucket} --replication-configuration "
            "file://replication.json (see docs/runbooks/troubleshoot.md#the-replica)")


def check_rules(config: Config, env: EnvConfig, client: Any, report: BucketReport) -> None:
    """The replication rules of ``env``'s bucket, judged by their effect on every key class."""
    bucket, replica = env.bucket, env.replica_bucket
    fix = _put_replication(bucket)
    try:
        conf = client.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
    except Exception as exc:
        code = error_code(exc)
        if code == "ReplicationConfigurationNotFoundError":
            report.add("refuse", f"no replication configured: nothing reaches {replica} in "
                                 f"{env.replica_region}: {fix}")
        else:
            report.add("refuse", f"cannot read the replication configuration "
                                 f"({code or type(exc).__name__})")
        return
    rules = list(conf.get("Rules") or [])
    kms = _source_uses_kms(client, bucket)
    problems: dict[str, list[str]] = {}
    rtc_off: list[str] = []
    classes = key_classes(config)
    for label, key in classes.items():
        rule = rule_for(rules, key)
        if rule is None:
            problems.setdefault("not replicated (no enabled rule selects them)", []).append(label)
            continue
        dest = rule.get("Destination") or {}
        if dest.get("Bucket") != f"arn:aws:s3:::{replica}":
            problems.setdefault(f"replicated to another bucket than replica_bucket "
                                f"({replica})", []).append(label)
        if _status(rule.get("DeleteMarkerReplication")) != "Enabled":
            problems.setdefault("replicated without delete markers (objects gc removes stay "
                                "on the replica; DeleteMarkerReplication must be Enabled)",
                                []).append(label)
        if dest.get("StorageClass") in ARCHIVE_CLASSES:
            problems.setdefault("replicated into an archive storage class (a failover reader "
                                "cannot GET them)", []).append(label)
        if kms:
            selected = _status((rule.get("SourceSelectionCriteria") or {})
                               .get("SseKmsEncryptedObjects")) == "Enabled"
            key_id = str((dest.get("EncryptionConfiguration") or {}).get("ReplicaKmsKeyID")
                         or "")
            if not selected:
                problems.setdefault("SSE-KMS objects not selected (the bucket encrypts with "
                                    "KMS; SseKmsEncryptedObjects must be Enabled)",
                                    []).append(label)
            elif not key_id.startswith(f"arn:aws:kms:{env.replica_region}:"):
                problems.setdefault(f"no replica KMS key in {env.replica_region} "
                                    "(EncryptionConfiguration.ReplicaKmsKeyID)", []).append(label)
        if _status(dest.get("ReplicationTime")) != "Enabled":
            rtc_off.append(label)
    for problem, labels in problems.items():
        report.add("refuse", f"{', '.join(labels)}: {problem}: {fix}")
    if not problems:
        report.add("ok", f"replication to {replica} ({env.replica_region}) covers every key "
                         f"the publisher writes ({len(classes)} key prefixes), delete "
                         "markers included" + (", SSE-KMS with a replica key" if kms else ""))
    if rtc_off:
        report.add(
            "warn", "Replication Time Control is off for " + ", ".join(rtc_off) + ": no 15-minute "
            "replication SLA and no lag metrics; turn on ReplicationTime and Metrics "
            f"(15 minutes) in the rule: {fix}")
    elif not problems:
        report.add("ok", "Replication Time Control on (15-minute SLA)")
    role = str(conf.get("Role") or "<replication role ARN>")
    report.add(
        "warn", "objects written before the rule existed are not replicated by it: copy them once "
        f"with S3 Batch Replication: aws s3control create-job --account-id "
        f"{env.account_id or '<account id>'} --operation '{{\"S3ReplicateObject\":{{}}}}' "
        "--manifest-generator '{\"S3JobManifestGenerator\":{\"SourceBucket\":"
        f"\"arn:aws:s3:::{bucket}\",\"EnableManifestOutput\":false,\"Filter\":"
        "{\"EligibleForReplication\":true,\"ObjectReplicationStatuses\":[\"NONE\",\"FAILED\"]}}}' "
        f"--report '{{\"Enabled\":false}}' --priority 10 --role-arn {role} "
        "--no-confirmation-required")


def _source_uses_kms(client: Any, bucket: str) -> bool:
    try:
        rules = client.get_bucket_encryption(Bucket=bucket)[
            "ServerSideEncryptionConfiguration"]["Rules"]
    except Exception:
        return False
    return any(str(r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", ""))
               .startswith("aws:kms") for r in rules)


def _principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*" or principal is None:
        return ["*"]
    if isinstance(principal, dict):
        out: list[str] = []
        for kind, value in principal.items():
            values = value if isinstance(value, list) else [value]
            out += ["*" if v == "*" else f"{kind}:{v}" for v in values]
        return out
    return [str(principal)]


def _writes(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action") or []
    actions = actions if isinstance(actions, list) else [actions]
    return [a for a in WRITE_ACTIONS
            if any(fnmatch.fnmatchcase(a.lower(), str(p).lower()) for p in actions)]


def _describe(principal: str, env: EnvConfig) -> str:
    if principal == "*":
        return "anyone (Principal *)"
    kind, _, value = principal.partition(":")
    if kind != "AWS":
        return f"a {kind} principal"
    account = value.split(":")[4] if value.count(":") >= 5 else value
    where = "this environment's account" if account == env.account_id else "another account"
    what = "a role" if ":role/" in value else "a user" if ":user/" in value else "an account"
    return f"{what} in {where}"


def check_bucket_policy(client: Any, env: EnvConfig,
                        report: BucketReport | None = None) -> BucketReport:
    """Warn when the bucket policy lets principals other than ``env``'s deploy role write.

    Only the deploy role should write templates; any other writer can change what every
    Lambda renders. Adds to ``report`` (the bucket's preflight report) when given."""
    report = report if report is not None else BucketReport(env.bucket)
    try:
        policy = json.loads(client.get_bucket_policy(Bucket=env.bucket)["Policy"])
    except Exception as exc:
        code = error_code(exc)
        if code == "NoSuchBucketPolicy":
            report.add("ok", "no bucket policy: only IAM in the bucket's own account grants "
                             "writes")
        else:
            report.add("warn", f"cannot read the bucket policy ({code or type(exc).__name__})")
        return report
    statements = policy.get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]
    others = []
    for number, st in enumerate(statements, 1):
        if st.get("Effect") != "Allow" or "NotPrincipal" in st:
            continue
        writes = _writes(st)
        strangers = [p for p in _principals(st) if p != f"AWS:{env.role_arn}" or not env.role_arn]
        if writes and strangers:
            sid = f" ({st['Sid']})" if isinstance(st.get("Sid"), str) else ""
            who = ", ".join(sorted({_describe(p, env) for p in strangers}))
            cond = ", under a condition" if st.get("Condition") else ""
            others.append(f"statement {number}{sid} lets {who} {'/'.join(writes)}{cond}")
    if not env.role_arn and others:
        report.add("warn", f"no role_arn in [env.{env.name}] of bbws-mail.toml: the "
                               "policy's writers cannot be compared with the deploy role")
    if others:
        report.add(
            "warn", "principals other than the deploy role can write: " + "; ".join(others)
            + f": narrow the policy to the deploy role: aws s3api get-bucket-policy --bucket "
            f"{env.bucket}, edit, then aws s3api put-bucket-policy --bucket {env.bucket} "
            "--policy file://policy.json")
    else:
        report.add("ok", "bucket policy lets no one but the deploy role write")
    return report


def check_replication(config: Config, client_for: ClientFor, env_name: str = "prod",
                      check_bucket: BucketCheck | None = None) -> list[BucketReport]:
    """What a region failover of ``env_name`` reads, as report sections: the replication
    rules and the destination bucket's own preflight (SES readiness is publish/ses.py's).

    ``check_bucket`` is the preflight a primary bucket passes (default
    bbws_mail.publish.preflight.check_bucket with ``config``); the replica must pass it
    too, because the failover region reads it with the same lifecycle risks."""
    env = config.env(env_name)
    if not env.has_replica:
        return []
    check_bucket = _preflight(config, check_bucket)
    rules = Section(f"replication {env.bucket} -> {env.replica_bucket} ({env.replica_region})")
    check_rules(config, env, client_for(env), rules)
    destination = check_bucket(client_for(env, "s3", env.replica_region), env.replica_bucket)
    destination.bucket = f"{env.replica_bucket} (replica, {env.replica_region})"
    return [rules, destination]


def suggested_configuration(env: EnvConfig, role_arn: str,
                            replica_kms_key_arn: str = "") -> dict[str, Any]:
    """The replication configuration this check passes: one rule for the whole bucket,
    delete markers, 15-minute RTC with metrics, SSE-KMS objects with a replica key."""
    destination: dict[str, Any] = {
        "Bucket": f"arn:aws:s3:::{env.replica_bucket}",
        "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
        "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
    }
    rule: dict[str, Any] = {
        "ID": "bbws-templates-dr", "Priority": 1, "Status": "Enabled",
        "Filter": {"Prefix": ""}, "DeleteMarkerReplication": {"Status": "Enabled"},
        "Destination": destination,
    }
    if replica_kms_key_arn:
        destination["EncryptionConfiguration"] = {"ReplicaKmsKeyID": replica_kms_key_arn}
        rule["SourceSelectionCriteria"] = {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    return {"Role": role_arn, "Rules": [rule]}


# -- status -------------------------------------------------------------------------------------
def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def read_side(client: Any, bucket: str, region: str) -> dict[str, Any]:
    """What one bucket's pointer says: build version, publish time, and whether every
    bundle it names is present (a replica may have the pointer before the objects)."""
    side: dict[str, Any] = {"bucket": bucket, "region": region, "buildVersion": None,
                            "publishedAt": None, "complete": None, "error": None}
    try:
        data = client.get_object(Bucket=bucket, Key=layout.POINTER_KEY)["Body"].read()
    except Exception as exc:
        code = error_code(exc)
        if code not in ("NoSuchKey", "404"):
            side["error"] = f"cannot read {layout.POINTER_KEY} ({code or type(exc).__name__})"
        return side
    try:
        doc = layout.parse_json_object(data, f"s3://{bucket}/{layout.POINTER_KEY}")
        fmt = layout.pointer_format(doc)
        if fmt == layout.LAYOUT_FORMAT:
            layout.check_pointer(doc, f"s3://{bucket}/{layout.POINTER_KEY}")
            manifest = doc["manifest"]
            side["buildVersion"] = manifest["buildVersion"]
            wanted = {e["key"] for e in manifest["templates"].values()}
            wanted |= set(manifest.get("assets", {}).values())
            side["complete"] = wanted <= _present(client, bucket, wanted)
        elif fmt == layout.LEGACY_FORMAT:
            side["buildVersion"] = doc.get("buildVersion")
        else:
            raise layout.LayoutError(f"s3://{bucket}/{layout.POINTER_KEY}: not a pointer")
    except layout.LayoutError as exc:
        side["error"] = str(exc)
        return side
    side["publishedAt"] = doc.get("publishedAt")
    side["gitCommit"] = doc.get("gitCommit")
    side["provenance"] = doc.get("provenance")
    return side


def _present(client: Any, bucket: str, keys: set[str]) -> set[str]:
    """Which of ``keys`` exist: one listing per top-level prefix they live under."""
    found: set[str] = set()
    for prefix in sorted({k.split("/", 1)[0] + "/" for k in keys}):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=prefix):
            found |= {o["Key"] for o in page.get("Contents", [])}
    return found


def replica_status(config: Config, client_for: ClientFor, env_name: str = "prod",
                   now: datetime | None = None) -> dict[str, Any]:
    """The primary and the replica of ``env_name`` side by side.

    ``lagSeconds`` is 0 when both serve the same build, otherwise how much older the
    replica's build is than the primary's (None when either side cannot say)."""
    env = config.env(env_name)
    now = now or datetime.now(UTC)
    primary = read_side(client_for(env), env.bucket, env.region)
    replica = (read_side(client_for(env, "s3", env.replica_region), env.replica_bucket,
                         env.replica_region) if env.has_replica else None)
    for side in filter(None, (primary, replica)):
        at = _parse_time(side["publishedAt"])
        side["ageSeconds"] = int((now - at).total_seconds()) if at else None
    row: dict[str, Any] = {"env": env.name, "primary": primary, "replica": replica,
                           "inSync": None, "lagSeconds": None,
                           "pointerReplication": (pointer_replication(client_for(env),
                                                                      env.bucket)
                                                  if replica and primary["buildVersion"]
                                                  else None)}
    if replica and primary["buildVersion"] and replica["buildVersion"]:
        row["inSync"] = (primary["buildVersion"] == replica["buildVersion"]
                         and bool(replica["complete"] in (True, None)))
        if primary["buildVersion"] == replica["buildVersion"]:
            row["lagSeconds"] = 0
        else:
            p, r = _parse_time(primary["publishedAt"]), _parse_time(replica["publishedAt"])
            row["lagSeconds"] = int((p - r).total_seconds()) if p and r else None
    return row


def pointer_replication(client: Any, bucket: str) -> str | None:
    """S3's own word on the pointer's replication: the ``ReplicationStatus`` of
    ``manifest.json`` (PENDING, COMPLETED, FAILED; None when S3 reports none)."""
    try:
        status = client.head_object(Bucket=bucket, Key=layout.POINTER_KEY).get(
            "ReplicationStatus")
    except Exception:  # the primary's own line already says it cannot be read
        return None
    return str(status) if status else None


POINTER_REPLICATION = {
    "COMPLETED": "manifest.json replicated (S3 says COMPLETED)",
    "PENDING": "manifest.json replication PENDING (S3): the replica has not received the "
               "newest pointer yet",
    "FAILED": "manifest.json replication FAILED (S3): see the OperationsFailedReplication "
              "metric; publish or promote again to retry",
}


def _side_text(side: dict[str, Any]) -> str:
    if side["error"]:
        return f"{side['bucket']} ({side['region']}): {side['error']}"
    if not side["buildVersion"]:
        return f"{side['bucket']} ({side['region']}): nothing published"
    age = side.get("ageSeconds")
    origin = (f" (commit {str(side['gitCommit'])[:12]}, "
              f"{provenance.describe(side.get('provenance'))})" if side.get("gitCommit") else "")
    text = (f"{side['bucket']} ({side['region']}): build {side['buildVersion']}{origin} "
            f"published {side['publishedAt']}"
            + (f" ({_duration(age)} ago)" if age is not None else ""))
    if side["complete"] is False:
        text += ", objects still arriving"
    return text


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def status_lines(row: dict[str, Any]) -> list[str]:
    """``bbws-mail status`` lines for an environment with a replica."""
    lines = [f"{row['env']:<5} primary {_side_text(row['primary'])}"]
    if row["replica"] is None:
        return lines
    lines.append(f"{'':<5} replica {_side_text(row['replica'])}")
    if row["inSync"]:
        lines.append(f"{'':<5} replica in sync")
    elif (row["lagSeconds"] is not None and row["lagSeconds"] >= 0
          and row["primary"]["buildVersion"] != row["replica"]["buildVersion"]):
        lag = row["lagSeconds"]
        lines.append(f"{'':<5} replica lags: {_duration(lag) if lag else 'under 1 s'} behind "
                     "the primary")
    elif row["primary"]["buildVersion"] and row["replica"]["buildVersion"]:
        lines.append(f"{'':<5} replica not in sync yet")
    if row["primary"]["buildVersion"] and not row["primary"]["error"]:
        status = row.get("pointerReplication")
        lines.append(f"{'':<5} " + POINTER_REPLICATION.get(
            str(status), "manifest.json has no replication status: no replication rule "
            "applies to it (`bbws-mail bucket check --env " + str(row["env"]) + "`)"))
    return lines
