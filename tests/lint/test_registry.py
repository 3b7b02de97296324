"""The rule registry is the one list of rules; colour names are one table."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bbws_mail.pipeline.rules import BUILD, CHECK, RULES, colors, contrast, finding
from bbws_mail.pipeline.rules.mjml import check_value
from tests.lint.conftest import CORPUS

PACKAGE = Path(__file__).resolve().parents[2] / "bbws_mail"
# the checkers, and the check command (build errors, example data, spam score)
CHECKER_DIRS = (PACKAGE / "pipeline" / "rules", PACKAGE / "check")
# a rule id passed to finding()/Finding()/add(): the first string argument of those calls
_RULE_USE = re.compile(r"""\b(?:finding|Finding|add|report)\(\s*["']([a-z0-9-]+)["']""")


def _rule_ids_in_code() -> set[str]:
    found: set[str] = set()
    for path in (p for folder in CHECKER_DIRS for p in folder.glob("*.py")):
        found.update(_RULE_USE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_rule_the_checkers_report_is_declared_and_every_declared_rule_is_used() -> None:
    used = _rule_ids_in_code()
    assert used, "the pattern must still find the checkers' rule ids"
    assert used - set(RULES) == set(), "undeclared rule ids"
    assert set(RULES) - used == set()


def test_every_rule_is_reported_by_a_checker_or_by_the_check_itself() -> None:
    from bbws_mail.pipeline.rules.checkers import CHECKERS

    named = {rule for checker in CHECKERS for rule in checker.rules}
    assert named <= set(RULES)
    # reported by the check command itself: build errors, the examples, the allow-list, and
    # the checks over all templates at once (SpamAssassin, HTML Tidy, the schemas)
    assert set(RULES) - named == {"build", "example-data", "allow-list", "spam-score",
                                  "html-tidy", "schema-meta"}


@pytest.mark.parametrize("rule", ["html-parse", "client-css"])
def test_a_rules_declared_stage_alone_decides_who_runs_it(
        lint_project: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch, rule: str
) -> None:
    """A check-stage rule's problem builds; declared build-stage, the same problem is
    found and refused by the build, with no other change."""
    from bbws_mail import config
    from bbws_mail.errors import TemplateBuildFailed
    from bbws_mail.pipeline import build_one

    project = lint_project(CORPUS / "broken" / f"{rule}.mjml")
    (project / "check-allow.toml").write_text("")
    cfg = config.load(project)
    source = cfg.templates_dir / "mini.mjml"
    built = build_one(source, cfg)
    assert rule not in {f.rule for f in built.findings}
    monkeypatch.setitem(RULES, rule, RULES[rule]._replace(stage=BUILD))
    with pytest.raises(TemplateBuildFailed) as failed:
        build_one(source, cfg)
    assert any(f"[{rule}]" in str(e) for e in failed.value.errors), failed.value.errors


def test_each_rule_states_severity_place_and_stage() -> None:
    for rule in RULES.values():
        assert rule.severity in ("error", "warning"), rule
        assert rule.stage in (BUILD, CHECK), rule
        assert rule.looks_at and rule.summary, rule


def test_an_undeclared_rule_id_is_refused() -> None:
    with pytest.raises(KeyError):
        finding("a11y-contrats", "x.mjml:1", "typo")


def test_named_colours_are_the_148_css_names_in_both_checks() -> None:
    names = colors.named_colors()
    assert len(names) == 148
    for name, value in names.items():
        assert check_value("color", name) is None, name
        assert check_value("color", name.upper()) is None, name
        parsed = contrast.parse_color(name)
        assert parsed is not None and contrast.hexify(parsed[:3]) == value, name
    assert check_value("color", "lightgrey") is None
    assert check_value("color", "notacolour") is not None


def test_a_named_colour_and_its_hex_value_get_the_same_contrast() -> None:
    named = contrast.parse_color("lightgray")
    hexed = contrast.parse_color("#d3d3d3")
    assert named is not None and hexed is not None
    white = (1.0, 1.0, 1.0)
    assert contrast.ratio(named[:3], white) == contrast.ratio(hexed[:3], white) < 4.5


def test_the_preview_gets_each_finding_once(tmp_path: Path) -> None:
    import shutil

    from bbws_mail import config
    from bbws_mail.check import check_built
    from bbws_mail.pipeline import build_one
    from tests.conftest import FIXTURES

    project = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", project)
    source = project / "templates_src/mini.mjml"
    # two check-stage problems: an empty link and a link without text
    source.write_text(source.read_text().replace(
        "Total: {{total}}", 'Total: {{total}} <a href="#">x</a> <a href="https://x.example"></a>'))
    cfg = config.load(project)
    found = check_built(cfg, build_one(source, cfg))
    assert {f.rule for f in found} >= {"link-empty", "link-text"}
    assert len(found) == len(set(found)), found
