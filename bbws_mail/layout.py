"""The S3 layout: every key and every document format a bucket holds (docs/s3-layout.md).

One owner for the formats, so the publisher that writes them and the reader that
reads them cannot drift apart. Standard library only: the Lambda runtime imports it.

Every object but the pointer lives under an immutable, content-addressed key, which
is what keeps the bucket's lifecycle rules from ever expiring something a kept build
uses (a current version never becomes noncurrent if its key is never overwritten).
"""

from __future__ import annotations

import json
import re
from typing import Any

from bbws_mail import names
from bbws_mail.buildlayout import PARTS, sha256_hex
from bbws_mail.errors import LayoutError

POINTER_KEY = "manifest.json"
BUILDS_PREFIX = "builds/"
HISTORY_PREFIX = "history/"
ASSETS_PREFIX = "assets/"
CATEGORIES = ("receipts", "notifications", "invoices")
BUNDLE_FORMAT = 1
# The S3 layout's format, of its build manifests and pointers; ``build/`` has its own
# (bbws_mail.buildlayout.BUILD_FORMAT).
LAYOUT_FORMAT = 2
LEGACY_FORMAT = 1
BUILD_KIND = "bbws-mail/build"
POINTER_KIND = "bbws-mail/pointer"
BUNDLE_PARTS = PARTS  # a bundle holds the four parts of a compiled template

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def canonical_json(doc: Any) -> bytes:
    """Deterministic bytes: the same document always has the same key."""
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


# -- keys -------------------------------------------------------------------------------------
def bundle_key(category: str, template: str, digest: str) -> str:
    return f"{category}/{template}/{digest}.json"


def build_key(digest: str) -> str:
    return f"{BUILDS_PREFIX}{digest}.json"


def asset_key(name: str, digest: str) -> str:
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    return f"{ASSETS_PREFIX}{stem}.{digest[:16]}{'.' + suffix if suffix else ''}"


def history_key(published_at: str, build_version: str, action: str) -> str:
    """``published_at`` is RFC 3339 UTC (``2026-11-24T09:21:05Z``); keys sort by time."""
    stamp = re.sub(r"[-:]", "", published_at)
    return f"{HISTORY_PREFIX}{stamp}-{build_version}-{action}.json"


def key_class(key: str) -> str:
    """Which part of the layout a key belongs to: pointer, build, bundle, asset, history,
    legacy (the format-1 ``<category>/<name>.<ext>`` keys) or foreign (not ours)."""
    if key == POINTER_KEY:
        return "pointer"
    if key.startswith(BUILDS_PREFIX):
        return "build"
    if key.startswith(HISTORY_PREFIX):
        return "history"
    if key.startswith(ASSETS_PREFIX):
        return "asset"
    parts = key.split("/")
    if parts[0] in CATEGORIES:
        if len(parts) == 3 and parts[2].endswith(".json") and _HEX64.match(parts[2][:-5]):
            return "bundle"
        if len(parts) == 2:
            return "legacy"
    return "foreign"


# -- bundles ----------------------------------------------------------------------------------
def encode_bundle(name: str, html: str, text: str, subject: str, schema: dict[str, Any]) -> bytes:
    return canonical_json({"format": BUNDLE_FORMAT, "name": name, "html": html, "text": text,
                           "subject": subject, "schema": schema})


def decode_bundle(data: bytes, *, key: str, sha256: str, name: str) -> dict[str, Any]:
    """The bundle's parts, after checking its hash, format and name against the manifest."""
    if sha256_hex(data) != sha256:
        raise LayoutError(f"{key}: content does not match its SHA-256 in the manifest")
    doc = parse_json_object(data, key)
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT or doc.get("name") != name:
        raise LayoutError(f"{key}: not a format-{BUNDLE_FORMAT} bundle of template {name!r}")
    for part in BUNDLE_PARTS:
        want = dict if part == "schema" else str
        if not isinstance(doc.get(part), want):
            raise LayoutError(f"{key}: bundle part {part!r} missing or of the wrong type")
    return doc


# -- build manifests and pointers -------------------------------------------------------------
def _require(cond: bool, where: str, rule: str) -> None:
    if not cond:
        raise LayoutError(f"{where}: {rule}")


def check_build_manifest(doc: Any, where: str) -> dict[str, Any]:
    """Validate the shape of a build manifest; every key it names must be a layout key."""
    _require(isinstance(doc, dict), where, "not a JSON object")
    _require(doc.get("format") == LAYOUT_FORMAT and doc.get("kind") == BUILD_KIND, where,
             f"not a format-{LAYOUT_FORMAT} build manifest")
    _require(isinstance(doc.get("buildVersion"), str), where, "buildVersion missing")
    _require(type(doc.get("validator", 1)) is int, where, "validator must be an integer")
    templates = doc.get("templates")
    _require(isinstance(templates, dict) and bool(templates), where, "no templates")
    for name, entry in templates.items():
        _require(names.is_template_name(name), f"{where}: templates", names.problem(name))
        at = f"{where}: templates.{name}"
        _require(isinstance(entry, dict), at, "not an object")
        category, digest, key = entry.get("category"), entry.get("sha256"), entry.get("key")
        _require(category in CATEGORIES, at, f"category must be one of {', '.join(CATEGORIES)}")
        _require(isinstance(digest, str) and bool(_HEX64.match(digest)), at, "bad sha256")
        _require(key == bundle_key(str(category), name, str(digest)), at,
                 "key does not follow <category>/<template>/<sha256>.json")
    assets = doc.get("assets", {})
    _require(isinstance(assets, dict) and all(
        isinstance(k, str) and key_class(str(k)) == "asset" for k in assets.values()), where,
        "assets must map names to assets/ keys")
    return doc


def check_pointer(doc: Any, where: str = POINTER_KEY) -> dict[str, Any]:
    """Validate a format-2 pointer (and the build manifest inlined in it)."""
    _require(isinstance(doc, dict), where, "not a JSON object")
    _require(doc.get("format") == LAYOUT_FORMAT and doc.get("kind") == POINTER_KIND, where,
             f"not a format-{LAYOUT_FORMAT} pointer")
    _require(isinstance(doc.get("env"), str), where, "env missing")
    build = doc.get("build")
    _require(isinstance(build, dict) and isinstance(build.get("sha256"), str)
             and build.get("key") == build_key(str(build.get("sha256"))), where,
             "build must name builds/<sha256>.json")
    manifest = check_build_manifest(doc.get("manifest"), f"{where}: manifest")
    _require(sha256_hex(canonical_json(manifest)) == build["sha256"], where,
             "the inlined build manifest does not match build.sha256")
    recent = doc.get("recent", [])
    _require(isinstance(recent, list) and all(
        isinstance(k, str) and key_class(k) == "build" for k in recent), where,
        "recent must list builds/<sha256>.json keys")
    allowed = doc.get("allowBreaking", [])
    _require(isinstance(allowed, list) and all(names.is_template_name(n) for n in allowed),
             where, "allowBreaking must list template names")
    _require(isinstance(doc.get("promotedFrom"), dict | None), where,
             "promotedFrom must be an object or null")
    prov = doc.get("provenance")
    _require(prov is None or (isinstance(prov, dict) and isinstance(prov.get("commit"), str)
                              and prov.get("matchesCommit") in (True, False, None)
                              and isinstance(prov.get("differs", []), list)), where,
             "provenance must be an object with commit, matchesCommit and differs")
    checks = doc.get("preflight")
    _require(checks is None or (isinstance(checks, dict) and isinstance(
        checks.get("warnings", []), list)), where,
        "preflight must be an object listing warnings")
    return doc


def parse_json_object(data: bytes, where: str) -> Any:
    """JSON from the bucket; a LayoutError (never a traceback) when it is not.

    Anyone who can write the bucket decides these bytes: nesting deep enough to exhaust
    the parser's recursion is refused like any other document that is not ours.
    """
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise LayoutError(f"{where}: not valid JSON ({len(data)} bytes)") from None
    except RecursionError:
        raise LayoutError(f"{where}: JSON nested too deeply to read ({len(data)} bytes)"
                          ) from None


def pointer_format(doc: Any) -> int:
    """2 for this layout, 1 for the VersionId-pinning legacy manifest, 0 for anything else."""
    if isinstance(doc, dict):
        if doc.get("kind") == POINTER_KIND and doc.get("format") == LAYOUT_FORMAT:
            return LAYOUT_FORMAT
        if doc.get("format") == LEGACY_FORMAT and isinstance(doc.get("objects"), dict):
            return LEGACY_FORMAT
    return 0
