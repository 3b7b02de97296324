"""Bounded emails: the largest schema-valid email of each template, measured at build time.

Gmail clips a large HTML part (the default of ``[check] size_fail_kb``, in
``config.CheckSettings``), and a Lambda pays for every byte it renders.
Data cannot make an email arbitrarily large only if every value the template
shows is bounded: so every displayed string needs a ``maxLength`` (or an enum,
const or a fixed-length format), every displayed integer a ``maximum`` and
``minimum``, and every repeated array a ``maxItems``. From those bounds the worst
case is computed over the compiled HTML's Mustache tokens: literal bytes, plus
for each placeholder its longest value at 6 bytes a character (``&quot;`` and
``&#x27;`` are the longest escapes; UTF-8 needs at most 4), multiplied by the
``maxItems`` of every enclosing array section. Inverted and conditional
sections count as present, so the figure is an upper bound, never an estimate.
The build fails when it exceeds ``[check] size_fail_kb`` (or ``worst_case_fail_kb``).

The text part is measured by the same walk over its own tokens, at 4 bytes a
character (values are not HTML-escaped there; UTF-8 needs at most 4). It is reported,
never failed: Gmail's clip applies to HTML, and no limit is configured for text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from bbws_mail.config import Config
from bbws_mail.errors import Location, TemplateError
from bbws_mail.pipeline.contract import GLOBALS, _resolve, _Scope, _types

ESCAPED = 6  # bytes per character, worst case, once HTML-escaped
UTF8 = 4  # bytes per character, worst case, in the text part (not escaped)
FIXED_FORMATS = {"uuid": 36, "date": 10}
FLOAT_CHARS = 24  # the longest repr() of a double: -2.2250738585072014e-308


class WorstCase(NamedTuple):
    """Bytes of the largest schema-valid HTML part and text part of one template."""

    html: int
    text: int


def _longest(node: dict[str, Any], escaped: int) -> tuple[int, int] | None:
    """(characters, bytes per character) of the longest value ``node`` admits, or None;
    free text costs ``escaped`` bytes a character."""
    types = _types(node)
    if "enum" in node or "const" in node:
        values = node.get("enum", [node.get("const")])
        return max(len(str(v)) for v in values), escaped
    sizes: list[tuple[int, int]] = []
    if "string" in types:
        if "maxLength" in node:
            sizes.append((int(node["maxLength"]), escaped))
        elif node.get("format") in FIXED_FORMATS:
            sizes.append((FIXED_FORMATS[node["format"]], 1))
        else:
            return None
    if "integer" in types and "number" not in types:
        if "maximum" not in node or "minimum" not in node:
            return None
        sizes.append((max(len(str(int(node["maximum"]))), len(str(int(node["minimum"])))), 1))
    elif "number" in types:
        sizes.append((FLOAT_CHARS, 1))
    if "boolean" in types:
        sizes.append((5, 1))
    return max(sizes, key=lambda s: s[0] * s[1]) if sizes else (0, 1)


Measured = tuple[int, dict[str, int], list[TemplateError]]


def worst_case_html(html: str, schema: dict[str, Any], config: Config, schema_file: str
                    ) -> Measured:
    """(worst-case bytes, bytes per JSON path, unbounded-value errors) for ``html``."""
    return _worst_case(html, schema, config, schema_file, ESCAPED)


def worst_case_text(text: str, schema: dict[str, Any], config: Config, schema_file: str
                    ) -> Measured:
    """(worst-case bytes, bytes per JSON path, unbounded-value errors) for the text part."""
    return _worst_case(text, schema, config, schema_file, UTF8)


def _worst_case(template: str, schema: dict[str, Any], config: Config, schema_file: str,
                escaped: int) -> Measured:
    """The one walk both parts are measured by; values cost ``escaped`` bytes a character."""
    import chevron.tokenizer

    asset = max((len(e.asset_base_url) for e in config.envs.values()), default=200)
    globals_ = {k: {**v, "maxLength": asset} for k, v in GLOBALS.items()}
    root = {"type": "object", "properties": {**globals_, **schema.get("properties", {})}}
    scopes = [_Scope(root, "$")]
    multipliers = [1]
    total = 0
    by_path: dict[str, int] = {}
    errors: dict[str, TemplateError] = {}
    where = Location(schema_file)
    for kind, key in chevron.tokenizer.tokenize(template):
        mult = multipliers[-1]
        if kind == "literal":
            total += len(key.encode("utf-8")) * mult
        elif kind in ("variable", "no escape"):
            found = _resolve(scopes, key)
            if found is None:
                continue  # the contract reports undeclared names
            node, path, _ = found
            longest = _longest(node, escaped)
            if longest is None:
                errors[path] = TemplateError(where, f"{path} is displayed but unbounded",
                                             'give it a "maxLength" (strings) or "minimum" '
                                             'and "maximum" (integers)')
                continue
            size = longest[0] * longest[1] * mult
            total += size
            by_path[path] = by_path.get(path, 0) + size
        elif kind in ("section", "inverted section"):
            found = _resolve(scopes, key)
            section: dict[str, Any] | None = found[0] if found else None
            path = found[1] if found else scopes[-1].path
            if kind == "section" and section is not None and "array" in _types(section):
                node = section
                if "maxItems" not in node:
                    errors[path] = TemplateError(where, f"{path} is repeated but has no "
                                                 "maxItems", 'give the array a "maxItems"')
                count = int(node.get("maxItems", 1))
                scopes.append(_Scope(node.get("items") or {}, path + "[]"))
                multipliers.append(mult * count)
            elif kind == "section" and section is not None and "object" in _types(section):
                scopes.append(_Scope(section, path))
                multipliers.append(mult)
            else:
                scopes.append(_Scope(None, path))
                multipliers.append(mult)
        elif kind == "end" and len(scopes) > 1:
            scopes.pop()
            multipliers.pop()
    return total, by_path, list(errors.values())


def _locate(config: Config, name: str, path: str) -> Location:
    """The schema file:line declaring the field at JSON path ``path`` ("$.a[].b").

    Only on the error path: it bundles the schema again to learn where each node was
    written (a field declared in defs/ is reported there)."""
    import re

    from bbws_mail.pipeline.contract import PROPERTY, SchemaBundle

    bundle = SchemaBundle(config.schemas_dir, name)
    node: dict[str, Any] = bundle.schema
    parent: dict[str, Any] | None = None
    prop = ""
    for field, array in re.findall(r"\.([^.\[]+)|(\[\])", path[1:]):
        if array:
            node = node.get("items") or {}
        else:
            parent, prop = node, field
            node = node.get("properties", {}).get(field) or {}
    return (bundle.locate(parent, prop, (PROPERTY,)) if parent is not None
            else Location(bundle.display))


def check(name: str, html: str, text: str, schema: dict[str, Any], config: Config,
          source: str, budget_kb: float) -> tuple[WorstCase, list[TemplateError]]:
    """The worst-case sizes of template ``name`` and the errors that make it unbounded
    or its HTML over ``budget_kb`` (at the template's source file ``source``).

    The budget comes from the validated ``[check]`` settings (``config.CheckSettings``, the one
    owner of that table): Gmail's clip, ``size_fail_kb``, unless ``worst_case_fail_kb``
    sets it lower for projects (and lint fixtures) whose example-based gate is lower."""
    schema_file = str(Path(config.schemas_dir.name) / f"{name}.schema.json")
    size, by_path, html_errors = worst_case_html(html, schema, config, schema_file)
    text_size, _, text_errors = worst_case_text(text, schema, config, schema_file)
    # the text part shows the HTML's values, so its errors repeat them: each said once
    unbounded = {e.message: e for e in [*html_errors, *text_errors]}
    errors = [TemplateError(_locate(config, name, e.message.split(" ", 1)[0]), e.message,
                            e.hint) for e in unbounded.values()]
    if not errors and size > budget_kb * 1024:
        top = sorted(by_path.items(), key=lambda kv: -kv[1])[:3]
        shown = ", ".join(f"{p} {b / 1024:.1f} KB" for p, b in top)
        errors.append(TemplateError(
            Location(source), f"worst-case HTML is {size / 1024:.1f} KB, over the "
            f"{budget_kb:g} KB budget (size_fail_kb); largest: {shown}",
            "lower those fields' maxLength or their arrays' maxItems"))
    return WorstCase(size, text_size), errors
