"""A ``build/`` folder turned into the objects of the S3 layout (docs/s3-layout.md).

One bundle per template (everything one render needs, one GET), the assets under
hashed keys, and the build manifest naming them all. The manifest is a pure
function of ``build/``: the same build has the same key in every environment, so
promote copies bytes and a retried or racing publish writes nothing new.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbws_mail import buildlayout, layout
from bbws_mail.errors import PublishError


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
    manifest: dict[str, Any]  # the S3 layout's build manifest (layout.LAYOUT_FORMAT)
    manifest_blob: Blob
    bundles: dict[str, Blob] = field(default_factory=dict)  # template -> bundle
    assets: dict[str, Blob] = field(default_factory=dict)  # asset name -> object
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    # per template, the source files it was built from and their hash (provenance.py)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

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


def build_manifest_doc(source: dict[str, Any], templates: dict[str, Any],
                       assets: dict[str, str]) -> dict[str, Any]:
    return {
        "format": layout.LAYOUT_FORMAT,
        "kind": layout.BUILD_KIND,
        "buildVersion": source["buildVersion"],
        "sourceHash": source.get("sourceHash", ""),
        "tools": source.get("tools", {}),
        "validator": int(source.get("validator", 1)),
        "assetBaseUrls": buildlayout.asset_base_urls(buildlayout.environments(source)),
        "assets": assets,
        "templates": templates,
    }


def load_build(build_dir: Path) -> LocalBuild:
    """Read and verify ``build_dir`` (through ``bbws_mail.buildlayout``, the folder's one
    reader); every problem is a PublishError naming the file."""
    try:
        return _load(str(build_dir))
    except buildlayout.BuildLayoutError as exc:
        raise PublishError(str(exc)) from None


def _load(directory: str) -> LocalBuild:
    where = str(Path(directory) / buildlayout.MANIFEST)
    source = buildlayout.read_manifest(directory)
    if not source["templates"]:
        raise PublishError(f"{where}: the build has no templates; {buildlayout.REBUILD}")
    bundles: dict[str, Blob] = {}
    schemas: dict[str, dict[str, Any]] = {}
    entries: dict[str, Any] = {}
    for name, entry in sorted(source["templates"].items()):
        category = entry["category"]
        if category not in layout.CATEGORIES:
            raise PublishError(f"{where}: templates.{name}.category is not one of "
                               f"{', '.join(layout.CATEGORIES)}; {buildlayout.REBUILD}")
        parts = {part: buildlayout.read_part(directory, entry["files"][part])
                 for part in buildlayout.PARTS}
        html, text, subject, schema = buildlayout.decode_parts(name, parts, where)
        data = layout.encode_bundle(name, html, text, subject, schema)
        digest = layout.sha256_hex(data)
        key = layout.bundle_key(category, name, digest)
        bundles[name] = Blob(key, data)
        schemas[name] = schema
        entries[name] = {"category": category, "key": key, "sha256": digest,
                         "bytes": len(data), "schemaHash": entry.get("schemaHash", "")}
    assets: dict[str, Blob] = {}
    for name, info in sorted(source.get("assets", {}).items()):
        data = buildlayout.read_part(directory, info)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        assets[name] = Blob(layout.asset_key(name, info["sha256"]), data, content_type)
    manifest = build_manifest_doc(source, entries, {n: b.key for n, b in assets.items()})
    layout.check_build_manifest(manifest, where)
    body = layout.canonical_json(manifest)
    sources = {name: {"sources": [str(p) for p in entry.get("sources") or []
                                  if isinstance(p, str)],
                      "sourceHash": str(entry.get("sourceHash", ""))}
               for name, entry in source["templates"].items() if isinstance(entry, dict)}
    return LocalBuild(manifest, Blob(layout.build_key(layout.sha256_hex(body)), body),
                      bundles, assets, schemas, sources)
