"""Every quality rule, declared once: id, severity, where it looks, which stage runs it.

``stage`` alone decides who runs a rule's checker and who refuses a template: a
``build`` rule means the output is wrong or unsafe, so ``bbws-mail build`` runs its
checker and fails on it (leaving ``build/`` untouched); a ``check`` rule is slow or
advisory and only ``bbws-mail check`` reports it (``checkers.build_runs`` applies this).
The checkers live beside this registry, one module each, and ``checkers.CHECKERS``
names which rules each reports. Checkers create findings through :func:`finding`,
which refuses an undeclared id; a test compares this table with the rule ids the
checkers use and the broken-source corpus.
"""

from __future__ import annotations

from typing import NamedTuple

from bbws_mail.config import CheckSettings
from bbws_mail.pipeline.rules.findings import ERROR, WARNING, Finding

BUILD = "build"
CHECK = "check"
# where a rule looks
SOURCE = "sources (after splicing)"
SCHEMAS = "sources, schemas"
MRML_HTML = "MRML output (before inlining)"
BUILT_HTML = "built HTML (inlined)"
RENDERING = "each example rendering"
CONFIG = "check-allow.toml"
SCHEMA_FILES = "schemas/*.json, schemas/defs/*.json"


class Rule(NamedTuple):
    id: str
    severity: str  # the default; size-budget and html-forbidden also warn
    looks_at: str
    stage: str  # BUILD: refuses the build; CHECK: reported by `bbws-mail check`
    summary: str


_TABLE = [
    Rule("mjml-unknown-element", ERROR, SOURCE, BUILD,
         "an element that is not an MJML component"),
    Rule("mjml-invalid-child", ERROR, SOURCE, BUILD, "an element where MJML does not allow it"),
    Rule("mjml-unknown-attribute", ERROR, SOURCE, BUILD,
         "an attribute the component does not have"),
    Rule("mjml-invalid-value", ERROR, SOURCE, BUILD,
         "an attribute value of the wrong type (colour, unit, enum)"),
    Rule("mjml-placeholder-attribute", ERROR, SOURCE, BUILD,
         "a placeholder where only a URL or text may take one"),
    Rule("html-forbidden", ERROR, SOURCE, BUILD,
         "no script (nor event handlers), forms, embeds or external CSS"),
    Rule("a11y-img-alt", ERROR, SOURCE, BUILD,
         "every image has alt text (empty only when decorative)"),
    Rule("link-scheme", ERROR, SOURCE, BUILD,
         "https, mailto or tel only, judged on the decoded attribute value"),
    Rule("color-literal", ERROR, SOURCE, BUILD,
         "colours come from brand.toml tokens (${brand.NAME}), not literals in templates"),
    Rule("a11y-contrast", ERROR, BUILT_HTML, BUILD, "WCAG AA contrast in light and dark mode"),
    Rule("legal-footer", ERROR, BUILT_HTML, BUILD,
         "unsubscribe link and company address in every template"),
    Rule("build", ERROR, SCHEMAS, BUILD,
         "the source does not build (syntax, placeholders, contract)"),
    Rule("html-parse", ERROR, SOURCE, CHECK,
         "an HTML5 parse error in the HTML inside mj-text, mj-table, mj-raw..."),
    Rule("html-lang", ERROR, MRML_HTML, CHECK, "lang and dir on <html>"),
    Rule("html-title", ERROR, MRML_HTML, CHECK, "a <title>"),
    Rule("img-width", ERROR, SOURCE, CHECK, "every image has an explicit width"),
    Rule("a11y-table-role", ERROR, SOURCE, CHECK, "layout tables carry role=presentation"),
    Rule("link-empty", ERROR, SOURCE, CHECK, "no empty or # links"),
    Rule("link-text", ERROR, SOURCE, CHECK, "every link has visible text"),
    Rule("size-budget", WARNING, RENDERING, CHECK,
         f"HTML under Gmail's clip (by default warn {CheckSettings.size_warn_kb:g} KB, "
         f"fail {CheckSettings.size_fail_kb:g} KB)"),
    Rule("client-css", ERROR, BUILT_HTML, CHECK,
         "CSS that Gmail, Outlook, Apple Mail or Yahoo do not support"),
    Rule("spam-score", ERROR, RENDERING, CHECK, "SpamAssassin score of each example rendering"),
    Rule("example-data", ERROR, RENDERING, CHECK, "each template's example renders"),
    Rule("html-tidy", ERROR, BUILT_HTML, CHECK,
         "HTML Tidy's errors and warnings, but for the email idioms check-allow.toml accepts"),
    Rule("schema-meta", ERROR, SCHEMA_FILES, CHECK,
         "every schema is valid against the JSON Schema 2020-12 metaschema"),
    Rule("allow-list", ERROR, CONFIG, CHECK,
         "check-allow.toml entries are well-formed and used"),
]
RULES: dict[str, Rule] = {rule.id: rule for rule in _TABLE}
BUILD_RULES = frozenset(r.id for r in _TABLE if r.stage == BUILD)


def finding(rule: str, location: str, message: str, template: str = "", *,
            severity: str = "", subject: str = "") -> Finding:
    """A finding of a declared rule (KeyError for an undeclared one: a typo is a bug)."""
    declared = RULES[rule]
    return Finding(rule, severity or declared.severity, location, message, template,
                   subject=subject)


def refuses_build(f: Finding) -> bool:
    """True when this finding must stop ``bbws-mail build``."""
    return RULES[f.rule].stage == BUILD and f.severity == ERROR and not f.accepted
