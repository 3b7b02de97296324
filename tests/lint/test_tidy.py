"""html-tidy: every built page through Debian's tidy; MRML's email idioms are accepted by
check-allow.toml's stated list, anything else fails; a missing tidy is said, never passed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bbws_mail import config
from bbws_mail.check import run
from bbws_mail.check import tidy as tidy_mod
from tests.conftest import ROOT
from tests.lint.conftest import CORPUS

CLEAN = CORPUS / "clean" / "mini.mjml"
PROGRAM, WHY = tidy_mod.executable()


@pytest.fixture
def tidy_program() -> str:
    if PROGRAM is None:
        if os.environ.get("CI"):
            pytest.fail(f"tidy must be installed in CI (scripts/system-deps.sh): {WHY}")
        pytest.skip(WHY)
    return PROGRAM


def test_masking_keeps_every_line_and_column() -> None:
    html = '<a href="{{orderUrl}}">{{{raw}}}</a>\n<!--{{#items}}-->x{{ name }}'
    masked = tidy_mod.masked(html)
    assert "{" not in masked and "}" not in masked
    assert [len(line) for line in masked.split("\n")] == [len(x) for x in html.split("\n")]


def test_a_real_tidy_problem_is_reported_at_the_source_line(
        tidy_program: str, lint_project: Callable[[Path], Path]) -> None:
    project = lint_project(CLEAN)
    source = project / "templates_src" / "mini.mjml"
    text = source.read_text(encoding="utf-8")
    anchor = '<mj-text css-class="total">'
    line = text[: text.index(anchor)].count("\n") + 1
    source.write_text(text.replace(
        anchor, anchor + '<span id="paid">Paid</span> <span id="paid">in full</span> '), "utf-8")
    report = run(config.load(project), spam=False)
    [hit] = [f for f in report.errors if f.rule == "html-tidy"]
    assert hit.subject == 'ANCHOR_NOT_UNIQUE: <span> anchor "paid" already defined'
    assert hit.location.startswith(f"templates_src/mini.mjml:{line}:"), hit
    assert re.search(r"at built HTML \d+:\d+", hit.message), hit.message
    assert hit.template == "mini"


def test_a_tidy_error_is_reported_at_the_element_it_names(
        tidy_program: str, lint_project: Callable[[Path], Path]) -> None:
    project = lint_project(CLEAN)
    source = project / "templates_src" / "mini.mjml"
    text = source.read_text(encoding="utf-8")
    anchor = "No items."
    line = text[: text.index(anchor)].count("\n") + 1
    source.write_text(text.replace(anchor, "No <zorp>items</zorp>."), "utf-8")
    report = run(config.load(project), spam=False)
    hits = {f.subject: f for f in report.errors if f.rule == "html-tidy"}
    hit = hits["UNKNOWN_ELEMENT: <zorp> is not recognized!"]
    assert "tidy error at built HTML" in hit.message
    assert hit.location.startswith(f"templates_src/mini.mjml:{line}:"), hit


def test_the_idioms_mrml_writes_are_accepted_only_by_the_stated_list(
        tidy_program: str, lint_project: Callable[[Path], Path]) -> None:
    project = lint_project(CLEAN)
    accepted = [f for f in run(config.load(project), spam=False).findings
                if f.rule == "html-tidy"]
    assert accepted and all(f.accepted.strip() for f in accepted), accepted
    # the same page without the html-tidy entries of check-allow.toml: each idiom fails
    allow = (ROOT / "check-allow.toml").read_text(encoding="utf-8")
    kept = [e for e in allow.split("[[accept]]") if 'rule = "html-tidy"' not in e]
    (project / "check-allow.toml").write_text("[[accept]]".join(kept), encoding="utf-8")
    errors = [f for f in run(config.load(project), spam=False).errors if f.rule == "html-tidy"]
    assert {f.subject for f in errors} == {f.subject for f in accepted}
    assert all("check-allow.toml" in f.message for f in errors)


def test_the_built_pages_of_the_project_pass_tidy(tidy_program: str,
                                                   project_build: Path) -> None:
    from bbws_mail.pipeline.rules import allow
    from bbws_mail.pipeline.rules.locate import SourceMap
    from bbws_mail.pipeline.splice import Spliced

    pages = [tidy_mod.Page(p.read_text(encoding="utf-8"),
                           SourceMap(Spliced(p.stem, "", [(p.name, 1)], [p.name])), p.stem)
             for p in sorted(project_build.glob("*.html"))]
    assert pages
    entries, problems = allow.load(ROOT)
    assert problems == []
    found = allow.apply(tidy_mod.check(pages, tidy_program), entries, report_unused=False)
    assert [str(f) for f in found if not f.accepted] == []


def test_missing_tidy_is_a_notice_locally_and_an_error_in_ci(
        lint_project: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    project = lint_project(CLEAN)
    monkeypatch.setenv("BBWS_TIDY", str(project / "no-such-program"))
    monkeypatch.delenv("CI", raising=False)
    report = run(config.load(project), spam=False)
    assert not report.errors
    assert any("HTML Tidy check skipped: tidy is not installed" in n for n in report.notices)
    # the accepted idioms are not "unused" entries: nothing was judged
    assert not report.warnings, report.warnings
    monkeypatch.setenv("CI", "true")
    report = run(config.load(project), spam=False)
    assert [(f.rule, f.location) for f in report.errors] == [
        ("html-tidy", "scripts/system-deps.sh")]


def test_the_cli_says_by_its_verdict_that_tidy_did_not_run(
        lint_project: Callable[[Path], Path]) -> None:
    project = lint_project(CLEAN)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["BBWS_TIDY"] = str(project / "no-such-program")
    proc = subprocess.run([sys.executable, "-m", "bbws_mail.cli", "check", "--no-spam", "-q",
                           "--root", str(project)], capture_output=True, text=True,
                          env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "notice: HTML Tidy check skipped: tidy is not installed (apt-get install tidy" \
        in proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1].startswith("not run here: html-tidy")
    env["CI"] = "true"
    proc = subprocess.run([sys.executable, "-m", "bbws_mail.cli", "check", "--no-spam", "-q",
                           "--root", str(project)], capture_output=True, text=True,
                          env=env, check=False)
    assert proc.returncode == 1
    assert "scripts/system-deps.sh: error[html-tidy]: HTML Tidy check cannot run in CI" \
        in proc.stdout


def test_a_tidy_that_does_not_know_html5_is_not_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "tidy"
    old.write_text("#!/bin/sh\necho 'HTML Tidy for Mac OS X released on 31 October 2006'\n")
    old.chmod(0o755)
    monkeypatch.setenv("BBWS_TIDY", str(old))
    program, why = tidy_mod.executable()
    assert program is None and "not tidy-html5 5.6 or newer" in why
