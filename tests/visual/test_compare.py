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
    from bbws_mail.visual.report import Failure, write_report

    new = _page()
    new[1:3, 1:3] = (0, 0, 0)
    result = compare(_png(_page()), _png(new))
    failures = [Failure(f"{t}__{v}", result, _png(new), _png(_page()))
                for t in ("invoice", "receipt") for v in ("desktop", "mobile")]
    page = write_report(tmp_path, failures, []).read_text()
    nav = page[page.index("<nav>"):page.index("</nav>")]
    assert '<a href="#tpl-invoice">invoice</a>' in nav and '<a href="#tpl-receipt">' in nav
    assert '<a href="#receipt__mobile">mobile</a>' in nav
    start, end = page.index('<section id="tpl-invoice">'), page.index('<section id="tpl-receipt">')
    invoice = page[start:end]
    assert invoice.count("<h3>") == 2 and "receipt__" not in invoice


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
