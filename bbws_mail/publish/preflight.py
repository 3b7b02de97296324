"""Bucket preflight, judged by effect: what would the bucket's settings do to our keys?

Each lifecycle rule is simulated over every class of key the publisher writes
(pointer, build manifests, bundles per category and template, assets, history
records): an expiration of *current* versions or a transition to an archive tier
(GLACIER, DEEP_ARCHIVE, or INTELLIGENT_TIERING with an archive access tier) would
delete or make unreadable something the live build, a kept build or the pointer
needs, so it refuses. Noncurrent-version rules only ever reach what the collector
gave up (docs/s3-layout.md), so they set the undo window: below 90 days, or missing,
is a warning. Every finding carries the exact ``aws s3api`` command that fixes it.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from bbws_mail import layout
from bbws_mail.config import Config
from bbws_mail.publish.client import error_code

RETENTION_DAYS = 90
PAB_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
ARCHIVE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")
ARCHIVE_TIERS = ("ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS")
COLLECT_RULE_ID = "bbws-expire-collected-versions"
UNREADABLE = ("the bucket does not exist", "cannot read versioning")  # nothing else was read


@dataclass(frozen=True)
class Finding:
    verdict: str  # refuse | warn | ok
    message: str
    fix: str = ""  # the aws s3api command that fixes it

    def __str__(self) -> str:
        return f"{self.message}\n           fix: {self.fix}" if self.fix else self.message


@dataclass
class BucketReport:
    bucket: str
    findings: list[Finding] = field(default_factory=list)

    def _of(self, verdict: str) -> tuple[str, ...]:
        """Read-only views (a tuple, so an ``.append`` fails loudly): add with ``add``."""
        return tuple(str(f) for f in self.findings if f.verdict == verdict)

    @property
    def errors(self) -> tuple[str, ...]:
        return self._of("refuse")

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._of("warn")

    @property
    def ok(self) -> tuple[str, ...]:
        return self._of("ok")

    def add(self, verdict: str, message: str, fix: str = "") -> None:
        self.findings.append(Finding(verdict, message, fix))

    def lines(self, shown: set[str] | None = None) -> list[str]:
        """The report for people: refusals first, then warnings, then what is fine. Each
        fix is printed once (``shown`` carries the fixes already printed above, across
        the sections of one environment's preflight)."""
        shown = set() if shown is None else shown
        out = [f"bucket {self.bucket}:"]
        for verdict, label in (("refuse", "REFUSE  "), ("warn", "warning "), ("ok", "ok      ")):
            for f in self.findings:
                if f.verdict != verdict:
                    continue
                out.append(f"  {label} {f.message}")
                if f.fix:
                    out.append(f"           fix: {f.fix}" if f.fix not in shown
                               else "           fix: the command printed above")
                    shown.add(f.fix)
        return out


class Section(BucketReport):
    """A report section about something other than one bucket (replication rules, SES):
    the same ok/warning/REFUSE lines under its own title."""

    def lines(self, shown: set[str] | None = None) -> list[str]:
        return [f"{self.bucket}:", *super().lines(shown)[1:]]


@dataclass(frozen=True)
class KeyClass:
    """Keys the publisher writes, as literal prefixes (or one exact key)."""

    name: str
    literals: tuple[str, ...]
    exact: bool = False
    immutable: bool = True  # its current version must stay; noncurrent ones were collected

    def parts(self) -> dict[str, str]:
        """Each literal under its own label: what a rule selecting by prefix must select
        whole (a class of several prefixes, one per category or template, has one part
        per prefix)."""
        if len(self.literals) == 1:
            return {self.name: self.literals[0]}
        kind = self.name.partition(" (")[0]
        return {f"{kind} under {literal}": literal for literal in self.literals}


def key_classes(config: Config | None) -> list[KeyClass]:
    """Every class of key the publisher writes; bundles under each template's own prefix
    when ``config`` states the templates (``[templates]``), else under each category."""
    templates = (config.templates if config is not None else {}) or {}
    bundles = tuple(f"{c}/{t}/" for t, c in sorted(templates.items())) or tuple(
        f"{c}/" for c in layout.CATEGORIES)
    return [
        KeyClass("the pointer manifest.json", (layout.POINTER_KEY,), exact=True,
                 immutable=False),
        KeyClass("build manifests (builds/)", (layout.BUILDS_PREFIX,)),
        KeyClass("template bundles (" + ", ".join(f"{c}/" for c in layout.CATEGORIES) + ")",
                 bundles),
        KeyClass("assets (assets/)", (layout.ASSETS_PREFIX,)),
        KeyClass("history records (history/)", (layout.HISTORY_PREFIX,)),
    ]


def _filter(rule: dict[str, Any]) -> tuple[str, list[Any]]:
    """(prefix, tags) of a lifecycle or intelligent-tiering rule; size bounds may match."""
    flt = rule.get("Filter")
    if flt is None:
        return str(rule.get("Prefix", "")), []
    if "And" in flt:
        both = flt["And"]
        return str(both.get("Prefix", "")), list(both.get("Tags", []))
    if "Tag" in flt:
        return str(flt.get("Prefix", "")), [flt["Tag"]]
    return str(flt.get("Prefix", "")), []


def _matches(rule: dict[str, Any], cls: KeyClass) -> bool:
    prefix, tags = _filter(rule)
    if tags:
        return False  # the publisher writes no object tags: a tag filter never selects ours
    if cls.exact:
        return any(lit.startswith(prefix) for lit in cls.literals)
    return any(lit.startswith(prefix) or prefix.startswith(lit) for lit in cls.literals)


def _cmd(*args: str) -> str:
    return "aws s3api " + " ".join(shlex.quote(a) for a in args)


def _rule_name(rule: dict[str, Any]) -> str:
    return f"lifecycle rule {rule.get('ID') or '(no ID)'}"


def check_bucket(client: Any, bucket: str, config: Config | None = None) -> BucketReport:
    """Read the bucket's configuration and judge it; never writes anything."""
    report = BucketReport(bucket)
    try:
        status = client.get_bucket_versioning(Bucket=bucket).get("Status", "")
    except Exception as exc:  # every failure here is reported, not raised
        _unreadable(client, bucket, exc, report)
        return report
    if status == "Enabled":
        report.add("ok", "versioning enabled")
    else:
        report.add("refuse", f"versioning is {(status or 'off').lower()}: without it a "
                   "collected object cannot be undone and an overwrite is final",
                   _cmd("put-bucket-versioning", "--bucket", bucket,
                        "--versioning-configuration", '{"Status":"Enabled"}'))
    _public_access(client, bucket, report)
    _encryption(client, bucket, report)
    _lifecycle(client, bucket, config, report)
    _logging(client, bucket, report)
    _object_lock(client, bucket, report)
    return report


def _unreadable(client: Any, bucket: str, exc: BaseException, report: BucketReport) -> None:
    """The bucket cannot be read at all: say why in words an operator can act on."""
    code = error_code(exc) or type(exc).__name__
    region = str(getattr(getattr(client, "meta", None), "region_name", "") or "")
    if code == "NoSuchBucket":
        report.add("refuse", f"the bucket does not exist (NoSuchBucket) in this account and "
                   f"region ({region or '?'}): create and configure it as "
                   "docs/runbooks/setup.md says, acting in this environment's account",
                   _cmd("create-bucket", "--bucket", bucket, "--create-bucket-configuration",
                        json.dumps({"LocationConstraint": region}, separators=(",", ":"))))
    elif code in ("AccessDenied", "403", "AllAccessDisabled"):
        report.add("refuse", f"cannot read versioning ({code}): the bucket belongs to another "
                   "account than this environment's role_arn, or the role may not read its "
                   "settings (the IAM reads are listed in docs/runbooks/setup.md)")
    else:
        report.add("refuse", f"cannot read versioning ({code}); retrying may help if S3 or "
                   "the network failed")


def check_tags(client: Any, bucket: str, expected: dict[str, str],
               report: BucketReport) -> None:
    """Warn when the bucket lacks one of the design's tags (or names another environment);
    the fix keeps every tag the bucket has and adds the missing ones."""
    try:
        have = {t["Key"]: t["Value"] for t in client.get_bucket_tagging(Bucket=bucket)
                .get("TagSet", [])}
    except Exception as exc:
        if error_code(exc) not in ("NoSuchTagSet", "NoSuchTagSetError"):
            code = error_code(exc) or type(exc).__name__
            report.add("warn", f"cannot read the bucket's tags ({code})")
            return
        have = {}
    missing = [k for k in expected if k not in have]
    wrong = [k for k in ("Environment",) if k in have and have[k] != expected[k]]
    if not missing and not wrong:
        report.add("ok", "tagged " + ", ".join(expected))
        return
    tags = {**have, **{k: expected[k] for k in missing + wrong}}
    problems = [f"missing tag(s) {', '.join(missing)}"] if missing else []
    if wrong:
        problems.append(f"tag Environment is not {expected['Environment']}")
    problem = "; ".join(problems)
    report.add("warn", f"{problem}: cost reports and access policies by tag miss this bucket "
               "(values from [tags] in bbws-mail.toml)",
               _cmd("put-bucket-tagging", "--bucket", bucket, "--tagging", json.dumps(
                   {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
                   separators=(",", ":"))))


def _public_access(client: Any, bucket: str, report: BucketReport) -> None:
    fix = _cmd("put-public-access-block", "--bucket", bucket,
               "--public-access-block-configuration",
               json.dumps(dict.fromkeys(PAB_FLAGS, True), separators=(",", ":")))
    try:
        pab = client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except Exception as exc:
        code = error_code(exc)
        if code == "NoSuchPublicAccessBlockConfiguration":
            report.add("refuse", "no public access block: the templates could be made public",
                       fix)
        elif code in ("NotImplemented", "501"):
            report.add("warn", "this S3 server cannot report a public access block (not AWS?); "
                       "public access not verified")
        else:
            report.add("refuse", f"cannot read the public access block ({code or exc})", fix)
        return
    open_flags = [f for f in PAB_FLAGS if not pab.get(f)]
    if open_flags:
        report.add("refuse", "public access is not fully blocked (" + ", ".join(open_flags)
                   + " off)", fix)
    else:
        report.add("ok", "all public access blocked")


def _encryption(client: Any, bucket: str, report: BucketReport) -> None:
    try:
        rules = client.get_bucket_encryption(Bucket=bucket)[
            "ServerSideEncryptionConfiguration"]["Rules"]
    except Exception:
        report.add("warn", "no default encryption configured (objects are uploaded with the "
                   "bucket default, which S3 sets to SSE-S3 on new buckets)",
                   _cmd("put-bucket-encryption", "--bucket", bucket,
                        "--server-side-encryption-configuration", json.dumps(
                            {"Rules": [{"ApplyServerSideEncryptionByDefault":
                                        {"SSEAlgorithm": "AES256"}}]}, separators=(",", ":"))))
        return
    defaults = [r.get("ApplyServerSideEncryptionByDefault", {}) for r in rules]
    kinds = []
    for d in defaults:
        algo = d.get("SSEAlgorithm", "?")
        if algo.startswith("aws:kms"):
            kinds.append(f"{algo} with " + ("a customer KMS key" if d.get("KMSMasterKeyID")
                                             else "the AWS managed key"))
        else:
            kinds.append(algo)
    report.add("ok", f"default encryption {', '.join(kinds)}; every upload uses the bucket "
               "default")


def _intelligent_tiering_archives(client: Any, bucket: str) -> list[dict[str, Any]] | None:
    """Enabled intelligent-tiering configurations with an archive tier (None: unknown)."""
    try:
        configs = client.list_bucket_intelligent_tiering_configurations(Bucket=bucket).get(
            "IntelligentTieringConfigurationList", [])
    except Exception:
        return None
    return [c for c in configs if c.get("Status") == "Enabled"
            and any(t.get("AccessTier") in ARCHIVE_TIERS for t in c.get("Tierings", []))]


def fixed_lifecycle(rules: list[dict[str, Any]], classes: list[KeyClass],
                    archives: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The configuration with every harmful action on our keys removed and collected
    versions kept 90 days: what the fix command puts."""
    out = []
    covered = False
    for rule in rules:
        rule = json.loads(json.dumps(rule, default=str))
        ours = [c for c in classes if _matches(rule, c)]
        if rule.get("Status") == "Enabled" and ours:
            exp = rule.get("Expiration", {})
            if "Days" in exp or "Date" in exp:
                if exp.get("ExpiredObjectDeleteMarker"):
                    rule["Expiration"] = {"ExpiredObjectDeleteMarker": True}
                else:
                    rule.pop("Expiration")
            kept = [t for t in rule.get("Transitions", [])
                    if not _harmful_transition(t, rule, ours, archives)]
            if "Transitions" in rule:
                if kept:
                    rule["Transitions"] = kept
                else:
                    rule.pop("Transitions")
            nve = rule.get("NoncurrentVersionExpiration")
            if nve and any(c.immutable for c in ours):
                if nve.get("NoncurrentDays", 0) < RETENTION_DAYS:
                    nve["NoncurrentDays"] = RETENTION_DAYS
                nve.pop("NewerNoncurrentVersions", None)
                if all(_matches(rule, c) for c in classes if c.immutable):
                    covered = True
        actions = {"Expiration", "Transitions", "NoncurrentVersionExpiration",
                   "NoncurrentVersionTransitions", "AbortIncompleteMultipartUpload"}
        if actions & set(rule):
            out.append(rule)
    if not covered:
        out.append({"ID": COLLECT_RULE_ID, "Status": "Enabled", "Filter": {"Prefix": ""},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": RETENTION_DAYS}})
    return out


def _harmful_transition(t: dict[str, Any], rule: dict[str, Any], ours: list[KeyClass],
                        archives: list[dict[str, Any]] | None) -> bool:
    cls = t.get("StorageClass")
    if cls in ARCHIVE_CLASSES:
        return True
    if cls == "INTELLIGENT_TIERING":
        if archives is None:
            return False  # unknown: reported as a warning, not rewritten
        return any(_matches(a, c) for a in archives for c in ours)
    return False


def _lifecycle(client: Any, bucket: str, config: Config | None, report: BucketReport) -> None:
    classes = key_classes(config)
    try:
        rules = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except Exception as exc:
        if error_code(exc) not in ("NoSuchLifecycleConfiguration", "NotImplemented", ""):
            report.add("warn", f"cannot read the lifecycle configuration ({error_code(exc)})")
            return
        rules = []
    enabled = [r for r in rules if r.get("Status") == "Enabled"]
    archives = None
    if any(t.get("StorageClass") == "INTELLIGENT_TIERING" for r in enabled
           for t in r.get("Transitions", [])):
        archives = _intelligent_tiering_archives(client, bucket)
    fix = _cmd("put-bucket-lifecycle-configuration", "--bucket", bucket,
               "--lifecycle-configuration", json.dumps(
                   {"Rules": fixed_lifecycle(rules, classes, archives)},
                   separators=(",", ":"), default=str))
    before = len(report.findings)
    undo: dict[str, int] = {}
    keeps: set[str] = set()
    for rule in enabled:
        ours = [c for c in classes if _matches(rule, c)]
        if not ours:
            continue
        names = "; ".join(c.name for c in ours)
        exp = rule.get("Expiration", {})
        if "Days" in exp or "Date" in exp:
            when = f"after {exp['Days']} days" if "Days" in exp else "on a date"
            report.add("refuse", f"{_rule_name(rule)} expires current versions {when} of "
                       f"{names}: a delete marker would hide the live build or the pointer "
                       "and every render would fail", fix)
        for t in rule.get("Transitions", []):
            cls = t.get("StorageClass")
            if cls in ARCHIVE_CLASSES:
                report.add("refuse", f"{_rule_name(rule)} moves current versions of {names} "
                           f"to {cls}: GetObject fails until each object is restored", fix)
            elif cls == "INTELLIGENT_TIERING":
                if archives is None:
                    report.add("warn", f"{_rule_name(rule)} moves {names} to "
                               "INTELLIGENT_TIERING and its archive access tiers cannot be "
                               "read here: make sure none applies to these keys")
                elif any(_matches(a, c) for a in archives for c in ours):
                    report.add("refuse", f"{_rule_name(rule)} moves {names} to "
                               "INTELLIGENT_TIERING with an archive access tier enabled: "
                               "unread objects become unreadable until restored", fix)
        nve = rule.get("NoncurrentVersionExpiration", {})
        if nve.get("NewerNoncurrentVersions", 0) >= 1:
            # only versions with that many newer noncurrent ones expire; a collected
            # immutable object has exactly one noncurrent version, so it never does
            keeps.update(c.name for c in ours if c.immutable)
        elif "NoncurrentDays" in nve:
            for c in ours:
                if c.immutable:
                    undo[c.name] = min(undo.get(c.name, nve["NoncurrentDays"]),
                                       nve["NoncurrentDays"])
    for c in classes:
        if not c.immutable:
            continue
        if c.name not in undo and c.name in keeps:
            report.add("warn", f"the only rules expiring noncurrent versions of {c.name} set "
                       "NewerNoncurrentVersions, which spares a key's newest noncurrent "
                       "versions: a collected object has one, so it is never removed", fix)
        elif c.name not in undo:
            report.add("warn", f"no lifecycle rule expires noncurrent versions of {c.name}: "
                       "collected objects are never removed", fix)
        elif undo[c.name] < RETENTION_DAYS:
            report.add("warn", f"collected objects of {c.name} are removed for good after "
                       f"{undo[c.name]} days, below the design's {RETENTION_DAYS}", fix)
    if len(report.findings) == before:
        report.add("ok", "lifecycle: no rule can delete or archive a current version of our "
                   f"keys; collected versions expire after {min(undo.values())} days")


def _logging(client: Any, bucket: str, report: BucketReport) -> None:
    try:
        enabled = client.get_bucket_logging(Bucket=bucket).get("LoggingEnabled")
    except Exception as exc:
        report.add("warn", f"cannot read access logging ({error_code(exc) or type(exc).__name__})")
        return
    if enabled:
        report.add("ok", "access logging on")
        return
    logs = f"{bucket}-logs"
    status = {"LoggingEnabled": {"TargetBucket": logs, "TargetPrefix": f"{bucket}/"}}
    steps = []
    try:
        client.head_bucket(Bucket=logs)
    except Exception:
        region = str(getattr(getattr(client, "meta", None), "region_name", "") or "")
        steps.append(_cmd("create-bucket", "--bucket", logs, "--create-bucket-configuration",
                          json.dumps({"LocationConstraint": region}, separators=(",", ":"))))
    # S3 delivers logs as the logging service principal: the log bucket's policy admits it
    steps.append(_cmd("put-bucket-policy", "--bucket", logs, "--policy", json.dumps(
        {"Version": "2012-10-17", "Statement": [{
            "Sid": "S3ServerAccessLogs", "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{logs}/*"}]}, separators=(",", ":"))))
    steps.append(_cmd("put-bucket-logging", "--bucket", bucket, "--bucket-logging-status",
                      json.dumps(status, separators=(",", ":"))))
    report.add("warn", f"access logging is off (the design requires it; the fix logs to "
               f"{logs} in the same account and region, any such bucket will do)",
               " && ".join(steps))


def _object_lock(client: Any, bucket: str, report: BucketReport) -> None:
    try:
        lock = client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except Exception as exc:
        if error_code(exc) in ("ObjectLockConfigurationNotFoundError", "NotImplemented", "404"):
            report.add("ok", "Object Lock off")
        else:
            report.add("warn", f"cannot read Object Lock ({error_code(exc) or type(exc).__name__})")
        return
    if lock.get("ObjectLockEnabled") != "Enabled":
        report.add("ok", "Object Lock off")
        return
    retention = lock.get("Rule", {}).get("DefaultRetention")
    if retention:
        span = (f"{retention['Days']} days" if "Days" in retention
                else f"{retention.get('Years')} years")
        report.add("ok", f"Object Lock on, default retention {retention.get('Mode')} {span}: "
                   "publishing and collection still work (a delete adds a marker); collected "
                   "versions stay at least that long")
    else:
        report.add("ok", "Object Lock on, no default retention")
