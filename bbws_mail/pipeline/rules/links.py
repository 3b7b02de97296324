"""Links in the built HTML: the legal footer, and the schemes of each example rendering.

The built HTML must carry an unsubscribe link and the company address (the
legal footer); each example rendering (what a customer receives, placeholders
filled) must use only safe schemes. The template's own links, with their
placeholders, are judged on the source (``rules.source``): a placeholder that
starts a URL is fine there because the schema's ``format: uri`` admits only
https at render time.
"""

from __future__ import annotations

from typing import Any

from bbws_mail.pipeline.rules import finding
from bbws_mail.pipeline.rules.findings import Finding
from bbws_mail.pipeline.rules.html import parse, text_of
from bbws_mail.pipeline.rules.locate import SourceMap

SAFE_SCHEMES = ("https://", "mailto:", "tel:")
_INVISIBLE_INSIDE = str.maketrans("", "", "\t\n\r")


def _clean(url: str) -> str:
    """An already entity-decoded URL as a browser follows it (tabs, newlines, controls gone)."""
    return url.translate(_INVISIBLE_INSIDE).strip("".join(chr(c) for c in range(0x21)))


def check(html: str, where: SourceMap, template: str, *, rendered: bool = False,
          address: str = "", address_at: str = "", doc: Any = None) -> list[Finding]:
    """Link findings; ``rendered`` means placeholders are already filled in.

    ``address_at`` is where ``[check] company_address`` is set: when a template's
    unsubscribe link comes from a partial (the shared footer) but the address is
    not shown, the setting and that footer disagree in every template, and the
    setting is the one place to point at.
    """
    if doc is None:
        doc, _ = parse(html)
    out: list[Finding] = []
    label = " in the example rendering" if rendered else ""

    def add(rule: str, location: str, message: str, subject: str = "") -> None:
        out.append(finding(rule, location, message + label, template, subject=subject))

    unsubscribe = shared_footer = False
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        text = text_of(a)
        loc = where.find(f'href="{href}"', href, text[:40]) if href else where.find(text[:40])
        # empty links, link text and the template's own schemes are judged on the source
        # (rules.source); what data put into a rendering is judged here
        if rendered and href and not _clean(href).lower().startswith(SAFE_SCHEMES):
            scheme = href.split(":", 1)[0] + ":" if ":" in href else "a relative URL"
            add("link-scheme", loc, f"a link uses {scheme}: only https, mailto and "
                "tel are allowed", href)
        if "unsubscribe" in href.lower() or "unsubscribe" in text.lower():
            unsubscribe = True
            shared_footer = not loc.startswith(where.root + ":")
    for img in doc.iter("img") if rendered else ():
        src = (img.get("src") or "").strip()
        if not _clean(src).lower().startswith("https://"):
            add("link-scheme", where.find(f'src="{src}"', src),
                "an image is not https: clients block or warn about insecure images", src)
    if not unsubscribe:
        add("legal-footer", where.find("mj-include path=\"partials/footer", "</mj-body"),
            "no unsubscribe link (an <a> whose text or URL says 'unsubscribe'): include "
            "partials/footer.mjml", "unsubscribe")
    if address:
        body = doc.find(".//body")
        visible = " ".join(text_of(body).split()) if body is not None else ""
        if " ".join(address.split()) not in visible:
            if shared_footer and address_at:
                add("legal-footer", address_at, "the footer does not show the company address "
                    "set by [check] company_address: make the footer partial and the setting "
                    "agree", "address")
            else:
                add("legal-footer", where.find("mj-include path=\"partials/footer", "</mj-body"),
                    f"the company address ({address!r}) is missing: include "
                    "partials/footer.mjml", "address")
    return out
