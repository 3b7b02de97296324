"""Rules judged on the spliced source itself, at the exact offset of the element.

Forbidden markup, image alt text and URL schemes can all be decided from the
element a designer wrote (MJML passes HTML inside ``mj-text``/``mj-raw`` through
unchanged, and MJML components carry their URLs as attributes), so they are
checked here, where the splice line map gives the right file:line, rather than
in MRML's output, where only a substring search could guess it.

URL attributes are judged on their *decoded* value, as a browser sees it:
character references resolved, tabs and newlines removed, leading spaces and
control characters stripped. So ``&#32;{{x}}``, ``&Tab;{{x}}``, ``java{{x}}`` and
``/{{x}}`` cannot smuggle a scheme or a protocol-relative host past the rule.
"""

from __future__ import annotations

import html
import re
from typing import Any

from bbws_mail.pipeline.markup import element_stacks
from bbws_mail.pipeline.markup import tokenize as tokenize_source
from bbws_mail.pipeline.rules import finding
from bbws_mail.pipeline.rules.findings import Finding
from bbws_mail.pipeline.rules.mjml import shown
from bbws_mail.pipeline.splice import Spliced

SCRIPTS = {"script"}
FORMS = {"form", "input", "button", "select", "textarea"}
EMBEDS = {"iframe", "object", "embed", "frame", "frameset", "applet"}
IMAGES = {"mj-image", "img"}
LINKS = {"a", "mj-button"}
TABLES = {"table", "mj-table"}
URL_ATTRS = {"href", "src", "background-url"}
# what a URL may start with when a placeholder follows: a fixed scheme and host
# (the host must be closed by / ? or #: data straight after it could be "@evil.example")
FIXED_PREFIX_RE = re.compile(r"^(?:https://[A-Za-z0-9.-]+(?::\d+)?[/?#]|mailto:|tel:)",
                             re.IGNORECASE)
_OPEN_HOST_RE = re.compile(r"^https://[A-Za-z0-9.-]+(?::\d+)?$", re.IGNORECASE)
SAFE_LITERAL = {"href": ("https://", "mailto:", "tel:"), "src": ("https://",),
                "background-url": ("https://",)}
_INVISIBLE_INSIDE = str.maketrans("", "", "\t\n\r")
C0_AND_SPACE = "".join(chr(c) for c in range(0x21))  # stripped from a URL's ends


def decoded_url(raw: str) -> str:
    """The URL a browser follows for attribute text ``raw`` (WHATWG URL pre-processing)."""
    value = html.unescape(raw).translate(_INVISIBLE_INSIDE)
    return value.strip(C0_AND_SPACE)


class _Open:
    """A link or table whose content is being read, to judge it at its end tag."""

    def __init__(self, name: str, start: int, attrs: dict[str, str]) -> None:
        self.name = name
        self.start = start
        self.attrs = attrs
        self.text: list[str] = []  # links: text and image alts inside
        self.headers = False  # tables: a <th> or <caption> inside


def check(spliced: Spliced) -> list[Finding]:
    """Every rule judged on the source, at the offset of the element it is about.

    html-forbidden, a11y-img-alt, link-scheme (build stage); img-width, link-empty,
    link-text and a11y-table-role (check stage).
    """
    out: list[Finding] = []

    def add(rule: str, offset: int, message: str) -> None:
        out.append(finding(rule, str(spliced.locate(offset)), message, spliced.name))

    links: list[_Open] = []
    tables: list[_Open] = []
    for tok, stack in element_stacks(spliced.text):
        if "mj-attributes" in stack:
            continue  # defaults in <mj-attributes> are not elements of the email
        if tok.kind == "text":
            for link in links:
                link.text.append(tok.text)
            continue
        if tok.kind == "end":
            if tok.name in LINKS and links and links[-1].name == tok.name:
                _judge_link(links.pop(), add)
            elif tok.name in TABLES and tables and tables[-1].name == tok.name:
                table = tables.pop()
                if not table.headers:
                    add("a11y-table-role", table.start, f"<{table.name}> has no <th> or "
                        "<caption> and no role=\"presentation\": screen readers announce "
                        "rows and columns; use <th scope=\"row\"> for labels (a data table) "
                        "or mark it as layout")
            continue
        if tok.kind != "start":
            continue
        name = tok.name
        if name in SCRIPTS:
            add("html-forbidden", tok.start, "<script> is stripped or blocks delivery in every "
                "mail client, and a placeholder inside it would be script injection: remove it")
        elif name in FORMS and "form" not in stack:  # the form itself, once
            add("html-forbidden", tok.start, f"<{name}>: forms do not work in most clients "
                "(Gmail, Outlook); link to the portal instead")
        elif name in EMBEDS:
            add("html-forbidden", tok.start, f"<{name}> is removed by mail clients")
        for attr in tok.attrs:
            if attr.name.lower().startswith("on"):  # onload, onerror, onclick...: all script
                add("html-forbidden", attr.start, f"the event handler "
                    f"{shown(attr.name.lower(), 'name')} on <{name}> is script: mail clients "
                    "strip event handlers or refuse the message, and a placeholder inside one "
                    "would be script injection: remove it")
        attrs = {a.name: a for a in tok.attrs}
        if name in LINKS and not tok.self_closing:
            links.append(_Open(name, tok.start, {k: a.value for k, a in attrs.items()}))
        elif name in TABLES and not tok.self_closing:
            role = attrs["role"].value if "role" in attrs else ""
            if role not in ("presentation", "none"):
                tables.append(_Open(name, tok.start, {}))
        elif name in ("th", "caption") and tables:
            tables[-1].headers = True
        if name == "img" and "width" not in attrs:
            add("img-width", tok.start, "<img> has no width attribute: Outlook shows it at "
                "its natural size")
        if name in IMAGES:
            if links and "alt" in attrs:
                links[-1].text.append(attrs["alt"].value)
            alt = attrs.get("alt")
            linked = "href" in attrs or "a" in stack
            if alt is None:
                add("a11y-img-alt", tok.start, f"<{name}> has no alt: describe the image, or "
                    "write alt=\"\" if it is decorative")
            elif not alt.value.strip() and linked:
                add("a11y-img-alt", alt.start, f"linked <{name}> has an empty alt: the link has "
                    "no accessible name; say where it goes")
        for attr_name in URL_ATTRS & attrs.keys():
            attr = attrs[attr_name]
            problem = url_problem(attr_name, attr.value)
            if problem:
                add("link-scheme", attr.start, f"{attr_name} on <{name}> {problem}")
    return out


def _judge_link(link: _Open, add: Any) -> None:
    href = link.attrs.get("href")
    if href is None and link.name == "mj-button":
        return  # a button without href is a label, not a link
    label = " ".join("".join(link.text).split())
    if href is None or not decoded_url(href) or decoded_url(href).startswith("#"):
        add("link-empty", link.start, f"<{link.name}> link has "
            f"{'no href' if href is None else 'an empty or # href'}: it goes nowhere")
    if not label:
        add("link-text", link.start, f"<{link.name}> link has no visible text (and no image "
            "alt): screen readers read out the URL")


def url_problem(attr: str, raw: str) -> str:
    """Why the URL attribute text ``raw`` is unsafe, or "" when it is fine."""
    value = decoded_url(raw)
    if "{{" in raw:
        if raw.startswith("{{"):
            return ""  # the whole URL is data: the contract requires a URL-typed field
        prefix = value.split("{{", 1)[0]
        if FIXED_PREFIX_RE.match(prefix):
            return ""
        if not prefix:
            shown = "whitespace or a character reference"
        elif prefix.startswith("/"):
            shown = "a path (with data after it, '/' can become a '//host' link)"
        elif _OPEN_HOST_RE.match(prefix):
            shown = "a host that data can extend (with \"@evil.example\", say)"
        else:
            shown = f"{len(prefix)} character(s) that fix no scheme and host"
        return (f"starts with {shown} before its first placeholder, so data can choose the "
                "scheme or host: start the value with the placeholder itself (URL-typed in "
                "the schema) or with a fixed https://host/")
    if not value or value.startswith("#"):
        return ""  # link-empty's business
    allowed = SAFE_LITERAL.get(attr, ("https://",))
    if value.lower().startswith(allowed):
        return ""
    scheme = value.split(":", 1)[0].lower() + ":" if ":" in value else "a relative URL"
    if value.startswith("//"):
        scheme = "a protocol-relative URL"
    return (f"uses {scheme}: only {', '.join(a.rstrip('/') for a in allowed)} "
            "are allowed (clients block or warn about the rest)")


# MJML components whose content is HTML, and the element an HTML parser finds it in
HTML_HOSTS = {"mj-text": "div", "mj-button": "div", "mj-table": "tbody", "mj-raw": "div",
              "mj-navbar-link": "div", "mj-social-element": "div",
              "mj-accordion-title": "div", "mj-accordion-text": "div"}


def parse_errors(spliced: Spliced) -> list[Finding]:
    """html-parse: HTML5 parse errors in the HTML a designer wrote, at its own line.

    MRML copies the content of ``mj-text``, ``mj-table``, ``mj-raw``... into its output
    verbatim, so each content is parsed on its own as an HTML5 fragment (html5lib, for
    its error list) in the element it lands in; an error's position inside the
    fragment plus the fragment's offset is its place in the source. css-inline
    re-serialises the document and silently repairs such markup (and clients repair
    it differently), so it is looked for here, before that.
    """
    import html5lib

    out: list[Finding] = []
    host: tuple[str, int] | None = None
    for tok in tokenize_source(spliced.text):
        if (tok.kind == "start" and host is None and tok.name in HTML_HOSTS
                and not tok.self_closing):
            host = (tok.name, tok.end)
        elif tok.kind == "end" and host is not None and tok.name == host[0]:
            name, start = host
            host = None
            content = spliced.text[start:tok.start]
            if "<" not in content:
                continue
            parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"),
                                         namespaceHTMLElements=False)
            parser.parseFragment(content, container=HTML_HOSTS[name])
            lines = content.split("\n")
            for (line, col), code, datavars in parser.errors:
                at = sum(len(x) + 1 for x in lines[: line - 1]) + col
                tag_at = content.rfind("<", 0, max(at, 1))
                at = tag_at if tag_at >= 0 else min(at, len(content))
                detail = ", ".join(f"{k}={v}" for k, v in (datavars or {}).items())
                out.append(finding(
                    "html-parse", str(spliced.locate(start + at)),
                    f"HTML parse error '{code}'{f' ({detail})' if detail else ''} in "
                    f"<{name}>: clients repair broken markup differently", spliced.name))
    return out
