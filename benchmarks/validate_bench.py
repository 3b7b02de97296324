"""Validation costs that data controls, each as a ratio against a baseline of the same run.

- refusal: ``items`` of 100,000 invalid objects, and 100,000 unknown fields, refused
  (validation + the error), against validating the largest valid payload of the same
  template (every bounded free-text string at its maxLength, every array at its
  maxItems). Goal: <= 3x.
- Decimal: render() with the example as DynamoDB returns it (every number a
  Decimal) against the example with ints.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.common import median_seconds, table

HUGE = 100_000


def largest(schema: dict[str, Any], data: Any) -> Any:
    """``data`` grown to the schema's bounds: free text at maxLength, arrays at maxItems."""
    if isinstance(data, dict):
        props = schema.get("properties", {})
        return {k: largest(props.get(k, {}), v) for k, v in data.items()}
    if isinstance(data, list) and data:
        items = [largest(schema.get("items", {}), v) for v in data]
        return [copy.deepcopy(items[i % len(items)])
                for i in range(schema.get("maxItems", len(items)))]
    if isinstance(data, str) and "maxLength" in schema and not (
            {"pattern", "format", "enum", "const"} & set(schema)):
        return "x" * schema["maxLength"]
    return data


def _with_huge_items(data: dict[str, Any]) -> dict[str, Any] | None:
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return {**data, key: [{} for _ in range(HUGE)]}
    return None


def run(root: Path) -> None:
    from bbws_mail import TemplateDataError, render
    from bbws_mail.pipeline import discover
    from bbws_mail.render import compiled
    from bbws_mail.sources import PackagedSource

    source = PackagedSource(root / "build")
    snapshot = source.snapshot()
    names = [p.stem for p in discover(root / "templates_src")]
    refusal_rows, decimal_rows = [], []
    for name in names:
        example = json.loads((root / "schemas/examples" / f"{name}.json").read_text())
        validator = compiled(snapshot, name).validator
        schema = snapshot.templates[name].schema
        big = largest(schema, example)
        assert validator.problems(big) == [], name
        def refuse(bad: Any, validator: Any = validator, name: str = name) -> None:
            found = validator.problems(bad)
            assert found
            str(TemplateDataError(name, found, found.more))

        t_valid = median_seconds(lambda v=validator, b=big: v.problems(b), repeat=15, number=20)
        fields = {**example, **{f"field{i}": i for i in range(HUGE)}}
        t_fields = median_seconds(lambda f=fields: refuse(f), repeat=15, number=20)
        huge = _with_huge_items(example)
        t_items = median_seconds(lambda h=huge: refuse(h), repeat=15, number=20) \
            if huge is not None else None
        refusal_rows.append([
            name, f"{t_valid * 1e6:.0f}",
            f"{t_items * 1e6:.0f}" if t_items else "-",
            f"{t_items / t_valid:.2f}x" if t_items else "-",
            f"{t_fields * 1e6:.0f}", f"{t_fields / t_valid:.2f}x"])
        as_decimals = json.loads(json.dumps(example), parse_float=Decimal, parse_int=Decimal)
        t_int = median_seconds(lambda n=name, d=example: render(n, d, source=source),
                               repeat=21, number=20)
        t_dec = median_seconds(lambda n=name, d=as_decimals: render(n, d, source=source),
                               repeat=21, number=20)
        decimal_rows.append([name, f"{t_int * 1e6:.0f}", f"{t_dec * 1e6:.0f}",
                             f"{t_dec / t_int:.2f}x"])
    print(f"\n== refusal: items of {HUGE:,} invalid objects, or {HUGE:,} unknown fields, vs "
          "the largest valid payload (validation + error, median per call)")
    print(table(["template", "largest valid µs", "items µs", "ratio", "fields µs", "ratio"],
                refusal_rows))
    worst = max((float(r[i][:-1]) for r in refusal_rows for i in (3, 5) if r[i] != "-"),
                default=0.0)
    print(f"goal: refusing costs <= 3x validating the largest valid payload: worst "
          f"{worst:.2f}x -> {'met' if worst <= 3 else 'NOT met'}")
    print("\n== render() with DynamoDB numbers (Decimal) vs ints, median per call")
    print(table(["template", "int µs", "Decimal µs", "ratio"], decimal_rows))
