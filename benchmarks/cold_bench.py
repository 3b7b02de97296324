"""Cold start: a new interpreter that imports bbws_mail and renders once, vs a bare one."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import table

SNIPPET = """
import json, sys
import bbws_mail
data = json.load(open({example!r}))
email = bbws_mail.render({name!r}, data)
assert email.html and email.text and email.subject
assert "boto3" not in sys.modules, "boto3 was imported"
"""


def _wall(args: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(root: Path, runs: int = 15) -> None:
    name = "order_confirmation_customer"
    example = root / "schemas/examples" / f"{name}.json"
    code = SNIPPET.format(example=str(example), name=name)
    subprocess.run([sys.executable, "-c", code], check=True)  # also proves it works
    bare = _wall([sys.executable, "-c", "pass"], runs)
    ours = _wall([sys.executable, "-c", code], runs)
    print(f"\n== cold start: new interpreter, import bbws_mail, render {name} once "
          f"(median of {runs})")
    print(table(["process", "wall ms", "over bare"],
                [["bare interpreter", f"{bare * 1000:.1f}", ""],
                 ["import + first render", f"{ours * 1000:.1f}",
                  f"+{(ours - bare) * 1000:.1f} ms ({ours / bare:.1f}x)"]]))
    verdict = "met" if ours <= 0.08 else "NOT met"
    print(f"goal: <= 80 ms wall with boto3 never imported -> {verdict}")
