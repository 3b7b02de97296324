"""HTML -> the plain-text alternative, walking an lxml tree.

Hand-written (about 100 lines) because the libraries measured worse on these very
templates: html2text runs table cells together and writes markdown links, and
inscriptis moves Mustache section tags above tables. The walker here writes one
line per table row, links as "text (url)", skips the hidden preheader and MSO
conditional comments, and turns comment-wrapped section tags back into tags so
the text part repeats rows exactly like the HTML part.

Parsed with lxml (libxml2, C) rather than html5lib (pure Python): the input is
css-inline's serialisation of an HTML5 tree, so both parsers build the same tree
(same text part, byte for byte, for every template: a test compares them), and
lxml takes this stage from 60-70 ms to ~9 ms for the 12 templates (measured;
``python -m benchmarks build``). html5lib stays for the quality gate, which
needs its parse errors.
"""

from __future__ import annotations

import re
from typing import Any

from bbws_mail.pipeline.placeholders import COMMENT_SECTION_RE

BLOCK = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tbody", "thead", "tfoot",
    "ul", "ol", "section", "article", "header", "footer", "blockquote", "center",
}
SKIP = {"head", "style", "script", "title", "noscript", "template"}
_WS = re.compile(r"[ \t\r\n\f\v]+")
CELL = "\x00"  # table cell separator, becomes two spaces once whitespace is collapsed


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current: list[str] = []

    def inline(self, text: str) -> None:
        self.current.append(text)

    def newline(self) -> None:
        cells = (_WS.sub(" ", c).strip() for c in "".join(self.current).split(CELL))
        line = "  ".join(c for c in cells if c)
        self.current = []
        if line:
            self.lines.append(line)

    def blank(self) -> None:
        self.newline()
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def tag_line(self, tag: str) -> None:
        # A section tag gets a line of its own: chevron's standalone-tag rule then
        # removes the whole line, so repeated rows leave no blank lines behind.
        self.newline()
        self.lines.append(tag)

    def result(self) -> str:
        self.newline()
        out: list[str] = []
        for line in self.lines:
            if line == "" and (not out or out[-1] == ""):
                continue
            out.append(line)
        while out and out[-1] == "":
            out.pop()
        return "\n".join(out) + "\n"


def html_to_text(html: str) -> str:
    """Plain-text alternative of a (Mustache-bearing) email HTML document."""
    from lxml import etree

    # etree.HTML uses lxml's default HTML parser, which is per thread: the
    # preview server's threads may call this concurrently.
    doc = etree.HTML(html)
    return text_of_tree(doc) if doc is not None else "\n"  # None: only whitespace


def text_of_tree(doc: Any) -> str:
    """The text part of a parsed document (any ElementTree-API tree, no namespaces)."""
    writer = _Writer()
    body = doc.find("body")
    _walk(body if body is not None else doc, writer)
    return writer.result()


def _is_preheader(el: Any) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return el.tag == "div" and style.startswith("display:none")


def _walk(el: Any, w: _Writer) -> None:
    tag = el.tag if isinstance(el.tag, str) else None
    if tag is None:  # a comment (ElementTree APIs use a function as its tag)
        m = COMMENT_SECTION_RE.match(el.text or "")
        if m:
            w.tag_line(m.group(1))
        _tail(el, w)
        return
    if tag in SKIP or _is_preheader(el):
        _tail(el, w)
        return
    if tag == "br":
        w.newline()
    elif tag == "img":
        alt = (el.get("alt") or "").strip()
        if alt:
            w.inline(alt)
    elif tag == "a":
        _link(el, w)
        _tail(el, w)
        return
    elif tag == "hr":
        w.newline()
        w.lines.append("-" * 40)
    if tag in BLOCK:
        w.blank() if tag in {"p", "h1", "h2", "h3", "table"} else w.newline()
    if tag == "li":
        w.newline()
        w.inline("- ")
    if el.text:
        w.inline(el.text)
    for child in el:
        _walk(child, w)
        if child.tag == "td" or child.tag == "th":
            w.inline(CELL)
    if tag in BLOCK or tag in {"tr", "li"}:
        w.newline()
    if tag in {"p", "h1", "h2", "h3", "table"}:
        w.blank()
    _tail(el, w)


def _link(el: Any, w: _Writer) -> None:
    inner = _Writer()
    if el.text:
        inner.inline(el.text)
    for child in el:
        _walk(child, inner)
    label = _WS.sub(" ", " ".join([*inner.lines, "".join(inner.current)])).strip()
    href = (el.get("href") or "").strip()
    if not href or href == label:
        w.inline(label or href)
    elif not label:
        w.inline(href)
    else:
        w.inline(f"{label} ({href})")


def _tail(el: Any, w: _Writer) -> None:
    if el.tail:
        w.inline(el.tail)
