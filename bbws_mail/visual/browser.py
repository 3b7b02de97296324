"""Find and launch Chromium deterministically, and fingerprint the environment.

Playwright's own browser download does not work on these machines, so Chromium
comes from a setting (``BBWS_CHROMIUM``), Playwright's installed browser, or
Debian's ``/usr/bin/chromium``. The flags below are the ones that made shots
byte-identical run to run here; the fingerprint records everything that can
change pixels, so a baseline is only compared strictly where it was made.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-font-subpixel-positioning",
    "--font-render-hinting=none",
    "--disable-lcd-text",
    "--force-color-profile=srgb",
    "--hide-scrollbars",
]
FONT_PACKAGES = ("fonts-dejavu-core", "fonts-liberation")


def find_chromium() -> str | None:
    """The Chromium executable to use, or None when there is none."""
    setting = os.environ.get("BBWS_CHROMIUM")
    if setting:
        return setting if Path(setting).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache/ms-playwright"))
    for candidate in sorted(cache.glob("chromium-*/chrome-linux*/chrome"), reverse=True):
        return str(candidate)
    return None


def launch(playwright: Any, executable: str | None = None) -> Any:
    path = executable or find_chromium()
    if not path:
        raise RuntimeError("no Chromium found: apt-get install chromium, or set BBWS_CHROMIUM")
    return playwright.chromium.launch(executable_path=path, args=LAUNCH_ARGS)


def _package_versions() -> dict[str, str]:
    versions = {}
    for package in FONT_PACKAGES:
        try:
            out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                                 capture_output=True, text=True, timeout=10)
            versions[package] = out.stdout.strip() or "missing"
        except (OSError, subprocess.SubprocessError):
            versions[package] = "unknown"
    return versions


def fingerprint(browser_version: str) -> dict[str, Any]:
    """Everything that can change a pixel, as a JSON-able dict."""
    return {
        "browser": browser_version,
        "fonts": _package_versions(),
        "flags": LAUNCH_ARGS,
        "machine": platform.machine(),
    }
