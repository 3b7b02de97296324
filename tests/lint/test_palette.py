"""color-literal: a colour written by hand in a template or partial is refused where it is
written; brand tokens, accepted literals and non-colour uses of ``#`` pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbws_mail import config
from bbws_mail.pipeline import TemplateBuildFailed, build_one, discover
from bbws_mail.pipeline.rules import palette
from bbws_mail.pipeline.splice import splice
from tests.conftest import ROOT

TEMPLATE = "templates_src/mini.mjml"
TOTAL = '<mj-text css-class="total">Total: {{total}}</mj-text>'


def _edit(project: Path, rel: str, old: str, new: str) -> tuple[int, int]:
    """Replace ``old`` by ``new`` in ``rel``; the 1-based line and column where ``new`` starts."""
    path = project / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    at = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


def _literals(project: Path) -> list[str]:
    spliced = splice(project / TEMPLATE, project / "templates_src")
    return [f"{f.location} {f.subject}" for f in palette.check(spliced)]


@pytest.mark.parametrize(("new", "literal", "offset"), [
    ('<mj-text color="#0f766e">x</mj-text>', "#0f766e", len('<mj-text color="')),
    ('<mj-text color="#FFF">x</mj-text>', "#fff", len('<mj-text color="')),
    ('<mj-text color="#0f766e80">x</mj-text>', "#0f766e80", len('<mj-text color="')),
    ('<mj-text color="rgb(15, 118, 110)">x</mj-text>', "rgb(15, 118, 110)",
     len('<mj-text color="')),
    ('<mj-text color="hsl(175 77% 26%)">x</mj-text>', "hsl(175 77% 26%)",
     len('<mj-text color="')),
    ('<mj-text color="teal">x</mj-text>', "teal", len('<mj-text color="')),
    ('<mj-divider border-top="2px dashed rebeccapurple" />', "rebeccapurple",
     len('<mj-divider border-top="2px dashed ')),
    ('<mj-text><p style="font-size:14px;color:#0f766e">x</p></mj-text>', "#0f766e",
     len('<mj-text><p style="font-size:14px;color:')),
    ('<mj-text><font color="red">x</font></mj-text>', "red", len('<mj-text><font color="')),
    ('<mj-raw><table bgcolor="#0f766e"><tr><td>x</td></tr></table></mj-raw>', "#0f766e",
     len('<mj-raw><table bgcolor="')),
    ('<mj-raw><style>/* brand */ .x { background: #0f766e; }</style></mj-raw>', "#0f766e",
     len('<mj-raw><style>/* brand */ .x { background: ')),
])
def test_a_colour_literal_is_refused_at_its_line_and_column(
        mini: Path, new: str, literal: str, offset: int) -> None:
    line, column = _edit(mini, TEMPLATE, TOTAL, TOTAL + new)
    column += len(TOTAL) + offset
    assert _literals(mini) == [f"{TEMPLATE}:{line}:{column} {literal.lower()}"]


def test_a_literal_in_a_partials_css_is_refused_in_the_partial(mini: Path) -> None:
    rel = "templates_src/partials/head.mjml"
    line, column = _edit(mini, rel, ".total { font-weight: bold; }",
                         ".total { font-weight: bold; border-bottom: 1px solid #abcdef; }")
    column += len(".total { font-weight: bold; border-bottom: 1px solid ")
    assert _literals(mini) == [f"{rel}:{line}:{column} #abcdef"]


@pytest.mark.parametrize("new", [
    '<mj-text color="${brand.primary}">x</mj-text>',
    '<mj-divider border-top="2px solid ${brand.rule}" />',
    '<mj-text><p style="color:${brand.muted}">Order #1234, ref #abc, in red ink</p></mj-text>',
    '<mj-text><a href="https://x.example/#fff">the red.png, #fff</a></mj-text>',
    '<mj-text container-background-color="transparent">x</mj-text>',
    '<mj-text><p style="background:url(\'https://x.example/red.png\')">x</p></mj-text>',
    '<mj-text font-family="\'Red Hat Text\', sans-serif">x</mj-text>',
    '<mj-text><!-- color: #fff --><span class="red">x</span></mj-text>',
    '<mj-raw><style>/* was color: #fff; */ .x { color: ${brand.text}; }</style></mj-raw>',
])
def test_tokens_and_what_is_not_a_colour_pass(mini: Path, new: str) -> None:
    _edit(mini, TEMPLATE, TOTAL, TOTAL + new)
    assert _literals(mini) == []


def test_the_error_names_the_attribute_and_the_token_of_that_colour(mini: Path) -> None:
    line, column = _edit(mini, TEMPLATE, '<mj-button href="{{orderUrl}}">',
                         '<mj-button href="{{orderUrl}}" background-color="#4C1D95">')
    column += len('<mj-button href="{{orderUrl}}" background-color="')
    cfg = config.load(mini)
    with pytest.raises(TemplateBuildFailed) as caught:
        build_one(mini / TEMPLATE, cfg)
    [error] = caught.value.errors
    assert str(error.location) == f"{TEMPLATE}:{line}:{column}"
    assert "background-color on <mj-button>: the colour #4C1D95" in error.message
    assert "write ${brand.primary}" in error.message
    assert error.message.endswith("[color-literal]")


def test_a_literal_accepted_with_a_reason_builds(mini: Path) -> None:
    _edit(mini, TEMPLATE, '<mj-button href="{{orderUrl}}">',
          '<mj-button href="{{orderUrl}}" background-color="#0f766e">')
    cfg = config.load(mini)
    with pytest.raises(TemplateBuildFailed):
        build_one(mini / TEMPLATE, cfg)
    (mini / "check-allow.toml").write_text(
        '[[accept]]\nrule = "color-literal"\nsubject = "#0f766e"\ntemplates = ["mini"]\n'
        'reason = "the campaign button keeps the partner\'s colour"\n', encoding="utf-8")
    built = build_one(mini / TEMPLATE, config.load(mini))
    [accepted] = [f for f in built.findings if f.rule == "color-literal"]
    assert accepted.accepted == "the campaign button keeps the partner's colour"
    assert "#0f766e" in built.html


def test_an_acceptance_for_another_colour_accepts_nothing(mini: Path) -> None:
    _edit(mini, TEMPLATE, '<mj-button href="{{orderUrl}}">',
          '<mj-button href="{{orderUrl}}" background-color="#0f766e">')
    (mini / "check-allow.toml").write_text(
        '[[accept]]\nrule = "color-literal"\nsubject = "#000000"\nreason = "black is fine"\n',
        encoding="utf-8")
    with pytest.raises(TemplateBuildFailed):
        build_one(mini / TEMPLATE, config.load(mini))


@pytest.mark.parametrize("path", discover(ROOT / "templates_src"), ids=lambda p: p.stem)
def test_the_projects_templates_write_colours_as_brand_tokens_only(path: Path) -> None:
    assert palette.check(splice(path, ROOT / "templates_src")) == []


def test_brand_spans_cover_exactly_the_values_the_splice_wrote(mini: Path) -> None:
    _edit(mini, TEMPLATE, TOTAL, TOTAL + '<mj-text color="${brand.text}">${brand.muted}'
          '</mj-text>')
    spliced = splice(mini / TEMPLATE, mini / "templates_src")
    written = [spliced.text[s:e] for s, e in spliced.brand_spans]
    # the head partial's dark page colour first (spliced before the body), then the body's
    assert written == ["#111111", "#1f2937", "#4b5563"]


@pytest.mark.parametrize(("a", "b"), [
    ("#FFF", "#ffffff"), ("white", "#ffffff"), ("rgb(255, 255, 255)", "#fff"),
    ("#ffffffff", "#ffffff"), ("rgba(0,0,0,0.5)", "#00000080"),
])
def test_normalised_colours_compare_equal(a: str, b: str) -> None:
    assert palette.normalised(a) == palette.normalised(b) != ""
