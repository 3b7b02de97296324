"""JSON Schema validation for render data, compiled once per template.

Why not a library: ``jsonschema`` imports in ~100 ms (too slow for a Lambda cold
start) and validates ~10x slower than these closures; ``fastjsonschema`` stops at
the first error, while callers need *every* problem with its JSON path. The
templates' schemas use a small, documented subset of 2020-12 (checked at build
time by ``pipeline.contract``), and a test cross-checks this validator against
``jsonschema`` on generated data so the two cannot drift apart.

Stricter than plain JSON Schema where emails need it: ``format: uri`` accepts
only https (or the schemes listed in ``x-schemes``), so ``javascript:`` and
friends never reach an ``href``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from bbws_mail.errors import DataProblem

Check = Callable[[Any, str, list[DataProblem]], None]

SUPPORTED = {
    "type", "properties", "required", "additionalProperties", "items", "minItems",
    "maxItems", "enum", "const", "minLength", "maxLength", "pattern", "format", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "x-schemes", "x-not-shown", "title",
    "description", "examples", "$defs", "$id", "$schema", "$comment", "default",
}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}
_EMAIL = re.compile(r"^[^@\s<>\"'(),;:\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(\.{_LABEL})*(:\d{{1,5}})?$")
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f<>\"'`\\]")


def _type_name(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](value):
            return name
    return type(value).__name__


def check_url(value: str, schemes: tuple[str, ...] = ("https",)) -> str:
    """Return '' when ``value`` is a safe absolute URL of an allowed scheme, else why not."""
    if _UNSAFE_URL_CHARS.search(value):
        return "URL contains spaces, quotes or control characters"
    scheme, sep, rest = value.partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in schemes:
        allowed = " or ".join(f"{s}:" for s in schemes)
        return f"URL must start with {allowed} (got {value[:40]!r})"
    if scheme in ("https", "http"):
        if not rest.startswith("//"):
            return "URL must be absolute (https://host/...)"
        host = rest[2:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        if "@" in host or not _HOST.match(host):
            return f"URL has an invalid host {host!r}"
    elif scheme == "mailto" and not _EMAIL.match(rest.split("?", 1)[0]):
        return "mailto: URL needs a valid e-mail address"
    return ""


def _format_check(fmt: str, schema: dict[str, Any]) -> Callable[[str], str]:
    if fmt == "uri":
        schemes = tuple(s.lower() for s in schema.get("x-schemes", ["https"]))
        return lambda v: check_url(v, schemes)
    if fmt == "email":
        return lambda v: "" if _EMAIL.match(v) else "not a valid e-mail address"
    if fmt == "uuid":
        return lambda v: "" if _UUID.match(v) else "not a UUID"
    if fmt == "date":
        def check_date(v: str) -> str:
            try:
                ok = len(v) == 10 and date.fromisoformat(v) is not None
            except ValueError:
                ok = False
            return "" if ok else "not a date (YYYY-MM-DD)"
        return check_date
    if fmt == "date-time":
        def check_dt(v: str) -> str:
            try:
                ok = "T" in v.upper() and datetime.fromisoformat(v.replace("Z", "+00:00")) \
                    .tzinfo is not None
            except ValueError:
                ok = False
            return "" if ok else "not an RFC 3339 date-time with a time zone"
        return check_dt
    raise ValueError(f"unsupported format {fmt!r}")


def compile_schema(schema: dict[str, Any], where: str = "#") -> Check:
    """Compile a dereferenced schema (no ``$ref``) into a checking function."""
    unknown = set(schema) - SUPPORTED
    if "$ref" in schema:
        raise ValueError(f"{where}: $ref must be resolved before compiling")
    if unknown:
        raise ValueError(f"{where}: unsupported keyword(s) {', '.join(sorted(unknown))}")
    checks: list[Check] = []
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        testers = [_TYPES[n] for n in names]
        label = " or ".join(names)

        def check_type(v: Any, path: str, problems: list[DataProblem]) -> None:
            if not any(t(v) for t in testers):
                problems.append(DataProblem(path, f"expected {label}, got {_type_name(v)}"))
                raise _Stop

        checks.append(check_type)
    if "enum" in schema:
        allowed = schema["enum"]

        def check_enum(v: Any, path: str, problems: list[DataProblem]) -> None:
            if v not in allowed or any(type(v) is bool and a is not v for a in allowed if a == v):
                shown = ", ".join(repr(a) for a in allowed)
                problems.append(DataProblem(path, f"must be one of {shown}, got {v!r}"))

        checks.append(check_enum)
    if "const" in schema:
        const = schema["const"]

        def check_const(v: Any, path: str, problems: list[DataProblem]) -> None:
            if v != const or type(v) is not type(const):
                problems.append(DataProblem(path, f"must be {const!r}"))

        checks.append(check_const)
    checks.extend(_string_checks(schema))
    checks.extend(_number_checks(schema))
    if any(k in schema for k in ("properties", "required", "additionalProperties")):
        checks.append(_object_check(schema, where))
    if any(k in schema for k in ("items", "minItems", "maxItems")):
        checks.append(_array_check(schema, where))

    def check(v: Any, path: str, problems: list[DataProblem]) -> None:
        try:
            for c in checks:
                c(v, path, problems)
        except _Stop:
            pass

    return check


class _Stop(Exception):
    """Wrong type: the other keywords of this schema would only add noise."""


def _string_checks(schema: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []
    lo, hi = schema.get("minLength"), schema.get("maxLength")
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
    fmt = _format_check(schema["format"], schema) if "format" in schema else None
    if lo is None and hi is None and pattern is None and fmt is None:
        return checks

    def check_string(v: Any, path: str, problems: list[DataProblem]) -> None:
        if not isinstance(v, str):
            return
        if lo is not None and len(v) < lo:
            problems.append(DataProblem(path, f"must be at least {lo} character(s) long"))
        if hi is not None and len(v) > hi:
            problems.append(DataProblem(path, f"must be at most {hi} characters long"))
        if pattern is not None and not pattern.search(v):
            problems.append(DataProblem(path, f"does not match pattern {pattern.pattern!r}"))
        if fmt is not None:
            why = fmt(v)
            if why:
                problems.append(DataProblem(path, why))

    checks.append(check_string)
    return checks


def _number_checks(schema: dict[str, Any]) -> list[Check]:
    bounds = [(k, schema[k]) for k in ("minimum", "maximum", "exclusiveMinimum",
                                        "exclusiveMaximum") if k in schema]
    if not bounds:
        return []
    tests = {
        "minimum": (lambda v, b: v >= b, "must be >= {}"),
        "maximum": (lambda v, b: v <= b, "must be <= {}"),
        "exclusiveMinimum": (lambda v, b: v > b, "must be > {}"),
        "exclusiveMaximum": (lambda v, b: v < b, "must be < {}"),
    }

    def check_number(v: Any, path: str, problems: list[DataProblem]) -> None:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return
        for key, bound in bounds:
            ok, message = tests[key]
            if not ok(v, bound):
                problems.append(DataProblem(path, message.format(bound)))

    return [check_number]


def _object_check(schema: dict[str, Any], where: str) -> Check:
    props = {name: compile_schema(sub, f"{where}/properties/{name}")
             for name, sub in schema.get("properties", {}).items()}
    required = list(schema.get("required", []))
    extra = schema.get("additionalProperties", True)
    extra_check = compile_schema(extra, f"{where}/additionalProperties") \
        if isinstance(extra, dict) else None
    closed = extra is False

    def check_object(v: Any, path: str, problems: list[DataProblem]) -> None:
        if not isinstance(v, dict):
            return
        for name in required:
            if name not in v:
                problems.append(DataProblem(f"{path}.{name}", "is required"))
        for key, value in v.items():
            sub = props.get(key)
            child = f"{path}.{key}" if isinstance(key, str) and key.isidentifier() \
                else f"{path}[{key!r}]"
            if sub is not None:
                sub(value, child, problems)
            elif closed:
                problems.append(DataProblem(child, "is not a known field of this template"))
            elif extra_check is not None:
                extra_check(value, child, problems)

    return check_object


def _array_check(schema: dict[str, Any], where: str) -> Check:
    items = compile_schema(schema["items"], f"{where}/items") if "items" in schema else None
    lo, hi = schema.get("minItems"), schema.get("maxItems")

    def check_array(v: Any, path: str, problems: list[DataProblem]) -> None:
        if not isinstance(v, list):
            return
        if lo is not None and len(v) < lo:
            problems.append(DataProblem(path, f"must have at least {lo} item(s)"))
        if hi is not None and len(v) > hi:
            problems.append(DataProblem(path, f"must have at most {hi} items"))
        if items is not None:
            for i, item in enumerate(v):
                items(item, f"{path}[{i}]", problems)

    return check_array


class Validator:
    """A compiled schema: ``problems(data)`` lists every mismatch, [] when valid."""

    __slots__ = ("_check",)

    def __init__(self, schema: dict[str, Any]) -> None:
        self._check = compile_schema(schema)

    def problems(self, data: Any) -> list[DataProblem]:
        found: list[DataProblem] = []
        self._check(data, "$", found)
        return found
