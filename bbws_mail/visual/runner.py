"""Take every shot, compare it with its baseline, assert layout, report; or update baselines.

A shot passes when its content (texts, colours, boxes, images, links: ``content.py``)
matches the baseline's and its pixels are identical. Each baseline is stamped with
the environment that took it (``baselines.py``); where the current environment
differs from a shot's stamp (another Chromium build, other fonts), its pixels may
drift by anti-aliasing, so up to ``TOLERANT_BUDGET`` of them may differ, but its
content must still match: a browser update passes, a changed digit of a price
does not.

Updating is scoped: ``--update --only NAME`` retakes NAME's shots and first compares
every other template's shots here, so a changed environment or an unapproved
change elsewhere stops the update before anything is written; the others are never
retaken. A full ``--update`` from an environment that did not take the baselines
would re-bless every shot, so it needs ``--force``.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbws_mail.errors import VisualError
from bbws_mail.visual import content
from bbws_mail.visual.baselines import Baselines, shot_name
from bbws_mail.visual.browser import unpinned_families
from bbws_mail.visual.compare import Comparison, compare
from bbws_mail.visual.layout import describe_region, fonts_used, layout_problems
from bbws_mail.visual.report import Failure, write_report
from bbws_mail.visual.shoot import VARIANTS, Camera, new_camera, rendered_examples

TOLERANT_BUDGET = 0.002  # share of a shot's pixels that may differ where another env took it


@dataclass
class VisualResult:
    shots: int = 0  # shots taken
    compared: int = 0  # of those, compared with a baseline
    failures: list[str] = field(default_factory=list)
    layout: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and not self.layout


def _env_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}"
                     for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k))


class _Judge:
    """Compares shots with their baselines and keeps what the summary needs."""

    def __init__(self, store: Baselines, current: dict[str, Any]) -> None:
        self.store, self.current = store, current
        self.tolerant: dict[str, int] = {}  # environment change -> shots compared with a budget

    def verdict(self, shot: str, actual: bytes, entries: list[content.Entry]
                ) -> tuple[Comparison, list[str], bytes | None]:
        """The pixel comparison, the content differences (empty: same), the baseline PNG."""
        baseline = self.store.png(shot)
        if baseline is None:
            return Comparison(False), [], None
        pixels = compare(baseline, actual)
        stored = self.store.entries(shot)
        changes = content.differences(stored, entries) if stored is not None else []
        env = self.store.environment(shot)
        if env == self.current:
            return pixels, changes, baseline
        key = _env_change(env, self.current) if env else "no environment recorded"
        self.tolerant[key] = self.tolerant.get(key, 0) + 1
        if stored is None and not pixels.identical:
            changes = ["no content snapshot beside the baseline to judge it by in another "
                       "environment (retake it with --update --only TEMPLATE)"]
        width, height = pixels.new_size
        if not pixels.identical and not pixels.size_changed and \
                pixels.differing <= int(TOLERANT_BUDGET * width * height):
            pixels = Comparison(True) if not changes else pixels
        return pixels, changes, baseline

    def notes(self) -> list[str]:
        return [f"{n} shot(s) were taken in another environment ({change}): identical ones "
                f"pass; the others pass only with their content unchanged and at most "
                f"{TOLERANT_BUDGET:.1%} of their pixels different"
                for change, n in self.tolerant.items()]


def run_visual(*, build_dir: Path, examples_dir: Path, assets_dir: Path, baselines: Path,
               report_dir: Path, address: str, update: bool = False, force: bool = False,
               only: list[str] | None = None, log: Callable[[str], None] = print,
               camera: Camera | None = None) -> VisualResult:
    """All shots of all templates (or ``only`` these); ``camera`` reuses a browser (tests).

    ``address`` is the postal address every footer must show (``[company] address``).

    Raises ``VisualError`` for what the caller must change: an unknown template, unreadable
    baselines, or an update that would re-bless shots it was not asked to.
    """
    result = VisualResult()
    asset_base_url, pages = rendered_examples(build_dir, examples_dir)
    unknown = sorted(set(only or []) - set(pages))
    if unknown:
        raise VisualError(f"unknown template(s) {', '.join(unknown)}; known: "
                          f"{', '.join(pages)}")
    store = Baselines(baselines)
    retake = set(only or pages) if update else set()
    if only and (not update or force):  # retaking named templates only, or just looking
        pages = {n: h for n, h in pages.items() if n in set(only or [])}
    failures: list[Failure] = []
    pending: list[tuple[str, bytes, list[content.Entry]]] = []
    with _camera(assets_dir, asset_base_url, camera) as cam:
        current = cam.fingerprint
        judge = _Judge(store, current)
        extra = unpinned_families(current.get("font_families", []))
        if extra:
            result.notes.append("fonts other than DejaVu/Liberation are installed and may be "
                                f"used as fallbacks: {', '.join(extra)}")
        foreign = sorted({_env_change(env, current) for s in store.stamps
                          if (env := store.environment(s)) not in (None, current)})
        if update and not only and foreign and not force:
            raise VisualError(
                f"refusing to retake every baseline here: this environment did not take them "
                f"({foreign[0]}). To add or change templates, retake only theirs: "
                "--update --only NAME (the others are compared first); to move every baseline "
                "to this environment, --update --force")
        for name, html in pages.items():
            for variant in VARIANTS:
                shot = shot_name(name, variant.name)
                actual = cam.shoot(variant, html)
                page = cam.pages[variant.name]
                entries = content.snapshot(page)
                result.shots += 1
                result.layout += [f"{shot}: {p}" for p in layout_problems(page, dark=variant.dark,
                                                                    address=address)]
                if variant is VARIANTS[0]:  # the same text in every variant: check once
                    unpinned = unpinned_families(sorted(fonts_used(page)))
                    if unpinned:
                        result.layout.append(f"{shot}: text drawn with fonts other than "
                                             f"DejaVu/Liberation: {', '.join(unpinned)}")
                if name in retake:
                    pending.append((shot, actual, entries))
                    continue
                result.compared += 1
                pixels, changes, baseline = judge.verdict(shot, actual, entries)
                if baseline is None:
                    failures.append(Failure(shot, pixels, actual, None))
                    result.failures.append(f"{shot}: no baseline (take it with "
                                           f"--update --only {name})")
                    continue
                if pixels.identical and not changes:
                    log(f"  {shot}: identical")
                    continue
                if not pixels.identical and (box := pixels.css_box(variant.scale)):
                    pixels.where = describe_region(page, box)
                what = "pixels identical" if pixels.identical else pixels.describe()
                if changes:
                    what += "; content: " + "; ".join(changes)
                failures.append(Failure(shot, pixels, actual, baseline))
                result.failures.append(f"{shot}: {what}")
        result.notes += judge.notes()
        if update:
            if result.failures:
                raise VisualError(
                    f"refusing to update: {len(result.failures)} shot(s) of templates not "
                    "named by --only differ from their baselines here, so this environment "
                    "or an unapproved change would be blessed with them. First: "
                    + "; ".join(result.failures[:3])
                    + ". Fix them, name their templates with --only, or, to retake only the "
                    "named templates anyway, add --force")
            for shot, actual, entries in pending:
                if store.write(shot, actual, entries, current):
                    result.updated.append(shot)
            if not only:
                taken = {shot for shot, _, _ in pending}
                result.updated += [f"{s} (removed)" for s in store.remove_except(taken)]
            store.save()
        if cam.blocked:
            result.notes.append(f"blocked {len(cam.blocked)} request(s) to outside the page: "
                                + ", ".join(sorted(set(cam.blocked))[:5]))
    if not update:
        result.report = write_report(report_dir, failures, result.notes, result.layout,
                                     result.shots)
    return result


@contextmanager
def _camera(assets_dir: Path, asset_base_url: str, reuse: Camera | None) -> Iterator[Camera]:
    if reuse is None:
        with new_camera(assets_dir, asset_base_url) as cam:
            yield cam
        return
    reuse.serve(assets_dir, asset_base_url)
    yield reuse


def run_cli(args: Any) -> int:
    """Build (unless --build-dir), shoot, print the outcome; exit 0 only when all is well."""
    from bbws_mail import config
    from bbws_mail.errors import BuildError, ConfigError
    from bbws_mail.pipeline import build

    try:
        cfg = config.load(Path(args.root) if args.root else None)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    root = cfg.root
    report_dir = Path(args.report_dir) if args.report_dir else cfg.reports_dir / "visual"
    with tempfile.TemporaryDirectory(prefix="bbws-visual-") as tmp:
        build_dir = Path(args.build_dir) if args.build_dir else Path(tmp) / "build"
        if not args.build_dir:
            try:
                build(cfg, build_dir)
            except BuildError as exc:
                print(f"build failed:\n{exc}", file=sys.stderr)
                return 1
        try:
            result = run_visual(
                build_dir=build_dir, examples_dir=cfg.schemas_dir / "examples",
                assets_dir=root / "assets", baselines=root / "tests" / "visual" / "baselines",
                report_dir=report_dir, address=cfg.company.values.get("address", ""),
                update=args.update, force=args.force, only=args.only,
                log=lambda m: print(m, file=sys.stderr))
        except VisualError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    for note in result.notes:
        print(f"note: {note}")
    if args.update:
        print(f"updated {len(result.updated)} baseline(s): {', '.join(result.updated) or '-'}")
        if result.compared:
            print(f"compared {result.compared} other shot(s) first: all match their baselines")
        print("review them with `git status tests/visual/baselines` before committing")
    for line in result.failures + result.layout:
        print(f"FAIL {line}")
    if result.report:
        print(f"report: {result.report}")
    if not args.update:
        print(f"{result.shots} shot(s), {len(result.failures)} different, "
              f"{len(result.layout)} layout problem(s)")
    elif result.layout:
        print(f"{len(result.layout)} layout problem(s)")
    return 0 if result.ok else 1
