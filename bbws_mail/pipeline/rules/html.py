"""Checks on the built HTML: parse errors, document language, images, tables, forbidden markup.

The built HTML is what mail clients receive, so it is judged after compile and
inline, with html5lib (the HTML5 parsing algorithm, as browsers and most webmail
sanitizers parse). Findings point back at the MJML source through SourceMap.
"""

from __future__ import annotations

from typing import Any

from bbws_mail.pipeline.rules import finding
from bbws_mail.pipeline.rules.findings import ERROR, WARNING, Finding
from bbws_mail.pipeline.rules.locate import SourceMap


def parse(html: str) -> tuple[Any, list[tuple[tuple[int, int], str, dict[str, Any]]]]:
    """An ElementTree of ``html`` (no namespaces) and html5lib's parse errors."""
    import html5lib

    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"),
                                 namespaceHTMLElements=False)
    doc = parser.parse(html)
    return doc, list(parser.errors)


def lexbor(html: str) -> Any:
    """``html`` parsed by Lexbor (selectolax's ``LexborHTMLParser``), unconverted."""
    from selectolax.lexbor import LexborHTMLParser

    return LexborHTMLParser(html)


def tree(html: str, parsed: Any = None) -> Any:
    """``html`` as an ElementTree (no namespaces, comments dropped), parsed by Lexbor.

    Lexbor (selectolax, C) runs the same WHATWG algorithm as html5lib and builds
    Chromium's tree (see the text stage); the build-stage rules judge every template
    in every build, where html5lib's pure-Python parse was most of the build's time.
    ``parse`` (html5lib) stays for the html-parse rule, which needs its parse errors.
    ``parsed``: ``lexbor(html)``, when the caller has it.
    """
    import xml.etree.ElementTree as ET

    root_node = (parsed if parsed is not None else lexbor(html)).root
    if root_node is None:
        return ET.Element("html")
    sub = ET.SubElement

    def attributes(node: Any) -> dict[str, str]:
        attrs: dict[str, str | None] = node.attributes
        if None in attrs.values():  # a bare attribute (<td nowrap>) reads as ""
            return {k: v or "" for k, v in attrs.items()}
        return attrs  # type: ignore[return-value]

    def convert(node: Any, el: Any) -> None:
        """Append ``node``'s children to ``el``: the hot loop of every built-HTML rule,
        so one pass over the sibling chain and no intermediate lists."""
        last = None
        child = node.child
        while child is not None:
            tag = child.tag
            if tag == "-text":
                text = child.text_content or ""
                if last is None:
                    el.text = (el.text or "") + text
                else:
                    last.tail = (last.tail or "") + text
            elif not tag.startswith(("-", "_")):
                last = sub(el, tag, attributes(child))
                convert(child, last)
            child = child.next

    root = ET.Element(root_node.tag, attributes(root_node))
    convert(root_node, root)
    return root


def text_of(element: Any) -> str:
    return "".join(element.itertext()).strip()


def check(html: str, where: SourceMap, template: str, parsed: Any = None) -> list[Finding]:
    """Every HTML-level finding for MRML's HTML of one template (``parsed``: ``lexbor(html)``).

    Judged on Lexbor's own tree (no ElementTree made): only the root, the title and
    the ``<link>`` and ``<style>`` elements matter here.
    """
    if parsed is None:
        parsed = lexbor(html)
    out: list[Finding] = []

    def add(rule: str, location: str, message: str, severity: str = ERROR) -> None:
        out.append(finding(rule, location, message, template, severity=severity))

    # html-parse is judged on the HTML fragments of the source (rules.source), exactly
    root = parsed.root
    attrs = root.attributes if root is not None else {}
    lang = attrs.get("lang") or ""
    direction = attrs.get("dir") or ""
    if lang in ("", "und"):
        add("html-lang", where.find("<mjml"), f"<html lang={lang!r}>: screen readers guess the "
            "language; set <mjml lang=\"en\">")
    if direction in ("", "auto"):
        add("html-lang", where.find("<mjml"), f"<html dir={direction!r}>: set <mjml dir=\"ltr\">")
    title = parsed.css_first("title") if root is not None else None
    if title is None or not title.text(deep=True).strip():
        add("html-title", where.find("<mj-title", "<mj-head"),
            "no <title>: add <mj-title> (it is also the subject line)")
    # img-width and a11y-table-role are judged on the source (rules.source), exactly
    for element in root.traverse() if root is not None else ():
        tag = element.tag
        if tag not in ("link", "style"):
            continue
        # script, forms and embeds are found in the source (rules.source), exactly
        found = element.attributes
        if tag == "link" and "stylesheet" in (found.get("rel") or "").lower():
            href = (found["href"] or "") if "href" in found else None
            add("html-forbidden", where.find("<link" if href is None else href),
                f"external stylesheet {href!r}: Gmail and Outlook ignore it; use <mj-style>")
        elif tag == "style" and "@import" in element.text(deep=True):
            add("html-forbidden", where.find("@import"), "@import of external CSS is "
                "ignored by Gmail and Outlook", WARNING)
    return out
