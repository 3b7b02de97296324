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

from bbws_mail import config
from bbws_mail.errors import VisualError
from bbws_mail.mustache import Template
from bbws_mail.pipeline import discover
from bbws_mail.visual.baselines import FINGERPRINT, Baselines
from bbws_mail.visual.browser import find_chromium, unpinned_families
from bbws_mail.visual.compare import compare
from bbws_mail.visual.layout import describe_region, fonts_used, layout_problems
from bbws_mail.visual.report import Failure, write_report
from bbws_mail.visual.runner import run_visual
from bbws_mail.visual.shoot import VARIANTS, Camera, rendered_examples
from tests.conftest import BRAND, FIXTURES, ROOT

pytestmark = [
    pytest.mark.visual,
    pytest.mark.skipif(find_chromium() is None,
                       reason="no Chromium found (apt-get install chromium, or set BBWS_CHROMIUM)"),
]
BASELINES = ROOT / "tests/visual/baselines"
EXAMPLES = ROOT / "schemas/examples"
DESKTOP, MOBILE, DARK = VARIANTS
NAME = "order_confirmation_customer"
ADDRESS = config.load(ROOT).company.values["address"]  # what every footer must show
MINI_ADDRESS = config.load(FIXTURES / "mini").company.values["address"]
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
    result = run_visual(build_dir=project_build, examples_dir=EXAMPLES, address=ADDRESS,
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
    # where the baseline was taken, shots are the baseline
    if Baselines(BASELINES).environment(f"{NAME}__mobile") == cam.fingerprint:
        assert first == (BASELINES / f"{NAME}__mobile.png").read_bytes()


CHANGES = [
    # (id, old, new, selector of the changed element) in the built HTML
    ("word", ">Your order is confirmed<", ">Your order is accepted<",
     "text=Your order is accepted"),
    # the button's label colour, whatever the brand colour behind it is
    ("colour", rf"(background:#[0-9a-f]{{6}};color:){BRAND['on_primary']};", r"\1#fde047;",
     "text=View your order"),
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
        problems = layout_problems(c.pages[MOBILE.name], dark=False, address=MINI_ADDRESS)
        assert any(p.startswith("horizontal overflow: content is") and
                   p.endswith("wide in a 375px viewport") for p in problems), problems
        c.load(DESKTOP, html)  # side by side is fine where there is room
        problems = layout_problems(c.pages[DESKTOP.name], dark=False, address=MINI_ADDRESS)
        assert not any("overflow" in p for p in problems)
    finally:
        c.close()


def test_stacking_columns_pass_the_overflow_assertion(playwright: Any, mini: Path) -> None:
    base, html = _mini_with_section(mini, TWO_COLUMNS.format(open="", close=""))
    c = Camera(playwright, ROOT / "assets", base)
    try:
        c.load(MOBILE, html)
        problems = layout_problems(c.pages[MOBILE.name], dark=False, address=MINI_ADDRESS)
        assert not any("overflow" in p for p in problems), problems
    finally:
        c.close()


def test_broken_image_hidden_footer_and_invisible_dark_text_are_caught(
        cam: Camera, built: tuple[str, dict[str, str]]) -> None:
    html = built[1][NAME]
    broken, count = re.subn(r"/logo\.[0-9a-f]{16}\.png", "/no-such-logo.png", html)
    assert count
    cam.load(MOBILE, broken)
    problems = layout_problems(cam.pages[MOBILE.name], dark=False, address=ADDRESS)
    assert any(p.startswith("image did not load:") and "no-such-logo.png" in p
               for p in problems), problems
    hidden = html.replace("</head>", "<style>.bb-footer{display:none!important}</style></head>")
    cam.load(MOBILE, hidden)
    problems = layout_problems(cam.pages[MOBILE.name], dark=False, address=ADDRESS)
    assert "footer: unsubscribe link is not visible" in problems
    assert "footer: postal address is not visible" in problems
    unreadable = html.replace(
        "</head>", "<style>@media (prefers-color-scheme: dark){.bb-card div{color:"
        f"{BRAND['dark_card']} !important}}}}</style></head>", 1)
    cam.load(DARK, unreadable)
    problems = layout_problems(cam.pages[DARK.name], dark=True, address=ADDRESS)
    assert any("text colour equals its background" in p and "Your order is confirmed" in p
               for p in problems), problems
    cam.load(MOBILE, unreadable)  # the same page in light mode is fine
    assert layout_problems(cam.pages[MOBILE.name], dark=False, address=ADDRESS) == []


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
    """The mini project made complete for a visual run: the logo."""
    shutil.copytree(ROOT / "assets", mini / "assets")
    return mini


def _two_templates(mini: Path) -> Path:
    """The visual mini project with a second template, ``other``: a copy of ``mini``."""
    project = _mini_project(mini)
    for folder, suffix in (("templates_src", ".mjml"), ("schemas", ".schema.json"),
                           ("schemas/examples", ".json")):
        text = (project / folder / f"mini{suffix}").read_text()
        text = text.replace("mini.schema", "other.schema")
        (project / folder / f"other{suffix}").write_text(text)
    toml = project / "bbws-mail.toml"
    toml.write_text(toml.read_text().replace('mini = "notifications"',
                                             'mini = "notifications"\nother = "notifications"'))
    return project


def _as_if_another_browser(baselines: Path, version: str = "0.0") -> None:
    """Rewrite the recorded browser version of every environment, as an update would leave it."""
    doc = json.loads((baselines / FINGERPRINT).read_text())
    for env in doc["environments"].values():
        env["browser"] = version
    (baselines / FINGERPRINT).write_text(json.dumps(doc))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_update_in_another_environment_retakes_only_what_it_names(
        tmp_path: Path, cam: Camera, mini: Path) -> None:
    from bbws_mail import config
    from bbws_mail.pipeline import build

    project = _two_templates(mini)
    build(config.load(project), project / "build")
    baselines = tmp_path / "baselines"
    kwargs: dict[str, Any] = dict(build_dir=project / "build", assets_dir=project / "assets",
                                  address=config.load(project).company.values["address"],
                                  examples_dir=project / "schemas/examples", baselines=baselines,
                                  report_dir=tmp_path / "r", log=lambda _m: None, camera=cam)
    first = run_visual(update=True, **kwargs)  # no baselines yet: take them all
    assert first.updated == [f"{n}__{v.name}" for n in ("mini", "other") for v in VARIANTS]
    assert sorted(json.loads((baselines / FINGERPRINT).read_text())["shots"]) == sorted(
        first.updated)
    _as_if_another_browser(baselines)
    before = _files(baselines)

    with pytest.raises(VisualError, match="refusing to retake every baseline"):
        run_visual(update=True, **kwargs)  # a full update would re-bless every shot
    assert _files(baselines) == before
    result = run_visual(**kwargs)  # identical shots pass in another environment, and it says so
    assert result.ok and result.shots == 6
    assert any("taken in another environment (browser: '0.0'" in n for n in result.notes)

    # a designer changes `other` and retakes it: `mini` is compared first, never retaken
    tpl = project / "templates_src/other.mjml"
    tpl.write_text(tpl.read_text().replace("View order", "View the order"))
    build(config.load(project), project / "build")
    done = run_visual(update=True, only=["other"], **kwargs)
    assert done.compared == 3 and sorted(done.updated) == sorted(
        f"other__{v.name}" for v in VARIANTS)
    after = _files(baselines)
    assert {k for k in after if after[k] != before.get(k)} == {
        FINGERPRINT, *(f"other__{v.name}.{ext}" for v in VARIANTS for ext in ("png", "json"))}
    store = Baselines(baselines)
    assert store.environment("other__desktop") == cam.fingerprint  # stamped where it was taken
    assert store.environment("mini__desktop")["browser"] == "0.0"  # untouched, stamp kept
    assert run_visual(**kwargs).ok

    # an unapproved change in `mini` stops the update of `other` before anything is written
    tpl = project / "templates_src/mini.mjml"
    tpl.write_text(tpl.read_text().replace("View order", "View orders"))
    tpl = project / "templates_src/other.mjml"
    tpl.write_text(tpl.read_text().replace("View the order", "View this order"))
    build(config.load(project), project / "build")
    snapshot = _files(baselines)
    with pytest.raises(VisualError, match=r"refusing to update: 3 shot\(s\).*mini__desktop"):
        run_visual(update=True, only=["other"], **kwargs)
    assert _files(baselines) == snapshot
    forced = run_visual(update=True, force=True, only=["other"], **kwargs)  # on purpose
    assert forced.compared == 0 and len(forced.updated) == 3

    (baselines / "mini__desktop.png").unlink()
    (baselines / "gone__desktop.png").write_bytes(b"")  # a template that no longer exists
    everything = run_visual(update=True, force=True, **kwargs)
    assert "mini__desktop" in everything.updated and "gone__desktop (removed)" in everything.updated
    assert {Baselines(baselines).environment(s)["browser"] for s in first.updated} == {
        cam.fingerprint["browser"]}
    assert sorted(p.name for p in baselines.iterdir()) == sorted(
        [FINGERPRINT, *(f"{s}.{ext}" for s in first.updated for ext in ("png", "json"))])


def _price_change(examples: Path) -> tuple[str, str, str]:
    """The first example showing a price ``R<digits>.<cents>``: name, price, changed price."""
    for path in sorted(examples.glob("*.json")):
        found = re.search(r"R[0-9][0-9,]*\.[0-9]{2}", path.read_text())
        if found:
            price = found.group()
            changed = price[:-1] + str((int(price[-1]) + 7) % 10)
            return path.stem, price, changed
    raise AssertionError("no example shows a price")


@pytest.mark.parametrize("environment", ["strict", "another browser"])
def test_one_digit_of_a_price_fails_in_every_environment(
        tmp_path: Path, cam: Camera, project_build: Path, environment: str) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    baselines = tmp_path / "baselines"
    shutil.copytree(BASELINES, baselines)
    if environment != "strict":
        _as_if_another_browser(baselines, "1.0.0.0")
    name, price, changed = _price_change(examples)
    path = examples / f"{name}.json"
    path.write_text(path.read_text().replace(price, changed, 1))
    result = run_visual(build_dir=project_build, examples_dir=examples, address=ADDRESS,
                        assets_dir=ROOT / "assets", baselines=baselines, only=[name],
                        report_dir=tmp_path / "r", log=lambda _m: None, camera=cam)
    assert result.shots == len(VARIANTS)
    assert len(result.failures) == len(VARIANTS), result.failures
    for line in result.failures:
        assert f"text '{price}' -> '{changed}'" in line, line
    assert any("another environment" in n for n in result.notes) == (environment != "strict")


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
