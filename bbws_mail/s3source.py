"""Templates from the S3 bucket ``bbws-templates-<env>``, pinned by its manifest.

A Lambda that sets ``BBWS_TEMPLATE_SOURCE=s3`` and ``BBWS_ENV`` renders what was
last published, without a redeploy. The manifest pins each object's VersionId,
every object is checked against its SHA-256, and a new snapshot replaces the old
one only when complete, so a render never mixes two published versions. boto3 is
imported here, on first use, never by ``import bbws_mail``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from bbws_mail.errors import SourceError
from bbws_mail.sources import Snapshot, snapshot_from_files

MANIFEST_KEY = "manifest.json"


class S3Source:
    """The current published snapshot of one environment, re-checked every ``refresh_seconds``."""

    def __init__(self, env: str | None = None, *, bucket: str | None = None, client: Any = None,
                 refresh_seconds: float = 60.0, endpoint_url: str | None = None) -> None:
        self.env = env or os.environ.get("BBWS_ENV") or ""
        if not self.env and not bucket:
            raise SourceError("S3 template source needs an environment: pass env='dev' or set "
                              "BBWS_ENV (dev, sit or prod)")
        self.bucket = bucket or f"bbws-templates-{self.env}"
        self.refresh_seconds = refresh_seconds
        self._client = client
        self._endpoint_url = endpoint_url
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._etag = ""
        self._checked_at = 0.0

    @property
    def client(self) -> Any:
        if self._client is None:
            from bbws_mail.publish.client import make_client

            self._client = make_client(endpoint_url=self._endpoint_url)
        return self._client

    def snapshot(self) -> Snapshot:
        current = self._snapshot
        if current is not None and time.monotonic() - self._checked_at < self.refresh_seconds:
            return current
        return self.refresh()

    def refresh(self) -> Snapshot:
        """Re-read the manifest now; keep serving the previous snapshot if S3 fails."""
        with self._lock:
            try:
                self._load()
            except SourceError:
                if self._snapshot is None:
                    raise
            except Exception as exc:  # network, auth, throttling...
                if self._snapshot is None:
                    raise SourceError(f"cannot read s3://{self.bucket}/{MANIFEST_KEY}: "
                                      f"{exc}") from None
            assert self._snapshot is not None
            return self._snapshot

    def _load(self) -> None:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": MANIFEST_KEY}
        if self._etag and self._snapshot is not None:
            kwargs["IfNoneMatch"] = self._etag
        try:
            response = self.client.get_object(**kwargs)
        except Exception as exc:
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 304:
                self._checked_at = time.monotonic()
                return
            raise
        manifest = json.loads(response["Body"].read())
        version = response.get("VersionId", "")
        objects = manifest.get("objects", {})
        build = {"buildVersion": manifest.get("buildVersion", ""),
                 "assetBaseUrls": manifest.get("assetBaseUrls", {}),
                 "templates": manifest.get("build", {}).get("templates", {})}
        paths = {}
        for entry in build["templates"].values():
            for info in entry["files"].values():
                paths[info["path"]] = f"{entry['category']}/{info['path']}"

        def read(path: str) -> bytes:
            key = paths[path]
            pinned = objects.get(key)
            if not pinned:
                raise SourceError(f"s3://{self.bucket}/{MANIFEST_KEY} does not pin {key}")
            body = self.client.get_object(Bucket=self.bucket, Key=key,
                                          VersionId=pinned["versionId"])["Body"].read()
            return bytes(body)

        snapshot = snapshot_from_files(
            build, read, env=self.env or None,
            origin=f"s3://{self.bucket}/{MANIFEST_KEY}?versionId={version}")
        self._snapshot = snapshot  # one assignment: readers see old or new, never a mix
        self._etag = response.get("ETag", "")
        self._checked_at = time.monotonic()
