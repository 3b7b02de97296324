"""JSON Schema validation for render data, compiled once per template.

Why not a library: ``jsonschema`` imports in ~100 ms (too slow for a Lambda cold
start) and validates ~10x slower than this generated code; ``fastjsonschema``
stops at the first error, while callers need every problem with its JSON path.
The templates' schemas use a small, documented subset of 2020-12 (checked at
build time by ``pipeline.contract``); tests cross-check this validator against
``jsonschema`` (with its ``format-nongpl`` checkers for date, date-time and uuid).

Formats and patterns mean what their standards say, which is stricter than
Python's ``re`` and ``datetime`` (docs/reference/rules.md#validator-rules
lists each rule):
RFC 3339 ``date``/``date-time``, RFC 4122 ``uuid``, RFC 5321/5322 ``email``
(a dot-atom addr-spec), RFC 3986 ``uri`` restricted to https (or the schemes in
``x-schemes``) with a host name, ECMA-262 ``pattern`` (``$`` is the end, ``\\d``
is ASCII). Numbers may be ``int``, ``float`` or ``decimal.Decimal`` (DynamoDB's
deserializer returns every number as one); booleans never count as numbers.

Problems describe a value (JSON path, rule, expected shape, type and length) and
never quote it: data is customers', it may hold secrets, and messages are logged.
``maxItems``/``maxLength`` are checked before children or patterns, so refusing a
huge payload costs about what accepting the largest valid one does.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import partial  # re imports functools: nothing more on a cold start
from types import CodeType, FunctionType

from bbws_mail.errors import DataProblem

TYPE_CHECKING = False  # typing is not imported at run time: see bbws_mail._namedtuple
if TYPE_CHECKING:
    from typing import Any

    Check = Callable[[Any, str, "Problems"], None]

# Bumped whenever a change makes some data valid or invalid that was not before; the
# build writes it to manifest.json ("validator"), where a publish gate treats a new
# value as a schema change.
SEMANTICS_VERSION = 2
MAX_PROBLEMS = 100  # kept per call; the rest are only counted
# The Mustache compiler's generated code nests at most this many sections (loops) before
# the rest goes into a function of its own: CPython refuses more than 20 statically
# nested blocks ("too many statically nested blocks").
NESTING = 8
# This validator's generated code indented deeper than this goes into a function of its
# own. CPython allows 100 levels of indentation and 20 nested loops; a schema level takes
# about four levels and an array one loop, so 24 keeps well inside both while an order's
# line items stay inline (a call per field of each item was a fifth of a validation).
MAX_INDENT = 24

SUPPORTED = {
    "type", "properties", "required", "additionalProperties", "items", "minItems",
    "maxItems", "enum", "const", "minLength", "maxLength", "pattern", "format", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "x-schemes", "x-not-shown", "title",
    "description", "examples", "$defs", "$id", "$schema", "$comment", "default",
    "x-one-click-unsubscribe",  # an annotation for bbws_mail.send: not a validation rule
}
FORMATS = ("date", "date-time", "uuid", "email", "uri")


class Problems(list[DataProblem]):
    """The problems found, at most MAX_PROBLEMS of them; ``more`` counts the rest."""

    more = 0


def _report(problems: Problems, path: str, message: str) -> None:
    if len(problems) < MAX_PROBLEMS:
        problems.append(DataProblem(path, message))
    else:
        problems.more += 1


def number_kind(value: Any) -> int:
    """0: not a JSON number; 1: a non-integral number; 2: an integral one.

    bool is never a number; NaN and infinities are not JSON numbers. Decimal is
    recognised without importing ``decimal`` (a Lambda that never uses it never
    pays for it): if the module is not loaded, no value can be a Decimal.
    """
    cls = value.__class__
    if cls is int:
        return 2
    if cls is bool:
        return 0
    if isinstance(value, float):
        if value - value != 0.0:
            return 0
        return 2 if value.is_integer() else 1
    if isinstance(value, int):
        return 0 if isinstance(value, bool) else 2
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return 0
        return 2 if value == value.to_integral_value() else 1
    return 0


_TYPES: dict[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: number_kind(v) == 2,
    "number": lambda v: number_kind(v) > 0,
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list | tuple),
    "object": lambda v: isinstance(v, dict),
}
_PY_TYPES = {
    "string": "{v}.__class__ is str or isinstance({v}, str)",
    "integer": "{v}.__class__ is int or NK({v}) == 2",
    "number": "{v}.__class__ is int or NK({v}) > 0",
    "boolean": "{v}.__class__ is bool",
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, (list, tuple))",
    "null": "{v} is None",
}


def type_name(value: Any) -> str:
    """The JSON type of ``value`` (or its Python class name when it has none)."""
    for name, test in _TYPES.items():
        if test(value):
            return name
    return type(value).__name__


def describe(value: Any) -> str:
    """What a value is, never what it says: its type and size."""
    kind = type_name(value)
    if isinstance(value, str):
        return f"a string of {len(value)} character(s)"
    if isinstance(value, list | tuple):
        return f"an array of {len(value)} item(s)"
    if isinstance(value, dict):
        return f"an object of {len(value)} field(s)"
    if kind in ("integer", "number"):
        try:
            return f"a number of {len(str(value))} character(s)"
        except ValueError:  # an int past sys.get_int_max_str_digits() cannot be printed
            return f"a number of more than {sys.get_int_max_str_digits()} digit(s)"
    return "null" if kind == "null" else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


# --- formats -----------------------------------------------------------------------

# Compiled on first use (_re): a Lambda pays only for the formats its template uses.
_DATE = r"(\d{4})-(\d{2})-(\d{2})"
_DATE_TIME = (r"(\d{4})-(\d{2})-(\d{2})[Tt]([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(\.\d+)?"
              r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"{_LABEL}(?:\.{_LABEL})*"
_EMAIL = rf"({_ATEXT}(?:\.{_ATEXT})*)@({_LABEL}(?:\.{_LABEL})+)"
# RFC 3986: unreserved, sub-delims, gen-delims except [ ] (no IP literals), and %HH
_URI_CHARS = r"[A-Za-z0-9._~!$&'()*+,;=:@/?#%-]*"
_PCT = r"%(?![0-9A-Fa-f]{2})"
_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]*"
_PORT = r"[0-9]{1,5}"
_compiled: dict[str, re.Pattern[str]] = {}


def _re(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled (ASCII), once per process."""
    found = _compiled.get(pattern)
    if found is None:
        found = _compiled[pattern] = re.compile(pattern, re.ASCII)
    return found


def _valid_day(year: str, month: str, day: str) -> bool:
    y, m, d = int(year), int(month), int(day)
    if not (y and 1 <= m <= 12 and d >= 1):
        return False
    if m == 2:
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        return d <= (29 if leap else 28)
    return d <= (30 if m in (4, 6, 9, 11) else 31)


def check_date(value: str) -> str:
    """'' for an RFC 3339 full-date (YYYY-MM-DD, a real day, year 0001..9999), else why not."""
    m = _re(_DATE).fullmatch(value)
    return "" if m and _valid_day(*m.groups()) else "not an RFC 3339 full-date (YYYY-MM-DD)"


def check_date_time(value: str) -> str:
    """'' for an RFC 3339 date-time with an offset (T/Z in either case), else why not."""
    m = _re(_DATE_TIME).fullmatch(value)
    if m and _valid_day(*m.groups()[:3]):
        return ""
    return "not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ss[.frac] with Z or +hh:mm)"


def check_uuid(value: str) -> str:
    """'' for an RFC 4122 UUID in its 8-4-4-4-12 hex form, else why not."""
    return "" if _re(_UUID).fullmatch(value) else "not a UUID (8-4-4-4-12 hex digits)"


def check_email(value: str) -> str:
    """'' for an RFC 5321/5322 addr-spec (dot-atom local part, host name domain), else why."""
    m = _re(_EMAIL).fullmatch(value)
    if not m:
        return "not an e-mail address (local@domain.tld, no spaces or quotes)"
    if len(m.group(1)) > 64 or len(value) > 254 or len(m.group(2)) > 253:
        return "e-mail address too long (64 before the @, 254 in all)"
    if m.group(2).rpartition(".")[2].isdigit():
        return "e-mail domain must end with a name, not a number"
    return ""


_URL_PATTERNS: list[Callable[[str], Any]] = []


def _url_patterns() -> list[Callable[[str], Any]]:
    """The matchers every URL check applies, compiled on first use (not at import: a
    cold start that renders no URL pays nothing) and then one lookup per URL."""
    if not _URL_PATTERNS:
        _URL_PATTERNS[:] = [_re(_URI_CHARS).fullmatch, _re(_PCT).search,
                            _re(_SCHEME).fullmatch, _re(_HOST).fullmatch]
    return _URL_PATTERNS


def check_url(value: str, schemes: tuple[str, ...] = ("https",)) -> str:
    """'' when ``value`` is an RFC 3986 URI of an allowed scheme (https: with a host), else why.

    Only RFC 3986 characters are allowed: whitespace, controls, bidi and other
    non-ASCII characters, quotes and angle brackets must be percent-encoded, so
    a URL can never carry text that displays as something else.
    """
    uri_chars, pct, scheme_name, host_name = _url_patterns()
    if not uri_chars(value):
        return ("URL holds characters RFC 3986 does not allow (spaces, controls, quotes, "
                "angle brackets or non-ASCII must be percent-encoded)")
    if "%" in value and pct(value):
        return "URL has a % not followed by two hex digits"
    scheme, sep, rest = value.partition(":")
    if not sep or not scheme_name(scheme) or scheme.lower() not in schemes:
        return "URL must start with " + " or ".join(f"{s}:" for s in schemes)
    rest, _, fragment = rest.partition("#")
    if "#" in fragment:
        return "URL has more than one #"
    scheme = scheme.lower()
    if scheme in ("https", "http"):
        if not rest.startswith("//"):
            return "URL must be absolute (https://host/...)"
        # what comes before the first "/" or "?" (two partitions: no pattern to look up)
        authority = rest[2:].partition("/")[0].partition("?")[0]
        host, colon, port = authority.partition(":")
        if "@" in authority:
            return "URL must not carry a user name or password"
        if not host or len(host) > 253 or not host_name(host) or host.isdigit():
            return "URL has an invalid host name"
        if colon and not (_re(_PORT).fullmatch(port) and 1 <= int(port) <= 65535):
            return "URL has an invalid port (1 to 65535)"
    elif scheme == "mailto":
        why = check_email(rest.partition("?")[0])
        if why:
            return "mailto: URL needs one valid e-mail address"
    return ""


def _format_check(fmt: str, schema: dict[str, Any]) -> Callable[[str], str]:
    if fmt == "uri":
        schemes = tuple(s.lower() for s in schema.get("x-schemes", ["https"]))
        return partial(check_url, schemes=schemes)  # no Python frame of its own
    checks = {"email": check_email, "uuid": check_uuid, "date": check_date,
              "date-time": check_date_time}
    if fmt not in checks:
        raise ValueError(f"unsupported format {fmt!r}; supported: {', '.join(FORMATS)}")
    return checks[fmt]


# --- pattern: ECMA-262 meaning on Python's re --------------------------------------

_ECMA_SPACE = ("\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f"
               "\\u3000\\ufeff")
_NOT_LINE_END = "[^\\n\\r\\u2028\\u2029]"


def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a JSON Schema ``pattern`` (ECMA-262) to a Python regex with the same meaning.

    ``$`` is the end of the string (Python's also matches before a final newline),
    ``\\d``/``\\w``/``\\b`` are ASCII, ``.`` stops at any line terminator, ``\\s`` is
    ECMA's set, ``(?<name>`` names a group. Python-only syntax (``\\A``, ``\\Z``,
    inline flags, ``(?P``) raises ValueError, so a schema cannot depend on it.
    """
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1:i + 2]
            if nxt in ("A", "Z", "z", "G") or not nxt:
                raise ValueError(f"pattern escape \\{nxt} has no ECMA-262 meaning")
            if nxt == "s":
                out.append(_ECMA_SPACE if in_class else f"[{_ECMA_SPACE}]")
            elif nxt == "S":
                if in_class:
                    raise ValueError("\\S inside a character class is not supported")
                out.append(f"[^{_ECMA_SPACE}]")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch == "[":
                out.append("\\")
            out.append(ch)
        elif ch == "[":
            in_class = True
            out.append(ch)
            if pattern[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1:i + 2] == "]":  # ECMA: [] matches nothing, [^] anything
                raise ValueError("empty character classes are not supported")
        elif ch == "$":
            out.append("\\Z")
        elif ch == ".":
            out.append(_NOT_LINE_END)
        elif ch == "(" and pattern[i + 1:i + 2] == "?":
            ahead = pattern[i + 2:i + 4]
            if ahead[:1] in (":", "=", "!") or ahead in ("<=", "<!"):
                out.append(ch)
            elif ahead[:1] == "<":
                out.append("(?P")
                i += 2
                continue
            else:
                raise ValueError("pattern group (?" + ahead[:1] + " is not ECMA-262")
        else:
            out.append(ch)
        i += 1
    try:
        return re.compile("".join(out), re.ASCII)
    except re.error as exc:
        raise ValueError(f"pattern does not compile: {exc}") from None


def has_surrogate(value: str) -> bool:
    """True when ``value`` holds a lone surrogate: no encoding can write it.

    Not a regular expression: a class of surrogates costs ~1.8 ms to compile
    (measured), a cold-start cost; UTF-8 refuses exactly the surrogates.
    """
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# --- code generation ---------------------------------------------------------------

def compile_schema(schema: dict[str, Any], where: str = "#",
                   precompiled: Callable[[str], CodeType | None] | None = None) -> Check:
    """Compile a dereferenced schema (no ``$ref``) into generated Python functions.

    Generated code (as fastjsonschema does) rather than nested closures: valid
    data, the hot path, then costs one pass of inline isinstance checks, and JSON
    paths are only formatted on the error branches. Schema text (property names,
    patterns, enum values, messages) never enters the source: each is a constant
    the code refers to by name.
    """
    gen = _Gen()
    source = gen.program(schema, where)
    namespace: dict[str, Any] = {"R": _report, "NK": number_kind, "D": describe,
                                 "SG": has_surrogate, "M": _MISSING, **gen.consts}
    factory = precompiled(source) if precompiled else None
    if factory is not None:  # made from exactly this source at build time
        made: Check = FunctionType(factory, namespace)()
        return made
    exec(compile(source, f"<schema {where}>", "exec"), namespace)
    check: Check = namespace["check"]
    return check


def generate(schema: dict[str, Any], where: str = "#") -> str:
    """The generated source of ``schema``'s check (constants left out: they are made
    again from the schema wherever the source is used)."""
    return _Gen().program(schema, where)


def check_schema(schema: dict[str, Any], known_good: set[str] | None = None) -> None:
    """Raise ValueError if ``schema`` uses anything the validator does not support.

    Generates the code without compiling it: the build checks every schema this
    way, and the runtime compiles each one once, on first use. ``known_good``: the
    sub-schemas (as canonical JSON) that generated without an error in earlier calls,
    which are not generated again (whether one can be depends on its content alone);
    the build shares one set between the templates, whose schemas share ``defs/``.
    """
    _check_shape(schema, "#")
    gen = _Gen()
    gen.known_good = known_good
    gen.program(schema, "#")


MAX_COUNT = 2**31 - 1  # the largest length or item count a schema may state
_COUNTS = ("minLength", "maxLength", "minItems", "maxItems")
_NUMBERS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _check_shape(schema: dict[str, Any], where: str) -> None:
    """Raise ValueError ``"<where>: <keyword> must be ..."`` for a keyword of the wrong kind.

    The code generator and the build's bounds read keywords as the types JSON Schema
    gives them; a quoted number or a string for a list would otherwise be a crash at
    build time or a schema the runtime cannot apply. The message describes the value
    found (its kind and size), never copies it.
    """
    import math

    def bad(keyword: str, expected: str) -> ValueError:
        return ValueError(f"{where}: {keyword} must be {expected} "
                          f"(found {describe(schema[keyword])})")

    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not names or not all(isinstance(n, str) and n in _PY_TYPES for n in names):
            raise bad("type", f"one of {', '.join(_PY_TYPES)} or a list of them")
    for keyword in _COUNTS:
        if keyword in schema and not (is_int(schema[keyword])
                                      and 0 <= schema[keyword] <= MAX_COUNT):
            raise bad(keyword, f"an integer from 0 to {MAX_COUNT}")
    for keyword in _NUMBERS:
        value = schema.get(keyword, 0)
        if not (isinstance(value, int | float) and not isinstance(value, bool)
                and math.isfinite(value)):
            raise bad(keyword, "a number")
    if "enum" in schema and not (isinstance(schema["enum"], list) and schema["enum"]):
        raise bad("enum", "a non-empty array")
    for keyword in ("pattern", "format"):
        if keyword in schema and not isinstance(schema[keyword], str):
            raise bad(keyword, "a string")
    for keyword in ("required", "x-schemes"):
        value = schema.get(keyword, [])
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise bad(keyword, "an array of property names" if keyword == "required"
                      else "an array of URL schemes")
    hidden = schema.get("x-not-shown", False)
    if not (isinstance(hidden, bool) or (isinstance(hidden, list)
                                         and all(isinstance(v, str) for v in hidden))):
        raise bad("x-not-shown", "true, false or an array of property names")
    extra = schema.get("additionalProperties", True)
    if not isinstance(extra, bool | dict):
        raise bad("additionalProperties", "true, false or a schema")
    if isinstance(extra, dict):
        _check_shape(extra, f"{where}/additionalProperties")
    if "items" in schema:
        if not isinstance(schema["items"], dict):
            raise bad("items", "a schema (a JSON object)")
        _check_shape(schema["items"], f"{where}/items")
    props = schema.get("properties", {})
    if not isinstance(props, dict):
        raise bad("properties", "an object of schemas")
    for name, sub in props.items():
        step = name.replace("~", "~0").replace("/", "~1")
        if not isinstance(sub, dict):
            raise ValueError(f"{where}/properties: {name if _plain_name(name) else 'a property'}"
                             f" must be a schema (a JSON object) (found {describe(sub)})")
        _check_shape(sub, f"{where}/properties/{step}")


class _Missing:
    pass


_MISSING = _Missing()


def _plain_name(key: str) -> bool:
    """A short ASCII identifier: shown as it is in a JSON path."""
    return len(key) <= 64 and key.isascii() and key.isidentifier()


def key_path(path: str, key: Any) -> str:
    """A JSON path step for a key found in data: shown when it is a plain short name
    (field names are not secrets), otherwise described by its length only."""
    if isinstance(key, str) and _plain_name(key):
        return f"{path}.{key}"
    return f"{path}[<key: {describe(key)}>]"


class _Gen:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.functions: list[str] = []
        self.consts: dict[str, Any] = {}
        self.counter = 0
        self.known_good: set[str] | None = None  # check_schema's: the program is not kept

    def program(self, schema: dict[str, Any], where: str) -> str:
        self.emit(schema, "v", "path", 1, where)
        main = "def check(v, path, problems):\n" + "\n".join(self.lines or ["    pass"]) + "\n"
        return "\n".join([*self.functions, main])

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

    def problem(self, depth: int, path: str, message: str, value: str | None = None) -> None:
        """Report ``message`` (schema-derived text, passed as a constant) at ``path``."""
        msg = self.const(message)
        if value is None:
            self.add(depth, f"R(problems, {path}, {msg})")
        else:
            self.add(depth, f"R(problems, {path}, {msg} + ' (got ' + D({value}) + ')')")

    def emit(self, schema: dict[str, Any], v: str, path: str, depth: int, where: str) -> None:
        if self.known_good is not None and isinstance(schema, dict):
            import json  # only when checking a schema at build time, never on a render

            key = json.dumps(schema, sort_keys=True)
            if key not in self.known_good:
                self._emit(schema, v, path, depth, where)
                self.known_good.add(key)
            return
        self._emit(schema, v, path, depth, where)

    def _emit(self, schema: dict[str, Any], v: str, path: str, depth: int, where: str
              ) -> None:
        if "$ref" in schema:
            raise ValueError(f"{where}: $ref must be resolved before compiling")
        unknown = set(schema) - SUPPORTED
        if unknown:
            raise ValueError(f"{where}: unsupported keyword(s) {', '.join(sorted(unknown))}")
        if depth > MAX_INDENT:
            self._function(schema, v, path, depth, where)
            return
        types = schema.get("type")
        mark = len(self.lines)
        names: list[str] = []
        if types is not None:
            names = [types] if isinstance(types, str) else list(types)
            if unknown_types := set(names) - set(_PY_TYPES):
                raise ValueError(f"{where}: unknown type(s) {', '.join(sorted(unknown_types))}")
            test = " or ".join(f"({_PY_TYPES[n].format(v=v)})" for n in names)
            self.add(depth, f"if not ({test}):")
            expected = self.const(f"expected {' or '.join(names)}, got ")
            self.add(depth + 1, f"R(problems, {path}, {expected} + D({v}))")
            self.add(depth, "else:")
            depth += 1
            mark = len(self.lines)
        self._enum_const(schema, v, path, depth)
        # a single type already tested above needs no second isinstance() below
        if types is None or "string" in names:
            self._string(schema, v, path, depth, where, typed=names == ["string"])
        self._number(schema, v, path, depth, where)
        if any(k in schema for k in ("properties", "required", "additionalProperties")):
            self._object(schema, v, path, depth, where, typed=names == ["object"])
        if any(k in schema for k in ("items", "minItems", "maxItems")):
            self._array(schema, v, path, depth, where)
        if len(self.lines) == mark:
            self.add(depth, "pass")

    def _function(self, schema: dict[str, Any], v: str, path: str, depth: int,
                  where: str) -> None:
        """Deep schemas: the sub-schema becomes a function of its own, called here,
        so no nesting in data can exceed Python's limits on nested blocks."""
        name = self.var("f")
        saved, self.lines = self.lines, []
        self.emit(schema, "v", "path", 1, where)
        body = self.lines
        self.lines = saved
        self.functions.append(f"def {name}(v, path, problems):\n" + "\n".join(body) + "\n")
        self.add(depth, f"{name}({v}, {path}, problems)")

    def _enum_const(self, schema: dict[str, Any], v: str, path: str, depth: int) -> None:
        if "enum" in schema and all(isinstance(a, str) for a in schema["enum"]):
            c = self.const(frozenset(schema["enum"]))
            self.add(depth, f"if not ({v}.__class__ is str and {v} in {c}):")
            self.problem(depth + 1, path, "must be one of "
                         + ", ".join(_show(a) for a in schema["enum"]), v)
        elif "enum" in schema:
            allowed = schema["enum"]
            c = self.const(tuple(allowed))
            self.add(depth, f"if not any(a == {v} and same(a, {v}) for a in {c}):")
            self.consts["same"] = _same_kind
            self.problem(depth + 1, path, "must be one of "
                         + ", ".join(_show(a) for a in allowed), v)
        if "const" in schema:
            c = self.const(schema["const"])
            self.consts["same"] = _same_kind
            self.add(depth, f"if not ({v} == {c} and same({c}, {v})):")
            self.problem(depth + 1, path, f"must be {_show(schema['const'])}", v)

    def _string(self, schema: dict[str, Any], v: str, path: str, depth: int,
                where: str, *, typed: bool = False) -> None:
        lo, hi = schema.get("minLength"), schema.get("maxLength")
        inner = depth
        if not typed:
            self.add(depth, f"if isinstance({v}, str):")
            inner = depth + 1
        if hi is not None:  # first: a huge string is refused without being scanned
            self.add(inner, f"if len({v}) > {int(hi)}:")
            self.problem(inner + 1, path, f"must be at most {int(hi)} characters long", v)
        # SG's own first test, inlined: ASCII text (most of it) costs no call
        self.add(inner, f"{'elif' if hi is not None else 'if'} not {v}.isascii() and SG({v}):")
        self.problem(inner + 1, path, "holds a lone surrogate (not valid Unicode text)", v)
        if lo is not None:
            self.add(inner, f"elif len({v}) < {int(lo)}:")
            self.problem(inner + 1, path, f"must be at least {int(lo)} character(s) long", v)
        if "pattern" in schema:
            try:
                c = self.const(ecma_pattern(schema["pattern"]))
            except ValueError as exc:
                raise ValueError(f"{where}/pattern: {exc}") from None
            self.add(inner, f"elif not {c}.search({v}):")
            self.problem(inner + 1, path, f"must match the pattern {schema['pattern']}", v)
        if "format" in schema:
            c = self.const(_format_check(schema["format"], schema))
            why = self.var("w")
            self.add(inner, "else:")
            self.add(inner + 1, f"{why} = {c}({v})")
            self.add(inner + 1, f"if {why}:")
            self.add(inner + 2, f"R(problems, {path}, {why} + ' (got ' + D({v}) + ')')")

    def _number(self, schema: dict[str, Any], v: str, path: str, depth: int,
                where: str) -> None:
        ops = {"minimum": ("<", ">="), "maximum": (">", "<="), "exclusiveMinimum": ("<=", ">"),
               "exclusiveMaximum": (">=", "<")}
        bounds = [(k, schema[k]) for k in ops if k in schema]
        if not bounds:
            return
        for key, bound in bounds:  # else every comparison with data raises TypeError
            if not number_kind(bound):
                raise ValueError(f"{where}/{key}: must be a number")
        self.add(depth, f"if {v}.__class__ is int or NK({v}):")
        self.add(depth + 1, "pass")
        for key, bound in bounds:
            fail, shown = ops[key]
            c = self.const(bound)
            self.add(depth + 1, f"if {v} {fail} {c}:")
            self.problem(depth + 2, path, f"must be {shown} {bound}")

    def _object(self, schema: dict[str, Any], v: str, path: str, depth: int,
                where: str, *, typed: bool = False) -> None:
        props: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        inner = depth
        if not typed:
            self.add(depth, f"if isinstance({v}, dict):")
            inner = depth + 1
            self.add(inner, "pass")
        for name in schema.get("required", []):
            self.add(inner, f"if {self.const(name)} not in {v}:")
            self.problem(inner + 1, _join(self, path, name), "is required")
        for name, sub in props.items():
            child = self.var("o")
            self.add(inner, f"{child} = {v}.get({self.const(name)}, M)")
            self.add(inner, f"if {child} is not M:")
            self.emit(sub, child, _join(self, path, name), inner + 1,
                      f"{where}/properties/{name}")
        if extra is not True:
            known = self.const(frozenset(props))
            key, val = self.var("k"), self.var("x")
            self.consts["KP"] = key_path
            loop = inner
            if extra is False:
                # So many keys that per-key problems would pass the cap anyway: one
                # problem, and the keys are not walked (refusing stays cheap).
                most = len(props) + MAX_PROBLEMS
                self.add(inner, f"if len({v}) > {most}:")
                self.problem(inner + 1, path, f"has far more fields than the {len(props)} "
                             "this template knows", v)
                # all fields known (the rule): one set operation; the keys are walked
                # only to name the unknown ones
                self.add(inner, f"elif not {known}.issuperset({v}):")
                loop = inner + 1
            self.add(loop, f"for {key}, {val} in {v}.items():")
            self.add(loop + 1, f"if {key} not in {known}:")
            if extra is False:
                self.problem(loop + 2, f"KP({path}, {key})",
                             "is not a known field of this template")
            else:
                self.emit(extra, val, f"KP({path}, {key})", loop + 2,
                          f"{where}/additionalProperties")

    def _array(self, schema: dict[str, Any], v: str, path: str, depth: int,
               where: str) -> None:
        self.add(depth, f"if isinstance({v}, (list, tuple)):")
        inner = depth + 1
        self.add(inner, "pass")
        walk = "if"
        if "maxItems" in schema:
            hi = int(schema["maxItems"])
            self.add(inner, f"if len({v}) > {hi}:")  # before the items: refusing stays cheap
            self.problem(inner + 1, path, f"must have at most {hi} items", v)
            walk = "else"
        if "minItems" in schema:
            lo = int(schema["minItems"])
            self.add(inner, f"if len({v}) < {lo}:")
            self.problem(inner + 1, path, f"must have at least {lo} item(s)", v)
        if "items" in schema:
            i, item = self.var("i"), self.var("e")
            if walk == "else":
                self.add(inner, f"if len({v}) <= {int(schema['maxItems'])}:")
                inner += 1
            self.add(inner, f"for {i}, {item} in enumerate({v}):")
            self.emit(schema["items"], item, f"({path} + '[' + str({i}) + ']')", inner + 1,
                      f"{where}/items")


def _same_kind(a: Any, b: Any) -> bool:
    """enum/const equality as JSON means it: 1 == 1.0 == Decimal(1), but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if number_kind(a) and number_kind(b):
        return True
    return type(a) is type(b) or (isinstance(a, list | tuple) and isinstance(b, list | tuple))


# JSON's string escapes (RFC 8259 section 7) as json.dumps(ensure_ascii=False) writes them
_JSON_ESCAPES = {**{c: f"\\u{c:04x}" for c in range(0x20)}, 0x08: "\\b", 0x09: "\\t",
                 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}


def _show(value: Any) -> str:
    """``value`` as JSON, as schema messages quote enum and const values.

    Strings are written here (the common case, met when a template is first compiled
    at run time) so that a cold start does not import json for them.
    """
    if value.__class__ is str:
        return '"' + value.translate(_JSON_ESCAPES) + '"'
    import json

    return json.dumps(value, ensure_ascii=False)


def _join(gen: _Gen, path: str, name: str) -> str:
    suffix = f".{name}" if _plain_name(name) else "[" + _show(name) + "]"
    return f"({path} + {gen.const(suffix)})"


class Validator:
    """A compiled schema: ``problems(data)`` lists the mismatches, [] when valid."""

    __slots__ = ("_check",)

    def __init__(self, schema: dict[str, Any],
                 precompiled: Callable[[str], CodeType | None] | None = None) -> None:
        self._check = compile_schema(schema, precompiled=precompiled)

    def problems(self, data: Any) -> Problems:
        found = Problems()
        self._check(data, "$", found)
        return found
