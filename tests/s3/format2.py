"""Write a bucket in the docs/s3-layout.md layout from a build folder, for reader tests.

A stand-in for the publisher (being rewritten to write this layout) built only on
``bbws_mail.layout``: bundles, the build manifest, then the pointer, in that order.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bbws_mail import layout


def bundles_of(build_dir: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(build manifest, {key: bytes} of its bundles) for ``build_dir``."""
    source = json.loads((build_dir / "manifest.json").read_text())
    templates: dict[str, Any] = {}
    objects: dict[str, bytes] = {}
    for name, entry in sorted(source["templates"].items()):
        parts = {k: (build_dir / entry["files"][k]["path"]).read_text()
                 for k in layout.BUNDLE_PARTS}
        data = layout.encode_bundle(name, parts["html"], parts["text"],
                                    parts["subject"].rstrip("\n"), json.loads(parts["schema"]))
        digest = layout.sha256_hex(data)
        key = layout.bundle_key(entry["category"], name, digest)
        objects[key] = data
        templates[name] = {"category": entry["category"], "key": key, "sha256": digest,
                           "bytes": len(data),
                           "schemaHash": layout.sha256_hex(parts["schema"].encode())}
    version = layout.sha256_hex(json.dumps({n: t["sha256"] for n, t in templates.items()},
                                           sort_keys=True).encode())[:16]
    manifest = {"format": layout.MANIFEST_FORMAT, "kind": layout.BUILD_KIND,
                "buildVersion": version, "sourceHash": source.get("sourceHash", ""),
                "tools": source.get("tools", {}), "validator": 1,
                "assetBaseUrls": source.get("assetBaseUrls", {}), "assets": {},
                "templates": templates}
    return manifest, objects


def pointer_for(manifest: dict[str, Any], env: str, recent: list[str]) -> dict[str, Any]:
    data = layout.canonical_json(manifest)
    digest = layout.sha256_hex(data)
    key = layout.build_key(digest)
    return {"format": layout.MANIFEST_FORMAT, "kind": layout.POINTER_KIND, "env": env,
            "build": {"key": key, "sha256": digest}, "manifest": manifest,
            "publishedAt": "2026-11-24T09:21:05Z", "publishedBy": "test", "gitCommit": "",
            "action": "publish", "parent": None,
            "recent": [key, *[k for k in recent if k != key]][:10],
            "allowBreaking": [], "promotedFrom": None}


def publish(client: Any, bucket: str, build_dir: Path, *, env: str = "dev",
            put: Callable[[str, bytes], None] | None = None) -> dict[str, Any]:
    """Write ``build_dir`` to ``bucket``: bundles, build manifest, pointer last."""
    def default_put(key: str, data: bytes) -> None:
        client.put_object(Bucket=bucket, Key=key, Body=data)

    put = put or default_put
    manifest, objects = bundles_of(build_dir)
    for key, data in objects.items():
        put(key, data)
    recent: list[str] = []
    try:
        old = json.loads(client.get_object(Bucket=bucket, Key=layout.POINTER_KEY)["Body"].read())
        recent = list(old.get("recent", []))
    except Exception:  # no pointer yet
        pass
    pointer = pointer_for(manifest, env, recent)
    put(pointer["build"]["key"], layout.canonical_json(manifest))
    put(layout.POINTER_KEY, json.dumps(pointer).encode())
    return pointer


def changed_copy(build_dir: Path, dest: Path, name: str | tuple[str, ...], marker: str) -> Path:
    """A copy of ``build_dir`` where the HTML and text of template(s) ``name`` carry
    ``marker``, with the copy's manifest hashes updated to match."""
    shutil.copytree(build_dir, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    for one in (name,) if isinstance(name, str) else name:
        for kind, suffix in (("html", ".html"), ("text", ".txt")):
            path = dest / f"{one}{suffix}"
            path.write_text(path.read_text() + f"\n{marker}\n")
            manifest["templates"][one]["files"][kind]["sha256"] = layout.sha256_hex(
                path.read_bytes())
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return dest
