"""Wheel build hook: refuse to package a build/ whose template sources changed since.

The wheel carries build/ (as bbws_mail/_build); without this check `pip wheel`
after editing a template but skipping `nox -s build` silently ships the old text.
The full check (rebuild and compare bytes, `bbws_mail.pipeline.verify_fresh`)
needs the build toolchain, which an isolated wheel build does not have, so this
hook recomputes each template's ``sourceHash`` from the files the manifest lists
(standard library only). Editable installs are not checked: developers rebuild.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # imported by the tests, without hatchling
    BuildHookInterface = object  # type: ignore[misc,assignment]


def stale_sources(root: Path) -> list[str]:
    """Why build/ does not match the sources under ``root`` ([] when it does)."""
    manifest_path = root / "build" / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (OSError, ValueError):
        return [f"{manifest_path} is missing or not JSON: run `nox -s build`"]
    templates: dict[str, Any] = manifest.get("templates", {})
    problems = []
    have = {p.stem for p in (root / "templates_src").glob("*.mjml")}
    for name in sorted(have ^ set(templates)):
        where = "templates_src/ only" if name in have else "build/ only"
        problems.append(f"template {name} is in {where}: run `nox -s build`")
    for name, entry in sorted(templates.items()):
        sources = entry.get("sources")
        if not isinstance(sources, list):
            problems.append(f"build/manifest.json lists no sources for {name}: run `nox -s build`")
            continue
        digest = hashlib.sha256()
        for rel in sources:
            try:
                digest.update(rel.encode() + b"\0" + (root / rel).read_bytes() + b"\0")
            except OSError:
                problems.append(f"{rel} (a source of {name}) is missing: run `nox -s build`")
                break
        else:
            if digest.hexdigest() != entry.get("sourceHash"):
                problems.append(f"build/ is stale for {name} (its sources changed): "
                                "run `nox -s build`")
    return problems


class StaleBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        problems = stale_sources(Path(self.root))
        if problems:
            raise RuntimeError("refusing to build a wheel with a stale build/:\n  "
                               + "\n  ".join(problems))
