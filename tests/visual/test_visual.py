"""Visual regression: 36 shots against baselines, catching real changes where they happen."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbws_mail.mustache import Template
from bbws_mail.visual.browser import find_chromium
from bbws_mail.visual.compare import compare
from bbws_mail.visual.layout import layout_problems
from bbws_mail.visual.report import write_report
from bbws_mail.visual.runner import FINGERPRINT, run_visual
from bbws_mail.visual.shoot import ASSET_HOST, VARIANTS, Camera
from tests.conftest import ROOT

pytestmark = [
    pytest.mark.visual,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium (apt-get install chromium)"),
]
BASELINES = ROOT / "tests/visual/baselines"
DESKTOP, MOBILE, DARK = VARIANTS
NAME = "order_confirmation_customer"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def cam(playwright: Any) -> Iterator[Camera]:
    c = Camera(playwright, ROOT / "assets")
    yield c
    c.close()


def _render_built(html_template: str, name: str = NAME) -> str:
    data = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return Template(html_template).render(data, {"assetBaseUrl": ASSET_HOST})


def _built(name: str = NAME) -> str:
    return (ROOT / "build" / f"{name}.html").read_text()


def _box(page: Any, selector: str, scale: int) -> tuple[float, float, float, float]:
    box = page.locator(selector).first.bounding_box()
    assert box, selector
    return (box["x"] * scale, box["y"] * scale, (box["x"] + box["width"]) * scale,
            (box["y"] + box["height"]) * scale)


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_all_templates_match_baselines_with_sound_layout(tmp_path: Path, playwright: Any
                                                        ) -> None:
    result = run_visual(build_dir=ROOT / "build", examples_dir=ROOT / "schemas/examples",
                        assets_dir=ROOT / "assets", baselines=BASELINES,
                        report_dir=tmp_path / "report", log=lambda _m: None,
                        playwright=playwright)
    assert result.shots == 36
    assert result.layout == []
    assert result.failures == [], f"see {result.report}"


def test_unchanged_run_is_byte_identical(cam: Camera, playwright: Any) -> None:
    html = _render_built(_built())
    first = cam.shoot(MOBILE, html)
    other = Camera(playwright, ROOT / "assets")  # a second browser process
    try:
        second = other.shoot(MOBILE, html)
    finally:
        other.close()
    assert first == second
    assert first == (BASELINES / f"{NAME}__mobile.png").read_bytes()


CHANGES = [
    # (id, old, new, selector of the changed element)
    ("word", "Your order is confirmed", "Your order is accepted", "text=Your order is accepted"),
    ("colour", "background:#4c1d95;color:#ffffff;", "background:#4c1d95;color:#fde047;",
     "text=View your order"),
    ("padding", "padding:8px 28px;padding-top:20px;", "padding:8px 28px;padding-top:20px;"
     "padding-left:30px;", "text=Your order is confirmed"),
]


@pytest.mark.parametrize("change", CHANGES, ids=[c[0] for c in CHANGES])
def test_changes_are_caught_where_they_happen(cam: Camera, tmp_path: Path,
                                              change: tuple[str, str, str, str]) -> None:
    _, old, new, selector = change
    built = _built()
    assert old in built, old
    html = _render_built(built.replace(old, new, 1))
    actual = cam.shoot(DESKTOP, html)
    baseline = (BASELINES / f"{NAME}__desktop.png").read_bytes()
    result = compare(baseline, actual)
    assert not result.ok(budget=0)
    assert not result.size_changed, result.describe()
    assert result.bbox is not None
    element = _box(cam.pages[DESKTOP.name], selector, DESKTOP.scale)
    assert _overlaps(result.bbox, element), (result.bbox, element)
    report = write_report(tmp_path, [(f"{NAME}__desktop", result, actual, baseline)], [])
    page = report.read_text()
    assert f"{result.differing} pixel(s) differ in box {result.bbox}" in page
    assert (tmp_path / f"{NAME}__desktop.diff.png").stat().st_size > 0


def test_columns_that_do_not_stack_overflow_on_mobile(cam: Camera) -> None:
    fixed = ('<html><body style="margin:0"><table width="600" style="width:600px"><tr>'
             '<td width="300">Left column</td><td width="300">Right column</td></tr></table>'
             '<p>BBWS, Cape Town, South Africa <a href="https://x.co/u">Unsubscribe</a></p>'
             '</body></html>')
    cam.load(MOBILE, fixed)
    problems = layout_problems(cam.pages[MOBILE.name], dark=False)
    assert any("horizontal overflow: content is 600px wide in a 375px viewport" in p
               for p in problems), problems
    cam.load(MOBILE, _render_built(_built()))
    assert layout_problems(cam.pages[MOBILE.name], dark=False) == []


def test_invisible_text_in_dark_mode_is_caught(cam: Camera) -> None:
    html = _render_built(_built()).replace(
        "</head>", "<style>@media (prefers-color-scheme: dark){.bb-card div{color:#1f2937"
        " !important}}</style></head>", 1)
    cam.load(DARK, html)
    problems = layout_problems(cam.pages[DARK.name], dark=True)
    assert any("text colour equals its background" in p for p in problems), problems


def test_update_refuses_a_foreign_environment_unless_forced(tmp_path: Path,
                                                          playwright: Any) -> None:
    baselines = tmp_path / "baselines"
    shutil.copytree(BASELINES, baselines)
    stored = json.loads((baselines / FINGERPRINT).read_text())
    (baselines / FINGERPRINT).write_text(json.dumps({**stored, "browser": "0.0"}))
    kwargs: dict[str, Any] = dict(build_dir=ROOT / "build", assets_dir=ROOT / "assets",
                                  examples_dir=ROOT / "schemas/examples", baselines=baselines,
                                  report_dir=tmp_path / "r", only=["payment_confirmation_customer"],
                                  log=lambda _m: None, playwright=playwright)
    with pytest.raises(SystemExit, match="another environment"):
        run_visual(update=True, **kwargs)
    result = run_visual(**kwargs)  # a foreign fingerprint compares with a budget, and says so
    assert result.ok and any("environment differs" in n for n in result.notes)
    run_visual(update=True, force=True, **kwargs)
    assert json.loads((baselines / FINGERPRINT).read_text()) == stored
