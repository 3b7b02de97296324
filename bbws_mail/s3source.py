"""Templates from an environment's S3 bucket, as ``docs/s3-layout.md`` lays them out.

A Lambda that sets ``BBWS_TEMPLATE_SOURCE=s3`` and ``BBWS_ENV`` renders what was
last published, without a redeploy:

- **Few requests.** One GET of the pointer ``manifest.json`` (later: conditional on
  its ETag, a 304), then one GET per template, on its first render, checked against
  the SHA-256 the build manifest names. A refresh after a publish re-reads only the
  bundles whose hash changed.
- **Data only.** A bundle holds template text and a schema; the runtime compiles
  them itself. Nothing read from the bucket is ever executed, so write access to a
  bucket can never become code execution in a Lambda.
- **Calm in a brownout.** Short connect/read timeouts and two attempts; after a
  failed refresh the last good build keeps being served and S3 is not asked again
  until the next attempt is due (backing off up to ``retry_max_seconds``), so no
  render waits on S3 in between. A cold reader that cannot read S3 serves the build
  packaged with the code, when there is one. Each fallback and each refused
  manifest is logged once, with its cause.
- **Failover region.** In the replica region (``AWS_REGION`` equal to the
  environment's ``replica_region``) the reader reads the replica bucket and adopts
  only a build whose bundles have all arrived (replication keeps no order): the
  pointer's build, else the newest complete one of its ``recent`` builds. Objects
  are found by their content-addressed keys, never by VersionId.
- **Legacy buckets.** A format-1 manifest (VersionId-pinned files) is still read, so
  Lambdas can be deployed before the bucket is republished.

Readers are shared per (env, bucket, region, endpoint): ``S3Source(env="dev")``
created for every call costs nothing after the first. boto3 is imported here, on
first use, never by ``import bbws_mail``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from bbws_mail import buildlayout, layout
from bbws_mail.errors import (
    ManifestRefused,
    S3Unavailable,
    SourceError,
    error_code,
    status_code,
)
from bbws_mail.sources import (
    LazyTemplates,
    PackagedSource,
    Snapshot,
    TemplateFiles,
    lazy_from_files,
    packaged_dir,
    packaged_environments,
)

MANIFEST_KEY = layout.POINTER_KEY
log = logging.getLogger("bbws_mail.s3source")


def describe_error(exc: BaseException) -> str:
    """A one-line cause for logs and errors: an S3 error code and HTTP status, or the kind
    of network failure."""
    if isinstance(exc, SourceError):
        return str(exc)
    if isinstance(getattr(exc, "response", None), dict):
        code, status = error_code(exc) or "error", status_code(exc)
        return f"{code} (HTTP {status})" if status else code
    return type(exc).__name__


def resolve_bucket(env: str, *, bucket: str | None = None, region: str | None = None,
                   environments: Mapping[str, Any] | None = None) -> tuple[str, str, bool]:
    """(bucket, region, is_replica) for a reader of ``env`` running in ``region``.

    Bucket names come from an explicit ``bucket``, else ``BBWS_TEMPLATE_BUCKET``, else the
    reader settings the packaged build carries (``environments`` in its manifest, from
    ``bbws-mail.toml``), else ``bbws-templates-<env>``. In the environment's replica
    region the replica bucket is read.
    """
    envs = packaged_environments() if environments is None else environments
    settings = envs.get(env, {}) if isinstance(envs.get(env, {}), dict) else {}
    here = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    replica_region = str(settings.get("replica_region") or "")
    in_replica = bool(replica_region) and here == replica_region
    explicit = bucket or os.environ.get("BBWS_TEMPLATE_BUCKET") or ""
    if explicit:
        return explicit, here or str(settings.get("region") or "af-south-1"), in_replica
    if in_replica and settings.get("replica_bucket"):
        return str(settings["replica_bucket"]), replica_region, True
    primary = str(settings.get("bucket") or f"bbws-templates-{env}")
    return primary, str(settings.get("region") or here or "af-south-1"), False


def make_reader_client(region: str, *, endpoint_url: str | None, connect_timeout: float,
                       read_timeout: float, attempts: int) -> Any:
    """An S3 client sized for a Lambda: seconds, not botocore's 60 s x retries."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": attempts},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") \
        or os.environ.get("AWS_ENDPOINT_URL") or None
    return boto3.session.Session().client("s3", region_name=region, endpoint_url=endpoint,
                                          config=config)


class _Reader:
    """The state behind every :class:`S3Source` of one (env, bucket, region, endpoint)."""

    def __init__(self, env: str, bucket: str, region: str, replica: bool, *,
                 client: Any, endpoint_url: str | None, refresh_seconds: float,
                 retry_seconds: float, retry_max_seconds: float, connect_timeout: float,
                 read_timeout: float, attempts: int, fallback: bool) -> None:
        self.env, self.bucket, self.region, self.replica = env, bucket, region, replica
        self.refresh_seconds = refresh_seconds
        self.retry_seconds = retry_seconds
        self.retry_max_seconds = retry_max_seconds
        self.connect_timeout, self.read_timeout, self.attempts = (
            connect_timeout, read_timeout, attempts)
        self.fallback = fallback
        self._client = client
        self._endpoint_url = endpoint_url
        self._lock = threading.Lock()
        self._client_lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._from_s3 = False  # False while serving the packaged fallback
        self._etag = ""
        self._next_check = 0.0  # monotonic time of the next pointer check
        self._s3_blocked_until = 0.0  # no S3 request at all before this (backing off)
        self._failures = 0
        self._last_error: SourceError | None = None
        self._logged: set[str] = set()

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = make_reader_client(
                        self.region, endpoint_url=self._endpoint_url,
                        connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                        attempts=self.attempts)
        return self._client

    def where(self, key: str = MANIFEST_KEY) -> str:
        return f"s3://{self.bucket}/{key}"

    def _log_once(self, level: int, message: str, key: str = "") -> None:
        """Log ``message`` unless one with the same ``key`` (default: itself) was logged."""
        key = key or message
        if key not in self._logged:
            self._logged.add(key)
            log.log(level, message)

    def _backoff(self) -> float:
        self._failures += 1
        delay = min(self.retry_max_seconds, self.retry_seconds * 2 ** (self._failures - 1))
        until = time.monotonic() + delay
        self._next_check = self._s3_blocked_until = until
        return delay

    def _get(self, key: str, **extra: Any) -> bytes:
        """One object's bytes; S3Unavailable without a request while backing off."""
        wait = self._s3_blocked_until - time.monotonic()
        if wait > 0:
            raise S3Unavailable(f"{self.where(key)}: not requested, S3 failed recently "
                                f"(next attempt in {wait:.0f} s)")
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()
        except Exception as exc:
            if getattr(exc, "response", None) is None or status_code(exc) in (429, 503) \
                    or status_code(exc) >= 500:
                self._s3_blocked_until = time.monotonic() + self.retry_seconds
            raise S3Unavailable(f"{self.where(key)}: {describe_error(exc)}") from None
        return bytes(body)

    # -- snapshots --------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        current = self._snapshot
        if current is not None and time.monotonic() < self._next_check:
            return current
        if current is not None:
            if not self._lock.acquire(blocking=False):
                return current  # another thread is refreshing: keep serving
        else:
            self._lock.acquire()
        try:
            current = self._snapshot
            now = time.monotonic()
            if now >= self._next_check:
                self._refresh()
            elif current is None and self._last_error is not None:
                raise self._last_error
        finally:
            self._lock.release()
        if self._snapshot is None:
            assert self._last_error is not None
            raise self._last_error
        return self._snapshot

    def _refresh(self) -> None:
        try:
            self._load()
        except Exception as raised:  # whatever a bucket's content provokes: never a crash
            exc = raised if isinstance(raised, SourceError) else ManifestRefused(
                f"{self.where()}: reading it raised {type(raised).__name__}")
            delay = self._backoff()
            refused = isinstance(exc, ManifestRefused)
            what = "refused the manifest" if refused else "cannot read templates"
            if self._snapshot is not None:
                kept = self._snapshot.build_version or "?"
                origin = "S3" if self._from_s3 else "the packaged build"
                self._log_once(logging.ERROR if refused else logging.WARNING,
                               f"bbws-mail S3 source: {what}: {exc}; keeping build {kept} from "
                               f"{origin}, next attempt in {delay:.0f} s", f"{what}: {exc}")
                return
            packaged = self._packaged() if self.fallback else None
            if packaged is not None:
                self._snapshot, self._from_s3 = packaged, False
                self._log_once(logging.WARNING,
                               f"bbws-mail S3 source: {what}: {exc}; falling back to the "
                               f"packaged build {packaged.build_version}", f"{what}: {exc}")
                return
            self._last_error = exc
            why = "no packaged build to fall back to" if self.fallback else "fallback is off"
            self._log_once(logging.ERROR,
                           f"bbws-mail S3 source: {what}: {exc}; {why}")
        else:
            self._failures = 0
            self._last_error = None
            self._s3_blocked_until = 0.0
            self._next_check = time.monotonic() + self.refresh_seconds

    def _packaged(self) -> Snapshot | None:
        if packaged_dir() is None:
            return None
        try:
            return PackagedSource(env=self.env or None).snapshot()
        except SourceError:
            return None

    def _load(self) -> None:
        extra: dict[str, Any] = {}
        if self._etag and self._from_s3:
            extra["IfNoneMatch"] = self._etag
        wait = self._s3_blocked_until - time.monotonic()
        if wait > 0:
            raise S3Unavailable(f"not requested, S3 failed recently (next attempt in {wait:.0f} s)")
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=MANIFEST_KEY, **extra)
            data = bytes(response["Body"].read())
        except Exception as exc:
            if status_code(exc) == 304:
                return  # unchanged: one request
            raise S3Unavailable(f"{self.where()}: {describe_error(exc)}") from None
        try:
            doc = layout.parse_json_object(data, self.where())
        except layout.LayoutError as exc:
            raise ManifestRefused(str(exc)) from None
        fmt = layout.pointer_format(doc)
        if fmt == 0:
            raise ManifestRefused(f"{self.where()}: not a bbws-mail manifest (neither a format-2 "
                                  "pointer nor a format-1 manifest)")
        if self.env and doc.get("env") != self.env:
            raise ManifestRefused(
                f"{self.where()}: published for another environment (its env is "
                f"{'missing' if not doc.get('env') else 'different'}); this reader is "
                f"BBWS_ENV={self.env}: check BBWS_TEMPLATE_BUCKET and bbws-mail.toml")
        try:
            if fmt == layout.LAYOUT_FORMAT:
                snapshot, settled = self._from_pointer(doc)
            else:
                snapshot, settled = self._from_legacy(doc, response.get("VersionId", "")), True
        except layout.LayoutError as exc:
            raise ManifestRefused(str(exc)) from None
        except (KeyError, TypeError, AttributeError, ValueError):
            raise ManifestRefused(f"{self.where()}: format-{fmt} manifest with a missing or "
                                  "malformed entry (templates, files, objects)") from None
        old = self._snapshot
        if old is not None and self._from_s3 and old.origin == snapshot.origin:
            snapshot = old  # same build: keep what it loaded and compiled
        elif old is not None and isinstance(old.templates, LazyTemplates) \
                and isinstance(snapshot.templates, LazyTemplates):
            snapshot.templates.take_over(old.templates)
        self._snapshot, self._from_s3 = snapshot, True  # one assignment: old or new, never a mix
        # A replica serving an older build than its pointer names must look again next time.
        self._etag = str(response.get("ETag", "")) if settled else ""

    # -- format 2 ---------------------------------------------------------------------------
    def _from_pointer(self, doc: dict[str, Any]) -> tuple[Snapshot, bool]:
        layout.check_pointer(doc, self.where())
        build_key, manifest = doc["build"]["key"], doc["manifest"]
        settled = True
        if self.replica:
            build_key, manifest = self._newest_complete(doc)
            settled = build_key == doc["build"]["key"]
        templates: dict[str, Any] = manifest["templates"]

        def load(name: str) -> TemplateFiles:
            entry = templates[name]
            data = self._get(entry["key"])
            bundle = layout.decode_bundle(data, key=self.where(entry["key"]),
                                          sha256=entry["sha256"], name=name)
            return TemplateFiles(name, bundle["html"], bundle["text"],
                                 bundle["subject"].rstrip("\n"), bundle["schema"])

        lazy = LazyTemplates({n: e["sha256"] for n, e in templates.items()}, load)
        # the published build's hosts first, the packaged build's for the others
        urls = {**buildlayout.asset_base_urls(packaged_environments()),
                **dict(manifest.get("assetBaseUrls", {}))}
        asset = buildlayout.asset_base_url_for(urls, self.env or None)
        return Snapshot(str(manifest["buildVersion"]), lazy, asset, self.where(build_key),
                        manifest), settled

    def _newest_complete(self, doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The pointer's build if all its bundles are on the replica, else the newest
        complete one of ``recent``; the build already served counts as complete."""
        current = self._snapshot.origin if self._snapshot is not None and self._from_s3 else ""
        listed: dict[str, set[str]] = {}

        def present(key: str) -> bool:
            prefix = key.split("/", 1)[0] + "/"
            if prefix not in listed:
                listed[prefix] = self._list(prefix)
            return key in listed[prefix]

        candidates: list[tuple[str, dict[str, Any] | None]] = [
            (doc["build"]["key"], doc["manifest"])]
        for key in doc.get("recent") or []:
            if isinstance(key, str) and key not in {c[0] for c in candidates}:
                candidates.append((key, None))
        for key, manifest in candidates:
            if self.where(key) == current and self._snapshot is not None \
                    and self._snapshot.manifest is not None:
                return key, self._snapshot.manifest
            if manifest is None:
                manifest = self._build_manifest(key)
                if manifest is None:
                    continue
            if all(present(e["key"]) for e in manifest["templates"].values()):
                if key != doc["build"]["key"]:
                    self._log_once(logging.WARNING, (
                        f"bbws-mail S3 source {self.where()}: replica has not received every "
                        f"object of the pointer's build yet; serving {key}, the newest "
                        "complete one"))
                return key, manifest
        raise S3Unavailable(f"{self.where()}: no complete build on the replica yet (the "
                            f"pointer's and {len(candidates) - 1} recent build(s) lack objects)")

    def _list(self, prefix: str) -> set[str]:
        wait = self._s3_blocked_until - time.monotonic()
        if wait > 0:
            raise S3Unavailable(f"{self.where(prefix)}: not requested (backing off)")
        keys: set[str] = set()
        token: dict[str, Any] = {}
        try:
            while True:
                page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, **token)
                keys.update(o["Key"] for o in page.get("Contents", []))
                if not page.get("IsTruncated"):
                    return keys
                token = {"ContinuationToken": page["NextContinuationToken"]}
        except Exception as exc:
            raise S3Unavailable(f"{self.where(prefix)}: {describe_error(exc)}") from None

    def _build_manifest(self, key: str) -> dict[str, Any] | None:
        """A build manifest from ``builds/``, checked against the hash in its key."""
        if layout.key_class(key) != "build":
            return None
        try:
            data = self._get(key)
        except S3Unavailable:
            return None
        digest = key[len(layout.BUILDS_PREFIX):-len(".json")]
        if layout.sha256_hex(data) != digest:
            self._log_once(logging.ERROR, f"{self.where(key)}: content does not match its key")
            return None
        doc = layout.parse_json_object(data, self.where(key))
        return layout.check_build_manifest(doc, self.where(key))

    # -- format 1 (legacy) ------------------------------------------------------------------
    def _from_legacy(self, doc: dict[str, Any], version: str) -> Snapshot:
        objects: dict[str, Any] = doc["objects"]
        build = doc.get("build")
        if not isinstance(build, dict) or not isinstance(build.get("templates"), dict):
            raise layout.LayoutError(f"{self.where()}: format-1 manifest without build.templates")
        manifest = {"buildVersion": str(doc.get("buildVersion", "")),
                    "assetBaseUrls": doc.get("assetBaseUrls", {}),
                    "templates": build["templates"]}
        paths: dict[str, str] = {}
        for entry in manifest["templates"].values():
            for info in entry["files"].values():
                paths[info["path"]] = f"{entry['category']}/{info['path']}"

        def read(path: str) -> bytes:
            key = paths[path]
            pinned = objects.get(key)
            if not isinstance(pinned, dict) or not pinned.get("versionId"):
                raise ManifestRefused(f"{self.where()} does not pin {key}")
            return self._get(key, VersionId=str(pinned["versionId"]))

        origin = f"{self.where()}?versionId={version}"
        lazy = lazy_from_files(manifest, read, origin=origin)
        return Snapshot(manifest["buildVersion"], lazy,
                        buildlayout.asset_base_url_for(dict(manifest.get("assetBaseUrls", {})),
                                                       self.env or None), origin, manifest)

    def status(self) -> dict[str, Any]:
        """What this reader serves, for logs and health checks."""
        snap = self._snapshot
        return {"bucket": self.bucket, "region": self.region, "replica": self.replica,
                "buildVersion": snap.build_version if snap else None,
                "origin": snap.origin if snap else None, "fromS3": self._from_s3,
                "failures": self._failures,
                "nextCheckIn": max(0.0, self._next_check - time.monotonic())}


_readers: dict[tuple[Any, ...], _Reader] = {}
_readers_lock = threading.Lock()


class S3Source:
    """The current published build of one environment, re-checked every ``refresh_seconds``.

    Worst case for one S3 call: ``attempts`` x (``connect_timeout`` + ``read_timeout``).
    After a failure S3 is left alone for ``retry_seconds``, doubling up to
    ``retry_max_seconds``. ``fallback=True`` serves the packaged build to a cold reader
    that cannot read S3. The settings of the first source created for a bucket apply
    to every later one (they share one reader).
    """

    def __init__(self, env: str | None = None, *, bucket: str | None = None,
                 region: str | None = None, client: Any = None,
                 endpoint_url: str | None = None, refresh_seconds: float = 60.0,
                 retry_seconds: float = 5.0, retry_max_seconds: float = 300.0,
                 connect_timeout: float = 1.0, read_timeout: float = 2.0, attempts: int = 2,
                 fallback: bool = True, replica: bool | None = None) -> None:
        self.env = env or os.environ.get("BBWS_ENV") or ""
        if not self.env and not bucket and not os.environ.get("BBWS_TEMPLATE_BUCKET"):
            raise SourceError("S3 template source needs an environment: pass env='dev' or set "
                              "BBWS_ENV (dev, sit or prod)")
        self.bucket, self.region, is_replica = resolve_bucket(self.env, bucket=bucket,
                                                              region=region)
        self.replica = is_replica if replica is None else replica
        key = (self.env, self.bucket, self.region, self.replica, endpoint_url,
               id(client) if client is not None else None)
        reader = _readers.get(key)
        if reader is None:
            with _readers_lock:
                reader = _readers.get(key)
                if reader is None:
                    reader = _readers[key] = _Reader(
                        self.env, self.bucket, self.region, self.replica, client=client,
                        endpoint_url=endpoint_url, refresh_seconds=refresh_seconds,
                        retry_seconds=retry_seconds, retry_max_seconds=retry_max_seconds,
                        connect_timeout=connect_timeout, read_timeout=read_timeout,
                        attempts=attempts, fallback=fallback)
        self._reader = reader

    @property
    def client(self) -> Any:
        return self._reader.client

    def snapshot(self) -> Snapshot:
        return self._reader.snapshot()

    def refresh(self) -> Snapshot:
        """Check the bucket now, whatever the timer says (still keeping the last good build)."""
        self._reader._next_check = 0.0
        self._reader._s3_blocked_until = 0.0
        return self._reader.snapshot()

    def status(self) -> dict[str, Any]:
        return self._reader.status()


def forget_readers() -> None:
    """Drop every shared reader (tests; a process that changes its settings)."""
    with _readers_lock:
        _readers.clear()
