"""render() against the naive path: jsonschema + chevron.render on the same build.

Both sides get the same data and produce the same three parts; the naive side
keeps a ready jsonschema validator (its best case) and calls chevron.render on
the template strings, as a hand-written Lambda would.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from benchmarks.common import RUNS, interleaved, median, median_ratio, table

ITEMS = 10


def with_items(data: dict[str, Any], count: int) -> dict[str, Any]:
    """The example with every array of line items grown to ``count`` entries."""
    data = copy.deepcopy(data)

    def grow(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("items", "lineItems") and isinstance(value, list) and value:
                    node[key] = [copy.deepcopy(value[i % len(value)]) for i in range(count)]
                else:
                    grow(value)
        elif isinstance(node, list):
            for value in node:
                grow(value)

    grow(data)
    return data


def run(root: Path) -> None:
    import chevron
    import jsonschema

    from bbws_mail import render
    from bbws_mail.pipeline import discover
    from bbws_mail.sources import PackagedSource

    source = PackagedSource(root / "build")
    snapshot = source.snapshot()
    names = [p.stem for p in discover(root / "templates_src")]
    print(f"\n== render: CPU per call, HTML + text + subject + validation (order-like "
          f"templates with {ITEMS} line items), median of {RUNS} interleaved runs")
    rows = []
    ratios: list[float] = []
    for name in names:
        data = json.loads((root / "schemas/examples" / f"{name}.json").read_text())
        data = with_items(data, ITEMS)
        files = snapshot.templates[name]
        validator = jsonschema.Draft202012Validator(files.schema)
        ctx = {**data, "assetBaseUrl": snapshot.asset_base_url}

        def naive(files: Any = files, validator: Any = validator, ctx: Any = ctx,
                  data: Any = data) -> None:
            validator.validate(data)
            chevron.render(files.html, ctx)
            chevron.render(files.text, ctx)
            chevron.render(files.subject, ctx)

        def ours(name: str = name, data: Any = data) -> None:
            render(name, data, source=source)

        samples = interleaved({"ours": ours, "naive": naive},
                              number={"ours": 100, "naive": 10})
        ratio = median_ratio(samples["naive"], samples["ours"])
        ratios.append(ratio)
        rows.append([name, f"{median(samples['ours']) * 1e6:.0f}",
                     f"{median(samples['naive']) * 1e6:.0f}", f"{ratio:.1f}x"])
    print(table(["template", "render() µs CPU", "naive µs CPU", "speed-up"], rows))
    order_rows = [r for r in rows if r[0].startswith("order")]
    worst = max(float(r[1]) for r in order_rows) if order_rows else 0.0
    least = min(ratios)
    print(f"goal: <= 100 µs for order templates ({ITEMS} items): worst {worst:.0f} µs -> "
          f"{'met' if worst <= 100 else 'NOT met'}; >= 12x faster than naive: least "
          f"{least:.1f}x -> {'met' if least >= 12 else 'NOT met'}")
