"""The preview's live state: every template built from the sources, in memory.

The preview never reads ``build/``: a designer wants to see the file they just
saved, and ``build/`` is written all-or-nothing (one broken template would hide
every other change). So each template is built on its own with the real
pipeline, kept in memory, and rebuilt alone when one of its files changes.

Rendering goes through ``bbws_mail.render`` exactly as a Lambda does (schema
validation, escaping, the same Mustache engine), from a one-template snapshot
whose build version is a hash of the built files: an edit gives a new version,
so render's compile cache can never serve a stale template.
"""

from __future__ import annotations

import html as html_mod
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbws_mail import check
from bbws_mail.config import CheckSettings, Config
from bbws_mail.errors import (
    BBWSMailError,
    BuildError,
    DataProblem,
    Location,
    TemplateDataError,
    TemplateError,
)
from bbws_mail.pipeline.output import BuiltTemplate
from bbws_mail.pipeline.rules.findings import Finding
from bbws_mail.render import RenderedEmail
from bbws_mail.sources import FixedSource

DATA_DIR_NAME = "preview-data"
# re-read on change (brand.toml: every template uses the tokens)
CONFIG_FILES = ("bbws-mail.toml", "check-allow.toml", "brand.toml")
_PREHEADER_RE = re.compile(
    r"<div\b[^>]*style=\"\s*display\s*:\s*none[^\"]*\"[^>]*>(.*?)</div>", re.DOTALL | re.I)
_TAG_RE = re.compile(r"<[^>]+>")


@dataclass
class Checks:
    """Check results of one build: findings, or why there are none."""

    findings: list[Finding] = field(default_factory=list)
    unavailable: str = ""  # no build to check: the reason
    crashed: str = ""  # the check raised: the exception, so a check bug never breaks the preview

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" and not f.accepted for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity != "error" and not f.accepted for f in self.findings)

    @property
    def accepted(self) -> int:
        return sum(bool(f.accepted) for f in self.findings)


@dataclass
class TemplateState:
    """One template: its current build, or its build errors and the last good build."""

    name: str
    source: Path
    built: BuiltTemplate | None = None
    last_good: BuiltTemplate | None = None
    errors: list[TemplateError] = field(default_factory=list)
    version: str = ""  # hash of the shown build (current, else last good)

    @property
    def shown(self) -> BuiltTemplate | None:
        return self.built or self.last_good


@dataclass
class DataChoice:
    """Where a preview's data came from and the text the editor shows."""

    label: str  # e.g. "schemas/examples/receipt.json" or "edited"
    text: str
    file: str = ""  # root-relative path when it came from a file
    error: str = ""  # why the file could not be read


@dataclass
class Preview:
    """Everything a template page shows, for one template and one set of data."""

    name: str
    generation: int
    data: DataChoice
    build_errors: list[str] = field(default_factory=list)
    stale: bool = False  # showing the last good build under the error overlay
    email: RenderedEmail | None = None
    preheader: str = ""
    data_errors: list[DataProblem] = field(default_factory=list)
    json_error: str = ""
    checks: Checks = field(default_factory=Checks)
    # Bytes of HTML the project allows, ``[check] size_fail_kb`` (by default Gmail's clip)
    budget: int = int(CheckSettings.size_fail_kb * 1024)

    @property
    def size(self) -> int:
        """Bytes of the rendered HTML: what Gmail measures for its clip."""
        return len(self.email.html.encode()) if self.email else 0

    @property
    def ok(self) -> bool:
        return self.email is not None and not self.build_errors


def family(name: str) -> str:
    """The template family: the name without ``_internal``/``_customer``."""
    for suffix in ("_internal", "_customer"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def audience(name: str) -> str:
    """``internal`` (operations mail) or ``customer``."""
    return "internal" if name.endswith("_internal") else "customer"


def parse_data(text: str) -> tuple[Any, str]:
    """(data, "") or (None, an error with line and column) for the editor's JSON.

    Text that is JSON by syntax can still be refused by ``json``: a number longer
    than ``int()`` takes (ValueError) or nesting deeper than the recursion limit.
    """
    try:
        return json.loads(text), ""
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    except ValueError as exc:
        return None, f"invalid JSON: {exc}"
    except RecursionError:
        return None, "invalid JSON: nested too deeply"


def preheader_of(html: str) -> str:
    """The hidden preheader text MJML puts first in the body ("" when there is none)."""
    m = _PREHEADER_RE.search(html)
    if not m:
        return ""
    return " ".join(html_mod.unescape(_TAG_RE.sub("", m.group(1))).split())


def run_checks(config: Config, built: BuiltTemplate) -> Checks:
    """``bbws_mail.check.check_built`` on one build; a check bug is shown, never raised."""
    try:
        return Checks(check.check_built(config, built))
    except Exception as exc:
        return Checks(crashed=f"checks crashed: {exc!r}")


class Workspace:
    """The templates of one project, built in memory and kept current.

    Builds run on one thread at a time (the watcher's); pages read under a lock,
    so a request never sees a half-swapped state.
    """

    def __init__(self, config: Config, *, asset_base_url: str = "",
                 data_dir: Path | None = None) -> None:
        self.config = config
        self._asset_override = bool(asset_base_url)
        self.asset_base_url = asset_base_url or config.env("dev").asset_base_url
        self.data_dir = data_dir or config.root / DATA_DIR_NAME
        self.examples_dir = config.schemas_dir / "examples"
        self.origin = f"preview:{config.root}"
        self.templates: dict[str, TemplateState] = {}
        self.generation = 0
        self.last_change: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._build_lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._checks: dict[str, Checks] = {}
        self._checks_lock = threading.Lock()
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    # -- building -------------------------------------------------------------

    def build_all(self) -> dict[str, Any]:
        """(Re)discover and build every template; returns the change event."""
        from bbws_mail.pipeline import discover

        paths = {p.stem: p for p in discover(self.config.templates_dir)}
        with self._lock:
            for gone in set(self.templates) - set(paths):
                del self.templates[gone]
            for name, path in paths.items():
                self.templates.setdefault(name, TemplateState(name, path))
        return self.rebuild(sorted(paths))

    def rebuild(self, names: list[str], *, files: list[str] | None = None) -> dict[str, Any]:
        """Build ``names`` afresh (outside the lock), swap the results in, notify pages."""
        from bbws_mail.pipeline import build_one

        results: dict[str, BuiltTemplate | list[TemplateError]] = {}
        with self._build_lock:
            for name in names:
                state = self.templates.get(name)
                if state is None:
                    continue
                try:
                    results[name] = build_one(state.source, self.config)
                except BuildError as exc:
                    results[name] = exc.errors
                except Exception as exc:  # a pipeline bug: show it rather than die
                    results[name] = [TemplateError(Location(str(state.source)),
                                                   f"internal build error: {exc!r}")]
            with self._lock:
                for name, result in results.items():
                    state = self.templates[name]
                    if isinstance(result, BuiltTemplate):
                        state.built = state.last_good = result
                        state.errors = []
                    else:
                        state.built = None
                        state.errors = result
                    shown = state.shown
                    state.version = shown.version() if shown else ""
                self._forget_compiled()
        return self.notify(rebuilt=sorted(results), files=files or [])

    def notify(self, **event: Any) -> dict[str, Any]:
        """Bump the generation and wake every page listening for changes."""
        with self._changed:
            self.generation += 1
            errors = {n: len(s.errors) for n, s in self.templates.items() if s.errors}
            self.last_change = {"generation": self.generation, "errors": errors, **event}
            self._changed.notify_all()
            event = dict(self.last_change)
        for listener in list(self.listeners):
            listener(event)
        return event

    def wait_for_change(self, seen: int, timeout: float) -> dict[str, Any] | None:
        """Block until the generation passes ``seen`` (the event) or ``timeout`` (None)."""
        with self._changed:
            self._changed.wait_for(lambda: self.generation > seen, timeout=timeout)
            return dict(self.last_change) if self.generation > seen else None

    def affected(self, paths: list[Path]) -> tuple[set[str], bool]:
        """Templates to rebuild for changed files, and whether to rediscover them all.

        A template file rebuilds that template; a partial rebuilds the templates
        that include it; a template's schema rebuilds it; a shared schema (defs/)
        rebuilds all. Templates currently failing rebuild on any source change,
        since a failed build does not know its includes. An asset rebuilds the
        templates that reference it (its content-hashed name changes). Data files
        rebuild nothing: the pages simply re-render.
        """
        root = self.config.root
        tdir, sdir = self.config.templates_dir, self.config.schemas_dir
        names: set[str] = set()
        rediscover = False
        with self._lock:
            states = dict(self.templates)
        for path in paths:
            rel = _rel(path, root)
            if path.parent == tdir and path.suffix == ".mjml":
                if path.stem in states and path.is_file():
                    names.add(path.stem)
                else:
                    rediscover = True  # a template appeared or was deleted
            elif _under(path, tdir) or _under(path, root / "assets"):
                # a partial, or an asset whose hashed name a template carries
                names |= {n for n, s in states.items()
                          if s.errors or (s.shown and rel in s.shown.sources)}
            elif _under(path, sdir) and not _under(path, self.examples_dir):
                stem = path.name.removesuffix(".schema.json")
                if path.parent == sdir and stem in states:
                    names.add(stem)
                else:
                    names |= set(states)
        return names, rediscover

    def on_files_changed(self, paths: list[Path]) -> dict[str, Any]:
        """The watcher's callback: rebuild what the change affects, then notify."""
        files = [_rel(p, self.config.root) for p in paths]
        if any(p.parent == self.config.root and p.name in CONFIG_FILES for p in paths):
            return self.reload_config()
        names, rediscover = self.affected(paths)
        if rediscover:
            return self.build_all()
        if names:
            return self.rebuild(sorted(names), files=files)
        return self.notify(rebuilt=[], files=files)

    def watch_specs(self) -> list[tuple[Path, str]]:
        """What the watcher polls: sources, schemas (examples too), data files, assets."""
        return [
            (self.config.templates_dir, "**/*.mjml"),
            (self.config.schemas_dir, "**/*.json"),
            (self.data_dir, "**/*.json"),
            (self.config.root / "assets", "**/*"),
            *((self.config.root, name) for name in CONFIG_FILES),
        ]

    def reload_config(self) -> dict[str, Any]:
        """Re-read ``bbws-mail.toml`` (and the allow-list) and rebuild every template.

        The check settings, categories, company facts and asset host all come from it;
        a designer who edits ``[company]`` sees every footer change without restarting.
        A broken file shows as every template's build error.
        """
        from bbws_mail import config as config_mod

        try:
            fresh = config_mod.load(self.config.root)
        except ValueError as exc:
            with self._lock:
                for state in self.templates.values():
                    state.built = None
                    state.errors = [TemplateError(Location("bbws-mail.toml"), str(exc))]
            return self.notify(rebuilt=sorted(self.templates), files=["bbws-mail.toml"])
        with self._lock:
            if not self._asset_override:
                self.asset_base_url = fresh.env("dev").asset_base_url
            self.config = fresh
            self._checks.clear()
        return self.build_all()

    def _forget_compiled(self) -> None:
        """Drop render's compiled copies of builds no longer shown (a long session edits a lot).

        ``bbws_mail.render`` keeps compiled templates forever (right for a Lambda,
        whose builds never change); here every save makes a new version.
        """
        from bbws_mail.render import forget

        keep = {s.version for s in self.templates.values()}
        forget(self.origin, keep=keep)
        self._checks = {v: c for v, c in self._checks.items()
                        if v in {s.version for s in self.templates.values()}}

    # -- data -----------------------------------------------------------------

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self.templates)

    def state(self, name: str) -> TemplateState | None:
        with self._lock:
            return self.templates.get(name)

    def example_file(self, name: str) -> str:
        return _rel(self.examples_dir / f"{name}.json", self.config.root)

    def data_files(self) -> list[str]:
        """Root-relative paths of every JSON file a page can pick as its data."""
        found = []
        for folder in (self.examples_dir, self.data_dir):
            # a --data-dir outside the project is the designer's choice; links below it are not
            top = self.config.root if _under(folder, self.config.root) else folder
            if folder.is_dir():
                found += [_rel(p, self.config.root) for p in sorted(folder.rglob("*.json"))
                          if p.is_file() and no_links(p, top)]
        return found

    def read_data_file(self, rel: str) -> str:
        """The text of a data file; only files listed by ``data_files`` (no path tricks)."""
        if rel not in self.data_files():
            link = " is a symbolic link, not followed;" if (self.config.root / rel).is_symlink() \
                else ""
            raise BBWSMailError(f"not a data file: {rel}{link} (pick one under "
                                f"schemas/examples/ or {_rel(self.data_dir, self.config.root)}/)")
        return (self.config.root / rel).read_text(encoding="utf-8")

    def choose_data(self, name: str, *, text: str | None = None, file: str | None = None
                    ) -> DataChoice:
        """The editor's text when given, else the file's, else the template's example."""
        if text is not None:
            return DataChoice("edited", text, file or "")
        rel = file or self.example_file(name)
        try:
            return DataChoice(rel, self.read_data_file(rel), rel)
        except OSError as exc:
            return DataChoice(rel, "", rel, f"no data: cannot read {rel}: {exc.strerror or exc}")
        except UnicodeDecodeError as exc:
            return DataChoice(rel, "", rel, f"no data: {rel} is not UTF-8 "
                                            f"(byte {exc.start}: {exc.reason})")
        except BBWSMailError as exc:
            return DataChoice(rel, "", "", f"no data: {exc}")

    # -- rendering ------------------------------------------------------------

    def render(self, name: str, data: Any, *, asset_base_url: str | None = None
               ) -> RenderedEmail:
        """Render the shown build of ``name``; raises TemplateDataError, BuildError."""
        from bbws_mail.render import render

        with self._lock:
            state = self.templates.get(name)
            if state is None:
                from bbws_mail.errors import UnknownTemplateError

                raise UnknownTemplateError(name, list(self.templates))
            built, errors = state.shown, list(state.errors)
        if built is None:
            raise BuildError(errors)
        snap = built.snapshot(asset_base_url or self.asset_base_url, self.origin)
        return render(name, data, source=FixedSource(snap))

    def checks(self, name: str) -> Checks:
        """Check results of the shown build, computed once per build version."""
        state = self.state(name)
        if state is None or state.shown is None:
            return Checks(unavailable="no build to check")
        with self._checks_lock:  # one check run at a time, once per version
            found = self._checks.get(state.version)
            if found is None:
                found = self._checks[state.version] = run_checks(self.config, state.shown)
        return found

    def size_budget(self) -> int:
        """Bytes of HTML ``[check] size_fail_kb`` allows (validated with the config)."""
        return int(self.config.check.size_fail_kb * 1024)

    def preview(self, name: str, *, text: str | None = None, file: str | None = None,
                asset_base_url: str | None = None) -> Preview:
        """Build errors, data errors or the rendered email, plus checks: one page's content."""
        state = self.state(name)
        if state is None:
            from bbws_mail.errors import UnknownTemplateError

            raise UnknownTemplateError(name, self.names())
        choice = self.choose_data(name, text=text, file=file)
        out = Preview(name, self.generation, choice,
                      build_errors=[str(e) for e in state.errors],
                      stale=bool(state.errors) and state.last_good is not None)
        if state.shown is not None:
            out.checks = self.checks(name)
        out.budget = self.size_budget()
        if choice.error:
            out.json_error = choice.error
            return out
        data, out.json_error = parse_data(choice.text)
        if out.json_error:
            return out
        try:
            out.email = self.render(name, data, asset_base_url=asset_base_url)
        except TemplateDataError as exc:
            out.data_errors = list(exc.problems)
        except BuildError:
            pass  # never built: the overlay says why
        if out.email is not None:
            out.preheader = preheader_of(out.email.html)
        return out


def no_links(path: Path, top: Path) -> bool:
    """``path`` lies under ``top`` without a symlink (or ``..``) on the way below ``top``.

    Sources come from pull requests and git stores symlinks: ``assets/x.png`` linked to
    ``/proc/self/environ`` or ``../.git/config`` would be read, shown and, by
    ``--export`` in CI, published as an artifact.
    """
    try:
        rel = path.relative_to(top)
    except ValueError:
        return False
    return path.resolve() == top.resolve() / rel


def _under(path: Path, folder: Path) -> bool:
    return folder == path or folder in path.parents


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
