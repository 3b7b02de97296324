"""``bbws-mail visual [--update] [--force] [--only NAME] [--report-dir DIR]``."""

from __future__ import annotations

import argparse
from typing import Any


def add_subcommands(sub: Any) -> None:
    """Register ``visual`` on the main CLI (called by bbws_mail.cli)."""
    p = sub.add_parser("visual", help="screenshot regression against tests/visual/baselines")
    add_arguments(p)
    p.set_defaults(func=_run)


def add_arguments(parser: Any) -> None:
    """The options shared by ``bbws-mail visual`` and ``python -m bbws_mail.visual``."""
    add = parser.add_argument
    add("--update", action="store_true", help="rewrite the baselines with the current shots")
    add("--force", action="store_true",
        help="with --update: take the baselines over although the environment differs")
    add("--only", action="append", metavar="NAME", help="only this template (repeatable)")
    add("--root", help="project root (default: found from the current folder)")
    add("--build-dir", help="shoot this build folder instead of building templates_src afresh")
    add("--report-dir", help="where the HTML report goes (default reports/visual)")


def _run(args: argparse.Namespace) -> int:
    from bbws_mail.visual.runner import run_cli

    return run_cli(args)
