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


def tree(html: str) -> Any:
    """``html`` as an ElementTree (no namespaces, comments dropped), parsed by Lexbor.

    Lexbor (selectolax, C) runs the same WHATWG algorithm as html5lib and builds
    Chromium's tree (see the text stage); the build-stage rules judge every template
    in every build, where html5lib's pure-Python parse was most of the build's time.
    ``parse`` (html5lib) stays for the html-parse rule, which needs its parse errors.
    """
    import xml.etree.ElementTree as ET

    from selectolax.lexbor import LexborHTMLParser

    root_node = LexborHTMLParser(html).root
    if root_node is None:
        return ET.Element("html")

    def convert(node: Any) -> Any:
        el = ET.Element(node.tag, {k: v or "" for k, v in node.attributes.items()})
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
            elif not tag.startswith("-") and not tag.startswith("_"):
                last = convert(child)
                el.append(last)
            child = child.next
        return el

    return convert(root_node)


def text_of(element: Any) -> str:
    return "".join(element.itertext()).strip()


def check(html: str, where: SourceMap, template: str, doc: Any = None) -> list[Finding]:
    """Every HTML-level finding for MRML's HTML of one template (``doc``: ``tree(html)``)."""
    if doc is None:
        doc = tree(html)
    out: list[Finding] = []

    def add(rule: str, location: str, message: str, severity: str = ERROR) -> None:
        out.append(finding(rule, location, message, template, severity=severity))

    # html-parse is judged on the HTML fragments of the source (rules.source), exactly
    root = doc if doc.tag == "html" else doc.find(".//html")
    lang = (root.get("lang") or "") if root is not None else ""
    direction = (root.get("dir") or "") if root is not None else ""
    if lang in ("", "und"):
        add("html-lang", where.find("<mjml"), f"<html lang={lang!r}>: screen readers guess the "
            "language; set <mjml lang=\"en\">")
    if direction in ("", "auto"):
        add("html-lang", where.find("<mjml"), f"<html dir={direction!r}>: set <mjml dir=\"ltr\">")
    title = doc.find(".//title")
    if title is None or not text_of(title):
        add("html-title", where.find("<mj-title", "<mj-head"),
            "no <title>: add <mj-title> (it is also the subject line)")
    # img-width and a11y-table-role are judged on the source (rules.source), exactly
    for element in doc.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        # script, forms and embeds are found in the source (rules.source), exactly
        if tag == "link" and "stylesheet" in (element.get("rel") or "").lower():
            add("html-forbidden", where.find(element.get("href", "<link")),
                f"external stylesheet {element.get('href')!r}: Gmail and Outlook ignore it; "
                "use <mj-style>")
        elif tag == "style" and "@import" in (element.text or ""):
            add("html-forbidden", where.find("@import"), "@import of external CSS is "
                "ignored by Gmail and Outlook", WARNING)
    return out

