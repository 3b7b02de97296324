"""Schema compatibility gate: would the new build reject data the live build accepts?

Schemas are closed (``additionalProperties: false``) and Lambdas keep sending what
the live schema allows, so any narrowing breaks every render of that template the
moment the pointer flips. Written here rather than taken from a library: the
schema-diff tools on PyPI compare drafts 4-7 or report every difference, while this
gate must answer one question, "is every instance valid under the old schema still
valid under the new one?", for the small keyword subset the build allows
(docs/designers.md#schemas-the-data-contract), and report each answer with its JSON path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOWER_BOUNDS = ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties")
UPPER_BOUNDS = ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties")


@dataclass(frozen=True)
class Change:
    template: str
    path: str  # JSON path into the data, e.g. $.items[*].unitPrice
    message: str

    def __str__(self) -> str:
        return f"{self.template}: {self.path}: {self.message}"


def _types(schema: dict[str, Any]) -> set[str] | None:
    t = schema.get("type")
    if t is None:
        return None
    types = {t} if isinstance(t, str) else set(t)
    if "number" in types:
        types.add("integer")
    return types


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 32:
        ref = schema["$ref"]
        if not ref.startswith("#"):
            return schema
        target: Any = root
        for part in [p for p in ref[1:].split("/") if p]:
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) \
                if isinstance(target, dict) else {}
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema


def _compare(old: Any, new: Any, path: str, roots: tuple[dict[str, Any], dict[str, Any]],
             out: list[tuple[str, str]], depth: int = 0) -> None:
    if depth > 64:
        return
    old, new = _resolve(old, roots[0]), _resolve(new, roots[1])
    if new is True or new == {}:
        return
    if old is True or old == {}:
        old = {}
    if new is False:
        out.append((path, "now rejects every value"))
        return
    if not isinstance(old, dict) or not isinstance(new, dict):
        return
    old_t, new_t = _types(old), _types(new)
    if new_t is not None and (old_t is None or not old_t <= new_t):
        out.append((path, f"type narrowed from {sorted(old_t) if old_t else 'any'} to "
                          f"{sorted(new_t)}"))
    for key in ("enum",):
        if key in new:
            if key not in old:
                out.append((path, f"enum added ({len(new[key])} allowed values)"))
            else:
                dropped = [v for v in old[key] if v not in new[key]]
                if dropped:
                    out.append((path, f"enum narrowed: {len(dropped)} value(s) no longer "
                                      "allowed"))
    if "const" in new and ("const" not in old or old["const"] != new["const"]):
        out.append((path, "const added or changed"))
    for key in LOWER_BOUNDS:
        if key in new and (key not in old or new[key] > old[key]):
            out.append((path, f"{key} raised from {old.get(key, 'none')} to {new[key]}"))
    for key in UPPER_BOUNDS:
        if key in new and (key not in old or new[key] < old[key]):
            out.append((path, f"{key} lowered from {old.get(key, 'none')} to {new[key]}"))
    if "format" in new and new.get("format") != old.get("format"):
        out.append((path, f"format {old.get('format', 'none')} -> {new['format']}"))
    if "pattern" in new and new.get("pattern") != old.get("pattern"):
        out.append((path, "pattern added or changed (any change of a pattern can reject "
                          "data the old one accepted)"))
    if "x-schemes" in new or "x-schemes" in old:
        before = set(old.get("x-schemes", ["https"]))
        after = set(new.get("x-schemes", ["https"]))
        if not before <= after:
            out.append((path, f"URL schemes narrowed: {', '.join(sorted(before - after))} "
                              "no longer allowed"))
    newly_required = sorted(set(new.get("required", [])) - set(old.get("required", [])))
    for name in newly_required:
        out.append((f"{path}.{name}", "newly required"))
    old_props = old.get("properties", {}) if isinstance(old.get("properties"), dict) else {}
    new_props = new.get("properties", {}) if isinstance(new.get("properties"), dict) else {}
    new_extra = new.get("additionalProperties", True)
    old_extra = old.get("additionalProperties", True)
    for name, sub in old_props.items():
        if name in new_props:
            _compare(sub, new_props[name], f"{path}.{name}", roots, out, depth + 1)
        elif new_extra is False:
            out.append((f"{path}.{name}", "property removed (the schema is closed, so data "
                                          "that still sends it is rejected)"))
        elif isinstance(new_extra, dict):
            _compare(sub, new_extra, f"{path}.{name}", roots, out, depth + 1)
    if new_extra is False and old_extra is not False:
        out.append((path, "additionalProperties closed: properties the old schema did not "
                          "list are now rejected"))
    if "items" in old or "items" in new:
        _compare(old.get("items", {}), new.get("items", {}), f"{path}[*]", roots, out,
                 depth + 1)


def breaking_changes(template: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every change of ``new`` that rejects data ``old`` accepts, with its JSON path."""
    found: list[tuple[str, str]] = []
    _compare(old, new, "$", (old, new), found)
    return [Change(template, path, message) for path, message in found]


def gate(live_schemas: dict[str, dict[str, Any]], new_schemas: dict[str, dict[str, Any]],
         live_validator: int, new_validator: int) -> list[Change]:
    """Breaking changes of a whole build against the live one, template by template."""
    changes: list[Change] = []
    for name in sorted(live_schemas):
        if name not in new_schemas:
            changes.append(Change(name, "$", "template removed: producers that still send it "
                                             "would fail"))
            continue
        if new_validator > live_validator:
            changes.append(Change(name, "$", f"validator semantics {live_validator} -> "
                                             f"{new_validator} (stricter)"))
        changes += breaking_changes(name, live_schemas[name], new_schemas[name])
    return changes
