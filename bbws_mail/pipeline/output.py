"""Write ``build/``: the compiled files and a manifest, atomically and deterministically.

The folder's format (file names, manifest fields, hash recipes) is
``bbws_mail.buildlayout``'s, described in docs/build-layout.md; this module fills it in.

The whole new build is written to a sibling temp folder and swapped in with two
renames, so a crash or an error never leaves a half-written ``build/``. Nothing
time-dependent goes into any file: the same sources give byte-identical output,
which is what makes "build/ is stale" a simple byte comparison in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbws_mail import buildlayout
from bbws_mail.buildlayout import ASSETS_DIR, MANIFEST, sha256_hex
from bbws_mail.config import Config
from bbws_mail.pipeline import brand
from bbws_mail.pipeline.placeholders import Placeholder
from bbws_mail.pipeline.rules.findings import Finding
from bbws_mail.pipeline.splice import Spliced
from bbws_mail.sources import Snapshot, TemplateFiles
from bbws_mail.validate import SEMANTICS_VERSION as VALIDATOR_SEMANTICS


@dataclass
class BuiltTemplate:
    name: str
    category: str
    html: str
    text: str
    subject: str
    schema: dict[str, Any]
    sources: list[str] = field(default_factory=list)  # files read, relative to the root
    worst_case_html: int = 0  # bytes of the largest schema-valid HTML (pipeline.bounds)
    worst_case_text: int = 0  # bytes of the largest schema-valid text part (reported only)
    assets: dict[str, str] = field(default_factory=dict)  # asset name -> hashed name used
    # What the stages produced on the way, for the tools that judge or show a build
    # (check, preview, visual) so that none of them runs a stage again. Not written.
    preheader: str = ""
    spliced: Spliced | None = field(default=None, repr=False, compare=False)
    tags: list[Placeholder] = field(default_factory=list, repr=False, compare=False)
    mrml_html: str = field(default="", repr=False, compare=False)  # before inlining
    findings: list[Finding] = field(default_factory=list, repr=False, compare=False)

    def version(self) -> str:
        """A content hash of the output files: a render-cache key that changes on rebuild."""
        return sha256_hex(b"".join(data + b"\0" for data in self.parts().values()))[:16]

    def template_files(self) -> TemplateFiles:
        """What a render source serves for this template."""
        return TemplateFiles(self.name, self.html, self.text, self.subject, self.schema)

    def snapshot(self, asset_base_url: str, origin: str) -> Snapshot:
        """A one-template snapshot to render this build with ``bbws_mail.render``.

        Its build version is a hash of the output files, so an edited template
        never hits render's compile cache of an older one.
        """
        return Snapshot(self.version(), {self.name: self.template_files()},
                        asset_base_url, origin=origin)

    def parts(self) -> dict[str, bytes]:
        """Part (``buildlayout.PARTS``) -> the bytes of its file."""
        return {"html": self.html.encode(), "text": self.text.encode(),
                "subject": (self.subject + "\n").encode(), "schema": dump_json(self.schema)}

    def files(self) -> dict[str, bytes]:
        """Output file name -> bytes."""
        return {buildlayout.part_file(self.name, part): data
                for part, data in self.parts().items()}


def dump_json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from bbws_mail import __version__

    out = {"bbws-mail": __version__}
    for dist in ("mjml-python", "css-inline", "selectolax", "chevron"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out


def asset_files(built: list[BuiltTemplate], config: Config) -> dict[str, bytes]:
    """``assets/<hashed name>`` -> bytes, for every asset a template references."""
    out: dict[str, bytes] = {}
    for tpl in built:
        for name, hashed in tpl.assets.items():
            out[f"{ASSETS_DIR}/{hashed}"] = (config.root / brand.ASSETS_DIR / name).read_bytes()
    return out


def asset_entries(built: list[BuiltTemplate], files: dict[str, bytes]) -> dict[str, Any]:
    """The manifest's ``assets``: name -> hashed path, SHA-256 and size."""
    entries: dict[str, Any] = {}
    for tpl in built:
        for name, hashed in sorted(tpl.assets.items()):
            data = files[f"{ASSETS_DIR}/{hashed}"]
            entries[name] = {"path": f"{ASSETS_DIR}/{hashed}", "sha256": sha256_hex(data),
                             "bytes": len(data)}
    return dict(sorted(entries.items()))


def make_manifest(built: list[BuiltTemplate], config: Config,
                  assets: dict[str, bytes] | None = None) -> dict[str, Any]:
    """The manifest: every file's hash, each template's source hash, tool versions, assets."""
    templates: dict[str, Any] = {}
    for tpl in sorted(built, key=lambda b: b.name):
        files = {part: {"path": buildlayout.part_file(tpl.name, part), "sha256": sha256_hex(data),
                        "bytes": len(data)} for part, data in tpl.parts().items()}
        templates[tpl.name] = {
            "category": tpl.category,
            "files": files,
            "sources": sorted(set(tpl.sources)),  # what sourceHash covers (wheel staleness check)
            "sourceHash": buildlayout.source_hash(tpl.sources,
                                                  lambda rel: (config.root / rel).read_bytes()),
            "schemaHash": files["schema"]["sha256"],
        }
    manifest: dict[str, Any] = {
        "format": buildlayout.BUILD_FORMAT,
        # Validator semantics: a stricter validator is a schema change for a publish gate.
        "validator": VALIDATOR_SEMANTICS,
        "buildVersion": buildlayout.build_version(
            {n: {k: f["sha256"] for k, f in t["files"].items()} for n, t in templates.items()}),
        "sourceHash": buildlayout.overall_source_hash(
            {n: t["sourceHash"] for n, t in templates.items()}),
        "tools": tool_versions(),
        "environments": reader_settings(config),
        "templates": templates,
    }
    if assets:
        manifest["assets"] = asset_entries(built, assets)
    return manifest


def read_tree(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``folder`` (a build, assets included),
    leaving out ``__pycache__``: Python writes bytecode there when a checkout imports the
    build-time code, and it is no part of the build."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.relative_to(folder).parts}


def reader_settings(config: Config) -> dict[str, dict[str, str]]:
    """What a Lambda's S3 reader needs per environment, carried inside the package.

    Only these reader settings: deploy settings (profiles, roles, external ids) never
    travel inside a Lambda package. Empty values (no replica) are left out.
    """
    return {name: {k: v for k, v in env.reader_settings().items() if v}
            for name, env in sorted(config.envs.items())}


def write_build(built: list[BuiltTemplate], config: Config, out_dir: Path) -> list[str]:
    """Replace ``out_dir`` with the new build in one swap; return the names that changed."""
    files: dict[str, bytes] = {}
    for tpl in built:
        files.update(tpl.files())
    assets = asset_files(built, config)
    files.update(assets)
    manifest = make_manifest(built, config, assets)
    files[MANIFEST] = dump_json(manifest)
    from bbws_mail.pipeline.datatypes import generate

    files[buildlayout.DATATYPES] = generate({t.name: t.schema for t in built}).encode()
    from bbws_mail import precompiled

    for tpl in built:
        texts = {"html": tpl.html, "text": tpl.text, "subject": tpl.subject}
        # the schema as the runtime reads it back (sorted keys): the generated check
        # follows the order of its properties
        code = precompiled.module_text(tpl.name, texts, json.loads(dump_json(tpl.schema)))
        files[tpl.name + buildlayout.CODE_SUFFIX] = code.encode()
    have = read_tree(out_dir) if out_dir.is_dir() else {}
    changed = sorted(n for n, data in files.items() if have.get(n) != data)
    stale = sorted(n for n in have if n not in files)
    if not changed and not stale:
        return []
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build.tmp-", dir=out_dir.parent))
    try:
        for name, data in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)
        old = None
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=".build.old-", dir=out_dir.parent))
            old.rmdir()
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return changed + stale
