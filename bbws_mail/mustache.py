"""Mustache templates compiled once into Python functions, on chevron's tokenizer.

chevron re-tokenizes and walks its token list on every call; a Lambda renders the
same twelve templates millions of times. Here chevron's tokenizer (a well-kept,
spec-tested parser: delimiters, standalone lines, comments) runs once per
template, and its tokens become the source of one Python function (as
fastjsonschema does for schemas), with the common case inlined: a name found in
the innermost dict scope. That is ~10x faster than ``chevron.render``, and it
fixes the one core-spec case chevron fails (dotted-name context precedence).
Tests run the official spec files against it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import CodeType, FunctionType

from bbws_mail.validate import NESTING, number_kind

TYPE_CHECKING = False  # typing is not imported at run time: see bbws_mail._namedtuple
if TYPE_CHECKING:
    from typing import Any

Escape = Callable[[str], str]
# program text -> the code object of a factory made from it at build time, or None
Precompiled = Callable[[str], CodeType | None]


def html_escape(value: str) -> str:
    """Escape for HTML text *and* quoted attribute values (& < > " '), exactly as
    ``html.escape(value, quote=True)`` does; written out because importing ``html``
    loads its 2,000-entry entity table, ~1 ms of every cold start."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#x27;"))


def no_escape(value: str) -> str:
    return value


class _Missing:
    """Sentinel for "not in this scope" (None is a legitimate JSON value)."""


MISSING = _Missing()


def lookup(scopes: list[Any], path: tuple[str, ...]) -> Any:
    """Resolve a (dotted) name: first part through the scope chain, the rest strictly."""
    if not path:  # "."
        return scopes[-1]
    first = path[0]
    for scope in reversed(scopes):
        if scope.__class__ is dict or isinstance(scope, Mapping):  # dict: no ABC check
            value = scope.get(first, MISSING)
            if value is not MISSING:
                break
    else:
        return None
    for part in path[1:]:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, Sequence) and not isinstance(value, str) \
                and part.isascii() and part.isdigit():  # int() refuses '²'
            index = int(part)
            value = value[index] if index < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def to_text(value: Any) -> str:
    """How a value prints: integral numbers as integers (2.0, Decimal('2.00') -> "2"),
    other numbers as Python prints the float (Decimal('1.50') -> "1.5", as JSON 1.50
    would), so data from DynamoDB (every number a Decimal) prints like data from JSON.
    A str subclass prints as the plain str of its characters: escaping calls str methods
    (replace, translate), which a subclass may override to escape twice or not at all."""
    if value is None:
        return ""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    kind = number_kind(value)
    if kind == 2:
        return str(int(value))
    if kind == 1:
        return repr(float(value))
    return str(value)


class _Codegen:
    """Turns chevron's token stream into the body of ``render(scopes, w)``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.functions: list[str] = []
        self.consts: dict[str, Any] = {}
        self.n = 0
        self.loops = 0  # sections open in the function being generated
        # True while the code being generated runs with the render's data innermost
        # (no section has pushed a scope): names are looked up in ``top`` directly
        self.top = True

    def name(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def const(self, value: Any) -> str:
        key = self.name("k")
        self.consts[key] = value
        return key

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def lookup_into(self, depth: int, var: str, key: str) -> None:
        """``var = <value of key>``, with the innermost-dict case inlined."""
        if key == ".":
            self.emit(depth, f"{var} = scopes[-1]")
            return
        # Template text never enters the generated source: names are constants.
        path = tuple(key.split("."))
        first = self.const(path[0])
        if self.top:
            self.emit(depth, f"{var} = top.get({first}, M) if top_dict else M")
        else:
            self.emit(depth, "s = scopes[-1]")
            self.emit(depth, f"{var} = s.get({first}, M) if s.__class__ is dict else M")
        self.emit(depth, f"if {var} is M:")
        self.emit(depth + 1, f"{var} = lookup(scopes, {self.const(path[:1])})")
        for i, part in enumerate(path[1:], start=1):
            # dotted names: plain dict steps inline, anything else the generic way
            step, single = self.const(part), self.const(path[i:i + 1])
            pair = self.const((path[0], *path[i:i + 1]))
            self.emit(depth, f"if {var} is not None:")
            self.emit(depth + 1, f"{var} = {var}.get({step}) if {var}.__class__ is dict "
                      f"else lookup([{var}], {single}) if isinstance({var}, Mapping) "
                      f"else lookup([{{{first}: {var}}}], {pair})")

    def block(self, tokens: list[tuple[str, str]], i: int, until: str | None, depth: int
              ) -> int:
        start = len(self.lines)
        while i < len(tokens):
            kind, key = tokens[i]
            i += 1
            if kind == "literal":
                if key:
                    self.emit(depth, f"w({self.const(key)})")
            elif kind in ("variable", "no escape"):
                v = self.name("v")
                self.lookup_into(depth, v, key)
                esc = "e" if kind == "variable" else ""
                self.emit(depth, f"if {v} is not None:")
                self.emit(depth + 1, f"w({esc}({v} if {v}.__class__ is str else text({v})))")
            elif kind == "section":
                v = self.name("v")
                self.lookup_into(depth, v, key)
                self.emit(depth, f"if {v}:")
                self.emit(depth + 1, f"for item in ({v} if {v}.__class__ in (list, tuple) "
                          f"else ({v},)):")
                self.emit(depth + 2, "scopes.append(item)")
                saved_top, self.top = self.top, False
                i = self.nested(tokens, i, key, depth + 2)
                self.top = saved_top
                self.emit(depth + 2, "scopes.pop()")
            elif kind == "inverted section":
                v = self.name("v")
                self.lookup_into(depth, v, key)
                self.emit(depth, f"if not {v}:")
                i = self.nested(tokens, i, key, depth + 1)
            elif kind == "end":
                if key != until:
                    raise ValueError(f"unexpected end tag {{{{/{key}}}}}")
                if len(self.lines) == start:
                    self.emit(depth, "pass")
                return i
            elif kind == "partial":
                self.emit(depth, f"partial({self.const(key)}, scopes, out)")
            # comments and delimiter changes produce no output
        if until is not None:
            raise ValueError(f"unclosed section {{{{#{until}}}}}")
        if len(self.lines) == start:
            self.emit(depth, "pass")
        return i


    def nested(self, tokens: list[tuple[str, str]], i: int, until: str, depth: int) -> int:
        if self.loops >= NESTING:
            return self.function(tokens, i, until, depth)
        self.loops += 1
        i = self.block(tokens, i, until, depth)
        self.loops -= 1
        return i

    def function(self, tokens: list[tuple[str, str]], i: int, until: str, depth: int) -> int:
        """A section body as a function of its own, called at ``depth``."""
        name = self.name("f")
        saved, saved_loops, saved_top = self.lines, self.loops, self.top
        self.lines, self.loops, self.top = [], 0, False
        i = self.block(tokens, i, until, 1)
        self.functions.append(f"def {name}(scopes, out, w):\n" + "\n".join(self.lines) + "\n")
        self.lines, self.loops, self.top = saved, saved_loops, saved_top
        self.emit(depth, f"{name}(scopes, out, w)")
        return i

    def program(self) -> str:
        return "\n".join([*self.functions, "def render(scopes, out):\n    w = out.append\n"
                           "    top = scopes[-1]\n    top_dict = top.__class__ is dict\n"
                           + "\n".join(self.lines) + "\n"])


def generate(source: str) -> tuple[str, dict[str, Any]]:
    """The generated program for ``source`` (defines ``render(scopes, out)``) and the
    constants it refers to by name: template text never enters the program itself."""
    import chevron.tokenizer

    gen = _Codegen()
    gen.block(list(chevron.tokenizer.tokenize(source)), 0, None, 1)
    return gen.program(), gen.consts


class Template:
    """A compiled Mustache template: call :meth:`render` with data."""

    __slots__ = ("_fn", "escape", "partials", "source")

    def __init__(self, source: str, *, escape: Escape = html_escape,
                 partials: Mapping[str, str] | None = None,
                 precompiled: Precompiled | None = None) -> None:
        """``precompiled(program)`` may return a code object made from exactly this
        generated program at build time (see bbws_mail.precompiled); else it is compiled."""
        self.source = source
        self.escape = escape
        self.partials = dict(partials or {})
        program, consts = generate(source)
        namespace: dict[str, Any] = {
            "M": MISSING, "lookup": lookup, "text": to_text, "e": escape, "Mapping": Mapping,
            "partial": self._render_partial, **consts,
        }
        factory = precompiled(program) if precompiled else None
        if factory is not None:
            self._fn: Callable[[list[Any], list[str]], None] = \
                FunctionType(factory, namespace)()
        else:
            exec(compile(program, "<mustache>", "exec"), namespace)
            self._fn = namespace["render"]

    def render(self, data: Any, globals: Mapping[str, Any] | None = None) -> str:
        """Render ``data``; names missing from it fall back to ``globals``."""
        out: list[str] = []
        self._fn([globals, data] if globals else [data], out)
        return "".join(out)

    def _render_partial(self, name: str, scopes: list[Any], out: list[str]) -> None:
        text = self.partials.get(name)
        if text is None:
            return
        left = "".join(out).rpartition("\n")[2]
        if left and left.isspace():
            # a standalone partial: indent every line of it, as the spec says
            text = text.replace("\n", "\n" + left)
            if text.endswith("\n" + left):
                text = text[: -len(left)]
        Template(text, escape=self.escape, partials=self.partials)._fn(scopes, out)
