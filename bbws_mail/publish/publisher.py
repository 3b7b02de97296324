"""publish, promote, rollback, repair, history and status for one environment's bucket.

The layout (docs/s3-layout.md, keys and formats in ``bbws_mail.layout``) is what
makes this safe: every object but the pointer is content-addressed and never
overwritten, so it stays the *current* version that no noncurrent-version lifecycle
rule touches; the pointer ``manifest.json`` is written last and conditionally, so a
reader sees the complete old build or the complete new one; each pointer change
leaves an immutable history record, which is what ``history`` and ``rollback`` use.
"""

from __future__ import annotations

import difflib
import getpass
import mimetypes
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bbws_mail import layout
from bbws_mail.config import Config
from bbws_mail.errors import ApprovalError, BreakingChangeError, PreflightError, PublishError
from bbws_mail.publish import compat, envcheck, gc, provenance
from bbws_mail.publish.bucket import Bucket, Pointer
from bbws_mail.publish.credentials import client_for
from bbws_mail.publish.localbuild import Blob, LocalBuild, load_build

Clock = Callable[[], datetime]
# How long a rollback, repair or gc waits for the replica's and SES's checks: an unreachable
# region answers only after botocore's timeouts and retries (minutes), and incident
# response must not wait on it. What is not checked by then is recorded as a warning.
INCIDENT_WAIT_SECONDS = 20.0


def _default_client_for(env: Any, service: str = "s3", region: str | None = None) -> Any:
    """client.client_for, looked up when called (the module's name is what tests replace)."""
    return client_for(env, service, region)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """Millisecond precision: history keys of two actions within one second still differ."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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


@dataclass
class Plan:
    """What a publish, promote or rollback would change, before it changes anything."""

    env: str
    bucket: str
    action: str
    build_version: str
    build_key: str
    manifest: dict[str, Any]
    live: Pointer | None
    uploads: list[Blob] = field(default_factory=list)
    blobs: list[Blob] = field(default_factory=list)  # every object of the build, when local
    changed: list[str] = field(default_factory=list)  # templates whose bundle differs
    breaking: list[compat.Change] = field(default_factory=list)
    allow_breaking: list[str] = field(default_factory=list)
    diffs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def noop(self) -> bool:
        return self.live is not None and self.live.build_key == self.build_key

    def summary(self) -> str:
        if self.noop:
            if self.uploads:
                return (f"{self.env}: build {self.build_version} is live in {self.bucket} but "
                        f"{len(self.uploads)} of its objects are missing: restoring them")
            return f"{self.env}: build {self.build_version} is already live in {self.bucket}; " \
                   "nothing to do"
        change = (f"build {self.live.build_version} -> {self.build_version}" if self.live
                  else f"build {self.build_version} (the first in {self.bucket})")
        return (f"{self.env}: {self.action} {change}: "
                f"{len(self.uploads)} object(s) to upload, {len(self.changed)} template(s) "
                "changed")


def _manifest_of(pointer: Pointer) -> dict[str, Any]:
    return dict(pointer.doc["manifest"]) if pointer.format == layout.LAYOUT_FORMAT else {}


class Publisher:
    """Everything that reads or writes one environment's bucket (named in bbws-mail.toml)."""

    def __init__(self, config: Config, env: str, *, client: Any = None, approved: bool = False,
                 log: Callable[[str], None] = _stderr, clock: Clock = _utcnow,
                 client_for: envcheck.ClientFor | None = None) -> None:
        self.config = config
        self.env = env
        env_config = config.env(env)
        self.client_for = client_for or _default_client_for
        self.bucket = Bucket(env_config, client if client is not None else
                             self.client_for(env_config), approved=approved, log=log)
        self.log = log
        self.clock = clock
        self.checks: dict[str, Any] = {}  # the preflight's record, written into history
        self.provenance: dict[str, Any] | None = None  # of the build being published

    @property
    def client(self) -> Any:
        return self.bucket.client

    # -- reading ------------------------------------------------------------------------------
    def read_live(self) -> Pointer | None:
        return self.bucket.read_pointer()

    def preflight(self, *, incident: bool = False, override: str = "") -> envcheck.EnvReport:
        """The environment's one preflight (publish/envcheck.py), the bucket's own part
        first. A refusal there always refuses. Beyond it (replica, SES): publish and
        promote refuse unless ``override`` says why (recorded in history); an
        ``incident`` (rollback, repair, gc) records them as warnings and goes on."""
        report = envcheck.check_environment(self.config, self.client_for, self.env,
                                            client=self.client, bucket_only=True)
        hard = report.refusals(bucket_only=True)
        if hard:
            raise PreflightError(self._refusal(hard, "fix the bucket (`bbws-mail bucket check "
                                                     f"--env {self.env}` prints each fix)"))
        report.others = envcheck.check_others_within(
            self.config, self.client_for, self.env,
            INCIDENT_WAIT_SECONDS if incident else None)
        soft = [r for r in report.refusals() if r not in hard]
        warnings = report.warnings(bucket_only=incident)
        self.checks = {"warnings": warnings} if warnings else {}
        if soft and not incident:
            if not override:
                raise PreflightError(self._refusal(soft, "fix them (`bbws-mail bucket check "
                                                         f"--env {self.env}` prints each fix), "
                                                         "or pass --override-preflight REASON "
                                                         "to write anyway (recorded in "
                                                         "history)"))
            self.checks["override"] = {"reason": override, "refusals": soft,
                                       "by": published_by()}
            self.log(f"warning: {self.env}: preflight refusals overridden ({override}): "
                     + "; ".join(soft))
        for line in warnings:
            self.log(f"warning: {line}")
        return report

    def _refusal(self, refusals: list[str], then: str) -> str:
        return (f"refusing to write to {self.bucket.url()} ({self.env}); nothing was "
                "written:\n" + "\n".join(f"  {r}" for r in refusals) + f"\n{then}")

    def live_bundles(self, live: Pointer | None, names: Iterable[str]) -> dict[str, Any]:
        """The live build's bundle parts of ``names`` (html, text, subject, schema).

        A template whose live objects cannot be read (a format-1 bucket whose pinned
        versions expired, an object deleted by hand) is left out with a warning: readers
        already fail on it, so no producer can depend on it, and it must not block the
        publish that repairs it.
        """
        out: dict[str, Any] = {}
        if live is None:
            return out
        for name in names:
            try:
                parts = self._live_parts(live, name)
            except (PublishError, layout.LayoutError) as exc:
                self.log(f"warning: the live {name} cannot be read ({exc}); its schema is "
                         "not compared")
                continue
            if parts is not None:
                out[name] = parts
        return out

    def _live_parts(self, live: Pointer, name: str) -> dict[str, Any] | None:
        if live.format == layout.LAYOUT_FORMAT:
            entry = live.doc["manifest"]["templates"].get(name)
            if not entry:
                return None
            data = self.bucket.get_verified(entry["key"], entry["sha256"])
            return layout.decode_bundle(data, key=entry["key"], sha256=entry["sha256"],
                                        name=name)
        entry = live.doc.get("build", {}).get("templates", {}).get(name)
        if not entry:
            return None
        pinned = live.doc.get("objects", {})
        parts: dict[str, Any] = {}
        for kind in layout.BUNDLE_PARTS:
            key = f"{entry['category']}/{entry['files'][kind]['path']}"
            data = self.bucket.get(key, pinned.get(key, {}).get("versionId"))
            parts[kind] = data.decode("utf-8", "replace")
        parts["schema"] = layout.parse_json_object(parts["schema"].encode(), key)
        return parts

    def live_templates(self, live: Pointer | None) -> dict[str, str]:
        """Template name -> the SHA-256 that identifies its live version ('' for legacy)."""
        if live is None:
            return {}
        if live.format == layout.LAYOUT_FORMAT:
            return {n: e["sha256"] for n, e in live.doc["manifest"]["templates"].items()}
        return dict.fromkeys(live.doc.get("build", {}).get("templates", {}), "")

    # -- planning -----------------------------------------------------------------------------
    def _plan(self, action: str, manifest: dict[str, Any], build_key: str,
              schemas: Callable[[list[str]], dict[str, dict[str, Any]]], blobs: list[Blob],
              allow_breaking: Iterable[str], texts: Callable[[list[str]], dict[str, str]]
              ) -> Plan:
        live = self.bucket.read_pointer()
        plan = Plan(self.env, self.bucket.name, action, manifest["buildVersion"], build_key,
                    manifest, live, blobs=list(blobs))
        if plan.noop:
            present = self._present()
            plan.uploads = [b for b in blobs if b.key not in present]
            return plan
        live_versions = self.live_templates(live)
        new_versions = {n: e["sha256"] for n, e in manifest["templates"].items()}
        plan.changed = sorted(n for n in new_versions if live_versions.get(n) != new_versions[n])
        compare = sorted(n for n in live_versions if n in plan.changed or n not in new_versions)
        live_parts = self.live_bundles(live, [n for n in compare if n in new_versions])
        if live is not None:
            live_validator = int(_manifest_of(live).get("validator", 1))
            new_schemas = schemas([n for n in compare if n in new_versions])
            live_schemas = {n: live_parts[n]["schema"] for n in live_parts}
            live_schemas.update({n: {} for n in compare if n not in new_versions})
            plan.breaking = compat.gate(live_schemas, new_schemas, live_validator,
                                        int(manifest.get("validator", 1)))
            if int(manifest.get("validator", 1)) > live_validator:
                unchanged = [n for n in live_versions if n not in compare and n in new_versions]
                plan.breaking += [compat.Change(n, "$", f"validator semantics {live_validator} "
                                                f"-> {manifest.get('validator')} (stricter)")
                                  for n in unchanged]
        allowed = set(allow_breaking)
        breaking_names = {c.template for c in plan.breaking}
        plan.allow_breaking = sorted(allowed & breaking_names)
        unused = allowed - breaking_names
        for name in sorted(unused & set(new_versions)):
            self.log(f"note: --allow-breaking {name}: {name} has no breaking change")
        if unused - set(new_versions):
            self.log(f"note: {len(unused - set(new_versions))} --allow-breaking name(s) match "
                     "no template of the build")
        new_texts = texts([n for n in plan.changed if n in live_parts])
        for name, text in new_texts.items():
            diff = list(difflib.unified_diff(str(live_parts[name]["text"]).splitlines(),
                                             text.splitlines(), "live", "build", lineterm="",
                                             n=0))[2:]
            plan.diffs[name] = diff
        present = self._present()
        plan.uploads = [b for b in blobs if b.key not in present]
        return plan

    def _present(self) -> set[str]:
        keys: set[str] = set()
        for prefix in (*(f"{c}/" for c in layout.CATEGORIES), layout.BUILDS_PREFIX,
                       layout.ASSETS_PREFIX):
            keys |= set(self.bucket.list_keys(prefix))
        return keys

    def plan(self, build_dir: Path, *, allow_breaking: Iterable[str] = ()) -> Plan:
        """What a publish of ``build_dir`` would change, gated against the live build."""
        local = load_build(build_dir)
        return self._plan_local(local, allow_breaking)

    def _plan_local(self, local: LocalBuild, allow_breaking: Iterable[str]) -> Plan:
        self.provenance = provenance.of_build(self.config.root, local.sources,
                                              str(local.manifest.get("sourceHash", "")))
        self.log(f"{self.env}: build {local.build_version} from commit "
                 f"{(self.provenance['commit'] or 'unknown')[:12]}: "
                 f"{provenance.describe(self.provenance)}")
        def texts(names: list[str]) -> dict[str, str]:
            return {n: str(layout.decode_bundle(local.bundles[n].data, key=local.bundles[n].key,
                                                sha256=local.bundles[n].sha256,
                                                name=n)["text"]) for n in names}

        return self._plan("publish", local.manifest, local.key,
                          lambda names: {n: local.schemas[n] for n in names}, local.blobs(),
                          allow_breaking, texts)

    def describe(self, plan: Plan, *, diff_lines: int = 12) -> list[str]:
        """The plan for humans: each changed template with a short diff of its text part."""
        lines = [plan.summary()]
        for blob in plan.uploads:
            lines.append(f"  + {blob.key} ({len(blob.data)} bytes)")
        for name in plan.changed:
            lines.append(f"  ~ {name}")
            diff = plan.diffs.get(name, [])
            lines += [f"      {d}" for d in diff[:diff_lines]]
            if len(diff) > diff_lines:
                lines.append(f"      ... {len(diff) - diff_lines} more line(s)")
        for change in plan.breaking:
            mark = "allowed" if change.template in plan.allow_breaking else "BREAKING"
            lines.append(f"  {mark}: {change}")
        return lines

    def _check_gate(self, plan: Plan) -> None:
        refused = [c for c in plan.breaking if c.template not in plan.allow_breaking]
        if refused:
            names = sorted({c.template for c in refused})
            raise BreakingChangeError(
                f"{self.env}: build {plan.build_version} rejects data that the live build "
                f"{plan.live.build_version if plan.live else ''} accepts, so producers "
                "sending it would fail:\n" + "\n".join(f"  {c}" for c in refused)
                + "\nmake the change additive (new properties optional), or, once every "
                "producer sends the new shape, pass "
                + " ".join(f"--allow-breaking {n}" for n in names))

    # -- writing ------------------------------------------------------------------------------
    def _pointer_doc(self, plan: Plan, *, promoted_from: dict[str, Any] | None = None
                     ) -> dict[str, Any]:
        live = plan.live
        recent = [plan.build_key]
        if live is not None and live.format == layout.LAYOUT_FORMAT:
            recent += [k for k in live.doc.get("recent", []) if k not in recent]
        return {
            "format": layout.LAYOUT_FORMAT,
            "kind": layout.POINTER_KIND,
            "env": self.env,
            "build": {"key": plan.build_key,
                      "sha256": layout.sha256_hex(layout.canonical_json(plan.manifest))},
            "manifest": plan.manifest,
            "publishedAt": rfc3339(self.clock()),
            "publishedBy": published_by(),
            "gitCommit": (self.provenance or {}).get("commit") or git_commit(self.config.root),
            "provenance": self.provenance,
            "preflight": self.checks or None,
            "action": plan.action,
            "parent": live.build_key or live.build_version if live else None,
            "recent": recent[:gc.KEEP_BUILDS],
            "allowBreaking": plan.allow_breaking,
            "promotedFrom": promoted_from,
        }

    def _record(self, doc: dict[str, Any]) -> None:
        key = layout.history_key(doc["publishedAt"], doc["manifest"]["buildVersion"]
                                 if "manifest" in doc else str(doc.get("buildVersion", "")),
                                 str(doc.get("action", "publish")))
        self.bucket.put_immutable(key, layout.canonical_json(doc))

    def _record_live(self, live: Pointer | None) -> None:
        """The live pointer's own record, if the run that wrote it died before writing it."""
        if live is None:
            return
        doc = live.doc
        version = live.build_version
        stamp = str(doc.get("publishedAt") or rfc3339(self.clock()))
        key = layout.history_key(stamp, version, str(doc.get("action", "publish")))
        if not self.bucket.exists(key):
            self.bucket.put_immutable(key, layout.canonical_json(doc))

    def _swing(self, plan: Plan, *, promoted_from: dict[str, Any] | None = None) -> str:
        """Pointer last and conditionally, then the history record, then collection."""
        self._record_live(plan.live)
        doc = self._pointer_doc(plan, promoted_from=promoted_from)
        version = self.bucket.put_pointer(doc, plan.live.etag if plan.live else None)
        self.log(f"{self.env}: manifest.json -> build {plan.build_version} ({plan.action})")
        try:  # the pointer has moved: what follows cannot undo it, so it only warns
            self._record(doc)
        except PublishError as exc:
            self.log(f"warning: history record not written ({exc}); the next publish, "
                     "rollback or promote writes it")
        try:
            self.collect()
        except PublishError as exc:
            self.log(f"warning: collection skipped ({exc}); `bbws-mail gc --env {self.env}` "
                     "runs it alone")
        return version

    def _upload(self, blobs: list[Blob]) -> None:
        for i, blob in enumerate(blobs, 1):
            self.log(f"[{i}/{len(blobs)}] PUT {self.bucket.url(blob.key)} ({len(blob.data)} "
                     "bytes)")
            self.bucket.put_immutable(blob.key, blob.data, blob.content_type)

    def execute(self, plan: Plan) -> str:
        """Upload what is missing, then swing the pointer; return its VersionId."""
        if plan.noop:
            self._upload(plan.uploads)
            return plan.live.version_id if plan.live else ""
        self._check_gate(plan)
        self._upload(plan.uploads)
        version = self._swing(plan)
        self._restore(plan)
        return version

    def _restore(self, plan: Plan) -> None:
        """Re-upload any object of the now-live build that vanished while we worked (a
        collection that planned before our pointer moved): we still hold every byte."""
        if not plan.blobs:
            return
        try:
            present = self._present()
            missing = [b for b in plan.blobs if b.key not in present]
            if missing:
                self.log(f"warning: {len(missing)} object(s) of the live build vanished while "
                         "publishing; restoring them")
                self._upload(missing)
        except PublishError as exc:  # the pointer has moved; this is a safety net only
            self.log(f"warning: could not verify the live build's objects ({exc}); publish "
                     "the same build again to check and restore them")

    def publish(self, build_dir: Path, *, dry_run: bool = False,
                allow_breaking: Iterable[str] = (), override: str = "") -> Plan:
        """Preflight, plan, gate and (unless dry_run) execute; prints the plan either way."""
        self.preflight(override=override)
        plan = self.plan(build_dir, allow_breaking=allow_breaking)
        for line in self.describe(plan):
            self.log(line)
        if not dry_run:
            self.execute(plan)
        else:
            self._check_gate(plan)
        return plan

    # -- history, rollback, repair, status ----------------------------------------------------
    def records(self) -> list[tuple[str, dict[str, Any]]]:
        """History records (key, pointer document), newest first; unreadable ones skipped."""
        out = []
        for key in sorted(self.bucket.list_keys(layout.HISTORY_PREFIX), reverse=True):
            try:
                doc = layout.parse_json_object(self.bucket.get(key), key)
            except (layout.LayoutError, PublishError) as exc:
                self.log(f"warning: skipping {key}: {exc}")
                continue
            fmt = layout.pointer_format(doc)
            if fmt == layout.LAYOUT_FORMAT:
                try:
                    layout.check_pointer(doc, key)
                except layout.LayoutError as exc:
                    self.log(f"warning: skipping {exc}")
                    continue
            if fmt:
                out.append((key, doc))
        return out

    @staticmethod
    def _entry(key: str, doc: dict[str, Any], live: Pointer | None) -> dict[str, Any]:
        fmt = layout.pointer_format(doc)
        manifest = doc.get("manifest", {}) if fmt == layout.LAYOUT_FORMAT else {}
        return {
            "record": key,
            "buildVersion": manifest.get("buildVersion", doc.get("buildVersion")),
            "build": (doc.get("build") or {}).get("key", ""),
            "action": doc.get("action", "publish"),
            "publishedAt": doc.get("publishedAt"), "publishedBy": doc.get("publishedBy"),
            "gitCommit": doc.get("gitCommit"),
            "allowBreaking": doc.get("allowBreaking", []),
            "promotedFrom": (doc.get("promotedFrom") or {}).get("env"),
            "provenance": doc.get("provenance"),
            "preflight": doc.get("preflight"),
            "legacy": fmt == layout.LEGACY_FORMAT,
            "isLive": bool(live and live.doc == doc),
        }

    def history(self, limit: int = 20) -> list[dict[str, Any]]:
        """Pointer changes, newest first: when, which build, what action, who, allowed breaks."""
        live = self.bucket.read_pointer()
        entries = [self._entry(key, doc, live) for key, doc in self.records()[:limit]]
        if live is not None and not any(e["isLive"] for e in entries):
            # the run that moved the pointer died before its record: the next one writes it
            entries.insert(0, self._entry("", live.doc, live))
        return entries[:limit]

    def _complete(self, manifest: dict[str, Any], present: set[str] | None = None) -> str:
        """'' if every object of the build exists, else the first missing key."""
        keys = [layout.build_key(layout.sha256_hex(layout.canonical_json(manifest))),
                *(e["key"] for e in manifest["templates"].values()),
                *manifest.get("assets", {}).values()]
        for key in keys:
            if (key not in present) if present is not None else not self.bucket.exists(key):
                return key
        return ""

    def _plan_known(self, action: str, manifest: dict[str, Any],
                    allow_breaking: Iterable[str]) -> Plan:
        """A plan to re-point at a build already in the bucket (rollback, repair)."""
        def schemas(names: list[str]) -> dict[str, dict[str, Any]]:
            parts = self._bundles(manifest, names)
            return {n: p["schema"] for n, p in parts.items()}

        def texts(names: list[str]) -> dict[str, str]:
            return {n: str(p["text"]) for n, p in self._bundles(manifest, names).items()}

        key = layout.build_key(layout.sha256_hex(layout.canonical_json(manifest)))
        return self._plan(action, manifest, key, schemas, [], allow_breaking, texts)

    def _bundles(self, manifest: dict[str, Any], names: list[str]) -> dict[str, Any]:
        out = {}
        for name in names:
            entry = manifest["templates"][name]
            data = self.bucket.get_verified(entry["key"], entry["sha256"])
            out[name] = layout.decode_bundle(data, key=entry["key"], sha256=entry["sha256"],
                                             name=name)
        return out

    def rollback(self, to: str | None = None, *, dry_run: bool = False,
                 allow_breaking: Iterable[str] = ()) -> Plan:
        """Re-point at an earlier build named by the history (default: the previous one).

        Incident response: only the bucket's own preflight can refuse it; what the replica
        or SES lack is recorded in history as warnings."""
        self.preflight(incident=True)
        live = self.bucket.read_pointer()
        if live is None:
            raise PublishError(f"nothing published in {self.bucket.url()}: nothing to roll back")
        candidates: list[dict[str, Any]] = []
        for _key, doc in self.records():
            if layout.pointer_format(doc) != layout.LAYOUT_FORMAT:
                continue
            build = doc["build"]["key"]
            if build == live.build_key or build in [c["build"]["key"] for c in candidates]:
                continue
            candidates.append(doc)
        if to:
            matches = [d for d in candidates if to in (d["manifest"]["buildVersion"],
                                                       d["build"]["key"])
                       or (len(to) >= 8 and d["build"]["sha256"].startswith(to))]
        else:
            # the build live before this one: history keys carry each publisher's own
            # clock, so the newest other record is only the fallback
            parent = live.doc.get("parent")
            matches = [d for d in candidates if d["build"]["key"] == parent] or candidates[:1]
        if not matches:
            offered = ", ".join(d["manifest"]["buildVersion"] for d in candidates) or "none"
            which = f"no earlier build {to}" if to else "no earlier build"
            raise PublishError(f"{which} to roll back to in "
                               f"{self.bucket.url()} (live: {live.build_version}; offered: "
                               f"{offered}); see `bbws-mail history --env {self.env}`")
        manifest = dict(matches[0]["manifest"])
        layout.check_build_manifest(manifest, "history record")
        self.provenance = matches[0].get("provenance")
        missing = self._complete(manifest)
        if missing:
            raise PublishError(f"cannot roll back to {manifest['buildVersion']}: "
                               f"{self.bucket.url(missing)} is gone (collected?)")
        plan = self._plan_known("rollback", manifest, allow_breaking)
        for line in self.describe(plan):
            self.log(line)
        self._check_gate(plan)
        if not dry_run:
            self._swing(plan)
            try:
                missing = self._complete(manifest, self._present())
            except PublishError:
                missing = ""  # the pointer has moved; this check is a safety net only
            if missing:  # see gc.py: a collection raced us; only the build's sources can help
                self.log(f"warning: {self.bucket.url(missing)} vanished during the rollback: "
                         f"publish that build again (or roll back to another) to restore it")
        return plan

    def repair(self, *, dry_run: bool = False) -> Plan | None:
        """Re-point a corrupt, truncated, foreign or incomplete pointer at the newest
        complete build the bucket's history names (history records, then pointer versions).

        The write is conditional on the pointer judged here (its ETag taken before it is
        read), so a publish that lands while the history is searched wins, not the repair.
        """
        self.bucket.repairing = True
        etag = self.bucket.pointer_etag()
        try:
            live = self.bucket.read_pointer()
        except PublishError as exc:
            self.log(f"{self.env}: {exc}")
            live = None
        else:
            if live is not None and (live.format != layout.LAYOUT_FORMAT
                                     or not self._complete(live.doc["manifest"])):
                self.log(f"{self.env}: manifest.json is healthy (build {live.build_version}); "
                         "nothing to repair")
                return None
        present = self._present()
        candidates: list[dict[str, Any]] = [doc for _k, doc in self.records()]
        versions = self.bucket.pointer_versions()
        self.log(f"{self.env}: repair: looking through {len(candidates)} history record(s), "
                 f"then {len(versions)} older version(s) of manifest.json")
        for version in versions:
            try:
                pointer = self.bucket.read_pointer(version)
            except PublishError:
                continue
            if pointer is not None:
                candidates.append(pointer.doc)
        chosen = None
        for doc in candidates:
            if layout.pointer_format(doc) != layout.LAYOUT_FORMAT or doc.get("env") != self.env:
                continue
            try:
                layout.check_pointer(doc, "candidate")
            except layout.LayoutError:
                continue
            if not self._complete(doc["manifest"], present):
                chosen = doc
                break
        if chosen is None:
            raise PublishError(f"no complete build found in the history of {self.bucket.url()}: "
                               f"publish one (`bbws-mail publish --env {self.env}`)")
        manifest = chosen["manifest"]
        self.provenance = chosen.get("provenance")
        plan = Plan(self.env, self.bucket.name, "repair", manifest["buildVersion"],
                    chosen["build"]["key"], manifest, None,
                    allow_breaking=list(chosen.get("allowBreaking", [])))
        self.log(f"{self.env}: repair: re-point manifest.json to build "
                 f"{manifest['buildVersion']} ({chosen['publishedAt']})")
        if not dry_run:
            self.bucket._may_write()
            doc = self._pointer_doc(plan)
            self.bucket.put_pointer(doc, etag)
            self._record(doc)
        return plan

    def collect(self, *, dry_run: bool = False) -> list[str]:
        """Remove (as noncurrent versions) what no kept build references; see gc.py."""
        return gc.collect(self, dry_run=dry_run)

    def status(self) -> dict[str, Any]:
        row: dict[str, Any] = {"env": self.env, "bucket": self.bucket.name}
        try:
            live = self.bucket.read_pointer()
        except PublishError as exc:
            return {**row, "error": str(exc)}
        if live is None:
            return {**row, "buildVersion": None}
        doc = live.doc
        templates = (doc["manifest"]["templates"] if live.format == layout.LAYOUT_FORMAT
                     else doc.get("build", {}).get("templates", {}))
        return {**row, "buildVersion": live.build_version, "build": live.build_key,
                "format": live.format, "action": doc.get("action", "publish"),
                "allowBreaking": doc.get("allowBreaking", []),
                **{k: doc.get(k) for k in ("publishedAt", "gitCommit", "publishedBy",
                                           "provenance")},
                "templates": len(templates)}


def promote(config: Config, source_env: str, target_env: str, *,
            clients: dict[str, Any] | None = None, approved: bool = False, dry_run: bool = False,
            allow_breaking: Iterable[str] = (), log: Callable[[str], None] = _stderr,
            clock: Clock = _utcnow, override: str = "", accept_unmatched: str = "",
            client_for: envcheck.ClientFor | None = None) -> Plan:
    """Copy the live build of ``source_env`` to ``target_env``, byte for byte.

    Read with the source environment's client and written with the target's (each
    environment is its own account): GET, verify SHA-256, PUT with ChecksumSHA256.
    The target is gated against its own live build and its whole preflight. The build's
    provenance travels with it; an environment that requires approval refuses a build
    recorded as not matching its commit unless ``accept_unmatched`` says why.
    """
    clients = clients or {}
    src = Publisher(config, source_env, client=clients.get(source_env), log=log, clock=clock,
                    client_for=client_for)
    dst = Publisher(config, target_env, client=clients.get(target_env), approved=approved,
                    log=log, clock=clock, client_for=client_for)
    live_src = src.bucket.read_pointer()
    if live_src is None:
        raise PublishError(f"nothing published in {source_env} ({src.bucket.url()}) to promote")
    if live_src.format != layout.LAYOUT_FORMAT:
        raise PublishError(f"{source_env} still has a format-{live_src.format} manifest: "
                           f"publish to {source_env} once (it moves to the new layout), then "
                           "promote")
    manifest = live_src.doc["manifest"]
    dst.provenance = _promoted_provenance(live_src, source_env, dst, accept_unmatched)
    dst.preflight(override=override)
    src_parts: dict[str, Any] = {}

    def parts(names: list[str]) -> dict[str, Any]:
        missing = [n for n in names if n not in src_parts]
        src_parts.update(src._bundles(manifest, missing))
        return {n: src_parts[n] for n in names}

    blob_keys = [*(e["key"] for e in manifest["templates"].values()),
                 *manifest.get("assets", {}).values(), live_src.build_key]
    plan = dst._plan("promote", manifest, live_src.build_key,
                     lambda names: {n: p["schema"] for n, p in parts(names).items()}, [],
                     allow_breaking, lambda names: {n: str(p["text"])
                                                    for n, p in parts(names).items()})
    present = dst._present()
    todo = [k for k in blob_keys if k not in present]
    log(f"promote {source_env} -> {target_env}: build {plan.build_version}, {len(todo)} "
        f"object(s) to copy, {len(blob_keys) - len(todo)} already there")
    for line in dst.describe(plan)[1:]:
        log(line)
    dst._check_gate(plan)
    if dry_run or (plan.noop and not todo):
        if plan.noop:
            log(f"{target_env} already runs build {plan.build_version}; nothing to do")
        return plan
    entries = {e["key"]: e["sha256"] for e in manifest["templates"].values()}
    entries[live_src.build_key] = live_src.doc["build"]["sha256"]

    def copy(keys: list[str]) -> None:
        for i, key in enumerate(keys, 1):
            log(f"[{i}/{len(keys)}] COPY {src.bucket.url(key)} -> {dst.bucket.url(key)}")
            if key in entries:
                data = src.bucket.get_verified(key, entries[key])
                content_type = "application/json"
            else:
                data = src.bucket.get(key)
                name = next(n for n, k in manifest["assets"].items() if k == key)
                if layout.asset_key(name, layout.sha256_hex(data)) != key:
                    raise PublishError(f"{src.bucket.url(key)} does not match the hash in its "
                                       f"name; {target_env} was not changed")
                content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            dst.bucket.put_immutable(key, data, content_type)

    copy(todo)
    if plan.noop:
        return plan
    dst._swing(plan, promoted_from={"env": source_env, "build": live_src.build_key,
                                    "publishedAt": live_src.doc.get("publishedAt")})
    try:
        present = dst._present()
        copy([k for k in blob_keys if k not in present])  # vanished meanwhile (see gc.py)
    except PublishError as exc:  # the pointer has moved; this is a safety net only
        log(f"warning: could not verify {target_env}'s objects ({exc}); promote again to "
            "check and restore them")
    return plan


def _promoted_provenance(live_src: Pointer, source_env: str, dst: Publisher,
                         accept_unmatched: str) -> dict[str, Any] | None:
    """The provenance the promoted build carries; refuses (before anything is read or
    written in the target) a build recorded as not matching its commit when the target
    requires approval and no reason was given."""
    record = live_src.doc.get("provenance")
    record = dict(record) if isinstance(record, dict) else None
    if not dst.bucket.env.requires_approval:
        return record
    version = live_src.build_version
    if record is None or record.get("matchesCommit") is None:
        dst.log(f"warning: build {version} in {source_env}: {provenance.describe(record)}; "
                "it cannot be traced to a commit")
        return record
    if record.get("matchesCommit") is False:
        if not accept_unmatched:
            raise ApprovalError(
                f"build {version} in {source_env} was published from sources that differ from "
                f"commit {str(record.get('commit'))[:12]} ({provenance.describe(record)}): "
                f"{dst.env} takes only builds traced to a commit: commit the change, publish "
                f"to dev and promote again, or pass --accept-unmatched-source REASON "
                "(recorded in history); nothing was written")
        record["acceptedUnmatched"] = {"reason": accept_unmatched, "by": published_by(),
                                       "env": dst.env}
        dst.log(f"warning: {dst.env}: build {version} does not match its commit; accepted "
                f"({accept_unmatched})")
    return record
