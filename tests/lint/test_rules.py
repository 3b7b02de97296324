"""The checkers' building blocks: value types, contrast maths, allow-list, CLI output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bbws_mail import config
from bbws_mail.check import run
from bbws_mail.pipeline.rules import allow, contrast
from bbws_mail.pipeline.rules.findings import ERROR, WARNING, Finding, split_location
from bbws_mail.pipeline.rules.mjml import check_value
from tests.lint.conftest import CORPUS

BROKEN = CORPUS / "broken"
CLEAN = CORPUS / "clean"


@pytest.mark.parametrize(("kind", "value", "ok"), [
    ("color", "#4c1d95", True), ("color", "#fff", True), ("color", "rebeccapurple", True),
    ("color", "rgb(1, 2, 3)", True), ("color", "#12", False), ("color", "purplish", False),
    ("unit(px,%){1,4}", "10px 0 5% 2px", True), ("unit(px,%){1,4}", "banana", False),
    ("unit(px,%){1,4}", "1px 2px 3px 4px 5px", False), ("unit(px)", "10em", False),
    ("unit(px,%,)", "1.5", True), ("unit(px)", "1.5", False), ("unit(px,auto)", "auto", True),
    ("enum(left,center,right)", "middle", False), ("enum(full-width,false,)", "", True),
    ("boolean", "yes", False), ("integer", "6", True), ("integer", "6px", False),
    ("url", "{{payUrl}}", True), ("text", "Hello {{name}}", True),
])
def test_attribute_value_types(kind: str, value: str, ok: bool) -> None:
    assert (check_value(kind, value) is None) is ok


@pytest.mark.parametrize("kind", ["color", "unit(px)", "enum(a,b)", "boolean", "string"])
def test_placeholders_only_in_url_and_text(kind: str) -> None:
    assert check_value(kind, "{{brandColor}}") == "placeholder"


@pytest.mark.parametrize(("fg", "bg", "expected"), [
    ("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0),
    ("#777777", "#ffffff", 4.48), ("#4b5563", "#f3f4f6", 6.87), ("#767676", "#ffffff", 4.54),
])
def test_wcag_contrast_ratio(fg: str, bg: str, expected: float) -> None:
    f, b = contrast.parse_color(fg), contrast.parse_color(bg)
    assert f and b
    assert contrast.ratio(f[:3], b[:3]) == pytest.approx(expected, abs=0.01)


def test_contrast_uses_bgcolor_inheritance_and_large_text() -> None:
    from bbws_mail.pipeline.rules.locate import SourceMap
    from bbws_mail.pipeline.splice import Spliced

    where = SourceMap(Spliced("t", "", [("t.mjml", 1)], ["t.mjml"]))
    page = ('<html><body><table bgcolor="#4c1d95"><tr><td>'
            '<p style="color:#6d28d9">low</p>'
            '<p style="color:#ffffff">fine</p></td></tr></table>'
            '<p style="color:#949494;font-size:24px">big grey</p>'
            '<p style="color:#949494">small grey</p></body></html>')
    found = contrast.check(page, where, "t")
    texts = [f.message for f in found]
    assert any("'low'" in t and "on #4c1d95" in t for t in texts), texts
    assert not any("'fine'" in t for t in texts)
    assert not any("'big grey'" in t for t in texts)  # 3.03:1 is enough for 24px text
    assert any("'small grey'" in t for t in texts)


def test_split_location() -> None:
    assert split_location("templates_src/a.mjml:12:5") == ("templates_src/a.mjml", 12, 5)
    assert split_location("templates_src/a.mjml:12") == ("templates_src/a.mjml", 12, 0)
    assert split_location("check-allow.toml") == ("check-allow.toml", 0, 0)


def test_allow_list_needs_a_reason_and_reports_unused(tmp_path: Path) -> None:
    (tmp_path / "check-allow.toml").write_text(
        '[[accept]]\nrule = "client-css"\nsubject = "css-opacity"\n\n'
        '[[accept]]\nrule = "client-css"\nsubject = "css-border-radius"\nreason = "square is ok"\n'
        '\n[[accept]]\nrule = "link-scheme"\nreason = "never used"\n', encoding="utf-8")
    entries, problems = allow.load(tmp_path)
    assert [str(p) for p in problems] == [
        "check-allow.toml:1: error[allow-list]: entry for client-css has no reason: "
        "say why it is acceptable"]
    finding = Finding("client-css", ERROR, "x.mjml:1", "m", "order", subject="css-border-radius")
    other = Finding("client-css", ERROR, "x.mjml:2", "m", "order", subject="css-opacity")
    out = allow.apply([finding, other], entries)
    assert out[0].accepted == "square is ok"
    assert out[1].accepted == ""  # the entry without a reason accepts nothing
    assert out[2].rule == "allow-list" and out[2].severity == WARNING
    assert out[2].location == "check-allow.toml:10"


@pytest.mark.parametrize(("content", "says"), [
    (b'[[accept]]\nrule = "client-css"\nreason = "Zo\xeb"\n', "not UTF-8"),
    (b'accept = "x"\n', "[[accept]] entries"),
    (b"accept = [1, 2]\n", "[[accept]] entries"),
    (b'[[accept]]\nrule = 5\nreason = "r"\n', "rule must be a string"),
    (b'[[accept]]\nrule = "x"\nreason = "r"\ntemplates = 5\n', "templates must be"),
    (b'[[accept]]\nrule = "x"\nreason = "r"\ntemplates = [1]\n', "templates must be"),
    (b'[[accept]]\nrule = "x"\nreason = ["r"]\n', "reason must be a string"),
    (b'[[accept]]\nrule = = "x"\n', "not valid TOML: Invalid value"),
])
def test_an_allow_list_of_the_wrong_shape_is_a_problem_not_a_crash(
        tmp_path: Path, content: bytes, says: str) -> None:
    (tmp_path / "check-allow.toml").write_bytes(content)
    entries, problems = allow.load(tmp_path)
    assert entries == []
    assert [p.rule for p in problems] == ["allow-list"] and says in problems[0].message, problems
    if "TOML" in says:
        assert problems[0].location == "check-allow.toml:2:8"


def test_cli_text_output_and_exit_code(lint_project: Callable[[Path], Path]) -> None:
    project = lint_project(BROKEN / "a11y-contrast.mjml")
    proc = subprocess.run([sys.executable, "-m", "bbws_mail.cli", "check", "--no-spam",
                           "--root", str(project)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any(line.startswith("templates_src/mini.mjml:25:") and
               ": error[a11y-contrast]: " in line for line in lines), proc.stdout
    assert "check FAILED: " in proc.stdout
    assert any(line.startswith("mini ") for line in lines)  # the summary table


def test_cli_json_output(lint_project: Callable[[Path], Path]) -> None:
    project = lint_project(BROKEN / "link-scheme.mjml")
    proc = subprocess.run([sys.executable, "-m", "bbws_mail.cli", "check", "--no-spam",
                           "--format", "json", "--root", str(project)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["errors"] >= 1
    hit = next(f for f in data["findings"] if f["rule"] == "link-scheme")
    assert hit["file"] == "templates_src/mini.mjml" and hit["line"] > 0
    assert hit["severity"] == "error" and hit["template"] == "mini"


def test_clean_project_exits_zero(lint_project: Callable[[Path], Path]) -> None:
    project = lint_project(CLEAN / "mini.mjml")
    proc = subprocess.run([sys.executable, "-m", "bbws_mail.cli", "check", "--no-spam",
                           "--root", str(project)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check passed" in proc.stdout


def test_missing_spamassassin_is_a_notice_locally_and_an_error_in_ci(
        lint_project: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    project = lint_project(CLEAN / "mini.mjml")
    monkeypatch.setenv("BBWS_SPAMASSASSIN", str(project / "no-such-program"))
    monkeypatch.delenv("CI", raising=False)
    report = run(config.load(project))
    assert not report.errors
    assert any("spamassassin is not installed" in n for n in report.notices)
    monkeypatch.setenv("CI", "true")
    report = run(config.load(project))
    assert [f.rule for f in report.errors] == ["spam-score"]


def test_unknown_check_setting_is_refused(lint_project: Callable[[Path], Path]) -> None:
    project = lint_project(CLEAN / "mini.mjml")
    with (project / "bbws-mail.toml").open("a") as fh:
        fh.write("spam_max_scor = 3\n")
    with pytest.raises(config.ConfigError, match="spam_max_scor"):
        config.load(project)


@pytest.mark.skipif(not os.environ.get("CI") and not __import__("shutil").which("spamassassin"),
                    reason="spamassassin is not installed")
def test_spam_score_reports_the_rules_that_hit(lint_project: Callable[[Path], Path]) -> None:
    report = run(config.load(lint_project(BROKEN / "spam-score.mjml")))
    hit = next(f for f in report.errors if f.rule == "spam-score")
    assert "over 2.0" in hit.message
    result = report.spam["mini"]
    assert result.score > 2.0 and result.hits
    assert all(rule in hit.message for rule, pts in result.hits if pts >= 0.5)


def test_a_parse_error_is_reported_in_the_file_and_line_that_holds_it(tmp_path: Path) -> None:
    import shutil

    from tests.conftest import FIXTURES

    project = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", project)
    link = '<a href="https://www.bbws.co.za/terms">'
    template = project / "templates_src/mini.mjml"
    template.write_text(template.read_text().replace(
        "Total: {{total}}", f"Total: {{{{total}}}} {link}Terms</a>"))  # valid, seen first
    footer = project / "templates_src/partials/footer.mjml"
    footer.write_text(footer.read_text().replace(
        "Unsubscribe</a>", f"Unsubscribe</a> {link}{link}Terms</a></a>"))  # nested: broken
    report = run(config.load(project), spam=False)
    parse = [f for f in report.findings if f.rule == "html-parse"]
    assert parse, [str(f) for f in report.findings]
    line = next(i for i, text in enumerate(footer.read_text().splitlines(), 1) if link in text)
    assert {f.location.rsplit(":", 1)[0] for f in parse} == {
        f"templates_src/partials/footer.mjml:{line}"}, [str(f) for f in parse]
