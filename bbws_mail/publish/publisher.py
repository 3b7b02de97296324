"""publish, promote, rollback, history and status for one environment's bucket.

Order of writes is the whole design: template objects first (new S3 versions that
no reader looks at yet), ``manifest.json`` last and conditionally (IfMatch on the
ETag we planned against, IfNoneMatch on a first publish). A crash or a failed
request anywhere leaves the old manifest, which still pins complete old objects.
"""

from __future__ import annotations

import base64
import difflib
import getpass
import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bbws_mail.config import Config
from bbws_mail.publish.client import error_code, make_client, status_code
from bbws_mail.publish.errors import PreflightError, PublishConflictError, PublishError
from bbws_mail.publish.preflight import check_bucket

MANIFEST_KEY = "manifest.json"
MANIFEST_FORMAT = 1
FILE_CACHE_CONTROL = "private, max-age=300"
MANIFEST_CACHE_CONTROL = "no-cache, max-age=0"
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "text": "text/plain; charset=utf-8",
                 "subject": "text/plain; charset=utf-8", "schema": "application/schema+json"}
CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dump_manifest(doc: dict[str, Any]) -> bytes:
    """Deterministic bytes: the 412-after-lost-response check compares them exactly."""
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class LocalObject:
    key: str
    data: bytes
    sha256: str
    template: str
    kind: str

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


@dataclass(frozen=True)
class LiveManifest:
    doc: dict[str, Any]
    body: bytes
    etag: str
    version_id: str


@dataclass
class Plan:
    env: str
    bucket: str
    build_version: str
    uploads: list[LocalObject] = field(default_factory=list)
    unchanged: dict[str, str] = field(default_factory=dict)  # key -> pinned VersionId
    live: LiveManifest | None = None
    manifest_doc: dict[str, Any] | None = None  # None: nothing to write
    objects: dict[str, LocalObject] = field(default_factory=dict)  # every key of the build

    def summary(self) -> str:
        if self.manifest_doc is None:
            return (f"{self.env}: build {self.build_version} is already live in {self.bucket}; "
                    "nothing to do")
        was = self.live.doc.get("buildVersion") if self.live else "nothing"
        return (f"{self.env}: {len(self.uploads)} object(s) to upload, {len(self.unchanged)} "
                f"unchanged; manifest {was} -> {self.build_version}")


def load_build(build_dir: Path) -> tuple[dict[str, Any], list[LocalObject]]:
    """The build manifest and every file of it as an S3 object (key = category/file)."""
    try:
        manifest = json.loads((build_dir / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise PublishError(f"cannot read {build_dir / 'manifest.json'}: {exc}") from None
    objects = []
    for name, entry in sorted(manifest.get("templates", {}).items()):
        for kind, info in sorted(entry["files"].items()):
            data = (build_dir / info["path"]).read_bytes()
            if sha256_hex(data) != info["sha256"]:
                raise PublishError(f"{build_dir / info['path']} does not match the build "
                                   "manifest: rebuild with `nox -s build`")
            objects.append(LocalObject(f"{entry['category']}/{info['path']}", data,
                                       info["sha256"], name, kind))
    return manifest, objects


def git_commit(root: Path) -> str:
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def published_by() -> str:
    for var in ("BBWS_PUBLISHED_BY", "GITHUB_ACTOR"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # purely informational
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Publisher:
    """Everything that writes to or reads from one environment's bucket."""

    def __init__(self, config: Config, env: str, *, client: Any = None, bucket: str | None = None,
                 log: Callable[[str], None] = _stderr) -> None:
        self.config = config
        self.env = env
        env_config = config.env(env)
        self.bucket = bucket or env_config.bucket
        self.client = client or make_client(region=env_config.region)
        self.log = log

    # -- reading ------------------------------------------------------------------
    def read_live(self, version_id: str | None = None) -> LiveManifest | None:
        """The manifest readers see now (or a given version of it); None before any publish."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": MANIFEST_KEY}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            response = self.client.get_object(**kwargs)
        except Exception as exc:
            if error_code(exc) in ("NoSuchKey", "404") or status_code(exc) == 404:
                return None
            raise PublishError(f"cannot read s3://{self.bucket}/{MANIFEST_KEY}: {exc}") from None
        body = response["Body"].read()
        return LiveManifest(json.loads(body), body, response["ETag"],
                            response.get("VersionId") or "null")

    def preflight(self) -> None:
        report = check_bucket(self.client, self.bucket)
        for line in report.warnings:
            self.log(f"warning: s3://{self.bucket}: {line}")
        if report.errors:
            raise PreflightError(f"refusing to write to s3://{self.bucket}: "
                                 + "; ".join(report.errors))

    # -- publish --------------------------------------------------------------------
    def plan(self, build_dir: Path) -> Plan:
        """What a publish of ``build_dir`` would write, against the live manifest."""
        build_manifest, objects = load_build(build_dir)
        live = self.read_live()
        live_objects: dict[str, Any] = live.doc.get("objects", {}) if live else {}
        plan = Plan(self.env, self.bucket, build_manifest.get("buildVersion", ""), live=live,
                    objects={o.key: o for o in objects})
        for obj in objects:
            pinned = live_objects.get(obj.key)
            if pinned and pinned.get("sha256") == obj.sha256:
                plan.unchanged[obj.key] = pinned["versionId"]
                continue
            existing = self._existing_version(obj)
            if existing:
                plan.unchanged[obj.key] = existing
            else:
                plan.uploads.append(obj)
        keys = {o.key for o in objects}
        same_objects = live is not None and set(live_objects) == keys and not plan.uploads \
            and all(live_objects[k]["versionId"] == v for k, v in plan.unchanged.items())
        if same_objects and live is not None \
                and live.doc.get("buildVersion") == plan.build_version:
            return plan  # nothing to write at all
        plan.manifest_doc = {
            "format": MANIFEST_FORMAT,
            "env": self.env,
            "buildVersion": plan.build_version,
            "sourceHash": build_manifest.get("sourceHash", ""),
            "gitCommit": git_commit(self.config.root),
            "publishedBy": published_by(),
            "parent": live.version_id if live else None,
            "assetBaseUrls": build_manifest.get("assetBaseUrls", {}),
            "tools": build_manifest.get("tools", {}),
            "build": {"templates": build_manifest.get("templates", {})},
            "objects": {},  # filled with VersionIds at execution time
        }
        return plan

    def _existing_version(self, obj: LocalObject) -> str:
        """A current object version with the same bytes (a retry after a failed publish)."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=obj.key)
        except Exception:  # absent or unreadable: upload it
            return ""
        if head.get("Metadata", {}).get("sha256") == obj.sha256 and head.get("VersionId"):
            return str(head["VersionId"])
        return ""

    def describe(self, plan: Plan, *, diff_lines: int = 12) -> list[str]:
        """The plan for humans: each object that would change, with a short text diff."""
        lines = [plan.summary()]
        live_objects = plan.live.doc.get("objects", {}) if plan.live else {}
        for obj in plan.uploads:
            old = live_objects.get(obj.key)
            lines.append(f"  {'~' if old else '+'} {obj.key} ({len(obj.data)} bytes)")
            if old and obj.kind in ("text", "subject"):
                try:
                    before = self.client.get_object(Bucket=self.bucket, Key=obj.key,
                                                    VersionId=old["versionId"])["Body"].read()
                except Exception:  # a diff is a courtesy
                    continue
                diff = list(difflib.unified_diff(
                    before.decode().splitlines(), obj.data.decode().splitlines(),
                    "live", "build", lineterm="", n=0))[2:]
                lines += [f"      {d}" for d in diff[:diff_lines]]
                if len(diff) > diff_lines:
                    lines.append(f"      ... {len(diff) - diff_lines} more line(s)")
        return lines

    def execute(self, plan: Plan) -> str:
        """Upload the plan's objects, then swing the manifest; return the manifest VersionId."""
        if plan.manifest_doc is None:
            return plan.live.version_id if plan.live else ""
        pinned: dict[str, str] = dict(plan.unchanged)
        total = len(plan.uploads)
        for i, obj in enumerate(plan.uploads, 1):
            self.log(f"[{i}/{total}] PUT s3://{self.bucket}/{obj.key} ({len(obj.data)} bytes)")
            pinned[obj.key] = self._put_object(obj, plan.build_version,
                                               plan.manifest_doc["gitCommit"])
        planned = plan.objects
        plan.manifest_doc["objects"] = {
            key: {"versionId": pinned[key], "sha256": planned[key].sha256,
                  "bytes": len(planned[key].data), "template": planned[key].template,
                  "kind": planned[key].kind}
            for key in sorted(pinned)}
        plan.manifest_doc["publishedAt"] = _now()
        version = self.write_manifest(plan.manifest_doc, plan.live)
        self.log(f"manifest -> build {plan.build_version} (version {version})")
        return version

    def publish(self, build_dir: Path, *, dry_run: bool = False) -> Plan:
        """Preflight, plan, and (unless dry_run) execute; prints the plan either way."""
        self.preflight()
        plan = self.plan(build_dir)
        for line in self.describe(plan):
            self.log(line)
        if not dry_run:
            self.execute(plan)
        return plan

    def _put_object(self, obj: LocalObject, build_version: str, commit: str) -> str:
        digest = base64.b64encode(hashlib.sha256(obj.data).digest()).decode()
        try:
            response = self.client.put_object(
                Bucket=self.bucket, Key=obj.key, Body=obj.data, ContentType=obj.content_type,
                CacheControl=FILE_CACHE_CONTROL, ServerSideEncryption="AES256",
                ChecksumSHA256=digest,
                Metadata={"sha256": obj.sha256, "build-version": build_version,
                          "git-commit": commit, "template": obj.template})
        except Exception as exc:
            raise PublishError(f"upload of s3://{self.bucket}/{obj.key} failed "
                               f"({error_code(exc) or exc}); the live manifest was not changed, "
                               "readers still see the previous version") from None
        version = response.get("VersionId")
        if not version:
            raise PublishError(f"s3://{self.bucket}/{obj.key} has no VersionId: is versioning on?")
        return str(version)

    def write_manifest(self, doc: dict[str, Any], live: LiveManifest | None) -> str:
        """Conditional write: wins only if the manifest is still the one we planned against."""
        body = dump_manifest(doc)
        condition = {"IfMatch": live.etag} if live else {"IfNoneMatch": "*"}
        try:
            response = self.client.put_object(
                Bucket=self.bucket, Key=MANIFEST_KEY, Body=body,
                ContentType="application/json", CacheControl=MANIFEST_CACHE_CONTROL,
                ServerSideEncryption="AES256",
                ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode(),
                Metadata={"sha256": sha256_hex(body), "build-version": doc["buildVersion"]},
                **condition)
        except Exception as exc:
            code = error_code(exc)
            if code in CONFLICT_CODES or status_code(exc) in (409, 412):
                current = self.read_live()
                if current is not None and current.body == body:
                    # our first attempt landed and its response was lost; the retry hit 412
                    return current.version_id
                theirs = current.doc.get("buildVersion") if current else "a deletion"
                raise PublishConflictError(
                    f"s3://{self.bucket}/{MANIFEST_KEY} changed while publishing (now build "
                    f"{theirs}); nothing visible was changed by this run: re-run to publish "
                    "on top of it") from None
            raise PublishError(f"manifest write to s3://{self.bucket} failed ({code or exc}); "
                               "readers still see the previous version") from None
        return str(response.get("VersionId") or "null")

    # -- history, rollback, status --------------------------------------------------------
    def history(self, limit: int = 20) -> list[dict[str, Any]]:
        """Published manifest versions, newest first, with who/when/what."""
        versions: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=MANIFEST_KEY):
            versions += [v for v in page.get("Versions", []) if v["Key"] == MANIFEST_KEY]
        versions.sort(key=lambda v: (v["LastModified"], v.get("IsLatest", False)), reverse=True)
        out = []
        for v in versions[:limit]:
            live = self.read_live(v["VersionId"])
            doc = live.doc if live else {}
            out.append({"versionId": v["VersionId"], "isLatest": bool(v.get("IsLatest")),
                        "buildVersion": doc.get("buildVersion"),
                        "publishedAt": doc.get("publishedAt"),
                        "gitCommit": doc.get("gitCommit"), "publishedBy": doc.get("publishedBy"),
                        "rolledBackFrom": doc.get("rolledBackFrom"),
                        "promotedFrom": (doc.get("promotedFrom") or {}).get("env")})
        return out

    def rollback(self, to: str | None = None, *, dry_run: bool = False) -> str:
        """Point the manifest back at an earlier published version (default: the previous)."""
        self.preflight()
        live = self.read_live()
        if live is None:
            raise PublishError(f"nothing published in s3://{self.bucket}: nothing to roll back")
        entries = self.history(limit=1000)
        older = [e for e in entries if e["versionId"] != live.version_id]
        if to:
            matches = [e for e in older if to in (e["versionId"], e["buildVersion"])]
        else:
            matches = [e for e in older if e["buildVersion"] != live.doc.get("buildVersion")][:1]
        if not matches:
            raise PublishError(f"no earlier published version {to or ''} to roll back to "
                               f"(live: {live.doc.get('buildVersion')})".replace("  ", " "))
        target = self.read_live(matches[0]["versionId"])
        assert target is not None
        for key, info in target.doc.get("objects", {}).items():
            try:
                self.client.head_object(Bucket=self.bucket, Key=key, VersionId=info["versionId"])
            except Exception:
                raise PublishError(f"cannot roll back to {target.doc.get('buildVersion')}: "
                                   f"{key} version {info['versionId']} no longer exists "
                                   "(expired?)") from None
        doc = dict(target.doc)
        doc.update({"parent": live.version_id, "rolledBackFrom": live.doc.get("buildVersion"),
                    "publishedAt": _now(), "publishedBy": published_by(), "env": self.env})
        self.log(f"{self.env}: rollback {live.doc.get('buildVersion')} -> "
                 f"{doc.get('buildVersion')} (manifest version {target.version_id})")
        if dry_run:
            return ""
        return self.write_manifest(doc, live)

    def status(self) -> dict[str, Any]:
        try:
            live = self.read_live()
        except PublishError as exc:
            return {"env": self.env, "bucket": self.bucket, "error": str(exc)}
        if live is None:
            return {"env": self.env, "bucket": self.bucket, "buildVersion": None}
        return {"env": self.env, "bucket": self.bucket, "versionId": live.version_id,
                **{k: live.doc.get(k) for k in ("buildVersion", "publishedAt", "gitCommit",
                                                 "publishedBy", "rolledBackFrom")},
                "templates": len(live.doc.get("build", {}).get("templates", {}))}


def promote(config: Config, source_env: str, target_env: str, *, client: Any = None,
            confirm_prod: bool = False, dry_run: bool = False,
            log: Callable[[str], None] = _stderr) -> str:
    """Copy exactly the live bytes of ``source_env`` to ``target_env`` (no rebuild)."""
    if config.env(target_env).requires_approval and not confirm_prod and not dry_run:
        raise PublishError(f"promoting to {target_env} needs explicit approval: pass "
                           "--confirm-prod (CI: only in the approved environment job)")
    src = Publisher(config, source_env, client=client, log=log)
    dst = Publisher(config, target_env, client=client or src.client, log=log)
    live_src = src.read_live()
    if live_src is None:
        raise PublishError(f"nothing published in {source_env} (s3://{src.bucket}) to promote")
    dst.preflight()
    live_dst = dst.read_live()
    dst_objects = live_dst.doc.get("objects", {}) if live_dst else {}
    copies = {k: v for k, v in live_src.doc["objects"].items()
              if dst_objects.get(k, {}).get("sha256") != v["sha256"]}
    log(f"promote {source_env} -> {target_env}: build {live_src.doc.get('buildVersion')}, "
        f"{len(copies)} object(s) to copy, {len(live_src.doc['objects']) - len(copies)} unchanged")
    if not copies and live_dst and live_dst.doc.get("buildVersion") == \
            live_src.doc.get("buildVersion"):
        log(f"{target_env} already runs build {live_src.doc.get('buildVersion')}; nothing to do")
        return live_dst.version_id
    if dry_run:
        for key in sorted(copies):
            log(f"  ~ {key}")
        return ""
    objects = {}
    for i, (key, info) in enumerate(sorted(live_src.doc["objects"].items()), 1):
        if key not in copies:
            objects[key] = dst_objects[key]
            continue
        log(f"[{i}/{len(live_src.doc['objects'])}] COPY s3://{src.bucket}/{key} -> "
            f"s3://{dst.bucket}/{key}")
        try:
            response = dst.client.copy_object(
                Bucket=dst.bucket, Key=key, ServerSideEncryption="AES256",
                CopySource={"Bucket": src.bucket, "Key": key, "VersionId": info["versionId"]},
                MetadataDirective="COPY")
        except Exception as exc:
            raise PublishError(f"copy of {key} failed ({error_code(exc) or exc}); {target_env} "
                               "still serves its previous version") from None
        objects[key] = {**info, "versionId": response["VersionId"]}
    doc = dict(live_src.doc)
    doc.update({"env": target_env, "objects": objects, "publishedAt": _now(),
                "publishedBy": published_by(), "parent": live_dst.version_id if live_dst else None,
                "promotedFrom": {"env": source_env, "manifestVersionId": live_src.version_id}})
    doc.pop("rolledBackFrom", None)
    version = dst.write_manifest(doc, live_dst)
    log(f"{target_env} manifest -> build {doc.get('buildVersion')} (version {version})")
    return version
