"""Email quality gates: ``bbws-mail check`` / ``nox -s check`` (needs the ``[build]`` extra).

Judges the sources, the built HTML and each example rendering the way an email
specialist would: MJML validity, HTML and accessibility, Gmail's size clip,
contrast in light and dark mode, links and the legal footer, client CSS support,
the SpamAssassin score, HTML Tidy on the built pages and the JSON Schema 2020-12
metaschema on every schema (the design's validation stages). Each checker is a
module returning ``Finding`` values that point at ``templates_src/`` file:line; this
module runs them in order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from bbws_mail.config import Config
from bbws_mail.lint import allow
from bbws_mail.lint.findings import ERROR, WARNING, Finding
from bbws_mail.lint.rules import RULES, finding

if TYPE_CHECKING:
    from bbws_mail.pipeline.output import BuiltTemplate
    from bbws_mail.pipeline.splice import Spliced

__all__ = ["ERROR", "RULES", "WARNING", "Finding", "Report", "check_built", "run"]

Progress = Callable[[str], None]


@dataclass
class Settings:
    company_address: str = ""
    size_warn_kb: float = 80
    size_fail_kb: float = 102
    worst_case_fail_kb: float = 0  # read by the build (pipeline.bounds); 0: size_fail_kb
    spam_max_score: float = 2.0
    address_at: str = ""  # where company_address is set (bbws-mail.toml:line), not a key
    _MAY_BE_ZERO: ClassVar[frozenset[str]] = frozenset({"worst_case_fail_kb",
                                                        "spam_max_score"})

    @classmethod
    def from_config(cls, config: Config) -> Settings:
        import difflib

        table = dict(config.check)
        keys = sorted(set(cls.__dataclass_fields__) - {"address_at"})
        unknown = sorted(set(table) - set(keys))
        if unknown:
            first = unknown[0]
            close = difflib.get_close_matches(first, keys, n=1)
            where = _key_location(config.root / "bbws-mail.toml", first)
            raise ValueError(f"{where}: unknown key(s) in [check]: {', '.join(unknown)}"
                             + (f" (did you mean {close[0]}?)" if close else
                                f"; known: {', '.join(keys)}"))
        wrong = sorted(k for k, v in table.items() if not _same_kind(v, getattr(cls, k)))
        if wrong:
            raise ValueError(f"{_key_location(config.root / 'bbws-mail.toml', wrong[0])}: "
                             f"[check] {', '.join(wrong)} has the wrong type (a number for "
                             "sizes and scores, a string for company_address)")
        for key, value in sorted(table.items()):
            zero_ok = key in cls._MAY_BE_ZERO
            least = "0 or more" if zero_ok else "more than 0"
            if isinstance(value, int | float) and (value < 0 or (value == 0 and not zero_ok)):
                raise ValueError(f"{_key_location(config.root / 'bbws-mail.toml', key)}: "
                                 f"[check] {key} must be {least}")
        return cls(**table)


def _same_kind(value: Any, default: Any) -> bool:
    """A [check] value of its default's kind: a number (not true/false) for numbers."""
    if isinstance(value, bool) or isinstance(default, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # e.g. "spam check skipped: ..."
    spam: dict[str, Any] = field(default_factory=dict)  # name -> SpamResult
    not_run: list[str] = field(default_factory=list)  # rules whose program is missing

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
            "not_run": self.not_run,
            "spam": {n: {"score": r.score, "hits": r.hits} for n, r in self.spam.items()},
            "findings": [f.as_dict() for f in self.findings],
        }, indent=2)


def build_settings(config: Config) -> tuple[Settings, list[allow.Entry]]:
    """The ``[check]`` settings and the allow-list, for the build's rules.

    Problems in either file are build errors at that file, never a traceback.
    """
    from bbws_mail.errors import TemplateError

    try:
        settings = Settings.from_config(config)
    except ValueError as exc:
        where, _, message = str(exc).partition(": ")
        raise TemplateError(where, message,
                            "see the [check] keys in the README's quality gates") from None
    settings.address_at = _key_location(config.root / "bbws-mail.toml", "company_address")
    entries, _ = allow.load(config.root)
    return settings, entries


def _key_location(path: Path, key: str) -> str:
    """``file:line`` of ``key = ...`` in a TOML file (the file alone when absent)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return path.name
    for number, line in enumerate(lines, 1):
        if line.split("=", 1)[0].strip() == key:
            return f"{path.name}:{number}"
    return path.name


def accept(findings: list[Finding], entries: list[allow.Entry]) -> list[Finding]:
    """Findings with the reviewed acceptances marked (no unused-entry report)."""
    return allow.apply(findings, entries, report_unused=False)


def built_html_findings(spliced: Spliced, html: str, settings: Settings) -> list[Finding]:
    """The build-stage rules judged on the inlined HTML: contrast and the legal footer."""
    from bbws_mail.lint import contrast, links
    from bbws_mail.lint.html import tree
    from bbws_mail.lint.locate import SourceMap

    where = SourceMap(spliced)
    doc = tree(html)  # one parse for both rules
    found = contrast.check(html, where, spliced.name, doc)
    found += links.check(html, where, spliced.name, address=settings.company_address,
                         address_at=settings.address_at, doc=doc)
    return found


def _example(config: Config, name: str) -> tuple[dict[str, Any] | None, Finding | None]:
    path = config.schemas_dir / "examples" / f"{name}.json"
    shown = os.path.relpath(path, config.root)
    if not path.is_file():
        return None, finding("example-data", shown, f"no example data for {name}: every "
                             "template needs one (tests, preview and checks use it); "
                             "`bbws-mail new` writes one", name)
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except ValueError as exc:
        return None, finding("example-data", shown, f"not valid JSON: {exc}", name)


def check_findings(config: Config, settings: Settings, built: BuiltTemplate
                   ) -> tuple[list[Finding], Any]:
    """The check-stage findings of one build, from what the build kept; and the rendering.

    Nothing here runs a pipeline stage again: MRML's HTML, the spliced source and
    the built HTML all come with ``built``.
    """
    from bbws_mail.errors import BBWSMailError
    from bbws_mail.lint import clients, html, links, size
    from bbws_mail.lint import source as source_rules
    from bbws_mail.lint.locate import SourceMap
    from bbws_mail.render import render as render_template
    from bbws_mail.sources import FixedSource

    assert built.spliced is not None, "a BuiltTemplate from build_one carries its source"
    where = SourceMap(built.spliced)
    name = built.name
    warn, fail = int(settings.size_warn_kb * 1024), int(settings.size_fail_kb * 1024)
    found: list[Finding] = list(built.findings)  # the build's (links' check-stage ones too)
    found += html.check(built.mrml_html, where, name)
    found += source_rules.parse_errors(built.spliced)
    found += size.check(built.html, "built HTML", where.root, name, warn, fail)
    found += clients.check(built.html, where, name)
    data, problem = _example(config, name)
    rendered = None
    if problem:
        found.append(problem)
    elif data is not None:
        source = FixedSource(built.snapshot(config.env("dev").asset_base_url, "check"))
        try:
            rendered = render_template(name, data, source=source)
        except BBWSMailError as exc:
            found.append(finding("example-data", os.path.relpath(
                config.schemas_dir / "examples" / f"{name}.json", config.root),
                f"the example does not render: {exc}", name))
        else:
            found += size.check(rendered.html, "the example rendering", where.root, name,
                                warn, fail)
            found += links.check(rendered.html, where, name, rendered=True)
    return found, rendered


def check_built(config: Config, built: BuiltTemplate) -> list[Finding]:
    """Findings for one built template (no spam score): what the preview shows."""
    settings = Settings.from_config(config)
    found, _ = check_findings(config, settings, built)
    entries, _ = allow.load(config.root)
    return allow.apply(found, entries, report_unused=False)


def failed_findings(exc: Any, name: str) -> list[Finding]:
    """What a template that does not build still reports: rule findings, build errors."""
    from bbws_mail.lint import html
    from bbws_mail.lint import source as source_rules
    from bbws_mail.lint.locate import SourceMap

    found: list[Finding] = list(getattr(exc, "findings", []))
    rule_errors = {(f.location, f"{f.message} [{f.rule}]") for f in found}
    for e in exc.errors:
        if (str(e.location), e.message) in rule_errors:
            continue
        message = e.message + (f" (hint: {e.hint})" if e.hint else "")
        found.append(finding("build", str(e.location), message, name))
    spliced = getattr(exc, "spliced", None)
    if spliced is not None:
        found += source_rules.parse_errors(spliced)
    if getattr(exc, "mrml_html", "") and spliced is not None:
        found += html.check(exc.mrml_html, SourceMap(spliced), name)
    return found


def run(config: Config, *, only: list[str] | None = None, spam: bool = True,
        progress: Progress | None = None) -> Report:
    """Every check on every template (or ``only`` these), allow-list applied.

    Raises ValueError for a name in ``only`` that is not a template: a typo must
    not pass as "0 templates checked".
    """
    from bbws_mail.lint import metaschema
    from bbws_mail.lint import spam as spam_mod
    from bbws_mail.lint import tidy as tidy_mod
    from bbws_mail.lint.locate import SourceMap
    from bbws_mail.pipeline import TemplateBuildFailed, build_one, discover

    settings = Settings.from_config(config)
    report = Report()
    every = discover(config.templates_dir)
    unknown = sorted(set(only or []) - {p.stem for p in every})
    if unknown:
        raise ValueError(f"unknown template(s) {', '.join(unknown)}; known: "
                         f"{', '.join(p.stem for p in every)}")
    sources = [p for p in every if not only or p.stem in only]
    messages: dict[str, bytes] = {}
    pages: list[tidy_mod.Page] = []
    for i, path in enumerate(sources, 1):
        name = path.stem
        report.templates.append(name)
        try:
            built = build_one(path, config)
        except TemplateBuildFailed as exc:
            report.findings += failed_findings(exc, name)
            if progress:
                progress(f"[{i}/{len(sources)}] {name}: does not build")
            continue
        found, rendered = check_findings(config, settings, built)
        report.findings += found
        assert built.spliced is not None
        pages.append(tidy_mod.Page(built.html, SourceMap(built.spliced), name))
        if rendered is not None:
            messages[name] = bytes(rendered.to_message(sender=spam_mod.SENDER,
                                                       to=spam_mod.RECIPIENT))
        if progress:
            progress(f"[{i}/{len(sources)}] {name}")
    if spam and messages:
        _spam(report, messages, settings, config)
    elif not spam:
        report.notices.append("spam check skipped (--no-spam)")
    _tidy(report, pages)
    report.findings += metaschema.check(config.schemas_dir, config.root)
    entries, problems = allow.load(config.root)
    unique = list(dict.fromkeys(f._replace(accepted="") for f in report.findings))
    report.findings = allow.apply(unique, entries, report_unused=not only,
                                  not_run=frozenset(report.not_run)) + problems
    report.findings.sort(key=_order)
    return report


def _spam(report: Report, messages: dict[str, bytes], settings: Settings, config: Config
          ) -> None:
    from bbws_mail.lint import spam as spam_mod

    if not spam_mod.executable():
        _cannot_run(report, "spam-score", "spam check", "spamassassin is not installed",
                    "spamassassin")
        return
    try:
        results = spam_mod.score(messages)
    except (RuntimeError, OSError) as exc:
        report.findings.append(finding("spam-score", "spamassassin", str(exc)))
        return
    report.spam = results
    for name, result in results.items():
        if result.score > settings.spam_max_score:
            hits = ", ".join(f"{rule} {pts:+.1f}" for rule, pts in result.hits if pts)
            where = os.path.relpath(config.templates_dir / f"{name}.mjml", config.root)
            report.findings.append(finding(
                "spam-score", where,
                f"SpamAssassin scores the example rendering {result.score:.1f}, over "
                f"{settings.spam_max_score}: {hits}", name))


def _tidy(report: Report, pages: list[Any]) -> None:
    from bbws_mail.lint import tidy as tidy_mod

    if not pages:
        return
    program, why = tidy_mod.executable()
    if not program:
        _cannot_run(report, "html-tidy", "HTML Tidy check", why, "tidy")
        return
    try:
        report.findings += tidy_mod.check(pages, program)
    except RuntimeError as exc:
        report.findings.append(finding("html-tidy", "tidy", f"{exc}: retrying will not help "
                                       "until tidy runs (try `tidy -v`)"))


def _cannot_run(report: Report, rule: str, stage: str, why: str, package: str) -> None:
    """A check stage whose program is missing: a notice here, an error in CI (``CI`` set).

    A designer's machine without the program still gets the other checks, told plainly
    which stage did not run; CI, where ``scripts/system-deps.sh`` installs it, fails.
    """
    report.not_run.append(rule)
    notice = (f"{stage} skipped: {why} (apt-get install {package}, or run "
              "scripts/system-deps.sh)")
    if os.environ.get("CI"):
        report.findings.append(finding(rule, "scripts/system-deps.sh",
                                       notice.replace("skipped", "cannot run in CI")))
    else:
        report.notices.append(notice)


def _order(f: Finding) -> tuple[str, int, int, str]:
    from bbws_mail.lint.findings import split_location

    file, line, column = split_location(f.location)
    return (file, line, column, f.rule)
