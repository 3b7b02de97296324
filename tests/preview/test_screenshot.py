"""The docs screenshot helper works (it runs its own Playwright, so it has its own module)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bbws_mail.visual.browser import find_chromium

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")]


def test_screenshot_helper_writes_the_page_png(tmp_path: Path) -> None:
    from tests.preview.screenshot import VIEWPORT, shoot

    out = shoot(tmp_path / "preview.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"])
