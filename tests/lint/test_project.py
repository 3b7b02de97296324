"""The real templates pass every quality gate (spam score included where it can run)."""

from __future__ import annotations

import os

import pytest

from bbws_mail import config
from bbws_mail.check import run
from bbws_mail.check import spam as spam_mod
from bbws_mail.check import tidy as tidy_mod
from bbws_mail.pipeline import discover
from tests.conftest import ROOT


def test_the_project_passes_every_check() -> None:
    can_score = spam_mod.executable() is not None
    if not can_score and os.environ.get("CI"):
        pytest.fail("spamassassin must be installed in CI (scripts/system-deps.sh)")
    tidy_program, why = tidy_mod.executable()
    if not tidy_program and os.environ.get("CI"):
        pytest.fail(f"tidy must be installed in CI (scripts/system-deps.sh): {why}")
    report = run(config.load(ROOT), spam=can_score)
    assert report.templates == [p.stem for p in discover(ROOT / "templates_src")]
    assert not report.errors, "\n".join(str(f) for f in report.errors)
    assert not report.warnings, "\n".join(str(f) for f in report.warnings)
    if can_score:
        assert set(report.spam) == set(report.templates)
        assert all(r.score <= 2.0 for r in report.spam.values())
    if tidy_program:  # the html-tidy stage ran on every page: MRML's idioms were accepted
        assert not [n for n in report.notices if "Tidy" in n]
        assert {f.template for f in report.accepted if f.rule == "html-tidy"} == set(
            report.templates)
    # every accepted finding carries its reviewed reason
    assert all(f.accepted.strip() for f in report.accepted)
