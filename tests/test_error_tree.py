"""One error tree: every exception class of the package is a BBWSMailError, defined in
``bbws_mail/errors.py``, and the tree drawn in that module's docstring is the code's."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

import bbws_mail
from bbws_mail import errors
from bbws_mail.errors import BBWSMailError
from tests.conftest import ROOT


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(bbws_mail.__path__, "bbws_mail.")
            if not m.name.endswith("__main__")]


def _exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in a module of the package."""
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == name:
                found.append(obj)
    return found


def _drawn_tree() -> dict[str, str]:
    """class name -> parent class name, from the tree drawn in errors.py's docstring."""
    doc = errors.__doc__ or ""
    block = doc.split("::", 1)[1].split("\n\n", 2)[1]
    parents: dict[str, str] = {}
    stack: list[str] = []
    for line in block.splitlines():
        line = line[4:]  # the docstring's literal-block indent
        found = re.match(r"^([│ ]*)(?:[├└]── )?([A-Za-z0-9]+)", line)
        assert found, line
        depth = len(found[1]) // 4 + (1 if line.strip()[0] in "├└│" else 0)
        del stack[depth:]
        if stack:
            parents[found[2]] = stack[-1]
        stack.append(found[2])
    return parents


def test_every_exception_class_of_the_package_is_a_bbws_mail_error() -> None:
    classes = _exception_classes()
    assert BBWSMailError in classes and len(classes) > 20
    outside = [f"{c.__module__}.{c.__qualname__}" for c in classes
               if not issubclass(c, BBWSMailError)]
    assert outside == []


def test_every_exception_class_is_defined_in_errors_py() -> None:
    elsewhere = [f"{c.__module__}.{c.__qualname__}" for c in _exception_classes()
                 if c.__module__ != "bbws_mail.errors"]
    assert elsewhere == []


def test_no_module_defines_an_exception_class_by_source_either() -> None:
    """The same, read from the sources: a class deriving from anything named *Error or
    *Exception outside errors.py (a class made at import time inside a function counts)."""
    offenders = []
    for path in sorted((ROOT / "bbws_mail").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        if rel == "bbws_mail.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                if any(re.search(r"(Error|Exception|Refused|Unavailable|Failed)$", b)
                       for b in bases):
                    offenders.append(f"{rel}.{node.name}")
    assert offenders == []


def test_the_tree_in_errors_py_is_the_code_s() -> None:
    drawn = _drawn_tree()
    seen: set[str] = set()
    todo = [BBWSMailError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if not sub.__module__.startswith("bbws_mail"):
                continue  # a test's own subclass
            todo.append(sub)
            seen.add(sub.__name__)
            assert drawn.get(sub.__name__) == cls.__name__, (sub.__name__, cls.__name__)
    assert set(drawn) == seen


def test_the_docs_point_at_the_tree_instead_of_copying_it() -> None:
    """errors.py's docstring is the one drawing: the errors reference links to it, and no
    document draws a tree of its own."""
    reference = (ROOT / "docs/reference/errors.md").read_text(encoding="utf-8")
    section = reference.split("## The tree", 1)[1].split("\n## ", 1)[0]
    assert "bbws_mail/errors.py" in section
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        assert not any(f"── {name}" in text for name in _drawn_tree()), doc


@pytest.mark.parametrize(("exc", "code", "status"), [
    (type("ClientError", (Exception,), {"response": {
        "Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}})(),
     "SlowDown", 503),
    (type("EndpointConnectionError", (Exception,), {"response": None})(), "", 0),
    (type("Odd", (Exception,), {"response": {"Error": "x", "ResponseMetadata": {
        "HTTPStatusCode": "n/a"}}})(), "", 0),
    (ValueError("x"), "", 0),
])
def test_aws_errors_are_read_one_way(exc: BaseException, code: str, status: int) -> None:
    assert (errors.error_code(exc), errors.status_code(exc)) == (code, status)


def _bad_calls(mini: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """(what, a call with bad input) at the public entry points: each must raise one of
    the tree, never a bare ValueError/RuntimeError/KeyError."""
    from bbws_mail import check, config, render
    from bbws_mail.check import spam
    from bbws_mail.pipeline import build
    from bbws_mail.pipeline.scaffold import scaffold
    from bbws_mail.visual.shoot import rendered_examples

    cfg = config.load(mini)
    built = mini / "build"
    build(cfg, built)
    empty = mini / "empty"
    (empty / "templates_src").mkdir(parents=True)
    (mini / "schemas/examples/mini.json").rename(mini / "mini.json.away")
    monkeypatch.setenv("BBWS_SPAMASSASSIN", str(mini / "no-such-program"))
    return [
        ("render: unknown template", lambda: render("nope", {}, source="packaged")),
        ("render: unknown source", lambda: render("mini", {}, source="nowhere")),
        ("build: no templates", lambda: build(config.load(empty), empty / "build")),
        ("check: --only a typo", lambda: check.run(cfg, only=["mnii"], spam=False)),
        ("check: no spamassassin", lambda: spam.score({"mini": b"Subject: x\r\n\r\nx"})),
        ("new: a bad name", lambda: scaffold(cfg, "Bad Name", "receipts")),
        ("visual: no example", lambda: rendered_examples(built, mini / "schemas/examples")),
        ("config: a bad [check]", lambda: (mini / "bbws-mail.toml").write_text(
            "[check]\nsize_fail_kb = 0\n") and config.load(mini)),
    ]


def test_bad_input_at_each_public_entry_point_is_an_error_of_the_tree(
        mini: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for what, call in _bad_calls(mini, monkeypatch):
        with pytest.raises(BBWSMailError) as raised:
            call()
        assert type(raised.value).__module__ == "bbws_mail.errors", what
