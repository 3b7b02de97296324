"""``bbws-mail check [--format json] [--only NAME] [--no-spam] [--show-accepted]``."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any


def add_subcommands(sub: Any) -> None:
    """Register ``check`` on the main CLI (called by bbws_mail.cli)."""
    p = sub.add_parser("check", help="quality gates: MJML, HTML, a11y, size, contrast, links, "
                                     "client CSS, spam score, HTML Tidy, schemas")
    p.add_argument("--root", help="project root (default: found from the current folder)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--only", action="append", metavar="NAME", help="only this template")
    p.add_argument("--no-spam", action="store_true", help="skip the SpamAssassin score")
    p.add_argument("--show-accepted", action="store_true",
                   help="also list findings accepted by check-allow.toml")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run_cli)


def _eprint(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def run_cli(args: argparse.Namespace) -> int:
    from bbws_mail import config as config_mod
    from bbws_mail.check import run
    from bbws_mail.errors import UnknownTemplateError
    from bbws_mail.pipeline.rules import RULES

    cfg = config_mod.load(Path(args.root) if args.root else None)
    quiet = args.quiet or args.format == "json"
    start = time.perf_counter()
    try:
        report = run(cfg, only=args.only, spam=not args.no_spam,
                     progress=None if quiet else _eprint)
    except UnknownTemplateError as exc:
        _eprint(f"error: {exc}")
        return 2
    elapsed = time.perf_counter() - start
    if args.format == "json":
        print(report.as_json())
        return 1 if report.errors else 0
    # A finding in a partial repeats in every template that includes it: print it once.
    lines: dict[str, list[str]] = {}
    for f in report.findings:
        if f.accepted and not args.show_accepted:
            continue
        line = str(f) + (f"  [accepted: {' '.join(f.accepted.split())}]" if f.accepted else "")
        lines.setdefault(line, []).append(f.template)
    for line, templates in lines.items():
        if len(templates) > 1:
            line += f"  (in {len(templates)} templates)"
        print(line)
    for notice in report.notices:
        _eprint(f"notice: {notice}")
    rows = Counter((f.template or "-", f.severity if not f.accepted else "accepted")
                   for f in report.findings)
    print()
    print(f"{'template':<32} {'errors':>6} {'warnings':>8} {'accepted':>8} {'spam':>6}")
    for name in report.templates:
        spam = report.spam.get(name)
        print(f"{name:<32} {rows[(name, 'error')]:>6} {rows[(name, 'warning')]:>8} "
              f"{rows[(name, 'accepted')]:>8} {f'{spam.score:.1f}' if spam else '-':>6}")
    by_rule = Counter(f.rule for f in report.errors + report.warnings)
    if by_rule:
        print()
        for rule, n in by_rule.most_common():
            print(f"  {rule:<28} {n:>4}  {RULES[rule].summary if rule in RULES else ''}")
    print()
    verdict = "FAILED" if report.errors else "passed"
    print(f"check {verdict}: {len(report.errors)} error(s), {len(report.warnings)} warning(s), "
          f"{len(report.accepted)} accepted, {len(report.templates)} template(s) "
          f"in {elapsed:.1f} s")
    if report.not_run:  # a pass without a stage is not the whole gate: say it by the verdict
        print(f"not run here: {', '.join(report.not_run)} (see the notices above; CI runs "
              "them)")
    return 1 if report.errors else 0
