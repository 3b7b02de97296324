"""Render each template with its example data and take deterministic screenshots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbws_mail.visual.browser import fingerprint, launch

ASSET_HOST = "https://assets.bbws.test/email"


@dataclass(frozen=True)
class Variant:
    name: str
    width: int
    scale: int
    dark: bool


VARIANTS = (
    Variant("desktop", 800, 1, False),
    Variant("mobile", 375, 2, False),
    Variant("mobile-dark", 375, 2, True),
)
FREEZE_CSS = """*,*::before,*::after{animation:none!important;transition:none!important;
caret-color:transparent!important}"""


class Camera:
    """One browser, one page per variant, reused for every shot."""

    def __init__(self, playwright: Any, assets_dir: Path) -> None:
        self.browser = launch(playwright)
        self.assets_dir = assets_dir
        self.pages: dict[str, Any] = {}
        self.blocked: list[str] = []

    @property
    def fingerprint(self) -> dict[str, Any]:
        return fingerprint(self.browser.version)

    def page(self, variant: Variant) -> Any:
        if variant.name not in self.pages:
            context = self.browser.new_context(
                viewport={"width": variant.width, "height": 600},
                device_scale_factor=variant.scale,
                color_scheme="dark" if variant.dark else "light",
                reduced_motion="reduce",
                java_script_enabled=True,
            )
            context.route("**/*", self._route)
            self.pages[variant.name] = context.new_page()
        return self.pages[variant.name]

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(ASSET_HOST + "/"):
            target = (self.assets_dir / url[len(ASSET_HOST) + 1:].split("?")[0]).resolve()
            if target.is_file() and self.assets_dir.resolve() in target.parents:
                route.fulfill(path=str(target))
                return
        if url.startswith(("data:", "about:")):
            route.continue_()
            return
        self.blocked.append(url)
        route.abort()

    def load(self, variant: Variant, html: str) -> Any:
        page = self.page(variant)
        page.set_content(html, wait_until="load")
        page.add_style_tag(content=FREEZE_CSS)
        page.evaluate("document.fonts.ready")
        return page

    def shoot(self, variant: Variant, html: str) -> bytes:
        page = self.load(variant, html)
        return bytes(page.screenshot(full_page=True, animations="disabled", caret="hide",
                                     scale="device"))

    def close(self) -> None:
        self.browser.close()


@contextmanager
def camera(assets_dir: Path) -> Iterator[Camera]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        cam = Camera(p, assets_dir)
        try:
            yield cam
        finally:
            cam.close()


def rendered_examples(build_dir: Path, examples_dir: Path) -> dict[str, str]:
    """Template name -> HTML rendered with its example, logo from the test asset host."""
    from bbws_mail import render
    from bbws_mail.sources import PackagedSource

    packaged = PackagedSource(build_dir)
    snapshot = packaged.snapshot()._replace(asset_base_url=ASSET_HOST)

    class _Fixed:
        def snapshot(self) -> Any:
            return snapshot

    source = _Fixed()
    out = {}
    for name in sorted(snapshot.templates):
        data = json.loads((examples_dir / f"{name}.json").read_text("utf-8"))
        out[name] = render(name, data, source=source).html
    return out
