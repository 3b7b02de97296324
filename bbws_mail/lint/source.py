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

from bbws_mail.lint.findings import Finding
from bbws_mail.lint.rules import finding
from bbws_mail.pipeline.markup import element_stacks
from bbws_mail.pipeline.splice import Spliced

SCRIPTS = {"script"}
FORMS = {"form", "input", "button", "select", "textarea"}
EMBEDS = {"iframe", "object", "embed", "frame", "frameset", "applet"}
IMAGES = {"mj-image", "img"}
URL_ATTRS = {"href", "src", "background-url"}
# what a URL may start with when a placeholder follows: a fixed scheme and host
FIXED_PREFIX_RE = re.compile(r"^(?:https://[A-Za-z0-9.-]+(?::\d+)?(?:[/?#]|$)|mailto:|tel:)",
                             re.IGNORECASE)
SAFE_LITERAL = {"href": ("https://", "mailto:", "tel:"), "src": ("https://",),
                "background-url": ("https://",)}
_INVISIBLE_INSIDE = str.maketrans("", "", "\t\n\r")


def decoded_url(raw: str) -> str:
    """The URL a browser follows for attribute text ``raw`` (WHATWG URL pre-processing)."""
    value = html.unescape(raw).translate(_INVISIBLE_INSIDE)
    return value.strip("".join(chr(c) for c in range(0x21)))


def check(spliced: Spliced) -> list[Finding]:
    """html-forbidden, a11y-img-alt and link-scheme findings for one spliced source."""
    out: list[Finding] = []

    def add(rule: str, offset: int, message: str) -> None:
        out.append(finding(rule, str(spliced.locate(offset)), message, spliced.name))

    for tok, stack in element_stacks(spliced.text):
        if tok.kind != "start" or "mj-attributes" in stack:
            continue  # defaults in <mj-attributes> are not elements of the email
        name = tok.name
        if name in SCRIPTS:
            add("html-forbidden", tok.start, "<script> is stripped or blocks delivery in every "
                "mail client, and a placeholder inside it would be script injection: remove it")
        elif name in FORMS and "form" not in stack:  # the form itself, once
            add("html-forbidden", tok.start, f"<{name}>: forms do not work in most clients "
                "(Gmail, Outlook); link to the portal instead")
        elif name in EMBEDS:
            add("html-forbidden", tok.start, f"<{name}> is removed by mail clients")
        attrs = {a.name: a for a in tok.attrs}
        if name in IMAGES:
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
