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
    if fmt in ("date", "date-time"):
        from datetime import date, datetime  # lazily: 3 ms of a cold start otherwise
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
    """Compile a dereferenced schema (no ``$ref``) into one generated Python function.

    Generated code (as fastjsonschema does) rather than nested closures: valid
    data, the hot path, then costs one pass of inline isinstance checks, and JSON
    paths are only formatted on the error branches.
    """
    gen = _Gen()
    gen.emit(schema, "v", "path", 1, where)
    source = "def check(v, path, problems):\n" + "\n".join(gen.lines or ["    pass"]) + "\n"
    namespace: dict[str, Any] = {"P": DataProblem, "T": _TYPES, "tn": _type_name}
    namespace.update(gen.consts)
    exec(compile(source, f"<schema {where}>", "exec"), namespace)
    check: Check = namespace["check"]
    return check


def check_schema(schema: dict[str, Any]) -> None:
    """Raise ValueError if ``schema`` uses anything the validator does not support.

    Generates the code without compiling it: the build checks every schema this
    way in microseconds, and the runtime compiles each one once, on first use.
    """
    _Gen().emit(schema, "v", "path", 1, "#")


_PY_TYPES = {
    "string": "isinstance({v}, str)",
    "integer": "(isinstance({v}, int) and not isinstance({v}, bool) or "
               "isinstance({v}, float) and {v}.is_integer())",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
    "boolean": "isinstance({v}, bool)",
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "null": "{v} is None",
}


class _Gen:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.counter = 0

    def const(self, value: Any) -> str:
        self.counter += 1
        name = f"c{self.counter}"
        self.consts[name] = value
        return name

    def var(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def add(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def problem(self, depth: int, path: str, message_expr: str) -> None:
        self.add(depth, f"problems.append(P({path}, {message_expr}))")

    def emit(self, schema: dict[str, Any], v: str, path: str, depth: int, where: str) -> None:
        if "$ref" in schema:
            raise ValueError(f"{where}: $ref must be resolved before compiling")
        unknown = set(schema) - SUPPORTED
        if unknown:
            raise ValueError(f"{where}: unsupported keyword(s) {', '.join(sorted(unknown))}")
        types = schema.get("type")
        if types is not None:
            names = [types] if isinstance(types, str) else list(types)
            if unknown_types := set(names) - set(_PY_TYPES):
                raise ValueError(f"{where}: unknown type(s) {', '.join(sorted(unknown_types))}")
            test = " or ".join(_PY_TYPES[n].format(v=v) for n in names)
            label = " or ".join(names)
            self.add(depth, f"if not ({test}):")
            self.problem(depth + 1, path, f"'expected {label}, got ' + tn({v})")
            self.add(depth, "else:")
            depth += 1
            mark = len(self.lines)
        else:
            mark = len(self.lines)
        self._enum_const(schema, v, path, depth)
        self._string(schema, v, path, depth)
        self._number(schema, v, path, depth)
        if any(k in schema for k in ("properties", "required", "additionalProperties")):
            self._object(schema, v, path, depth, where)
        if any(k in schema for k in ("items", "minItems", "maxItems")):
            self._array(schema, v, path, depth, where)
        if len(self.lines) == mark:
            self.add(depth, "pass")

    def _enum_const(self, schema: dict[str, Any], v: str, path: str, depth: int) -> None:
        if "enum" in schema and all(isinstance(a, str) for a in schema["enum"]):
            c = self.const(frozenset(schema["enum"]))
            shown = ", ".join(repr(a) for a in schema["enum"])
            self.add(depth, f"if not ({v}.__class__ is str and {v} in {c}):")
            self.problem(depth + 1, path, f"{('must be one of ' + shown + ', got ')!r} + repr({v})")
        elif "enum" in schema:
            allowed = schema["enum"]
            c = self.const([(a, type(a)) for a in allowed])
            shown = ", ".join(repr(a) for a in allowed)
            self.add(depth, f"if not any({v} == a and type({v}) is t or "
                     f"(type({v}) in (int, float) and t in (int, float) and {v} == a) "
                     f"for a, t in {c}):")
            self.problem(depth + 1, path, f"{('must be one of ' + shown + ', got ')!r} + repr({v})")
        if "const" in schema:
            c = self.const(schema["const"])
            self.add(depth, f"if not ({v} == {c} and type({v}) is type({c})):")
            self.problem(depth + 1, path, f"{'must be ' + repr(schema['const'])!r}")

    def _string(self, schema: dict[str, Any], v: str, path: str, depth: int) -> None:
        lo, hi = schema.get("minLength"), schema.get("maxLength")
        if lo is None and hi is None and "pattern" not in schema and "format" not in schema:
            return
        self.add(depth, f"if isinstance({v}, str):")
        inner = depth + 1
        self.add(inner, "pass")
        if lo is not None:
            self.add(inner, f"if len({v}) < {int(lo)}:")
            self.problem(inner + 1, path, repr(f"must be at least {lo} character(s) long"))
        if hi is not None:
            self.add(inner, f"if len({v}) > {int(hi)}:")
            self.problem(inner + 1, path, repr(f"must be at most {hi} characters long"))
        if "pattern" in schema:
            c = self.const(re.compile(schema["pattern"]))
            self.add(inner, f"if not {c}.search({v}):")
            self.problem(inner + 1, path, repr(f"does not match pattern {schema['pattern']!r}"))
        if "format" in schema:
            c = self.const(_format_check(schema["format"], schema))
            why = self.var("w")
            self.add(inner, f"{why} = {c}({v})")
            self.add(inner, f"if {why}:")
            self.problem(inner + 1, path, why)

    def _number(self, schema: dict[str, Any], v: str, path: str, depth: int) -> None:
        ops = {"minimum": ("<", ">="), "maximum": (">", "<="), "exclusiveMinimum": ("<=", ">"),
               "exclusiveMaximum": (">=", "<")}
        bounds = [(k, schema[k]) for k in ops if k in schema]
        if not bounds:
            return
        self.add(depth, f"if isinstance({v}, (int, float)) and not isinstance({v}, bool):")
        self.add(depth + 1, "pass")
        for key, bound in bounds:
            fail, shown = ops[key]
            c = self.const(bound)
            self.add(depth + 1, f"if {v} {fail} {c}:")
            self.problem(depth + 2, path, repr(f"must be {shown} {bound}"))

    def _object(self, schema: dict[str, Any], v: str, path: str, depth: int,
                where: str) -> None:
        props: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        self.add(depth, f"if isinstance({v}, dict):")
        inner = depth + 1
        self.add(inner, "pass")
        for name in schema.get("required", []):
            self.add(inner, f"if {name!r} not in {v}:")
            self.problem(inner + 1, _join(path, name), "'is required'")
        for name, sub in props.items():
            child = self.var("o")
            self.add(inner, f"{child} = {v}.get({name!r}, P)")
            self.add(inner, f"if {child} is not P:")
            self.emit(sub, child, _join(path, name), inner + 1, f"{where}/properties/{name}")
        if extra is not True:
            known = self.const(frozenset(props))
            key, val = self.var("k"), self.var("x")
            self.add(inner, f"for {key}, {val} in {v}.items():")
            self.add(inner + 1, f"if {key} not in {known}:")
            key_path = (f"({path} + '.' + {key} if isinstance({key}, str) and "
                        f"{key}.isidentifier() else {path} + '[' + repr({key}) + ']')")
            if extra is False:
                self.problem(inner + 2, key_path, "'is not a known field of this template'")
            else:
                self.emit(extra, val, key_path, inner + 2, f"{where}/additionalProperties")

    def _array(self, schema: dict[str, Any], v: str, path: str, depth: int,
               where: str) -> None:
        self.add(depth, f"if isinstance({v}, list):")
        inner = depth + 1
        self.add(inner, "pass")
        if "minItems" in schema:
            lo = int(schema["minItems"])
            self.add(inner, f"if len({v}) < {lo}:")
            self.problem(inner + 1, path, repr(f"must have at least {lo} item(s)"))
        if "maxItems" in schema:
            hi = int(schema["maxItems"])
            self.add(inner, f"if len({v}) > {hi}:")
            self.problem(inner + 1, path, repr(f"must have at most {hi} items"))
        if "items" in schema:
            i, item = self.var("i"), self.var("e")
            self.add(inner, f"for {i}, {item} in enumerate({v}):")
            self.emit(schema["items"], item, f"({path} + '[' + str({i}) + ']')", inner + 1,
                      f"{where}/items")


def _join(path: str, name: str) -> str:
    suffix = f".{name}" if name.isidentifier() else f"[{name!r}]"
    return f"({path} + {suffix!r})"


class Validator:
    """A compiled schema: ``problems(data)`` lists every mismatch, [] when valid."""

    __slots__ = ("_check",)

    def __init__(self, schema: dict[str, Any]) -> None:
        self._check = compile_schema(schema)

    def problems(self, data: Any) -> list[DataProblem]:
        found: list[DataProblem] = []
        self._check(data, "$", found)
        return found
