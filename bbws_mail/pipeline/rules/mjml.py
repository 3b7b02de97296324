"""MJML validation of the spliced sources, as the official validator's strict mode.

MRML (mjml-python) validates nothing: an unknown ``<mj-foo>``, ``padding="banana"``
or ``{{brandColor}}`` in a colour attribute compile silently. The rules live in
``mjml_rules.json`` (one table per component); this module only interprets them.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from bbws_mail.pipeline.markup import tokenize
from bbws_mail.pipeline.rules import finding
from bbws_mail.pipeline.rules.colors import is_color_keyword
from bbws_mail.pipeline.rules.findings import Finding
from bbws_mail.pipeline.splice import Spliced

RULES_FILE = Path(__file__).with_name("mjml_rules.json")
_UNIT_RE = re.compile(r"^(?P<type>unit)\((?P<units>[^)]*)\)(?:\{(?P<min>\d+),(?P<max>\d+)\})?$")
# one way to match each number (no \d+\.?\d*): backtracking stays linear in a long value
_NUMBER = r"-?(?:\d+(?:\.\d*)?|\.\d+)"
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_FUNC_COLOR = re.compile(r"^(?:rgba?|hsla?)\(\s*[-\d.%\s,/]+\)$", re.IGNORECASE)
PLACEHOLDER_TYPES = {"url", "text"}


@lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    """The component tables, with attribute groups expanded."""
    data: dict[str, Any] = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    groups = data["groups"]
    for spec in data["components"].values():
        attrs: dict[str, str] = {}
        for group in spec.get("groups", []):
            attrs.update(groups[group])
        attrs.update(spec.get("attributes", {}))
        spec["all_attributes"] = attrs
    every: dict[str, str] = {}
    for spec in data["components"].values():
        for name, kind in spec["all_attributes"].items():
            every.setdefault(name, kind)
    data["every_attribute"] = every
    return data


SHOWN_CHARACTERS = 60


def shown(text: str, what: str = "value") -> str:
    """``text`` quoted when short and printable, else described by its length: a finding
    names the file:line, and a 10 MB or invisibly altered value is no help in it."""
    if len(text) <= SHOWN_CHARACTERS and text.isprintable():
        return repr(text)
    return f"(a {what} of {len(text)} characters)"


@lru_cache(maxsize=4096)
def check_value(kind: str, value: str) -> str | None:
    """Why ``value`` is not a valid ``kind``, or None when it is.

    Memoised: every template repeats the partials' and the brand's attribute values."""
    if "{{" in value:
        if kind in PLACEHOLDER_TYPES:
            return None
        return "placeholder"
    if kind in ("string", "url", "text"):
        return None
    if kind == "color":
        v = value.strip()
        if _HEX.match(v) or _FUNC_COLOR.match(v) or is_color_keyword(v):
            return None
        return "a colour (#rrggbb, #rgb, rgb(), rgba(), hsl() or a CSS colour name)"
    if kind == "boolean":
        return None if value in ("true", "false") else "true or false"
    if kind == "integer":
        return None if re.fullmatch(r"\d+", value.strip()) else "a whole number"
    if kind.startswith("enum("):
        options = kind[5:-1].split(",")
        if value in options:
            return None
        shown = ", ".join(repr(o) for o in options if o) + (" or empty" if "" in options else "")
        return f"one of {shown}"
    m = _UNIT_RE.match(kind)
    if m:
        units = m.group("units").split(",")
        low, high = int(m.group("min") or 1), int(m.group("max") or 1)
        parts = value.split()
        pattern = _unit_pattern(m.group("units"))
        if low <= len(parts) <= high and all(pattern.match(p) for p in parts):
            return None
        shown_units = "/".join(u for u in units if u) or "a number"
        count = f"{low} to {high} values" if high > 1 else "a value"
        unitless = ", or a plain number" if "" in units else ""
        return f"{count} in {shown_units}{unitless} (e.g. {'10px' if 'px' in units else '50%'})"
    return None


@lru_cache(maxsize=64)
def _unit_pattern(spec: str) -> re.Pattern[str]:
    """The regex for one value of a ``unit(px,%,...)`` type, compiled once per spec."""
    units = spec.split(",")
    unit_alt = "|".join(re.escape(u) for u in units if u and u != "auto")
    return re.compile(rf"^(?:{_NUMBER}(?:{unit_alt}){'?' if '' in units else ''}"
                      rf"|0{'|auto' if 'auto' in units else ''})$")


def validate(spliced: Spliced) -> list[Finding]:
    """Every MJML problem in one spliced source, located in the file that holds it."""
    data = rules()
    components: dict[str, Any] = data["components"]
    ending = set(data["endingTags"])
    findings: list[Finding] = []
    stack: list[str] = []

    def report(rule: str, offset: int, message: str) -> None:
        findings.append(finding(rule, str(spliced.locate(offset)), message, spliced.name))

    for tok in tokenize(spliced.text):
        if tok.kind not in ("start", "end"):
            continue
        inside_ending = any(name in ending for name in stack)
        if tok.kind == "end":
            if tok.name in stack:
                while stack and stack.pop() != tok.name:
                    pass
            continue
        if inside_ending:
            continue  # HTML content of mj-text, mj-table, mj-raw...: not MJML
        name = tok.name
        parent = stack[-1] if stack else ""
        is_mjml = name == "mjml" or name.startswith("mj-")
        in_attributes = parent == "mj-attributes" or (
            len(stack) >= 2 and stack[-2] == "mj-attributes")
        spec = components.get(name)
        if in_attributes and parent == "mj-attributes":
            known = name in ("mj-all", "mj-class") or spec is not None
            if not known:
                report("mjml-unknown-element", tok.start,
                       f"<{shown(name, 'name')}> in <mj-attributes> is not an MJML component")
            else:
                table = (data["every_attribute"] if name in ("mj-all", "mj-class")
                         else spec["all_attributes"] if spec else {})
                _check_attrs(tok, name, table, report, allow_name=name == "mj-class")
        elif not is_mjml:
            if parent and (parent == "mjml" or parent.startswith("mj-")):
                report("mjml-invalid-child", tok.start,
                       f"<{_tag(name)}> is not allowed directly in <{_tag(parent)}>: HTML "
                       "belongs in <mj-text>, <mj-table> or <mj-raw>")
        elif spec is None:
            close = _closest(name, components)
            report("mjml-unknown-element", tok.start,
                   f"<{_tag(name)}> is not an MJML component"
                   + (f" (did you mean <{close}>?)" if close else ""))
        else:
            if parent:
                allowed = components.get(parent, {}).get("children", [])
                if parent in components and name not in allowed:
                    where = ", ".join(f"<{c}>" for c in allowed) or "nothing"
                    report("mjml-invalid-child", tok.start,
                           f"<{name}> is not allowed in <{parent}> (allowed: {where})")
            elif name != "mjml":
                report("mjml-invalid-child", tok.start, f"<{name}> must be inside <mjml>")
            _check_attrs(tok, name, spec["all_attributes"], report)
        if not tok.self_closing and name not in ("br", "img", "hr", "meta", "link"):
            stack.append(name)
    return findings


def _check_attrs(tok: Any, element: str, table: dict[str, str], report: Any,
                 allow_name: bool = False) -> None:
    for attr in tok.attrs:
        if allow_name and attr.name == "name":
            continue
        if attr.name == "mj-class" or attr.name.startswith("xmlns"):
            continue
        kind = table.get(attr.name)
        if kind is None:
            close = _closest(attr.name, table)
            report("mjml-unknown-attribute", attr.start,
                   f"<{element}> has no attribute {shown(attr.name, 'name')}"
                   + (f" (did you mean {close!r}?)" if close else ""))
            continue
        problem = check_value(kind, attr.value)
        if problem == "placeholder":
            report("mjml-placeholder-attribute", attr.start,
                   f"{attr.name}={shown(attr.value)} on <{element}>: placeholders are "
                   f"allowed only in URL and text attributes; {attr.name} takes {kind}, so a "
                   "value from data cannot be validated or escaped for it")
        elif problem:
            report("mjml-invalid-value", attr.start,
                   f"{attr.name}={shown(attr.value)} on <{element}>: expected {problem}")


def _tag(name: str) -> str:
    """An element name as a finding shows it (a plain name, or its description)."""
    text = shown(name, "name")
    return text[1:-1] if text.startswith("'") else text


def _closest(name: str, known: Any) -> str | None:
    import difflib

    if len(name) > SHOWN_CHARACTERS:
        return None  # no name is that long, and difflib is quadratic in it

    found = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return found[0] if found else None
