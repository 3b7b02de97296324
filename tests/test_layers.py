"""The layers hold: measured from every import of the package, function-level and
TYPE_CHECKING ones included, nothing imports upward and no two files import each other."""

from __future__ import annotations

import ast
from pathlib import Path

from bbws_mail.layers import LAYERS, layer_of
from tests.conftest import ROOT

PACKAGE = ROOT / "bbws_mail"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "_build" in path.relative_to(PACKAGE).parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {imported module of the package: line of the first such import}."""

    def resolve(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        edges: dict[str, int] = {}
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [resolve(a.name) for a in node.names if a.name.startswith("bbws_mail")]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = module.split(".") if is_package else module.split(".")[:-1]
                    base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
                if base.startswith("bbws_mail"):
                    for alias in node.names:
                        full = f"{base}.{alias.name}"
                        targets.append(full if full in modules else resolve(base))
            for target in targets:
                if target and target != module:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def test_every_module_is_in_a_layer() -> None:
    for module in _modules():
        layer_of(module)  # raises for a module in no layer


def test_no_import_runs_from_a_lower_layer_to_a_higher_one() -> None:
    modules = _modules()
    graph = _imports(modules)
    assert sum(len(e) for e in graph.values()) > 100, "the walk must see the imports"
    upward = [f"{modules[m].relative_to(ROOT)}:{line}: {m} ({LAYERS[layer_of(m)][0]}) imports "
              f"{t} ({LAYERS[layer_of(t)][0]})"
              for m, edges in sorted(graph.items()) for t, line in sorted(edges.items())
              if layer_of(t) > layer_of(m)]
    assert upward == []


def test_no_two_files_import_each_other() -> None:
    """No import cycle between files, of any length (Tarjan's strongly connected parts)."""
    graph = _imports(_modules())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                cycles.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_walk_sees_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    """The walker itself: an import inside a function or under TYPE_CHECKING is an edge."""
    graph = _imports({
        "bbws_mail.a": _write(tmp_path / "a.py", "def f():\n    from bbws_mail import b\n"),
        "bbws_mail.b": _write(tmp_path / "b.py", "if TYPE_CHECKING:\n"
                              "    from bbws_mail.a import f\n"),
    })
    assert graph == {"bbws_mail.a": {"bbws_mail.b": 2}, "bbws_mail.b": {"bbws_mail.a": 2}}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
