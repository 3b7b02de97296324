"""Wheel build hook: refuse to package a build/ whose template sources changed since.

The wheel carries build/ (as bbws_mail/_build); without this check `pip wheel`
after editing a template but skipping `nox -s build` silently ships the old text.
The full check (rebuild and compare bytes, `bbws_mail.pipeline.verify_fresh`)
needs the build toolchain, which an isolated wheel build does not have, so this
hook recomputes each template's ``sourceHash`` from the files the manifest lists,
with the folder's own reader and recipe (``bbws_mail.buildlayout``, loaded from the
tree by :func:`load_owner`). Editable installs are not checked: developers rebuild.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path
from typing import Any

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # imported by the tests, without hatchling
    BuildHookInterface = object  # type: ignore[misc,assignment]

OWNER = "bbws_mail.buildlayout"


def _ours(name: str) -> bool:
    return name == "bbws_mail" or name.startswith("bbws_mail.")


def load_owner(root: Path) -> types.ModuleType:
    """``bbws_mail/buildlayout.py`` of the tree under ``root``, without its package's
    ``__init__``.

    Loaded by path because the hook runs inside hatchling's environment, where the
    package is not installed (an isolated build has only hatchling) and its
    ``__init__`` cannot run (it imports chevron); and because a tree must be judged by
    its own format, not by whichever bbws_mail happens to be importable. buildlayout
    and what it imports (errors, _namedtuple, _jsonload) need the standard library
    only, so they are imported from the tree under a bare stand-in for the package;
    the process's own bbws_mail modules, if any, are put back afterwards, and no
    bytecode is written into the tree being packaged.
    """
    saved = {name: module for name, module in sys.modules.items() if _ours(name)}
    for name in saved:
        del sys.modules[name]
    stand_in = types.ModuleType("bbws_mail")
    stand_in.__path__ = [str(root / "bbws_mail")]
    sys.modules["bbws_mail"] = stand_in
    no_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        return importlib.import_module(OWNER)
    finally:
        sys.dont_write_bytecode = no_bytecode
        for name in [name for name in sys.modules if _ours(name)]:
            del sys.modules[name]
        sys.modules.update(saved)


def stale_sources(root: Path) -> list[str]:
    """Why build/ does not match the sources under ``root`` ([] when it does)."""
    owner = load_owner(root)
    try:
        manifest = owner.read_manifest(str(root / "build"))
    except owner.BuildLayoutError as exc:
        return [str(exc)]
    templates: dict[str, Any] = manifest["templates"]
    problems = []
    have = {p.stem for p in (root / "templates_src").glob("*.mjml")}
    for name in sorted(have ^ set(templates)):
        where = "templates_src/ only" if name in have else "build/ only"
        problems.append(f"template {name} is in {where}: {owner.REBUILD}")
    for name, entry in sorted(templates.items()):
        sources = entry.get("sources")
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            problems.append(f"build/manifest.json lists no sources for {name}: {owner.REBUILD}")
            continue
        missing = [rel for rel in sources if not (root / rel).is_file()]
        if missing:
            problems.append(f"{missing[0]} (a source of {name}) is missing: {owner.REBUILD}")
        elif owner.source_hash(sources, lambda rel: (root / rel).read_bytes()) \
                != entry.get("sourceHash"):
            problems.append(f"build/ is stale for {name} (its sources changed): "
                            f"{owner.REBUILD}")
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
