"""Take every shot, compare with the baselines, assert layout, report; or update baselines."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbws_mail.visual.compare import Comparison, compare
from bbws_mail.visual.layout import layout_problems
from bbws_mail.visual.report import write_report
from bbws_mail.visual.shoot import VARIANTS, Camera, camera, rendered_examples

FINGERPRINT = "fingerprint.json"
TOLERANT_BUDGET = 0.002  # share of pixels allowed to differ when the environment differs


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


def run_visual(*, build_dir: Path, examples_dir: Path, assets_dir: Path, baselines: Path,
               report_dir: Path, update: bool = False, force: bool = False,
               only: list[str] | None = None, log: Callable[[str], None] = print,
               playwright: Any = None) -> VisualResult:
    """All shots of all templates; ``playwright`` reuses a running Playwright (tests)."""
    result = VisualResult()
    pages = rendered_examples(build_dir, examples_dir)
    if only:
        pages = {n: h for n, h in pages.items() if n in only}
    failures: list[tuple[str, Comparison, bytes, bytes | None]] = []
    with _camera(assets_dir, playwright) as cam:
        current = cam.fingerprint
        stored_path = baselines / FINGERPRINT
        stored = json.loads(stored_path.read_text()) if stored_path.exists() else None
        strict = stored == current
        if stored is not None and not strict:
            result.notes.append(f"environment differs from the baselines' ({stored} vs "
                                f"{current}): comparing with a {TOLERANT_BUDGET:.1%} budget")
        if update and stored is not None and not strict and not force:
            raise SystemExit("refusing to update baselines made in another environment "
                             "(fingerprint differs); use --force to take them over")
        for name, html in pages.items():
            for variant in VARIANTS:
                shot = f"{name}__{variant.name}"
                actual = cam.shoot(variant, html)
                result.shots += 1
                for problem in layout_problems(cam.pages[variant.name], dark=variant.dark):
                    result.layout.append(f"{shot}: {problem}")
                path = baselines / f"{shot}.png"
                if update:
                    if not path.exists() or path.read_bytes() != actual:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(actual)
                        result.updated.append(shot)
                    continue
                if not path.exists():
                    failures.append((shot, Comparison(False, True), actual, None))
                    result.failures.append(f"{shot}: no baseline (run with --update)")
                    continue
                baseline = path.read_bytes()
                verdict = compare(baseline, actual)
                budget = 0 if strict else int(TOLERANT_BUDGET * verdict.new_size[0]
                                              * verdict.new_size[1])
                if not verdict.ok(budget):
                    failures.append((shot, verdict, actual, baseline))
                    result.failures.append(f"{shot}: {verdict.describe()}")
                log(f"  {shot}: {verdict.describe()}")
        if update:
            stored_path.parent.mkdir(parents=True, exist_ok=True)
            stored_path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
        if cam.blocked:
            result.notes.append(f"blocked {len(cam.blocked)} outside request(s): "
                                + ", ".join(sorted(set(cam.blocked))[:5]))
    if failures or result.layout:
        result.report = write_report(report_dir, failures, result.notes + result.layout)
    return result


@contextmanager
def _camera(assets_dir: Path, playwright: Any) -> Iterator[Camera]:
    if playwright is None:
        with camera(assets_dir) as cam:
            yield cam
        return
    cam = Camera(playwright, assets_dir)
    try:
        yield cam
    finally:
        cam.close()


def main(argv: list[str] | None = None) -> int:
    import argparse

    from bbws_mail import config

    parser = argparse.ArgumentParser(prog="python -m bbws_mail.visual")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_cli(args, config.load(Path(args.root) if args.root else None).root)


def add_arguments(parser: object) -> None:
    add = parser.add_argument  # type: ignore[attr-defined]
    add("--update", action="store_true", help="rewrite the baselines with the current shots")
    add("--force", action="store_true", help="with --update: accept a different environment")
    add("--only", action="append", help="only this template (repeatable)")
    add("--root", help="project root")
    add("--report-dir", help="where the HTML report goes (default reports/visual)")


def run_cli(args: object, root: Path) -> int:
    a = args.__dict__
    report_dir = Path(a["report_dir"]) if a.get("report_dir") else root / "reports" / "visual"
    result = run_visual(build_dir=root / "build", examples_dir=root / "schemas" / "examples",
                        assets_dir=root / "assets", baselines=root / "tests/visual/baselines",
                        report_dir=report_dir, update=a["update"], force=a["force"],
                        only=a.get("only"), log=lambda m: print(m, file=sys.stderr))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if a["update"]:
        print(f"updated {len(result.updated)} baseline(s): {', '.join(result.updated) or '-'}")
    for line in result.failures + result.layout:
        print(f"FAIL {line}")
    if result.report:
        print(f"report: {result.report}")
    print(f"{result.shots} shot(s), {len(result.failures)} different, "
          f"{len(result.layout)} layout problem(s)")
    return 0 if result.ok or a["update"] else 1
