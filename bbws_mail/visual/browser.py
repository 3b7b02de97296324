"""Find and launch Chromium deterministically, and fingerprint the environment.

Playwright's own browser download does not work on these machines, so Chromium
comes from a setting (``BBWS_CHROMIUM``), Playwright's installed browser, or the
system's (Debian ``/usr/bin/chromium``). The flags below are the ones that made
shots byte-identical run to run here; the fingerprint records everything that can
change a pixel, so a baseline is only compared strictly where it was made.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bbws_mail.errors import VisualError

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
PINNED_FAMILIES = ("DejaVu", "Liberation")  # any other installed family can change fallbacks


def find_chromium() -> str | None:
    """The Chromium executable to use, or None when there is none.

    Order: ``BBWS_CHROMIUM`` (an explicit setting wins, and a wrong one is not
    silently replaced), Playwright's own download if one exists, the system Chromium.
    """
    setting = os.environ.get("BBWS_CHROMIUM")
    if setting:
        return setting if Path(setting).is_file() else None
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright")
    for candidate in sorted(cache.glob("chromium-*/chrome-linux*/chrome"), reverse=True):
        return str(candidate)
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def launch(playwright: Any, executable: str | None = None) -> Any:
    """A headless Chromium with the deterministic flags; raises when none is found."""
    path = executable or find_chromium()
    if not path:
        raise VisualError("no Chromium found: apt-get install chromium, or set BBWS_CHROMIUM")
    return playwright.chromium.launch(executable_path=path, args=LAUNCH_ARGS)


def _run(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def font_packages() -> dict[str, str]:
    """Installed versions of the pinned font packages ("missing"/"unknown" otherwise)."""
    versions = {}
    for package in FONT_PACKAGES:
        out = _run(["dpkg-query", "-W", "-f=${Version}", package])
        versions[package] = (out.strip() or "missing") if out is not None else "unknown"
    return versions


def font_families() -> list[str]:
    """Every font family fontconfig can hand to Chromium (sorted, first name of each)."""
    out = _run(["fc-list", ":", "family"]) or ""
    return sorted({line.split(",")[0].strip() for line in out.splitlines() if line.strip()})


def unpinned_families(families: list[str]) -> list[str]:
    """Installed families that are neither DejaVu nor Liberation (they make shots drift)."""
    return [f for f in families if not f.startswith(PINNED_FAMILIES)]


def fingerprint(browser_version: str) -> dict[str, Any]:
    """Everything that can change a pixel, as a JSON-able dict."""
    return {
        "browser": browser_version,
        "font_packages": font_packages(),
        "font_families": font_families(),
        "flags": LAUNCH_ARGS,
        "machine": platform.machine(),
    }
