"""The pixel comparison and image freezing on their own (no browser needed)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bbws_mail.visual.compare import compare
from bbws_mail.visual.shoot import _frozen

pytestmark = pytest.mark.visual


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _page() -> np.ndarray:
    return np.full((40, 60, 3), 255, dtype=np.uint8)


def test_identical_bytes_pass_without_decoding() -> None:
    png = _png(_page())
    result = compare(png, png)
    assert result.identical and result.ok(budget=0) and result.describe() == "identical"


def test_changed_pixels_counted_with_their_bounding_box() -> None:
    new = _page()
    new[10:13, 20:25] = (76, 29, 149)  # a 5x3 purple patch
    result = compare(_png(_page()), _png(new))
    assert result.differing == 15 and result.bbox == (20, 10, 25, 13)
    assert not result.ok(budget=14) and result.ok(budget=15)
    assert result.css_box(2) == (10.0, 5.0, 12.5, 6.5)
    diff = Image.open(io.BytesIO(result.diff_png)).convert("RGB")
    assert diff.getpixel((22, 11)) == (255, 0, 64)  # changed pixels in red


def test_imperceptible_changes_are_below_the_threshold() -> None:
    new = _page()
    new[5:8, 5:8] = (252, 253, 251)  # anti-aliasing noise, not a visible change
    result = compare(_png(_page()), _png(new))
    assert not result.identical and result.differing == 0 and result.ok(budget=0)
    assert compare(_png(_page()), _png(new), threshold=0.001).differing == 9


def test_size_change_fails_whatever_the_budget() -> None:
    result = compare(_png(_page()), _png(np.full((41, 60, 3), 255)))
    assert result.size_changed and not result.ok(budget=10**9)
    assert result.describe() == "size changed from 60x40 to 60x41"


def test_a_size_change_still_gets_a_diff_padded_to_the_larger_size() -> None:
    taller = np.full((50, 60, 3), 255, dtype=np.uint8)
    taller[44:46, 10:20] = (0, 0, 0)  # text below the old bottom edge
    taller[5:7, 5:9] = (76, 29, 149)  # and a change inside the old area
    result = compare(_png(_page()), _png(taller))
    assert result.size_changed and not result.ok(budget=10**9)
    assert result.differing == 60 * 10 + 8  # the new rows, plus the changed patch
    assert result.bbox == (0, 5, 60, 50)
    diff = Image.open(io.BytesIO(result.diff_png)).convert("RGB")
    assert diff.size == (60, 50)
    assert diff.getpixel((30, 47)) == (255, 0, 64) and diff.getpixel((6, 6)) == (255, 0, 64)
    assert diff.getpixel((30, 20)) != (255, 0, 64)  # unchanged area


def test_the_report_has_contents_per_template_and_groups_shots(tmp_path: Path) -> None:
    from bbws_mail.visual.baselines import shot_name, split_shot
    from bbws_mail.visual.report import Failure, write_report
    from bbws_mail.visual.shoot import VARIANTS

    new = _page()
    new[1:3, 1:3] = (0, 0, 0)
    result = compare(_png(_page()), _png(new))
    # report-only names (no such templates): underscores and the variants' hyphens
    # both survive the split, because template names never hold the separator
    first, second = "refund_receipt_2", "welcome"
    failures = [Failure(shot_name(t, v.name), result, _png(new), _png(_page()))
                for t in (first, second) for v in VARIANTS]
    assert {split_shot(f.shot) for f in failures} == {
        (t, v.name) for t in (first, second) for v in VARIANTS}
    page = write_report(tmp_path, failures, []).read_text()
    nav = page[page.index("<nav>"):page.index("</nav>")]
    assert f'<a href="#tpl-{first}">{first}</a>' in nav and f'<a href="#tpl-{second}">' in nav
    last = VARIANTS[-1].name
    assert f'<a href="#{shot_name(second, last)}">{last}</a>' in nav
    start = page.index(f'<section id="tpl-{first}">')
    end = page.index(f'<section id="tpl-{second}">')
    section = page[start:end]
    assert section.count("<h3>") == len(VARIANTS) and f"{second}__" not in section


def test_animated_images_are_served_as_their_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue", "green")]
    gif = tmp_path / "spinner.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    body, ctype = _frozen(gif)
    assert ctype == "image/png"
    with Image.open(io.BytesIO(body)) as img:
        assert getattr(img, "n_frames", 1) == 1
        assert img.convert("RGB").getpixel((0, 0)) == (255, 0, 0)
    still = tmp_path / "logo.png"
    frames[1].save(still)
    assert _frozen(still) == (still.read_bytes(), "image/png")
