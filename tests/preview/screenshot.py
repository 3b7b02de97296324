"""Make ``docs/preview.png``: a template page with its desktop and mobile frames.

    python -m tests.preview.screenshot [OUT.png] [--name TEMPLATE] [--dark]

Serves a throwaway copy of the project (so a half-saved source cannot end up in
the docs) and shoots the live page in the same headless Chromium the tests use.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.conftest import ROOT

DEFAULT_OUT = ROOT / "docs" / "preview.png"
VIEWPORT = {"width": 1440, "height": 1250}


def shoot(out: Path, *, name: str = "order_confirmation_customer", dark: bool = False,
          root: Path = ROOT) -> Path:
    """Write a PNG of the preview page of ``name`` to ``out``; returns ``out``."""
    from playwright.sync_api import expect, sync_playwright

    from bbws_mail import config
    from bbws_mail.preview.server import PreviewServer
    from bbws_mail.visual.browser import launch
    from tests.preview.conftest import copy_project

    with tempfile.TemporaryDirectory(prefix="bbws-shot-") as tmp, sync_playwright() as p:
        project = copy_project(root, Path(tmp) / "p")
        with PreviewServer(config.load(project), port=0) as server:
            browser = launch(p)
            try:
                page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
                page.goto(f"{server.url}/t/{name}" + ("?dark=1" if dark else ""))
                expect(page.locator("#live")).to_have_text("● live", timeout=10_000)
                for frame_id in ("#frame-desktop", "#frame-mobile"):
                    logo = page.frame_locator(frame_id).locator("img").first
                    expect(logo).to_have_js_property("complete", True, timeout=10_000)
                page.evaluate("document.fonts.ready.then(() => true)")
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), animations="disabled")
            finally:
                browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", nargs="?", default=str(DEFAULT_OUT))
    parser.add_argument("--name", default="order_confirmation_customer")
    parser.add_argument("--dark", action="store_true")
    args = parser.parse_args(argv)
    path = shoot(Path(args.out), name=args.name, dark=args.dark)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
