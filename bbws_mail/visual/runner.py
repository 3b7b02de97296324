"""Take every shot, compare with the baselines, assert layout, report; or update baselines.

Baselines are compared strictly (zero differing pixels) when the environment
fingerprint stored next to them matches this machine: the same browser, fonts and
flags give byte-identical shots, so any difference is a real change. Elsewhere
(another Chromium, other fonts) anti-aliasing drifts, so a small budget applies
and the run says so; updating baselines from such an environment is refused
unless forced, so one developer's laptop cannot silently re-bless every shot.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbws_mail.visual.browser import unpinned_families
from bbws_mail.visual.compare import Comparison, compare
from bbws_mail.visual.layout import describe_region, fonts_used, layout_problems
from bbws_mail.visual.report import Failure, write_report
from bbws_mail.visual.shoot import VARIANTS, Camera, new_camera, rendered_examples

FINGERPRINT = "fingerprint.json"
TOLERANT_BUDGET = 0.002  # share of a shot's pixels allowed to differ in a foreign environment


class UpdateRefused(Exception):
    """``--update`` would overwrite baselines made in another environment."""


@dataclass
class VisualResult:
    shots: int = 0
    failures: list[str] = field(default_factory=list)
    layout: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and not self.layout


def _fingerprint_notes(stored: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    notes = []
    extra = unpinned_families(current.get("font_families", []))
    if extra:
        notes.append("fonts other than DejaVu/Liberation are installed and may be used as "
                     f"fallbacks: {', '.join(extra)}")
    if stored is None:
        notes.append(f"no {FINGERPRINT} next to the baselines: comparing with a "
                     f"{TOLERANT_BUDGET:.1%} budget")
    elif stored != current:
        diffs = ", ".join(f"{k}: {stored.get(k)!r} -> {current.get(k)!r}"
                          for k in sorted(set(stored) | set(current))
                          if stored.get(k) != current.get(k))
        notes.append(f"environment differs from the baselines' ({diffs}): comparing with a "
                     f"{TOLERANT_BUDGET:.1%} budget instead of strictly")
    return notes


def run_visual(*, build_dir: Path, examples_dir: Path, assets_dir: Path, baselines: Path,
               report_dir: Path, update: bool = False, force: bool = False,
               only: list[str] | None = None, log: Callable[[str], None] = print,
               camera: Camera | None = None) -> VisualResult:
    """All shots of all templates; ``camera`` reuses a running browser (tests)."""
    result = VisualResult()
    asset_base_url, pages = rendered_examples(build_dir, examples_dir)
    if only:
        unknown = sorted(set(only) - set(pages))
        if unknown:
            raise ValueError(f"unknown template(s) {', '.join(unknown)}; known: "
                             f"{', '.join(pages)}")
        pages = {n: h for n, h in pages.items() if n in only}
    failures: list[Failure] = []
    stored_path = baselines / FINGERPRINT
    stored = json.loads(stored_path.read_text("utf-8")) if stored_path.exists() else None
    with _camera(assets_dir, asset_base_url, camera) as cam:
        current = cam.fingerprint
        strict = stored == current
        result.notes += _fingerprint_notes(stored, current)
        if update and stored is not None and not strict:
            if not force:
                raise UpdateRefused("refusing to update baselines made in another environment "
                                    f"({result.notes[-1]}); use --force to retake them all here")
            if only:
                raise UpdateRefused("--force retakes every baseline for this environment; "
                                    "drop --only")
        taken = set()
        for name, html in pages.items():
            for variant in VARIANTS:
                shot = f"{name}__{variant.name}"
                taken.add(f"{shot}.png")
                actual = cam.shoot(variant, html)
                page = cam.pages[variant.name]
                result.shots += 1
                for problem in layout_problems(page, dark=variant.dark):
                    result.layout.append(f"{shot}: {problem}")
                if variant is VARIANTS[0]:  # the same text in every variant: check once
                    unpinned = unpinned_families(sorted(fonts_used(page)))
                    if unpinned:
                        result.layout.append(f"{shot}: text drawn with fonts other than "
                                             f"DejaVu/Liberation: {', '.join(unpinned)}")
                path = baselines / f"{shot}.png"
                if update:
                    if not path.exists() or path.read_bytes() != actual:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(actual)
                        result.updated.append(shot)
                    continue
                if not path.exists():
                    failures.append(Failure(shot, Comparison(False), actual, None))
                    result.failures.append(f"{shot}: no baseline (run with --update)")
                    continue
                baseline = path.read_bytes()
                verdict = compare(baseline, actual)
                budget = 0 if strict else int(TOLERANT_BUDGET * verdict.new_size[0]
                                              * verdict.new_size[1])
                if not verdict.ok(budget):
                    box = verdict.css_box(variant.scale)
                    if box:
                        verdict.where = describe_region(page, box)
                    failures.append(Failure(shot, verdict, actual, baseline))
                    result.failures.append(f"{shot}: {verdict.describe()}")
                    continue  # printed once, in the summary's FAIL lines
                log(f"  {shot}: {verdict.describe()}")
        if update:
            if not only:
                for stale in sorted(baselines.glob("*__*.png")):
                    if stale.name not in taken:
                        stale.unlink()
                        result.updated.append(f"{stale.stem} (removed)")
            if stored != current:
                stored_path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
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
    report_dir = Path(args.report_dir) if args.report_dir else root / "reports" / "visual"
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
                report_dir=report_dir, update=args.update, force=args.force, only=args.only,
                log=lambda m: print(m, file=sys.stderr))
        except (UpdateRefused, ValueError, RuntimeError) as exc:  # RuntimeError: no Chromium
            print(f"error: {exc}", file=sys.stderr)
            return 2
    for note in result.notes:
        print(f"note: {note}")
    if args.update:
        print(f"updated {len(result.updated)} baseline(s): {', '.join(result.updated) or '-'}")
        print("review them with `git diff --stat tests/visual/baselines` before committing")
    for line in result.failures + result.layout:
        print(f"FAIL {line}")
    if result.report:
        print(f"report: {result.report}")
    print(f"{result.shots} shot(s), {len(result.failures)} different, "
          f"{len(result.layout)} layout problem(s)")
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m bbws_mail.visual [--update]`` (what ``nox -s visual`` runs)."""
    import argparse

    from bbws_mail.visual.cli import add_arguments

    parser = argparse.ArgumentParser(prog="python -m bbws_mail.visual",
                                     description="screenshot regression of every template")
    add_arguments(parser)
    return run_cli(parser.parse_args(argv))
