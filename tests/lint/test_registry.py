"""The rule registry is the one list of rules; colour names are one table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bbws_mail.lint import colors, contrast
from bbws_mail.lint.mjml import check_value
from bbws_mail.lint.rules import BUILD, CHECK, RULES, finding

LINT_DIR = Path(__file__).resolve().parents[2] / "bbws_mail" / "lint"
# a rule id passed to finding()/Finding()/add(): the first string argument of those calls
_RULE_USE = re.compile(r"""\b(?:finding|Finding|add|report)\(\s*["']([a-z0-9-]+)["']""")


def _rule_ids_in_code() -> set[str]:
    found: set[str] = set()
    for path in LINT_DIR.glob("*.py"):
        found.update(_RULE_USE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_rule_the_checkers_report_is_declared_and_every_declared_rule_is_used() -> None:
    used = _rule_ids_in_code()
    assert used, "the pattern must still find the checkers' rule ids"
    assert used - set(RULES) == set(), "undeclared rule ids"
    assert set(RULES) - used == set()


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
    from bbws_mail.lint import check_built
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
