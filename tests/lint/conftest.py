"""A throwaway project for the quality gates: the mini fixture with any template."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

CORPUS = Path(__file__).parent / "corpus"


def header(source: str) -> dict[str, list[str]]:
    """``key: value`` lines of the leading comment (expect, check, message)."""
    m = re.match(r"\s*<!--(.*?)-->", source, re.S)
    out: dict[str, list[str]] = {}
    for line in (m.group(1) if m else "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("expect", "check", "message"):
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.fixture
def lint_project(tmp_path: Path) -> Callable[[Path], Path]:
    """Make a project whose only template is the given corpus file (as mini.mjml)."""

    def make(corpus_file: Path) -> Path:
        dest = tmp_path / corpus_file.stem
        shutil.copytree(FIXTURES / "mini", dest)
        source = corpus_file.read_text(encoding="utf-8")
        (dest / "templates_src" / "mini.mjml").write_text(source, encoding="utf-8")
        settings: list[str] = []
        for spec in header(source).get("check", []):
            settings += [s.strip() for s in spec.split(",") if s.strip()]
        with (dest / "bbws-mail.toml").open("a", encoding="utf-8") as fh:
            fh.write("\n[check]\n" + "\n".join(settings) + "\n")
        allow = (ROOT / "check-allow.toml").read_text(encoding="utf-8")
        extra = corpus_file.with_suffix(".allow.toml")
        if extra.is_file():
            allow += "\n" + extra.read_text(encoding="utf-8")
        (dest / "check-allow.toml").write_text(allow, encoding="utf-8")
        schema = corpus_file.with_suffix(".schema.json")
        if schema.is_file():
            shutil.copy(schema, dest / "schemas" / "mini.schema.json")
        example = corpus_file.with_suffix(".json")
        if example.is_file():
            shutil.copy(example, dest / "schemas" / "examples" / "mini.json")
        return dest

    return make
