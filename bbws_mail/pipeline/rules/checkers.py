"""Which checker looks at what, and so who runs it: the one place rules are wired in.

A checker is a function that judges one point of the pipeline (the spliced source,
MRML's HTML, the built HTML, an example rendering) and reports findings of the rules
it names. Nobody chooses where a checker runs: the declared stage of its rules
(``bbws_mail.pipeline.rules``) does. :func:`build_runs` says it once: the build runs
every checker that reports a build-stage rule on a point the build passes through
(and refuses the template on its errors); ``bbws-mail check`` runs the others on the
build's result. Adding a rule is declaring it in the registry and naming it in its
checker's entry below; adding a checker is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, NamedTuple

from bbws_mail.config import Config
from bbws_mail.pipeline.rules import (
    BUILD,
    BUILT_HTML,
    MRML_HTML,
    RENDERING,
    RULES,
    SOURCE,
)
from bbws_mail.pipeline.rules.findings import Finding
from bbws_mail.pipeline.rules.locate import SourceMap
from bbws_mail.pipeline.splice import Spliced

# the points a build passes through, in its order; a rendering exists only in `check`
BUILD_POINTS = (SOURCE, MRML_HTML, BUILT_HTML)


class Target:
    """What a checker judges: a template's source and, past the source, one HTML text;
    and the project's settings it is judged by (``[check]`` and ``[company]``).

    The HTML's parse (and its ElementTree) is made once, on first use, and shared by
    the checkers of a point.
    """

    def __init__(self, spliced: Spliced, config: Config, html: str = "") -> None:
        self.spliced = spliced
        self.settings = config.check
        self.company = config.company
        self.html = html
        self.name = spliced.name
        self.where = SourceMap(spliced)

    @cached_property
    def parsed(self) -> Any:
        """The HTML parsed by Lexbor: made once, shared by every checker of the point."""
        from bbws_mail.pipeline.rules.html import lexbor

        return lexbor(self.html)

    @cached_property
    def doc(self) -> Any:
        """:attr:`parsed` as an ElementTree, for the checkers that walk one."""
        from bbws_mail.pipeline.rules.html import tree

        return tree(self.html, self.parsed)


class Checker(NamedTuple):
    looks_at: str  # SOURCE, MRML_HTML, BUILT_HTML or RENDERING
    rules: tuple[str, ...]  # the rule ids it may report
    run: Callable[[Target], list[Finding]]


def _mjml(t: Target) -> list[Finding]:
    from bbws_mail.pipeline.rules import mjml

    return mjml.validate(t.spliced)


def _source(t: Target) -> list[Finding]:
    from bbws_mail.pipeline.rules import source

    return source.check(t.spliced)


def _palette(t: Target) -> list[Finding]:
    from bbws_mail.pipeline.rules import palette

    return palette.check(t.spliced)


def _parse_errors(t: Target) -> list[Finding]:
    from bbws_mail.pipeline.rules import source

    return source.parse_errors(t.spliced)


def _document(t: Target) -> list[Finding]:
    from bbws_mail.pipeline.rules import html

    return html.check(t.html, t.where, t.name, t.parsed)


def _contrast(t: Target) -> list[Finding]:
    from bbws_mail.pipeline.rules import contrast

    return contrast.check(t.html, t.where, t.name, t.doc)


def _legal_footer(t: Target) -> list[Finding]:
    from bbws_mail.pipeline.rules import links

    return links.check(t.html, t.where, t.name, company=t.company, doc=t.doc)


def _rendered_links(t: Target) -> list[Finding]:
    from bbws_mail.pipeline.rules import links

    return links.check(t.html, t.where, t.name, rendered=True, doc=t.doc)


def _size(what: str) -> Callable[[Target], list[Finding]]:
    def check(t: Target) -> list[Finding]:
        from bbws_mail.pipeline.rules import size

        return size.check(t.html, what, t.where.root, t.name,
                          int(t.settings.size_warn_kb * 1024),
                          int(t.settings.size_fail_kb * 1024))

    return check


def _clients(t: Target) -> list[Finding]:
    from bbws_mail.pipeline.rules import clients

    return clients.check(t.html, t.where, t.name)


CHECKERS = (
    Checker(SOURCE, ("mjml-unknown-element", "mjml-invalid-child", "mjml-unknown-attribute",
                     "mjml-invalid-value", "mjml-placeholder-attribute"), _mjml),
    Checker(SOURCE, ("html-forbidden", "a11y-img-alt", "link-scheme", "img-width",
                     "a11y-table-role", "link-empty", "link-text"), _source),
    Checker(SOURCE, ("color-literal",), _palette),
    Checker(SOURCE, ("html-parse",), _parse_errors),
    Checker(MRML_HTML, ("html-lang", "html-title", "html-forbidden"), _document),
    Checker(BUILT_HTML, ("a11y-contrast",), _contrast),
    Checker(BUILT_HTML, ("legal-footer",), _legal_footer),
    Checker(BUILT_HTML, ("size-budget",), _size("built HTML")),
    Checker(BUILT_HTML, ("client-css",), _clients),
    Checker(RENDERING, ("size-budget",), _size("the example rendering")),
    Checker(RENDERING, ("link-scheme", "legal-footer"), _rendered_links),
)


def build_runs(checker: Checker) -> bool:
    """True when the build runs ``checker``: it reports a build-stage rule on a point the
    build passes through. ``bbws-mail check`` runs every other checker."""
    return checker.looks_at in BUILD_POINTS and any(RULES[r].stage == BUILD
                                                     for r in checker.rules)


def run(looks_at: str, target: Target, *, in_build: bool) -> list[Finding]:
    """The findings of the checkers at ``looks_at`` that the build (``in_build``) or the
    check (not ``in_build``) runs; a checker reporting a rule it does not name is a bug."""
    found: list[Finding] = []
    for checker in CHECKERS:
        if checker.looks_at == looks_at and build_runs(checker) == in_build:
            results = checker.run(target)
            stray = {f.rule for f in results} - set(checker.rules)
            assert not stray, f"{checker.run.__name__} reports undeclared rules {stray}"
            found += results
    return found
