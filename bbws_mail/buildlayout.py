"""The ``build/`` folder: its files, its manifest and its hashes (docs/build-layout.md).

One owner for the folder's format, so that the writer (``bbws_mail.pipeline.output``)
and its four readers cannot drift apart: the packaged render source
(``bbws_mail.sources``), the publisher (``bbws_mail.publish.localbuild``), the Lambda
packager (``bbws_mail.pipeline.package``) and the wheel hook (``hatch_build.py``). They
all read ``build/manifest.json`` through :func:`read_manifest` and a template's files
through :func:`read_part`, and the writer and the wheel hook compute a template's
``sourceHash`` with the one recipe, :func:`source_hash`.

``build/`` and the S3 layout (``bbws_mail.layout``) are two formats with two numbers:
:data:`BUILD_FORMAT` here, ``layout.LAYOUT_FORMAT`` there. The publisher turns one into
the other.

Light on purpose: the Lambda runtime imports this on a cold start (no ``json``, no
``hashlib``, no ``pathlib``), and the wheel hook loads it from the source tree in an
environment where the package is not installed, so of ``bbws_mail`` it imports only
``errors`` and ``_jsonload`` (and what they import), all standard library.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from bbws_mail import names
from bbws_mail._jsonload import loads as json_loads
from bbws_mail.errors import BuildLayoutError

TYPE_CHECKING = False  # typing is not imported at run time: see bbws_mail._namedtuple
if TYPE_CHECKING:
    from typing import Any

BUILD_FORMAT = 2  # of build/manifest.json; bumped when a reader of the old shape would misread
MANIFEST = "manifest.json"
DATATYPES = "datatypes.py"  # the TypedDicts of every template's data; bbws_mail/datatypes.py
ASSETS_DIR = "assets"  # hashed copies of the assets the templates use: assets/<stem>.<hash><ext>
# The four parts of a compiled template: part -> (file name suffix, content type).
PART_FILES: dict[str, tuple[str, str]] = {
    "html": (".html", "text/html; charset=utf-8"),
    "text": (".txt", "text/plain; charset=utf-8"),
    "subject": (".subject.txt", "text/plain; charset=utf-8"),
    "schema": (".schema.json", "application/schema+json"),
}
PARTS = tuple(PART_FILES)
CODE_SUFFIX = ".mustache.py"  # <name>.mustache.py: generated render code (bbws_mail.precompiled)
# Where an environment's manifest entry names no asset host (or the environment is unknown).
DEFAULT_ASSET_BASE_URL = "https://assets.bbws.co.za/email"
REBUILD = "rebuild with `bbws-mail build` (or `nox -s build`)"
_HEX = frozenset("0123456789abcdef")


def sha256_hex(data: bytes) -> str:
    """SHA-256 hex digest of ``data``: every hash of ``build/`` and of the S3 layout.

    CPython's built-in ``_sha256`` rather than ``hashlib``, which loads OpenSSL: measured
    2.6 ms of a Lambda cold start against 0.13 ms (same digest); hashlib where
    ``_sha256`` is absent.
    """
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]
    except ImportError:  # not CPython, or built without it
        from hashlib import sha256
    return sha256(data).hexdigest()


def part_file(name: str, part: str) -> str:
    """The file name of one part of template ``name`` (``receipt.subject.txt``)."""
    return name + PART_FILES[part][0]


def source_hash(sources: Iterable[str], read: Callable[[str], bytes]) -> str:
    """A template's ``sourceHash``: every file it was built from, by relative path.

    ``read(relative_path)`` returns a file's bytes; an ``OSError`` it raises passes
    through. The build writes the result, the wheel hook recomputes it to refuse a
    ``build/`` whose sources changed since.
    """
    return sha256_hex(b"".join(rel.encode() + b"\0" + read(rel) + b"\0"
                               for rel in sorted(set(sources))))


def _canonical(doc: Any) -> bytes:
    import json

    return json.dumps(doc, sort_keys=True).encode()


def overall_source_hash(per_template: Mapping[str, str]) -> str:
    """The manifest's top-level ``sourceHash``: of every template's ``sourceHash``."""
    return sha256_hex(_canonical(dict(per_template)))


def build_version(part_hashes: Mapping[str, Mapping[str, str]]) -> str:
    """``buildVersion``: 16 hex digits of the hash of every part's hash, per template.

    A content hash, so the same output has the same version wherever it is built.
    """
    return sha256_hex(_canonical({n: dict(h) for n, h in part_hashes.items()}))[:16]


def template_digest(entry: Mapping[str, Any]) -> str:
    """What identifies a template's content in a manifest entry: its parts' hashes."""
    return "/".join(entry["files"][part]["sha256"] for part in PARTS)


def _is_hex64(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


def _where(doc_path: str, field: str) -> str:
    return f"{doc_path}: {field}" if field else doc_path


def check_manifest(doc: Any, where: str) -> dict[str, Any]:
    """``doc`` if it is a format-:data:`BUILD_FORMAT` build manifest, else one
    :class:`BuildLayoutError` naming the first field that is wrong and the fix."""

    def fail(field: str, rule: str) -> BuildLayoutError:
        return BuildLayoutError(f"{_where(where, field)}: {rule}; {REBUILD}")

    if not isinstance(doc, dict):
        raise fail("", "not a build manifest (not a JSON object)")
    fmt = doc.get("format")
    if fmt != BUILD_FORMAT:
        shown = fmt if type(fmt) is int else f"a {type(fmt).__name__}"
        raise fail("format", f"is {shown}, this version of bbws-mail reads format "
                   f"{BUILD_FORMAT} only")
    if not isinstance(doc.get("buildVersion"), str):
        raise fail("buildVersion", "missing or not a string")
    templates = doc.get("templates")
    if not isinstance(templates, dict):
        raise fail("templates", "missing or not an object")
    for name, entry in templates.items():
        if not names.is_template_name(name):
            raise fail("templates", names.problem(name))
        if not isinstance(entry, dict) or not isinstance(entry.get("category"), str):
            raise fail(f"templates.{name}", "not an object with a category")
        files = entry.get("files")
        for part in PARTS:
            info = files.get(part) if isinstance(files, dict) else None
            if not isinstance(info, dict) or not isinstance(info.get("path"), str) \
                    or not _is_hex64(info.get("sha256")):
                raise fail(f"templates.{name}.files.{part}", "missing, or without a path "
                           "and a SHA-256")
    for table in ("environments", "assets"):
        value = doc.get(table, {})
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise fail(table, "not an object of objects")
    for name, info in doc.get("assets", {}).items():
        if not isinstance(info.get("path"), str) or not _is_hex64(info.get("sha256")):
            raise fail(f"assets.{name}", "without a path and a SHA-256")
    return doc


def _read(path: str) -> bytes:
    """The file's bytes; a BuildLayoutError naming it (and the fix) when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise BuildLayoutError(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})"
                               f"; {REBUILD}") from None


def read_manifest(directory: str) -> dict[str, Any]:
    """``directory``/manifest.json, parsed and checked: the one way to read it."""
    path = os.path.join(directory, MANIFEST)
    data = _read(path)
    try:
        doc = json_loads(data)
    except (ValueError, RecursionError):
        raise BuildLayoutError(f"{path}: not valid JSON ({len(data)} bytes); {REBUILD}"
                               ) from None
    return check_manifest(doc, path)


def read_part(directory: str, info: Mapping[str, Any]) -> bytes:
    """The bytes of the file a manifest entry (``{"path", "sha256"}``) names, checked
    against its hash; the path must stay inside ``directory``."""
    rel = str(info["path"])
    parts = rel.replace("\\", "/").split("/")
    if os.path.isabs(rel) or ".." in parts:
        raise BuildLayoutError(f"{os.path.join(directory, MANIFEST)}: the path of "
                               f"{parts[-1]!r} leaves the build folder; {REBUILD}")
    path = os.path.join(directory, rel)
    data = _read(path)
    if sha256_hex(data) != info["sha256"]:
        raise BuildLayoutError(f"{path} does not match its manifest hash; {REBUILD}")
    return data


def decode_parts(name: str, parts: Mapping[str, bytes], where: str
                 ) -> tuple[str, str, str, dict[str, Any]]:
    """(html, text, subject, schema) from a template's four files as bytes.

    The subject file ends with one newline, which is not part of the subject.
    """
    try:
        html, text, subject = (parts[p].decode("utf-8") for p in ("html", "text", "subject"))
        schema = json_loads(parts["schema"])
    except (ValueError, RecursionError):
        raise BuildLayoutError(f"{where}: template {name!r}: a file is not UTF-8 or its schema "
                               f"is not JSON; {REBUILD}") from None
    if not isinstance(schema, dict):
        raise BuildLayoutError(f"{where}: template {name!r}: its schema is not a JSON object; "
                               f"{REBUILD}")
    return html, text, subject.rstrip("\n"), schema


def environments(manifest: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The reader settings per environment (bucket, region, replica, asset host)."""
    return {name: dict(settings) for name, settings in manifest.get("environments", {}).items()
            if isinstance(settings, dict)}


def asset_base_urls(envs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Environment -> asset base URL, from the reader settings of :func:`environments`
    (the one place a build states each environment's asset host)."""
    return {name: str(settings["asset_base_url"]) for name, settings in envs.items()
            if isinstance(settings, Mapping) and settings.get("asset_base_url")}


def asset_base_url_for(urls: Mapping[str, str], env: str | None) -> str:
    """The asset base URL of ``env``; prod's (then the default) for an unknown one."""
    if env and urls.get(env):
        return urls[env]
    return urls.get("prod") or DEFAULT_ASSET_BASE_URL
