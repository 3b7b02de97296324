"""Fixtures for the preview tests: project copies, a live server, Chromium, a mail catcher."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import config
from bbws_mail.pipeline.brand import hashed_name
from bbws_mail.preview.send import SendSettings
from bbws_mail.preview.server import PreviewServer
from tests.conftest import FIXTURES, ROOT

PROJECT_PARTS = ("templates_src", "schemas", "assets", "bbws-mail.toml", "brand.toml")
# the logo as the build names it (logo.<sha256[:16]>.png)
LOGO = hashed_name("logo.png", (ROOT / "assets/logo.png").read_bytes())
TIMEOUT = 10_000  # ms: generous for a loaded CI machine; passing runs take far less


def copy_project(source: Path, dest: Path) -> Path:
    """A throwaway copy (sources are edited by tests; the real files never are)."""
    dest.mkdir(parents=True)
    for part in PROJECT_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, dest / part)
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only copy of the real project, shared by a module's tests."""
    return copy_project(ROOT, tmp_path_factory.mktemp("project") / "p")


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the real project that a test may edit."""
    return copy_project(ROOT, tmp_path / "p")


@pytest.fixture
def mini_copy(tmp_path: Path) -> Path:
    """A copy of the one-template fixture project (fast to rebuild, safe to break)."""
    return copy_project(FIXTURES / "mini", tmp_path / "mini")


ServerFactory = Callable[..., PreviewServer]


@pytest.fixture
def serve() -> Iterator[ServerFactory]:
    """Start PreviewServers in-process on free ports; all closed after the test."""
    started: list[PreviewServer] = []

    def start(root: Path, **kwargs: Any) -> PreviewServer:
        kwargs.setdefault("send", SendSettings(smtp_host="127.0.0.1", smtp_port=9))
        server = PreviewServer(config.load(root), port=0, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module (bbws_mail.visual's launcher).

    Module scope, not session: Playwright's sync API cannot run twice at once, and
    tests/visual starts its own per module.
    """
    from bbws_mail.visual.browser import find_chromium, launch

    if find_chromium() is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set BBWS_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page at a designer-sized viewport; ``expect`` waits up to TIMEOUT."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(TIMEOUT)
    pg = context.new_page()
    yield pg
    context.close()
    expect.set_options(timeout=None)  # Playwright's default again for other test folders
