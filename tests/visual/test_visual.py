"""Visual regression: every template's shots against baselines, catching real changes.

Runs by default (marker ``visual``) and skips only when no Chromium exists. One
Playwright and one Camera (one browser, one page per viewport) serve the module.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbws_mail.mustache import Template
from bbws_mail.pipeline import discover
from bbws_mail.visual.browser import find_chromium, unpinned_families
from bbws_mail.visual.compare import compare
from bbws_mail.visual.layout import describe_region, fonts_used, layout_problems
from bbws_mail.visual.report import Failure, write_report
from bbws_mail.visual.runner import FINGERPRINT, UpdateRefused, run_visual
from bbws_mail.visual.shoot import VARIANTS, Camera, rendered_examples
from tests.conftest import ROOT

pytestmark = [
    pytest.mark.visual,
    pytest.mark.skipif(find_chromium() is None,
                       reason="no Chromium found (apt-get install chromium, or set BBWS_CHROMIUM)"),
]
BASELINES = ROOT / "tests/visual/baselines"
EXAMPLES = ROOT / "schemas/examples"
DESKTOP, MOBILE, DARK = VARIANTS
NAME = "order_confirmation_customer"
Box = tuple[float, float, float, float]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def built(project_build: Path) -> tuple[str, dict[str, str]]:
    """The asset base URL and every template rendered with its example."""
    return rendered_examples(project_build, EXAMPLES)


@pytest.fixture(scope="module")
def cam(playwright: Any, built: tuple[str, dict[str, str]]) -> Iterator[Camera]:
    c = Camera(playwright, ROOT / "assets", built[0])
    yield c
    c.close()


def _render(html_template: str, asset_base_url: str, name: str = NAME) -> str:
    """What bbws_mail.render does with a built template's HTML, for an edited copy."""
    data = json.loads((EXAMPLES / f"{name}.json").read_text())
    return Template(html_template).render(data, {"assetBaseUrl": asset_base_url})


def _element_box(page: Any, selector: str, scale: int) -> Box:
    box = page.locator(selector).first.bounding_box()
    assert box, selector
    return (box["x"] * scale, box["y"] * scale, (box["x"] + box["width"]) * scale,
            (box["y"] + box["height"]) * scale)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_all_templates_match_baselines_with_sound_layout(
        tmp_path: Path, cam: Camera, project_build: Path) -> None:
    result = run_visual(build_dir=project_build, examples_dir=EXAMPLES,
                        assets_dir=ROOT / "assets", baselines=BASELINES,
                        report_dir=tmp_path / "report", log=lambda _m: None, camera=cam)
    assert result.shots == len(discover(ROOT / "templates_src")) * len(VARIANTS)
    assert result.layout == []
    assert result.failures == [], f"see {result.report}"
    for note in result.notes:  # e.g. another Chromium: compared with a budget, not strictly
        warnings.warn(note, stacklevel=1)
    assert (tmp_path / "report/index.html").exists()


def test_text_is_drawn_with_pinned_fonts_only(cam: Camera,
                                               built: tuple[str, dict[str, str]]) -> None:
    page = cam.load(DESKTOP, built[1][NAME])
    used = fonts_used(page)
    assert sum(used.values()) > 500 and unpinned_families(sorted(used)) == [], used
    cam.load(DESKTOP, "<p style=\"font-family:'DejaVu Serif'\">Serif</p>")
    assert set(fonts_used(page)) == {"DejaVu Serif"}
    installed = cam.fingerprint
    assert "missing" not in installed["font_packages"].values(), installed["font_packages"]


def test_unchanged_run_is_byte_identical(cam: Camera, playwright: Any,
                                         built: tuple[str, dict[str, str]]) -> None:
    html = built[1][NAME]
    first = cam.shoot(MOBILE, html)
    assert cam.shoot(MOBILE, html) == first  # the same page again
    other = Camera(playwright, ROOT / "assets", built[0])  # a second browser process
    try:
        assert other.shoot(MOBILE, html) == first
    finally:
        other.close()
    stored = json.loads((BASELINES / FINGERPRINT).read_text())
    if stored == cam.fingerprint:  # where the baselines were made, shots are the baselines
        assert first == (BASELINES / f"{NAME}__mobile.png").read_bytes()


CHANGES = [
    # (id, old, new, selector of the changed element) in the built HTML
    ("word", ">Your order is confirmed<", ">Your order is accepted<",
     "text=Your order is accepted"),
    # the button's label colour, whatever the brand colour behind it is
    ("colour", r"(background:#[0-9a-f]{6};color:)#ffffff;", r"\1#fde047;", "text=View your order"),
    ("padding-2px", "padding:8px 28px;padding-top:20px;", "padding:8px 30px;padding-top:20px;",
     "text=Your order is confirmed"),
]


@pytest.mark.parametrize("change", CHANGES, ids=[c[0] for c in CHANGES])
def test_changes_are_caught_where_they_happen(
        cam: Camera, tmp_path: Path, project_build: Path, built: tuple[str, dict[str, str]],
        change: tuple[str, str, str, str]) -> None:
    _, old, new, selector = change
    source = (project_build / f"{NAME}.html").read_text()
    edited, count = re.subn(old if change[0] == "colour" else re.escape(old),
                            new if change[0] == "colour" else new.replace("\\", "\\\\"),
                            source)
    assert count == 1, f"the template changed; pick another target than {old!r}"
    actual = cam.shoot(DESKTOP, _render(edited, built[0]))
    baseline = (BASELINES / f"{NAME}__desktop.png").read_bytes()
    result = compare(baseline, actual)
    assert not result.ok(budget=0)
    assert not result.size_changed, result.describe()
    assert result.bbox is not None and result.differing > 0
    page = cam.pages[DESKTOP.name]
    element = _element_box(page, selector, DESKTOP.scale)
    assert _overlaps(result.bbox, element), (result.bbox, element)
    css_box = result.css_box(DESKTOP.scale)
    assert css_box is not None
    result.where = describe_region(page, css_box)
    label = selector.removeprefix("text=")
    assert label in result.where, result.where  # the report names what changed
    report = write_report(tmp_path, [Failure(f"{NAME}__desktop", result, actual, baseline)], [])
    text = report.read_text()
    assert f"{result.differing} pixel(s) differ in box {result.bbox}" in text
    assert label in text
    for kind in ("baseline", "actual", "diff"):
        assert (tmp_path / f"{NAME}__desktop.{kind}.png").stat().st_size > 0


def test_size_change_reports_old_and_new_size(cam: Camera, project_build: Path,
                                              built: tuple[str, dict[str, str]]) -> None:
    source = (project_build / f"{NAME}.html").read_text()
    taller = source.replace(">Your order is confirmed<", ">Your order<br>is confirmed<")
    result = compare((BASELINES / f"{NAME}__desktop.png").read_bytes(),
                     cam.shoot(DESKTOP, _render(taller, built[0])))
    assert result.size_changed and not result.ok(budget=10**9)
    old_w, old_h = result.old_size
    assert result.new_size[0] == old_w and result.new_size[1] > old_h
    assert result.describe() == (f"size changed from {old_w}x{old_h} to "
                                 f"{result.new_size[0]}x{result.new_size[1]}")


def _mini_with_section(mini: Path, section: str) -> tuple[str, str]:
    """Build the mini project with ``section`` added; its asset base URL and rendered HTML."""
    from bbws_mail import config
    from bbws_mail.pipeline import build

    tpl = mini / "templates_src/mini.mjml"
    tpl.write_text(tpl.read_text().replace('<mj-include path="partials/footer.mjml" />',
                                           section + '<mj-include path="partials/footer.mjml" />'))
    build(config.load(mini), mini / "build")
    base, pages = rendered_examples(mini / "build", mini / "schemas/examples")
    return base, pages["mini"]


# Two price tables side by side; inside mj-group the columns never stack on a phone.
TWO_COLUMNS = """<mj-section>{open}
  <mj-column><mj-table width="280px"><tr><td>Plan</td><td>R149.00</td></tr></mj-table></mj-column>
  <mj-column><mj-table width="280px"><tr><td>Backups</td><td>R49.00</td></tr></mj-table></mj-column>
{close}</mj-section>"""


def test_columns_that_do_not_stack_overflow_on_mobile(playwright: Any, mini: Path) -> None:
    grouped = TWO_COLUMNS.format(open="<mj-group>", close="</mj-group>")  # never stacks
    base, html = _mini_with_section(mini, grouped)
    c = Camera(playwright, ROOT / "assets", base)
    try:
        c.load(MOBILE, html)
        problems = layout_problems(c.pages[MOBILE.name], dark=False)
        assert any(p.startswith("horizontal overflow: content is") and
                   p.endswith("wide in a 375px viewport") for p in problems), problems
        c.load(DESKTOP, html)  # side by side is fine where there is room
        assert not any("overflow" in p for p in layout_problems(c.pages[DESKTOP.name],
                                                                 dark=False))
    finally:
        c.close()


def test_stacking_columns_pass_the_overflow_assertion(playwright: Any, mini: Path) -> None:
    base, html = _mini_with_section(mini, TWO_COLUMNS.format(open="", close=""))
    c = Camera(playwright, ROOT / "assets", base)
    try:
        c.load(MOBILE, html)
        problems = layout_problems(c.pages[MOBILE.name], dark=False)
        assert not any("overflow" in p for p in problems), problems
    finally:
        c.close()


def test_broken_image_hidden_footer_and_invisible_dark_text_are_caught(
        cam: Camera, built: tuple[str, dict[str, str]]) -> None:
    html = built[1][NAME]
    broken, count = re.subn(r"/logo\.[0-9a-f]{16}\.png", "/no-such-logo.png", html)
    assert count
    cam.load(MOBILE, broken)
    problems = layout_problems(cam.pages[MOBILE.name], dark=False)
    assert any(p.startswith("image did not load:") and "no-such-logo.png" in p
               for p in problems), problems
    hidden = html.replace("</head>", "<style>.bb-footer{display:none!important}</style></head>")
    cam.load(MOBILE, hidden)
    problems = layout_problems(cam.pages[MOBILE.name], dark=False)
    assert "footer: unsubscribe link is not visible" in problems
    assert "footer: postal address is not visible" in problems
    unreadable = html.replace(
        "</head>", "<style>@media (prefers-color-scheme: dark){.bb-card div{color:#1f2937"
        " !important}}</style></head>", 1)
    cam.load(DARK, unreadable)
    problems = layout_problems(cam.pages[DARK.name], dark=True)
    assert any("text colour equals its background" in p and "Your order is confirmed" in p
               for p in problems), problems
    cam.load(MOBILE, unreadable)  # the same page in light mode is fine
    assert layout_problems(cam.pages[MOBILE.name], dark=False) == []


def test_outside_requests_are_blocked_and_logo_served_locally(
        cam: Camera, built: tuple[str, dict[str, str]]) -> None:
    html = built[1][NAME].replace(
        "</head>", '<link rel="stylesheet" href="https://fonts.example.com/x.css"></head>', 1)
    before = len(cam.blocked)
    cam.load(DESKTOP, html)
    assert cam.blocked[before:] == ["https://fonts.example.com/x.css"]
    natural = cam.pages[DESKTOP.name].evaluate(
        "[...document.images].map(i => [i.src, i.naturalWidth])")
    assert natural and all(src.startswith(built[0]) and width > 0 for src, width in natural)


def _mini_project(mini: Path) -> Path:
    """The mini project made complete for a visual run: a logo and a footer with an address."""
    shutil.copytree(ROOT / "assets", mini / "assets")
    footer = mini / "templates_src/partials/footer.mjml"
    footer.write_text(footer.read_text().replace("Cape Town.", "Cape Town, South Africa."))
    return mini


def test_update_refuses_a_foreign_environment_unless_forced(
        tmp_path: Path, cam: Camera, mini: Path) -> None:
    from bbws_mail import config
    from bbws_mail.pipeline import build

    project = _mini_project(mini)
    build(config.load(project), project / "build")
    baselines = tmp_path / "baselines"
    kwargs: dict[str, Any] = dict(build_dir=project / "build", assets_dir=project / "assets",
                                  examples_dir=project / "schemas/examples", baselines=baselines,
                                  report_dir=tmp_path / "r", log=lambda _m: None, camera=cam)
    first = run_visual(update=True, **kwargs)  # no baselines yet: take them
    assert first.updated == ["mini__desktop", "mini__mobile", "mini__mobile-dark"]
    stored = json.loads((baselines / FINGERPRINT).read_text())
    (baselines / FINGERPRINT).write_text(json.dumps({**stored, "browser": "0.0"}))
    with pytest.raises(UpdateRefused, match="another environment"):
        run_visual(update=True, **kwargs)
    result = run_visual(**kwargs)  # a foreign fingerprint compares with a budget, and says so
    assert result.ok and result.shots == 3
    assert any("environment differs" in n and "browser: '0.0'" in n for n in result.notes)
    with pytest.raises(UpdateRefused, match="drop --only"):
        run_visual(update=True, force=True, only=["mini"], **kwargs)
    (baselines / "mini__desktop.png").unlink()
    (baselines / "gone__desktop.png").write_bytes(b"")  # a template that no longer exists
    forced = run_visual(update=True, force=True, **kwargs)
    assert forced.updated == ["mini__desktop", "gone__desktop (removed)"]
    assert json.loads((baselines / FINGERPRINT).read_text()) == stored
    assert sorted(p.name for p in baselines.iterdir()) == [
        FINGERPRINT, "mini__desktop.png", "mini__mobile-dark.png", "mini__mobile.png"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bbws_mail.visual", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_command_line_update_then_catch_a_change(mini: Path, tmp_path: Path) -> None:
    project = _mini_project(mini)
    report_dir = tmp_path / "report"
    done = _cli("--root", str(project), "--update")
    assert done.returncode == 0, done.stderr
    assert "updated 3 baseline(s)" in done.stdout
    assert (project / "tests/visual/baselines/mini__mobile.png").exists()
    tpl = project / "templates_src/mini.mjml"
    tpl.write_text(tpl.read_text().replace("View order", "View orders"))
    done = _cli("--root", str(project), "--report-dir", str(report_dir))
    assert done.returncode == 1, done.stderr
    assert f"report: {report_dir / 'index.html'}" in done.stdout
    assert "FAIL mini__desktop: " in done.stdout
    assert 'text there: "View orders"' in done.stdout
    output = done.stdout + done.stderr
    for shot in ("mini__desktop", "mini__mobile", "mini__mobile-dark"):
        assert output.count(f"{shot}:") == 1, output  # each failure printed once
    report = (report_dir / "index.html").read_text()
    assert '<a href="#tpl-mini">mini</a>' in report and '<section id="tpl-mini">' in report
    assert "3 shot(s), 3 different, 0 layout problem(s)" in done.stdout


def test_region_text_keeps_inline_elements_whole(cam: Camera) -> None:
    cam.load(DESKTOP, '<p style="margin:0;font-size:20px">Order <strong>BB-2026-1</strong> '
                      'was placed on <a href="https://x.example">Monday</a>.</p>')
    page = cam.pages[DESKTOP.name]
    where = describe_region(page, (0, 0, 40, 10))
    assert '"Order BB-2026-1 was placed on Monday."' in where, where
