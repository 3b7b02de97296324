"""Layout assertions that need no baseline: overflow, images, footer, dark-mode legibility."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHECKS_JS = (Path(__file__).with_name("layout.js")).read_text(encoding="utf-8")


def layout_problems(page: Any, *, dark: bool) -> list[str]:
    """Problems with the page as laid out now (empty when fine)."""
    problems: list[str] = page.evaluate(CHECKS_JS, dark)
    return problems
