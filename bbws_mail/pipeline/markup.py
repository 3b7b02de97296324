"""A small, position-keeping lexer for MJML/HTML source text.

The placeholder checks need to know *where* a Mustache tag sits (in text, in an
attribute, in a comment, between table rows) with exact offsets. html5lib and the
MJML parser both throw offsets away, and html5lib also rewrites the very structure
the checks look for (foster parenting), so this lexer stays deliberately dumb: it
recognises comments, start/end tags with attributes, and text, and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:_-]*)")
_ATTR = r"""\s*([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?"""
_ATTR_RE = re.compile(_ATTR, re.DOTALL)
# The whole run of attributes in one match: the same span as matching _ATTR_RE
# again and again (a greedy star with nothing after it never backtracks, and an
# attribute is never empty), at a fraction of the cost.
_ATTR_RUN_RE = re.compile(f"(?:{_ATTR})*", re.DOTALL)
RAW_TEXT = {"style", "script", "mj-style"}
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "source", "track", "wbr",
}


@dataclass
class Attr:
    name: str
    value: str
    start: int  # offset of the value's first character in the source


class Token:
    """One lexical token; a tag's attributes are parsed on first use.

    Most callers never look at most tags' attributes (the placeholder scan only
    needs the ones holding ``{{``), so parsing them lazily halves the lexer's time.
    """

    __slots__ = ("_attrs", "_attrs_at", "_src", "end", "kind", "name", "self_closing",
                 "start", "text")

    def __init__(self, kind: str, start: int, end: int, name: str = "",
                 self_closing: bool = False, text: str = "", *, src: str = "",
                 attrs_at: tuple[int, int] = (0, 0)) -> None:
        self.kind = kind  # "text" | "comment" | "start" | "end"
        self.start = start
        self.end = end
        self.name = name
        self.self_closing = self_closing
        self.text = text  # text content, or comment body
        self._attrs: list[Attr] | None = None
        self._src = src
        self._attrs_at = attrs_at

    @property
    def attrs(self) -> list[Attr]:
        if self._attrs is None:
            self._attrs = _parse_attrs(self._src, *self._attrs_at)
        return self._attrs

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.start}, {self.end}, {self.name!r})"


def _parse_attrs(src: str, start: int, stop: int) -> list[Attr]:
    attrs: list[Attr] = []
    cur = start
    while cur < stop:
        am = _ATTR_RE.match(src, cur)
        if not am or not am.group(1) or am.end() == cur:
            break
        value_group = next((g for g in (2, 3, 4) if am.group(g) is not None), None)
        value = am.group(value_group) if value_group else ""
        vstart = am.start(value_group) if value_group else am.end()
        attrs.append(Attr(am.group(1).lower(), value, vstart))
        cur = am.end()
    return attrs


def tokenize(src: str) -> Iterator[Token]:
    """Yield tokens covering ``src`` in order; malformed markup degrades to text.

    The placeholder scan and two rule checkers all read the same spliced source, so
    its tokens are kept for the last few sources instead of being lexed three times.
    """
    return iter(_tokens(src))


@lru_cache(maxsize=4)
def _tokens(src: str) -> tuple[Token, ...]:
    return tuple(_lex(src))


def _lex(src: str) -> Iterator[Token]:
    pos = 0
    n = len(src)
    raw_until: str | None = None
    while pos < n:
        if raw_until is not None:
            close = re.compile(rf"</{re.escape(raw_until)}\s*>", re.IGNORECASE).search(src, pos)
            stop = close.start() if close else n
            if stop > pos:
                yield Token("text", pos, stop, text=src[pos:stop])
            pos = stop
            raw_until = None
            continue
        lt = src.find("<", pos)
        if lt < 0:
            yield Token("text", pos, n, text=src[pos:])
            return
        if lt > pos:
            yield Token("text", pos, lt, text=src[pos:lt])
        if src.startswith("<!--", lt):
            close_at = src.find("-->", lt + 4)
            end = n if close_at < 0 else close_at + 3
            yield Token("comment", lt, end, text=src[lt + 4 : close_at if close_at >= 0 else n])
            pos = end
            continue
        m = _TAG_RE.match(src, lt)
        if not m:
            # "<" not starting a tag (e.g. "<!doctype" or a stray "<"): keep as text
            gt = src.find(">", lt) if src.startswith("<!", lt) else lt
            end = (gt + 1) if gt > lt else lt + 1
            yield Token("text", lt, end, text=src[lt:end])
            pos = end
            continue
        closing, name = m.group(1) == "/", m.group(2).lower()
        run = _ATTR_RUN_RE.match(src, m.end())
        cur = run.end() if run else m.end()
        gt = src.find(">", cur)
        end = n if gt < 0 else gt + 1
        self_closing = gt > 0 and src[gt - 1] == "/"
        yield Token("end" if closing else "start", lt, end, name, self_closing,
                    src=src, attrs_at=(m.end(), cur))
        if not closing and not self_closing and name in RAW_TEXT:
            raw_until = name
        pos = end


def element_stacks(src: str) -> Iterator[tuple[Token, tuple[str, ...]]]:
    """Yield each token with the names of the elements open around it (outermost first)."""
    stack: list[str] = []
    for tok in tokenize(src):
        if tok.kind == "start":
            yield tok, tuple(stack)
            if not tok.self_closing and tok.name not in VOID:
                stack.append(tok.name)
        elif tok.kind == "end":
            if tok.name in stack:
                while stack and stack.pop() != tok.name:
                    pass
            yield tok, tuple(stack)
        else:
            yield tok, tuple(stack)
