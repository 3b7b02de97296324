"""Every rule has a broken source that fails with that rule at the right place,
and the clean corpus (and the real templates, in test_project) passes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bbws_mail import config
from bbws_mail.check import RULES, run
from bbws_mail.check import spam as spam_mod
from bbws_mail.check import tidy as tidy_mod
from tests.lint.conftest import CORPUS, header

BROKEN = sorted((CORPUS / "broken").glob("*.mjml"))
CLEAN = sorted((CORPUS / "clean").glob("*.mjml"))


def test_every_rule_has_a_broken_source() -> None:
    covered = {e.split("@")[0].strip() for f in BROKEN
               for e in header(f.read_text(encoding="utf-8"))["expect"]}
    assert covered == set(RULES), f"rules without a broken source: {set(RULES) - covered}"


@pytest.mark.parametrize("source", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_source_fails_with_its_rule_and_location(
        source: Path, lint_project: Callable[[Path], Path]) -> None:
    meta = header(source.read_text(encoding="utf-8"))
    rules = [e.split("@")[0].strip() for e in meta["expect"]]
    if "spam-score" in rules and not spam_mod.executable():
        if os.environ.get("CI"):
            pytest.fail("spamassassin must be installed in CI (scripts/system-deps.sh)")
        pytest.skip("spamassassin is not installed")
    if "html-tidy" in rules and not tidy_mod.executable()[0]:
        if os.environ.get("CI"):
            pytest.fail("tidy must be installed in CI (scripts/system-deps.sh)")
        pytest.skip("tidy is not installed")
    project = lint_project(source)
    report = run(config.load(project), spam="spam-score" in rules)
    shown = "\n".join(str(f) for f in report.findings)
    for expect in meta["expect"]:
        rule, _, where = (part.strip() for part in expect.partition("@"))
        hits = [f for f in report.errors + report.warnings if f.rule == rule]
        assert hits, f"{source.name}: no {rule} finding; got:\n{shown}"
        at = [f for f in hits if f.location == where or f.location.startswith(where + ":")]
        assert at, f"{source.name}: {rule} not at {where}; got:\n{shown}"
        for text in meta.get("message", []):
            assert any(text in f.message for f in at), f"{text!r} not in {at}"
    assert report.errors, "a broken source must fail the check (exit non-zero)"


@pytest.mark.parametrize("source", CLEAN, ids=[p.stem for p in CLEAN])
def test_clean_source_passes(source: Path, lint_project: Callable[[Path], Path]) -> None:
    project = lint_project(source)
    report = run(config.load(project), spam=spam_mod.executable() is not None)
    assert not report.errors, "\n".join(str(f) for f in report.errors)
