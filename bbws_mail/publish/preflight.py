"""Bucket preflight: versioning, encryption, public access block, lifecycle.

Refuses (errors) what would make a publish unsafe: without versioning there is
no rollback and a manifest cannot pin versions; with public access open the
templates leak. Warns on what weakens the design but does not break it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bbws_mail.publish.client import error_code

RETENTION_DAYS = 90
PAB_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclass
class BucketReport:
    bucket: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ok: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"bucket {self.bucket}:"]
        out += [f"  ok       {m}" for m in self.ok]
        out += [f"  warning  {m}" for m in self.warnings]
        out += [f"  ERROR    {m}" for m in self.errors]
        return out


def check_bucket(client: Any, bucket: str) -> BucketReport:
    """Read the bucket's configuration; never writes anything."""
    report = BucketReport(bucket)
    try:
        status = client.get_bucket_versioning(Bucket=bucket).get("Status", "")
    except Exception as exc:  # every failure here is reported, not raised
        report.errors.append(f"cannot read versioning ({error_code(exc) or exc})")
        return report
    if status == "Enabled":
        report.ok.append("versioning enabled")
    else:
        report.errors.append(
            f"versioning is {status or 'off'}: enable it (history, rollback and the manifest's "
            "pinned versions depend on it): aws s3api put-bucket-versioning "
            f"--bucket {bucket} --versioning-configuration Status=Enabled")
    try:
        pab = client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        open_flags = [f for f in PAB_FLAGS if not pab.get(f)]
        if open_flags:
            report.errors.append("public access is not fully blocked (" + ", ".join(open_flags)
                                 + " off): turn on all four public access block settings")
        else:
            report.ok.append("all public access blocked")
    except Exception as exc:
        code = error_code(exc)
        if code == "NoSuchPublicAccessBlockConfiguration":
            report.errors.append("no public access block configured: block all public access")
        elif code in ("NotImplemented", "501"):
            report.warnings.append("this S3 server cannot report a public access block "
                                   "(not AWS?); public access not verified")
        else:
            report.errors.append(f"cannot read the public access block ({code or exc})")
    try:
        rules = client.get_bucket_encryption(Bucket=bucket)[
            "ServerSideEncryptionConfiguration"]["Rules"]
        algos = {r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules}
        report.ok.append(f"default encryption {', '.join(sorted(algos))}")
    except Exception as exc:
        report.warnings.append(f"no default encryption ({error_code(exc) or exc}); every "
                               "object is still uploaded with SSE AES256")
    try:
        rules = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
        days = [r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") for r in rules
                if r.get("Status") == "Enabled"]
        days = [d for d in days if d]
        if any(d >= RETENTION_DAYS for d in days):
            report.ok.append(f"noncurrent versions expire after {max(days)} days")
        else:
            report.warnings.append(f"no lifecycle rule keeping noncurrent versions "
                                   f"{RETENTION_DAYS} days (found {days or 'none'})")
    except Exception as exc:
        report.warnings.append(f"no lifecycle configuration ({error_code(exc) or exc}): old "
                               f"versions should expire after {RETENTION_DAYS} days")
    return report
