"""``bbws-mail visual [--update]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_subcommands(sub: Any) -> None:
    from bbws_mail.visual.runner import add_arguments

    p = sub.add_parser("visual", help="screenshot regression against tests/visual/baselines")
    add_arguments(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from bbws_mail import config
    from bbws_mail.visual.runner import run_cli

    return run_cli(args, config.load(Path(args.root) if args.root else None).root)
