"""Email quality gates: ``bbws-mail check`` / ``nox -s check`` (needs the ``[build]`` extra).

Judges the sources, the built HTML and each example rendering the way an email
specialist would: MJML validity, HTML and accessibility, Gmail's size clip,
contrast in light and dark mode, links and the legal footer, client CSS support,
and the SpamAssassin score. Each checker is a module returning ``Finding`` values
that point at ``templates_src/`` file:line; this module runs them in order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbws_mail.config import Config
from bbws_mail.lint import allow
from bbws_mail.lint.findings import ERROR, WARNING, Finding

__all__ = ["ERROR", "WARNING", "Finding", "Report", "check_built", "run"]

RULES = {
    "mjml-unknown-element": "an element that is not an MJML component",
    "mjml-invalid-child": "an element where MJML does not allow it",
    "mjml-unknown-attribute": "an attribute the component does not have",
    "mjml-invalid-value": "an attribute value of the wrong type (colour, unit, enum)",
    "mjml-placeholder-attribute": "a placeholder where only a URL or text may take one",
    "build": "the source does not build (syntax, placeholders, contract)",
    "html-parse": "an HTML5 parse error in the built HTML",
    "html-lang": "lang and dir on <html>",
    "html-title": "a <title>",
    "a11y-img-alt": "every image has alt text (empty only when decorative)",
    "img-width": "every image has an explicit width",
    "a11y-table-role": "layout tables carry role=presentation",
    "html-forbidden": "no script, forms, embeds or external CSS",
    "size-budget": "HTML under Gmail's clip (warn 80 KB, fail 102 KB)",
    "a11y-contrast": "WCAG AA contrast in light and dark mode",
    "link-scheme": "https, mailto or tel only",
    "link-empty": "no empty or # links",
    "link-text": "every link has visible text",
    "legal-footer": "unsubscribe link and company address in every template",
    "client-css": "CSS that Gmail, Outlook, Apple Mail or Yahoo do not support",
    "spam-score": "SpamAssassin score of each example rendering",
    "example-data": "each template's example renders",
    "allow-list": "check-allow.toml entries are well-formed and used",
}
Progress = Callable[[str], None]


@dataclass
class Settings:
    company_address: str = ""
    size_warn_kb: float = 80
    size_fail_kb: float = 102
    worst_case_fail_kb: float = 0  # read by the build (pipeline.bounds); 0: size_fail_kb
    spam_max_score: float = 2.0

    @classmethod
    def from_config(cls, config: Config) -> Settings:
        table = dict(config.check)
        unknown = set(table) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"bbws-mail.toml: unknown key(s) in [check]: "
                             f"{', '.join(sorted(unknown))}")
        return cls(**table)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # e.g. "spam check skipped: ..."
    spam: dict[str, Any] = field(default_factory=dict)  # name -> SpamResult

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR and not f.accepted]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING and not f.accepted]

    @property
    def accepted(self) -> list[Finding]:
        return [f for f in self.findings if f.accepted]

    def as_json(self) -> str:
        return json.dumps({
            "templates": self.templates,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "accepted": len(self.accepted),
            "notices": self.notices,
            "spam": {n: {"score": r.score, "hits": r.hits} for n, r in self.spam.items()},
            "findings": [f.as_dict() for f in self.findings],
        }, indent=2)


def _example(config: Config, name: str) -> tuple[dict[str, Any] | None, Finding | None]:
    path = config.schemas_dir / "examples" / f"{name}.json"
    shown = os.path.relpath(path, config.root)
    if not path.is_file():
        return None, Finding("example-data", ERROR, shown, f"no example data for {name}: "
                             "every template needs one (tests, preview and checks use it)", name)
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except ValueError as exc:
        return None, Finding("example-data", ERROR, shown, f"not valid JSON: {exc}", name)


def _check_one(config: Config, settings: Settings, path: Path, built: Any, spliced: Any
               ) -> tuple[list[Finding], Any]:
    """Findings of the built HTML and of its example rendering; returns the rendering."""
    from bbws_mail.errors import BBWSMailError
    from bbws_mail.lint import clients, contrast, links, size
    from bbws_mail.lint.locate import SourceMap
    from bbws_mail.render import render as render_template

    where = SourceMap(spliced)
    name = built.name
    warn, fail = int(settings.size_warn_kb * 1024), int(settings.size_fail_kb * 1024)
    found: list[Finding] = []
    found += size.check(built.html, "built HTML", where.root, name, warn, fail)
    found += contrast.check(built.html, where, name)
    found += links.check(built.html, where, name, address=settings.company_address)
    found += clients.check(built.html, where, name)
    data, problem = _example(config, name)
    rendered = None
    if problem:
        found.append(problem)
    elif data is not None:
        from bbws_mail.sources import FixedSource, Snapshot

        source = FixedSource(Snapshot(
            "check-" + built.version(), {name: built.template_files()},
            config.env("dev").asset_base_url, origin="check"))
        try:
            rendered = render_template(name, data, source=source)
        except BBWSMailError as exc:
            found.append(Finding("example-data", ERROR, os.path.relpath(
                config.schemas_dir / "examples" / f"{name}.json", config.root),
                f"the example does not render: {exc}", name))
        else:
            found += size.check(rendered.html, "the example rendering", where.root, name,
                                warn, fail)
            found += links.check(rendered.html, where, name, rendered=True)
    return found, rendered


def _markup(spliced: Any) -> list[Finding]:
    """HTML checks on MRML's output before inlining.

    css-inline parses and re-serialises the document, silently repairing broken
    markup (a nested <a> becomes two links), so parse errors are looked for in what
    the designer's source compiles to. This also runs when a later build stage
    fails, so a missing title is reported as html-title as well as a build error.
    """
    from bbws_mail.errors import TemplateError
    from bbws_mail.lint import html
    from bbws_mail.lint.locate import SourceMap
    from bbws_mail.pipeline import compile as compile_stage

    try:
        compiled = compile_stage.compile_mjml(spliced)
    except TemplateError:
        return []  # reported by the build as a "build" finding
    return html.check(compiled.html, SourceMap(spliced), spliced.name)


def check_built(config: Config, built: Any) -> list[Finding]:
    """Findings for one built template (no spam score): what the preview shows."""
    from bbws_mail.lint import mjml
    from bbws_mail.pipeline import splice

    settings = Settings.from_config(config)
    path = config.templates_dir / f"{built.name}.mjml"
    spliced = splice.splice(path, config.templates_dir)
    found = mjml.validate(spliced) + _markup(spliced)
    more, _ = _check_one(config, settings, path, built, spliced)
    entries, _ = allow.load(config.root)
    return allow.apply(found + more, entries, report_unused=False)


def run(config: Config, *, only: list[str] | None = None, spam: bool = True,
        progress: Progress | None = None) -> Report:
    """Every check on every template (or ``only`` these), allow-list applied."""
    from bbws_mail.errors import BuildError, TemplateError
    from bbws_mail.lint import mjml
    from bbws_mail.lint import spam as spam_mod
    from bbws_mail.pipeline import build_one, discover, splice

    settings = Settings.from_config(config)
    report = Report()
    sources = [p for p in discover(config.templates_dir) if not only or p.stem in only]
    messages: dict[str, bytes] = {}
    for i, path in enumerate(sources, 1):
        name = path.stem
        report.templates.append(name)
        try:
            spliced = splice.splice(path, config.templates_dir)
        except TemplateError as exc:
            report.findings.append(Finding("build", ERROR, str(exc.location), exc.message, name))
            continue
        report.findings += mjml.validate(spliced)
        report.findings += _markup(spliced)
        try:
            built = build_one(path, config)
        except BuildError as exc:
            for e in exc.errors:
                message = e.message + (f" (hint: {e.hint})" if e.hint else "")
                report.findings.append(Finding("build", ERROR, str(e.location), message, name))
            if progress:
                progress(f"[{i}/{len(sources)}] {name}: does not build")
            continue
        found, rendered = _check_one(config, settings, path, built, spliced)
        report.findings += found
        if rendered is not None:
            messages[name] = bytes(rendered.to_message(sender=spam_mod.SENDER,
                                                       to=spam_mod.RECIPIENT))
        if progress:
            progress(f"[{i}/{len(sources)}] {name}")
    if spam and messages:
        _spam(report, messages, settings, config)
    elif not spam:
        report.notices.append("spam check skipped (--no-spam)")
    entries, problems = allow.load(config.root)
    unique = list(dict.fromkeys(report.findings))  # a compile error is seen twice
    report.findings = allow.apply(unique, entries, report_unused=not only) + problems
    report.findings.sort(key=_order)
    return report


def _spam(report: Report, messages: dict[str, bytes], settings: Settings, config: Config
          ) -> None:
    from bbws_mail.lint import spam as spam_mod

    if not spam_mod.executable():
        notice = ("spam check skipped: spamassassin is not installed "
                  "(apt-get install spamassassin, or run scripts/system-deps.sh)")
        if os.environ.get("CI"):
            report.findings.append(Finding("spam-score", ERROR, "scripts/system-deps.sh",
                                           notice.replace("skipped", "cannot run in CI")))
        else:
            report.notices.append(notice)
        return
    try:
        results = spam_mod.score(messages)
    except (RuntimeError, OSError) as exc:
        report.findings.append(Finding("spam-score", ERROR, "spamassassin", str(exc)))
        return
    report.spam = results
    for name, result in results.items():
        if result.score > settings.spam_max_score:
            hits = ", ".join(f"{rule} {pts:+.1f}" for rule, pts in result.hits if pts)
            where = os.path.relpath(config.templates_dir / f"{name}.mjml", config.root)
            report.findings.append(Finding(
                "spam-score", ERROR, where,
                f"SpamAssassin scores the example rendering {result.score:.1f}, over "
                f"{settings.spam_max_score}: {hits}", name))


def _order(f: Finding) -> tuple[str, int, int, str]:
    from bbws_mail.lint.findings import split_location

    file, line, column = split_location(f.location)
    return (file, line, column, f.rule)
