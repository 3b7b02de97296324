"""The README's error tree is the code's: every BBWSMailError subclass, under its parent."""

from __future__ import annotations

import importlib
import pkgutil
import re

import bbws_mail
from bbws_mail.errors import BBWSMailError
from tests.conftest import ROOT


def _readme_tree() -> dict[str, str]:
    """class name -> parent class name, from the tree drawn in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("### Errors", 1)[1].split("```", 2)[1]
    parents: dict[str, str] = {}
    stack: list[str] = []
    for line in block.strip().splitlines():
        found = re.match(r"^([│ ]*)(?:[├└]── )?([A-Za-z0-9]+)", line)
        assert found, line
        depth = len(found[1]) // 4 + (1 if line.strip()[0] in "├└│" else 0)
        del stack[depth:]
        if stack:
            parents[found[2]] = stack[-1]
        stack.append(found[2])
    return parents


def test_every_error_class_is_in_the_readme_under_its_parent() -> None:
    for module in pkgutil.walk_packages(bbws_mail.__path__, "bbws_mail."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    drawn = _readme_tree()
    seen: set[str] = set()
    todo = [BBWSMailError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            seen.add(sub.__name__)
            assert drawn.get(sub.__name__) == cls.__name__, (sub.__name__, cls.__name__)
    assert set(drawn) == seen
