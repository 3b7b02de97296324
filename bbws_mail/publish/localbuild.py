"""A ``build/`` folder turned into the objects of the S3 layout (docs/s3-layout.md).

One bundle per template (everything one render needs, one GET), the assets under
hashed keys, and the build manifest naming them all. The manifest is a pure
function of ``build/``: the same build has the same key in every environment, so
promote copies bytes and a retried or racing publish writes nothing new.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbws_mail import layout
from bbws_mail.errors import PublishError

REBUILD = "rebuild with `nox -s build` (or `bbws-mail build`) and publish again"


@dataclass(frozen=True)
class Blob:
    """One immutable object to write: its key names its content."""

    key: str
    data: bytes
    content_type: str = "application/json"

    @property
    def sha256(self) -> str:
        return layout.sha256_hex(self.data)


@dataclass
class LocalBuild:
    manifest: dict[str, Any]  # the build manifest (layout format 2)
    manifest_blob: Blob
    bundles: dict[str, Blob] = field(default_factory=dict)  # template -> bundle
    assets: dict[str, Blob] = field(default_factory=dict)  # asset name -> object
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def build_version(self) -> str:
        return str(self.manifest["buildVersion"])

    @property
    def key(self) -> str:
        return self.manifest_blob.key

    @property
    def sha256(self) -> str:
        return self.manifest_blob.sha256

    def blobs(self) -> list[Blob]:
        """Every object of the build, the build manifest last."""
        return [*self.bundles.values(), *self.assets.values(), self.manifest_blob]


def _read(build_dir: Path, rel: str, sha256: str) -> bytes:
    path = build_dir / rel
    if Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise PublishError(f"{build_dir / 'manifest.json'}: path of {Path(rel).name!r} leaves "
                           f"the build folder; {REBUILD}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PublishError(f"{path}: cannot read it ({exc.strerror or type(exc).__name__}); "
                           f"{REBUILD}") from None
    if layout.sha256_hex(data) != sha256:
        raise PublishError(f"{path}: does not match its SHA-256 in build/manifest.json; {REBUILD}")
    return data


def build_manifest_doc(source: dict[str, Any], templates: dict[str, Any],
                       assets: dict[str, str]) -> dict[str, Any]:
    return {
        "format": layout.MANIFEST_FORMAT,
        "kind": layout.BUILD_KIND,
        "buildVersion": source["buildVersion"],
        "sourceHash": source.get("sourceHash", ""),
        "tools": source.get("tools", {}),
        "validator": int(source.get("validator", 1)),
        "assetBaseUrls": source.get("assetBaseUrls", {}),
        "assets": assets,
        "templates": templates,
    }


def load_build(build_dir: Path) -> LocalBuild:
    """Read and verify ``build_dir``; every problem is a PublishError naming the file."""
    where = build_dir / "manifest.json"
    try:
        source = json.loads(where.read_text("utf-8"))
    except OSError as exc:
        raise PublishError(f"{where}: cannot read it ({exc.strerror or type(exc).__name__}); "
                           f"{REBUILD}") from None
    except ValueError as exc:
        raise PublishError(f"{where}: not valid JSON ({exc}); {REBUILD}") from None
    if not isinstance(source, dict) or not isinstance(source.get("buildVersion"), str) \
            or not isinstance(source.get("templates"), dict) or not source["templates"]:
        raise PublishError(f"{where}: not a build manifest (buildVersion or templates "
                           f"missing); {REBUILD}")
    bundles: dict[str, Blob] = {}
    schemas: dict[str, dict[str, Any]] = {}
    entries: dict[str, Any] = {}
    for name, entry in sorted(source["templates"].items()):
        try:
            files, category = entry["files"], entry["category"]
            parts = {kind: _read(build_dir, files[kind]["path"], files[kind]["sha256"])
                     for kind in layout.BUNDLE_PARTS}
        except (KeyError, TypeError):
            raise PublishError(f"{where}: templates.{name}: files or category missing; "
                               f"{REBUILD}") from None
        if category not in layout.CATEGORIES:
            raise PublishError(f"{where}: templates.{name}.category is not one of "
                               f"{', '.join(layout.CATEGORIES)}; {REBUILD}")
        try:
            schema = json.loads(parts["schema"])
            html, text = parts["html"].decode(), parts["text"].decode()
            subject = parts["subject"].decode().rstrip("\n")
        except ValueError:
            raise PublishError(f"{where}: templates.{name}: a file is not UTF-8 or its schema "
                               f"is not JSON; {REBUILD}") from None
        data = layout.encode_bundle(name, html, text, subject, schema)
        digest = layout.sha256_hex(data)
        key = layout.bundle_key(category, name, digest)
        bundles[name] = Blob(key, data)
        schemas[name] = schema
        entries[name] = {"category": category, "key": key, "sha256": digest,
                         "bytes": len(data), "schemaHash": entry.get("schemaHash", "")}
    assets: dict[str, Blob] = {}
    for name, info in sorted((source.get("assets") or {}).items()):
        try:
            data = _read(build_dir, info["path"], info["sha256"])
        except (KeyError, TypeError):
            raise PublishError(f"{where}: assets.{name}: path or sha256 missing; "
                               f"{REBUILD}") from None
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        assets[name] = Blob(layout.asset_key(name, info["sha256"]), data, content_type)
    manifest = build_manifest_doc(source, entries, {n: b.key for n, b in assets.items()})
    layout.check_build_manifest(manifest, str(where))
    body = layout.canonical_json(manifest)
    return LocalBuild(manifest, Blob(layout.build_key(layout.sha256_hex(body)), body),
                      bundles, assets, schemas)
