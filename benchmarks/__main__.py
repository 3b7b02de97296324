"""Every benchmark, each with its baseline measured in the same run.

    python -m benchmarks [build|inline|text|render|validate|cold|s3|all] [--root DIR] [--no-node]

Timings are reported, never asserted: ratios against a baseline from the same
run on the same machine are the number to compare across commits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import (
    build_bench,
    cold_bench,
    inliner_bench,
    render_bench,
    s3_bench,
    text_bench,
    validate_bench,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("which", nargs="*", default="all",
                        choices=["all", "build", "inline", "text", "render", "validate",
                                 "cold", "s3"])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--no-node", action="store_true",
                        help="skip the official MJML (node) baseline")
    args = parser.parse_args(argv)
    which = {args.which} if isinstance(args.which, str) else set(args.which)
    root = Path(args.root)
    if which & {"all", "build"}:
        build_bench.run(root, node=not args.no_node)
    if which & {"all", "inline"}:
        inliner_bench.run(root)
    if which & {"all", "text"}:
        text_bench.run(root)
    if which & {"all", "render"}:
        render_bench.run(root)
    if which & {"all", "validate"}:
        validate_bench.run(root)
    if which & {"all", "cold"}:
        cold_bench.run(root)
    if which & {"all", "s3"}:
        s3_bench.run(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
