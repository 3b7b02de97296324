"""Email quality gates: ``bbws-mail check`` / ``nox -s check`` (needs the ``[build]`` extra).

Judges the sources, the built HTML and each example rendering the way an email
specialist would: MJML validity, HTML and accessibility, Gmail's size clip,
contrast in light and dark mode, links and the legal footer, client CSS support,
the SpamAssassin score, HTML Tidy on the built pages and the JSON Schema 2020-12
metaschema on every schema (the design's validation stages). It runs on top of the
pipeline's build result: the build already ran the checkers of build-stage rules and
kept their findings; this module runs the rest (``bbws_mail.pipeline.rules.checkers``
decides which), renders each example, runs the external programs over all templates
at once (``spam``, ``tidy``), checks the schemas (``metaschema``) and applies the
allow-list.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bbws_mail.config import Config
from bbws_mail.errors import TemplateBuildFailed, ToolError, UnknownTemplateError
from bbws_mail.pipeline.rules import (
    BUILT_HTML,
    MRML_HTML,
    RENDERING,
    RULES,
    SOURCE,
    allow,
    checkers,
    finding,
)
from bbws_mail.pipeline.rules.checkers import Target
from bbws_mail.pipeline.rules.findings import ERROR, WARNING, Finding, split_location

if TYPE_CHECKING:
    from bbws_mail.pipeline.output import BuiltTemplate

__all__ = ["ERROR", "RULES", "WARNING", "Finding", "Report", "check_built", "run"]

Progress = Callable[[str], None]


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


def check_findings(config: Config, built: BuiltTemplate) -> tuple[list[Finding], Any]:
    """The findings of one build: the build's own, those of the checkers the build does
    not run (``rules.checkers``), and each example rendering's; and the rendering.

    Nothing here runs a pipeline stage again: the spliced source, MRML's HTML and the
    built HTML all come with ``built``.
    """
    from bbws_mail.errors import BBWSMailError
    from bbws_mail.render import render as render_template
    from bbws_mail.sources import FixedSource

    assert built.spliced is not None, "a BuiltTemplate from build_one carries its source"
    found: list[Finding] = list(built.findings)  # the build's checkers, check rules too
    for looks_at, html in ((SOURCE, ""), (MRML_HTML, built.mrml_html),
                           (BUILT_HTML, built.html)):
        found += checkers.run(looks_at, Target(built.spliced, config, html),
                              in_build=False)
    name = built.name
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
            found += checkers.run(RENDERING, Target(built.spliced, config, rendered.html),
                                  in_build=False)
    return found, rendered


def check_built(config: Config, built: BuiltTemplate) -> list[Finding]:
    """Findings for one built template (no spam score): what the preview shows."""
    found, _ = check_findings(config, built)
    entries, _ = allow.load(config.root)
    return allow.apply(found, entries, report_unused=False)


def failed_findings(config: Config, exc: TemplateBuildFailed, name: str) -> list[Finding]:
    """What a template that does not build still reports: its rule findings, its build
    errors, and the check's checkers on the points the build reached."""
    found: list[Finding] = list(exc.findings)
    rule_errors = {(f.location, f"{f.message} [{f.rule}]") for f in found}
    for e in exc.errors:
        if (str(e.location), e.message) in rule_errors:
            continue
        message = e.message + (f" (hint: {e.hint})" if e.hint else "")
        found.append(finding("build", str(e.location), message, name))
    if exc.spliced is not None:
        for looks_at, html in ((SOURCE, ""), (MRML_HTML, exc.mrml_html)):
            if html or looks_at == SOURCE:
                found += checkers.run(looks_at, Target(exc.spliced, config, html),
                                      in_build=False)
    return found


def run(config: Config, *, only: list[str] | None = None, spam: bool = True,
        progress: Progress | None = None) -> Report:
    """Every check on every template (or ``only`` these), allow-list applied.

    Raises UnknownTemplateError for a name in ``only`` that is not a template: a typo
    must not pass as "0 templates checked".
    """
    from bbws_mail.check import metaschema
    from bbws_mail.check import spam as spam_mod
    from bbws_mail.check import tidy as tidy_mod
    from bbws_mail.pipeline import Shared, build_one, discover
    from bbws_mail.pipeline.rules.locate import SourceMap

    report = Report()
    every = discover(config.templates_dir)
    unknown = sorted(set(only or []) - {p.stem for p in every})
    if unknown:
        raise UnknownTemplateError(unknown[0], [p.stem for p in every])
    sources = [p for p in every if not only or p.stem in only]
    messages: dict[str, bytes] = {}
    pages: list[tidy_mod.Page] = []
    shared = Shared(config)  # one read of the partials and schemas for every template
    for i, path in enumerate(sources, 1):
        name = path.stem
        report.templates.append(name)
        try:
            built = build_one(path, config, shared=shared)
        except TemplateBuildFailed as exc:
            report.findings += failed_findings(config, exc, name)
            if progress:
                progress(f"[{i}/{len(sources)}] {name}: does not build")
            continue
        found, rendered = check_findings(config, built)
        report.findings += found
        assert built.spliced is not None
        pages.append(tidy_mod.Page(built.html, SourceMap(built.spliced), name))
        if rendered is not None:
            messages[name] = bytes(rendered.to_message(sender=spam_mod.SENDER,
                                                       to=spam_mod.RECIPIENT))
        if progress:
            progress(f"[{i}/{len(sources)}] {name}")
    if spam and messages:
        _spam(report, messages, config)
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


def _spam(report: Report, messages: dict[str, bytes], config: Config) -> None:
    from bbws_mail.check import spam as spam_mod

    if not spam_mod.executable():
        _cannot_run(report, "spam-score", "spam check", "spamassassin is not installed",
                    "spamassassin")
        return
    try:
        results = spam_mod.score(messages)
    except (ToolError, OSError) as exc:
        report.findings.append(finding("spam-score", "spamassassin", str(exc)))
        return
    report.spam = results
    for name, result in results.items():
        if result.score > config.check.spam_max_score:
            hits = ", ".join(f"{rule} {pts:+.1f}" for rule, pts in result.hits if pts)
            where = os.path.relpath(config.templates_dir / f"{name}.mjml", config.root)
            report.findings.append(finding(
                "spam-score", where,
                f"SpamAssassin scores the example rendering {result.score:.1f}, over "
                f"{config.check.spam_max_score}: {hits}", name))


def _tidy(report: Report, pages: list[Any]) -> None:
    from bbws_mail.check import tidy as tidy_mod

    if not pages:
        return
    program, why = tidy_mod.executable()
    if not program:
        _cannot_run(report, "html-tidy", "HTML Tidy check", why, "tidy")
        return
    try:
        report.findings += tidy_mod.check(pages, program)
    except ToolError as exc:
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
    file, line, column = split_location(f.location)
    return (file, line, column, f.rule)
