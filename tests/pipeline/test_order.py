"""The pipeline's order is stated once, in code (``pipeline.STAGES``, which the build
runs), and every description of it says the same."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import config
from bbws_mail.pipeline import STAGES, build_one, discover
from tests.conftest import FIXTURES, ROOT


def _named_stages(text: str) -> list[str]:
    """The stage names in ``text``, in order (a word that is a stage name, not part of one)."""
    return [w for w in re.findall(r"(?<![\w-])[a-z]+(?:-[a-z]+)*(?![\w-])", text)
            if w in STAGES]


def test_the_build_runs_the_stages_in_the_stated_order(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    from bbws_mail.pipeline import _Run

    ran: list[str] = []
    for stage in STAGES:
        method = "_" + stage.replace("-", "_")
        real = getattr(_Run, method)

        def spy(self: _Run, _real: Any = real, _stage: str = stage) -> None:
            ran.append(_stage)
            _real(self)

        monkeypatch.setattr(_Run, method, spy)
    cfg = config.load(FIXTURES / "mini")
    timings: dict[str, float] = {}
    build_one(discover(cfg.templates_dir)[0], cfg, timings)
    assert ran == list(STAGES)
    assert list(timings) == list(STAGES)


def test_the_readme_diagram_draws_the_stages_in_order() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it is laid out", 1)[1]
    diagram = section.split("```", 2)[1]
    assert _named_stages(diagram) == list(STAGES)


def test_no_module_docstring_states_another_order() -> None:
    """A docstring naming three or more stages names them in STAGES order."""
    import ast

    order = {name: i for i, name in enumerate(STAGES)}
    for path in sorted((ROOT / "bbws_mail").rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        for line in re.split(r"\n\s*\n", doc):
            if "->" not in line and "──▶" not in line:
                continue
            named = _named_stages(line)
            if len(named) >= 3:
                assert [order[n] for n in named] == sorted(order[n] for n in named), (
                    Path(path).relative_to(ROOT), named)
