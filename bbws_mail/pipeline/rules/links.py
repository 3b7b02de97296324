"""Links in the built HTML: the legal footer, and the schemes of each example rendering.

The built HTML must carry an unsubscribe link and the company's legal identity from
``bbws-mail.toml``'s ``[company]`` table (the legal footer); each example rendering
(what a customer receives, placeholders filled) must use only safe schemes. The
template's own links, with their placeholders, are judged on the source
(``rules.source``): a placeholder that starts a URL is fine there because the schema's
``format: uri`` admits only https at render time.
"""

from __future__ import annotations

from typing import Any

from bbws_mail.config import Company
from bbws_mail.pipeline.rules import finding
from bbws_mail.pipeline.rules.findings import Finding
from bbws_mail.pipeline.rules.html import parse, text_of
from bbws_mail.pipeline.rules.locate import SourceMap
from bbws_mail.pipeline.rules.source import C0_AND_SPACE

SAFE_SCHEMES = ("https://", "mailto:", "tel:")
# The [company] facts every email must show when set (Companies Act s32: name and
# registration number; the VAT number for tax invoices), and how a finding names them.
LEGAL_FACTS = {"name": "name", "address": "address", "registration": "registration number",
               "vat_number": "VAT number"}
_INVISIBLE_INSIDE = str.maketrans("", "", "\t\n\r")


def _clean(url: str) -> str:
    """An already entity-decoded URL as a browser follows it (tabs, newlines, controls gone)."""
    return url.translate(_INVISIBLE_INSIDE).strip(C0_AND_SPACE)


def check(html: str, where: SourceMap, template: str, *, rendered: bool = False,
          company: Company | None = None, doc: Any = None) -> list[Finding]:
    """Link findings; ``rendered`` means placeholders are already filled in.

    With ``company``, each of its :data:`LEGAL_FACTS` that is set must be visible
    (the legal footer). When a template's unsubscribe link comes from a partial (the
    shared footer) but a fact is not shown, that footer and ``[company]`` disagree in
    every template, and the table's line is the one place to point at.
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
    facts = company.facts() if company is not None else {}
    body = doc.find(".//body")
    visible = " ".join(text_of(body).split()) if body is not None else ""
    missing = [key for key in LEGAL_FACTS
               if key in facts and " ".join(facts[key].split()) not in visible]
    named = ", ".join(LEGAL_FACTS[key] for key in missing)
    keys = ", ".join(missing)
    footer_at = where.find("mj-include path=\"partials/footer", "</mj-body")
    if not unsubscribe:  # one problem, one finding: the footer is missing
        add("legal-footer", footer_at, "no unsubscribe link (an <a> whose text or URL says "
            "'unsubscribe')" + (f" and no company {named}" if missing else "")
            + ": include partials/footer.mjml", "unsubscribe")
    elif missing and shared_footer and company is not None:
        tokens = " ".join(f"${{company.{key}}}" for key in missing)
        add("legal-footer", company.where(missing[0]), f"the footer does not show the company "
            f"{named} set by [company] {keys}: write {tokens} in the footer partial",
            missing[0])
    elif missing:
        add("legal-footer", footer_at, f"the company {named} ([company] {keys}) not shown: "
            "include partials/footer.mjml", missing[0])
    return out
