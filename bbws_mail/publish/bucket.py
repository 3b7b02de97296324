"""One environment's bucket, as the publisher sees it: the only place that talks to S3.

Every write goes through :meth:`Bucket._may_write`, the one guard: an environment
that requires approval (prod) cannot be written without it, whoever calls. The
bucket name comes from ``bbws-mail.toml`` for the environment, never from a flag.
Immutable objects are written with ``IfNoneMatch: *`` and a SHA-256 checksum and
without forcing an encryption, so the bucket's default (SSE-KMS key included) applies.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bbws_mail import layout
from bbws_mail.config import EnvConfig
from bbws_mail.errors import ApprovalError, PublishConflictError, PublishError
from bbws_mail.publish.client import error_code, status_code

IMMUTABLE_CACHE_CONTROL = "private, max-age=31536000, immutable"
POINTER_CACHE_CONTROL = "no-cache, max-age=0"
CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}


def _checksum(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _describe(exc: BaseException) -> str:
    return error_code(exc) or type(exc).__name__


@dataclass(frozen=True)
class Pointer:
    """``manifest.json`` as read: the document, its bytes and the ETag to write against."""

    doc: dict[str, Any]
    body: bytes
    etag: str
    version_id: str

    @property
    def format(self) -> int:
        return layout.pointer_format(self.doc)

    @property
    def build_key(self) -> str:
        if self.format == layout.LAYOUT_FORMAT:
            return str(self.doc["build"]["key"])
        return ""

    @property
    def build_version(self) -> str:
        if self.format == layout.LAYOUT_FORMAT:
            return str(self.doc["manifest"]["buildVersion"])
        return str(self.doc.get("buildVersion", ""))


class Bucket:
    def __init__(self, env: EnvConfig, client: Any, *, approved: bool = False,
                 log: Callable[[str], None] = lambda _m: None) -> None:
        self.env = env
        self.name = env.bucket
        self.client = client
        self.approved = approved
        self.log = log
        self.repairing = False  # set while publish --repair runs: hints speak of it

    def url(self, key: str = "") -> str:
        return f"s3://{self.name}/{key}"

    def repair_hint(self, what: str = "re-point it to the newest complete build") -> str:
        """What to do about a damaged pointer; while ``--repair`` runs, what it does next."""
        if self.repairing:
            return f"this repair will {what}"
        return f"run `bbws-mail publish --env {self.env.name} --repair` to {what}"

    # -- the guard ---------------------------------------------------------------------------
    def _may_write(self) -> None:
        if self.env.requires_approval and not self.approved:
            raise ApprovalError(
                f"{self.env.name} ({self.name}) needs explicit approval for any change: pass "
                "--confirm-prod, or type the environment's name when asked (nothing was written)")

    # -- reading -----------------------------------------------------------------------------
    def get(self, key: str, version_id: str | None = None) -> bytes:
        kwargs: dict[str, Any] = {"Bucket": self.name, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            return bytes(self.client.get_object(**kwargs)["Body"].read())
        except Exception as exc:
            raise PublishError(f"cannot read {self.url(key)} ({_describe(exc)})") from None

    def get_verified(self, key: str, sha256: str) -> bytes:
        data = self.get(key)
        if layout.sha256_hex(data) != sha256:
            raise PublishError(f"{self.url(key)} does not match its SHA-256; "
                               f"{self.repair_hint()}")
        return data

    def list_keys(self, prefix: str = "") -> dict[str, datetime]:
        """Current keys under ``prefix`` with their LastModified."""
        out: dict[str, datetime] = {}
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.name, Prefix=prefix):
                for item in page.get("Contents", []):
                    out[item["Key"]] = item["LastModified"]
        except Exception as exc:
            raise PublishError(f"cannot list {self.url(prefix)} ({_describe(exc)})") from None
        return out

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.name, Key=key)
            return True
        except Exception as exc:
            if status_code(exc) == 404 or error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise PublishError(f"cannot read {self.url(key)} ({_describe(exc)})") from None

    def read_pointer(self, version_id: str | None = None) -> Pointer | None:
        """The pointer readers see now (None before the first publish).

        Anything that is not a pointer of this environment (not JSON, truncated, another
        format, another env's) is a PublishError naming the way out, never a traceback.
        """
        kwargs: dict[str, Any] = {"Bucket": self.name, "Key": layout.POINTER_KEY}
        if version_id:
            kwargs["VersionId"] = version_id
        where = self.url(layout.POINTER_KEY)
        try:
            response = self.client.get_object(**kwargs)
        except Exception as exc:
            if error_code(exc) in ("NoSuchKey", "404") or status_code(exc) == 404:
                return None
            raise PublishError(f"cannot read {where} ({_describe(exc)}); retry, and if it "
                               f"persists check credentials and network") from None
        try:
            body = bytes(response["Body"].read())
        except Exception as exc:
            raise PublishError(f"the download of {where} broke off ({_describe(exc)}); retry; "
                               f"if it keeps failing, {self.repair_hint()}") from None
        try:
            doc = layout.parse_json_object(body, where)
            fmt = layout.pointer_format(doc)
            if fmt == layout.LAYOUT_FORMAT:
                layout.check_pointer(doc, where)
                if doc["env"] != self.env.name:
                    raise layout.LayoutError(f"{where}: written for another environment, not "
                                             f"{self.env.name}")
            elif fmt != layout.LEGACY_FORMAT:
                raise layout.LayoutError(f"{where}: not a bbws-mail pointer")
        except layout.LayoutError as exc:
            raise PublishError(f"{exc}; readers cannot use it: {self.repair_hint()}"
                               ) from None
        return Pointer(doc, body, str(response.get("ETag", "")),
                       str(response.get("VersionId") or "null"))

    def pointer_etag(self) -> str | None:
        """The current pointer's ETag even when its body is unusable (None: no pointer)."""
        try:
            return str(self.client.head_object(Bucket=self.name,
                                               Key=layout.POINTER_KEY)["ETag"])
        except Exception as exc:
            if status_code(exc) == 404 or error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise PublishError(f"cannot read {self.url(layout.POINTER_KEY)} "
                               f"({_describe(exc)})") from None

    def pointer_versions(self) -> list[str]:
        """VersionIds of the pointer, newest first (old ones may have expired: that is fine)."""
        versions: list[tuple[Any, str]] = []
        try:
            for page in self.client.get_paginator("list_object_versions").paginate(
                    Bucket=self.name, Prefix=layout.POINTER_KEY):
                versions += [(v["LastModified"], v["VersionId"]) for v in page.get("Versions", [])
                             if v["Key"] == layout.POINTER_KEY]
        except Exception as exc:
            raise PublishError(f"cannot list the versions of {self.url(layout.POINTER_KEY)} "
                               f"({_describe(exc)})") from None
        return [v for _, v in sorted(versions, reverse=True)]

    # -- writing -----------------------------------------------------------------------------
    def put_immutable(self, key: str, data: bytes, content_type: str = "application/json"
                      ) -> bool:
        """Write a content-addressed object once; False when it was already there."""
        self._may_write()
        digest = layout.sha256_hex(data)
        try:
            self.client.put_object(
                Bucket=self.name, Key=key, Body=data, ContentType=content_type,
                CacheControl=IMMUTABLE_CACHE_CONTROL, ChecksumSHA256=_checksum(data),
                Metadata={"sha256": digest}, IfNoneMatch="*")
            return True
        except Exception as exc:
            if error_code(exc) not in CONFLICT_CODES and status_code(exc) not in (409, 412):
                raise PublishError(f"upload of {self.url(key)} failed ({_describe(exc)}); the "
                                   "live build was not changed") from None
        # already there (a retry, a racing publisher, an earlier build): same bytes?
        if layout.sha256_hex(self.get(key)) != digest:
            raise PublishError(f"{self.url(key)} exists with other bytes than its name says; "
                               f"remove it (aws s3api delete-object --bucket {self.name} --key "
                               f"{key}) and publish again")
        return False

    def put_pointer(self, doc: dict[str, Any], live_etag: str | None) -> str:
        """Swing ``manifest.json``: wins only if it is still the one we planned against."""
        self._may_write()
        body = layout.canonical_json(doc)
        condition = {"IfMatch": live_etag} if live_etag else {"IfNoneMatch": "*"}
        try:
            response = self.client.put_object(
                Bucket=self.name, Key=layout.POINTER_KEY, Body=body,
                ContentType="application/json", CacheControl=POINTER_CACHE_CONTROL,
                ChecksumSHA256=_checksum(body), Metadata={"sha256": layout.sha256_hex(body)},
                **condition)
        except Exception as exc:
            if error_code(exc) in CONFLICT_CODES or status_code(exc) in (409, 412):
                try:
                    current = self.read_pointer()
                except PublishError:
                    current = None
                if current is not None and current.body == body:
                    return current.version_id  # our write landed; its answer was lost
                theirs = f"build {current.build_version}" if current else "something else"
                raise PublishConflictError(
                    f"{self.url(layout.POINTER_KEY)} changed while we worked (now "
                    f"{theirs}); nothing visible was changed by this run: re-run to apply "
                    "it on top") from None
            raise PublishError(f"the write of {self.url(layout.POINTER_KEY)} failed "
                               f"({_describe(exc)}); readers still see the previous "
                               "build") from None
        return str(response.get("VersionId") or "null")

    def delete(self, key: str) -> str:
        """A delete marker: the object becomes noncurrent, the lifecycle rule removes it later.

        Returns the marker's VersionId ('' if the server names none), for :meth:`undelete`.
        """
        self._may_write()
        try:
            response = self.client.delete_object(Bucket=self.name, Key=key)
        except Exception as exc:
            raise PublishError(f"delete of {self.url(key)} failed ({_describe(exc)})") from None
        return str(response.get("VersionId") or "")

    def undelete(self, key: str, marker: str) -> None:
        """Remove the delete marker ``marker`` of ``key``: its previous version, the same
        bytes (the key is content-addressed), is current again."""
        self._may_write()
        fix = (f"aws s3api delete-object --bucket {self.name} --key {key} --version-id "
               f"{marker or '<the delete marker of list-object-versions>'}")
        if not marker:
            raise PublishError(f"{self.url(key)} was collected while it became live again and "
                               f"the server named no delete marker to remove; restore it: {fix}")
        try:
            self.client.delete_object(Bucket=self.name, Key=key, VersionId=marker)
        except Exception as exc:
            raise PublishError(f"{self.url(key)} was collected while it became live again and "
                               f"could not be restored ({_describe(exc)}); restore it: "
                               f"{fix}") from None
