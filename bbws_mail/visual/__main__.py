"""``python -m bbws_mail.visual [--update] [--only NAME]``: what ``nox -s visual`` runs."""

import argparse
import sys

from bbws_mail.visual.cli import add_arguments
from bbws_mail.visual.runner import run_cli


def main(argv: list[str] | None = None) -> int:
    """Parse the shared options and run; exit 0 only when all is well."""
    parser = argparse.ArgumentParser(prog="python -m bbws_mail.visual",
                                     description="screenshot regression of every template")
    add_arguments(parser)
    return run_cli(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
