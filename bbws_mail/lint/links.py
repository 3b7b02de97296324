"""Links: safe schemes, real targets, visible text, and the legal footer.

Checked twice: on the built HTML (what the template writes, placeholders
included) and on each example rendering (what a customer receives, with the
placeholders filled). A placeholder href is fine at build time because the
schema's ``format: uri`` admits only https at render time.
"""

from __future__ import annotations

import re

from bbws_mail.lint.findings import ERROR, Finding
from bbws_mail.lint.html import parse, text_of
from bbws_mail.lint.locate import SourceMap

SAFE_SCHEMES = ("https://", "mailto:", "tel:")
_PLACEHOLDER_ONLY = re.compile(r"^\{\{\{?\s*[\w.]+\s*\}?\}\}")


def check(html: str, where: SourceMap, template: str, *, rendered: bool = False,
          address: str = "") -> list[Finding]:
    """Link findings; ``rendered`` means placeholders are already filled in."""
    doc, _ = parse(html)
    out: list[Finding] = []
    label = " in the example rendering" if rendered else ""

    def add(rule: str, location: str, message: str, subject: str = "") -> None:
        out.append(Finding(rule, ERROR, location, message + label, template, subject=subject))

    unsubscribe = False
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        text = text_of(a)
        alts = [img.get("alt", "").strip() for img in a.iter("img")]
        loc = where.find(f'href="{href}"', href, text[:40]) if href else where.find(text[:40])
        if not href or href == "#" or href.startswith("#"):
            add("link-empty", loc, f"link {text[:40]!r} has {'no href' if not href else repr(href)}"
                ": it goes nowhere", href)
        elif not href.lower().startswith(SAFE_SCHEMES):
            if _PLACEHOLDER_ONLY.match(href) and not rendered:
                pass  # validated as https by the schema at render time
            else:
                scheme = href.split(":", 1)[0] + ":" if ":" in href else "a relative URL"
                add("link-scheme", loc, f"link {href!r} uses {scheme}: only https, mailto and "
                    "tel are allowed", href)
        if not text and not any(alts):
            add("link-text", loc, f"link {href!r} has no visible text (and no image alt): "
                "screen readers read out the URL", href)
        if "unsubscribe" in href.lower() or "unsubscribe" in text.lower():
            unsubscribe = True
    for img in doc.iter("img"):
        src = (img.get("src") or "").strip()
        if not src.lower().startswith("https://") and not (
                _PLACEHOLDER_ONLY.match(src) and not rendered):
            add("link-scheme", where.find(f'src="{src}"', src),
                f"image {src!r} is not https: clients block or warn about insecure images",
                src)
    if not unsubscribe:
        add("legal-footer", where.find("mj-include path=\"partials/footer", "</mj-body"),
            "no unsubscribe link (an <a> whose text or URL says 'unsubscribe'): include "
            "partials/footer.mjml", "unsubscribe")
    if address:
        body = doc.find(".//body")
        visible = " ".join(text_of(body).split()) if body is not None else ""
        if " ".join(address.split()) not in visible:
            add("legal-footer", where.find("mj-include path=\"partials/footer", "</mj-body"),
                f"the company address ({address!r}) is missing: include partials/footer.mjml",
                "address")
    return out
