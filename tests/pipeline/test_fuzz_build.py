"""Fuzzing the build with what designers and hostile files can put in the real sources.

Each example copies the real project (every template in ``templates_src/``, its
partials, schemas, brand and settings, and the committed ``build/``), breaks one
source file the way an edit or a hostile file could, and runs ``bbws-mail build``.
The promise held: exit code 1, every error line ``error: <file>:<line>: ...``, short
and printable (values described, not copied), no other exception, no hang, and
``build/`` byte for byte as it was. Examples are derandomised and bounded so that
the test takes seconds in CI.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbws_mail.cli import main
from bbws_mail.pipeline import discover
from bbws_mail.pipeline.output import read_tree
from tests.conftest import ROOT

PARTS = ("templates_src", "schemas", "assets", "build", "bbws-mail.toml", "brand.toml",
         "check-allow.toml")
ERROR_LINE = re.compile(r"error: [^\s:]+:\d+(?::\d+)?: \S")
SECONDS = 30  # per build; a real one takes well under one
TEMPLATES = [p.relative_to(ROOT).as_posix() for p in discover(ROOT / "templates_src")]
SOURCES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "templates_src").rglob("*.mjml"))
SCHEMAS = [f"schemas/{Path(t).stem}.schema.json" for t in TEMPLATES]
INCLUDE_PATHS = ["../../etc/passwd", "/etc/passwd", "/dev/zero", "../schemas", "partials",
                 "partials/missing.mjml", ""]
WRONG_KEYWORDS: list[tuple[str, Any]] = [
    ("type", 5), ("type", [1, {}]), ("maxLength", "40"), ("maxLength", -1),
    ("maxLength", 10**300), ("maxItems", 10**400), ("minimum", "1"), ("enum", []),
    ("enum", "abc"), ("pattern", 5), ("required", "x"), ("required", [1]),
    ("properties", [1]), ("items", [1]), ("additionalProperties", "no"), ("$ref", 5),
    ("$ref", "../../../etc/passwd"), ("$ref", "defs"), ("$ref", "#"),
]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return read_tree(folder)


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def stop(*_: object) -> None:
        raise TimeoutError(f"the build ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _copy(dest: Path) -> Path:
    for part in PARTS:
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, dest / part)
        elif (ROOT / part).is_file():
            shutil.copy2(ROOT / part, dest / part)
    return dest


# -- mutations: each takes the file's text and a draw, and returns bytes ------------------

Draw = Callable[[st.SearchStrategy[Any]], Any]


def _at(text: str, draw: Draw) -> int:
    return int(draw(st.integers(0, len(text))))


def _insert(piece: str) -> Callable[[str, Draw], bytes]:
    def mutate(text: str, draw: Draw) -> bytes:
        at = _at(text, draw)
        return (text[:at] + piece + text[at:]).encode()
    return mutate


def _bytes_at(piece: bytes) -> Callable[[str, Draw], bytes]:
    def mutate(text: str, draw: Draw) -> bytes:
        data = text.encode()
        at = len(text[:_at(text, draw)].encode())
        return data[:at] + piece + data[at:]
    return mutate


def _closing_tag(text: str, draw: Draw, keep: int) -> bytes:
    tags = list(re.finditer(r"</mj-[a-z-]+>", text))
    if not tags:
        return _insert("{{/unopened}}")(text, draw)
    m = tags[int(draw(st.integers(0, len(tags) - 1)))]
    return (text[:m.start()] + m.group() * keep + text[m.end():]).encode()


def _include(text: str, draw: Draw) -> bytes:
    includes = list(re.finditer(r'<mj-include path="([^"]*)"', text))
    target = draw(st.sampled_from(INCLUDE_PATHS))
    if not includes:
        return _insert(f'<mj-include path="{target}" />')(text, draw)
    m = includes[int(draw(st.integers(0, len(includes) - 1)))]
    return (text[:m.start(1)] + target + text[m.end(1):]).encode()


def _huge_attribute(text: str, draw: Draw) -> bytes:
    starts = list(re.finditer(r"<mj-(?:button|text|section|column)\b", text))
    if not starts:
        return _insert("<mj-" + "x" * 100_000 + " />")(text, draw)
    m = starts[int(draw(st.integers(0, len(starts) - 1)))]
    return (text[:m.end()] + ' padding="' + "9" * 10_000_000 + '"' + text[m.end():]).encode()


SOURCE_MUTATIONS: dict[str, Callable[[str, Draw], bytes]] = {
    "delete a closing tag": lambda text, draw: _closing_tag(text, draw, 0),
    "duplicate a closing tag": lambda text, draw: _closing_tag(text, draw, 2),
    "unclosed section": _insert("{{#fuzzOpen}}"),
    "stray closing section": _insert("{{/fuzzClose}}"),
    "delimiter change": _insert("{{=<% %>=}}"),
    "include elsewhere": _include,
    "bytes that are not UTF-8": _bytes_at(b"\xff\xfe"),
    "NUL": _insert("\0"),
    "10 MB attribute": _huge_attribute,
    "deep mj-section/mj-column": _insert("<mj-section><mj-column>" * 1500
                                         + "</mj-column></mj-section>" * 1500),
    "deep HTML": _insert("<div>" * 3000 + "</div>" * 3000),
}


def _truncate(text: str, draw: Draw) -> bytes:
    return text[:int(draw(st.integers(0, text.rindex("</mjml>") - 1)))].encode()


def _schema_keyword(text: str, draw: Draw) -> bytes:
    schema = json.loads(text)
    nodes: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            nodes.append(node)
            for key in ("properties", "items"):
                sub = node.get(key)
                for child in (sub.values() if isinstance(sub, dict) and key == "properties"
                              else [sub]):
                    walk(child)

    walk(schema)
    node = draw(st.sampled_from(nodes))
    keyword, value = draw(st.sampled_from(WRONG_KEYWORDS))
    node[keyword] = value
    return json.dumps(schema, indent=2).encode()


def _schema_text(text: str, draw: Draw) -> bytes:
    return text[:int(draw(st.integers(0, len(text) - 2)))].encode()


def _run(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with _deadline(SECONDS):
        code = main(["build", "--root", str(project), "-q"])
    return code, capsys.readouterr().err


def _assert_refused(project: Path, before: dict[str, bytes], code: int, err: str) -> None:
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 1 and errors, err[:2000]
    for line in errors:
        assert ERROR_LINE.match(line), line[:300]
        assert len(line) < 600 and line.isprintable(), line[:300]
    assert _snapshot(project / "build") == before, "a failed build must leave build/ untouched"


@settings(max_examples=16, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_broken_sources_and_schemas_are_refused_with_a_location(
        capsys: pytest.CaptureFixture[str], data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(["source", "truncate", "schema", "schema-text"]))
    if kind == "source":
        rel = data.draw(st.sampled_from(SOURCES), label="file")
        name = data.draw(st.sampled_from(sorted(SOURCE_MUTATIONS)), label="mutation")
        mutate = SOURCE_MUTATIONS[name]
    elif kind == "truncate":
        rel, mutate = data.draw(st.sampled_from(TEMPLATES), label="file"), _truncate
    else:
        rel = data.draw(st.sampled_from(SCHEMAS), label="file")
        mutate = _schema_keyword if kind == "schema" else _schema_text
    with tempfile.TemporaryDirectory(prefix="bbws-fuzz-") as tmp:
        project = _copy(Path(tmp))
        before = _snapshot(project / "build")
        path = project / rel
        path.write_bytes(mutate(path.read_text(encoding="utf-8"), data.draw))

        code, err = _run(project, capsys)

        _assert_refused(project, before, code, err)


@pytest.mark.parametrize("change", ["CRLF", "BOM"])
def test_line_endings_and_a_byte_order_mark_build_the_same_emails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str) -> None:
    project = _copy(tmp_path / "p")
    before = _snapshot(project / "build")
    for rel in SOURCES:
        path = project / rel
        data = path.read_bytes()
        path.write_bytes(data.replace(b"\n", b"\r\n") if change == "CRLF"
                         else b"\xef\xbb\xbf" + data)

    code, err = _run(project, capsys)

    assert code == 0, err
    after = _snapshot(project / "build")
    assert {n: d for n, d in after.items() if n != "manifest.json"} == \
        {n: d for n, d in before.items() if n != "manifest.json"}
