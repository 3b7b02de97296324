"""Render each template with its example data and take deterministic screenshots.

One browser per run and one page per variant, reused for every template (~0.3 s a
shot instead of seconds for a fresh context). Every request is routed: the asset
base URL is served from the repo's ``assets/`` (so the real logo shows, offline),
everything else is aborted and recorded, so no shot ever depends on the network.
"""

from __future__ import annotations

import io
import json
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbws_mail.errors import VisualError
from bbws_mail.pipeline.brand import find_asset
from bbws_mail.visual.browser import fingerprint, launch


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
# Emails rarely animate, but a CSS transition or a blinking caret would make shots flaky.
FREEZE_CSS = """*,*::before,*::after{animation:none!important;transition:none!important;
caret-color:transparent!important}"""


def _frozen(path: Path) -> tuple[bytes, str]:
    """The file's bytes and type; an animated image becomes its first frame as a PNG."""
    data = path.read_bytes()
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if ctype in ("image/gif", "image/png", "image/webp"):
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)
                buf = io.BytesIO()
                img.convert("RGBA").save(buf, format="PNG")
                return buf.getvalue(), "image/png"
    return data, ctype


class Camera:
    """One browser, one page per variant, reused for every shot."""

    def __init__(self, playwright: Any, assets_dir: Path, asset_base_url: str) -> None:
        self.browser = launch(playwright)
        self.pages: dict[str, Any] = {}
        self.blocked: list[str] = []
        self.serve(assets_dir, asset_base_url)

    def serve(self, assets_dir: Path, asset_base_url: str) -> None:
        """Answer requests under ``asset_base_url`` from ``assets_dir`` from now on."""
        self.assets_dir = assets_dir.resolve()
        self.asset_base_url = asset_base_url.rstrip("/")

    @property
    def fingerprint(self) -> dict[str, Any]:
        return fingerprint(self.browser.version)

    def page(self, variant: Variant) -> Any:
        """The variant's page, created on first use."""
        if variant.name not in self.pages:
            context = self.browser.new_context(
                viewport={"width": variant.width, "height": 600},
                device_scale_factor=variant.scale,
                color_scheme="dark" if variant.dark else "light",
                reduced_motion="reduce",
                locale="en-ZA",
                timezone_id="Africa/Johannesburg",
            )
            context.route("**/*", self._route)
            self.pages[variant.name] = context.new_page()
        return self.pages[variant.name]

    def _route(self, route: Any) -> None:
        url = route.request.url
        prefix = self.asset_base_url + "/"
        if url.startswith(prefix):
            requested = url[len(prefix):].split("?")[0]
            target = (self.assets_dir / requested).resolve()
            if not target.is_file():  # logo.<sha16>.png: the build's name for assets/logo.png
                target = find_asset(self.assets_dir, requested) or target
            if target.is_file() and self.assets_dir in target.parents:
                body, ctype = _frozen(target)
                route.fulfill(status=200, body=body, content_type=ctype)
                return
        self.blocked.append(url)
        route.abort()

    def load(self, variant: Variant, html: str) -> Any:
        """Show ``html`` in the variant's page, styles frozen and fonts ready."""
        page = self.page(variant)
        page.set_content(html, wait_until="load")
        page.add_style_tag(content=FREEZE_CSS)
        page.evaluate("document.fonts.ready.then(() => true)")
        return page

    def shoot(self, variant: Variant, html: str) -> bytes:
        """A full-page PNG of ``html`` in ``variant``."""
        page = self.load(variant, html)
        return bytes(page.screenshot(full_page=True, animations="disabled", caret="hide",
                                     scale="device"))

    def close(self) -> None:
        self.browser.close()


@contextmanager
def new_camera(assets_dir: Path, asset_base_url: str) -> Iterator[Camera]:
    """A Camera inside its own Playwright (the CLI's; tests share one Playwright)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        cam = Camera(p, assets_dir, asset_base_url)
        try:
            yield cam
        finally:
            cam.close()


def _example(examples_dir: Path, name: str) -> Any:
    """The example data of ``name``; VisualError saying which file and what is wrong."""
    path = examples_dir / f"{name}.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise VisualError(f"no example data for {name}: {path} is missing (every template "
                         "needs one; `bbws-mail new` writes one)") from None
    except ValueError as exc:
        raise VisualError(f"{path}: not valid JSON: {exc}") from None


def rendered_examples(build_dir: Path, examples_dir: Path) -> tuple[str, dict[str, str]]:
    """The build's asset base URL, and template name -> HTML rendered with its example.

    Goes through ``bbws_mail.render`` (validation included), exactly as the portal does.
    """
    from bbws_mail import render
    from bbws_mail.sources import PackagedSource, forget_packaged

    forget_packaged(build_dir)  # read the build as it is now, not as an earlier run saw it
    source = PackagedSource(build_dir)
    snapshot = source.snapshot()
    out = {}
    for name in sorted(snapshot.templates):
        out[name] = render(name, _example(examples_dir, name), source=source).html
    return snapshot.asset_base_url, out
