"""Timing helpers shared by every benchmark."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

RUNS = 5  # interleaved runs whose median a figure is


def median_seconds(fn: Callable[[], object], *, repeat: int = 15, number: int = 1) -> float:
    """Median wall time of ``number`` calls, over ``repeat`` rounds, after one warm-up."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def cpu_seconds(fn: Callable[[], object], number: int = 1) -> float:
    """CPU seconds of one call of ``fn`` (the mean of ``number`` calls in a row).

    Process CPU time, not wall time: on a shared machine a busy neighbour stretches
    the wall clock of a single-threaded run but not the CPU it spends.
    """
    start = time.process_time()
    for _ in range(number):
        fn()
    return (time.process_time() - start) / number


def interleaved(fns: dict[str, Callable[[], object]], *, runs: int = RUNS,
                number: dict[str, int] | None = None) -> dict[str, list[float]]:
    """CPU seconds per call of each of ``fns``, ``runs`` times, the candidates and their
    baselines taking turns within each run (each warmed once first), so that a slow
    spell of the machine falls on all of them alike."""
    number = number or {}
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            samples[name].append(cpu_seconds(fn, number.get(name, 1)))
    return samples


def reference() -> None:
    """A fixed pure-Python workload (400,000 loop steps),
    timed with a benchmark to show how fast the machine ran during its runs: on a shared
    machine CPU time itself stretches when neighbours thrash the caches."""
    total = 0
    for i in range(400_000):
        total += i * i % 7
    assert total


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def median_ratio(slow: list[float], fast: list[float]) -> float:
    """The median over runs of ``slow / fast``, each pair timed in the same run."""
    return statistics.median(s / f for s, f in zip(slow, fast, strict=True))


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                      for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
    return "\n".join(out)
