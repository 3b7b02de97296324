"""Deterministic, manifest-described output; a stale build/ fails the suite."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import config
from bbws_mail.pipeline import build, discover
from tests.conftest import ROOT


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_same_sources_give_byte_identical_output(mini: Path, tmp_path: Path) -> None:
    cfg = config.load(mini)
    build(cfg, tmp_path / "a")
    build(cfg, tmp_path / "b")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_rebuild_without_changes_writes_nothing(mini: Path) -> None:
    cfg = config.load(mini)
    first = build(cfg)
    assert "mini.html" in first.changed
    assert build(cfg).changed == []


def test_manifest_describes_every_file(mini: Path) -> None:
    cfg = config.load(mini)
    out = build(cfg).out_dir
    assert out is not None
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["templates"]["mini"]
    assert set(entry["files"]) == {"html", "text", "subject", "schema"}
    for info in entry["files"].values():
        data = (out / info["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"]
        assert len(data) == info["bytes"]
    assert manifest["tools"]["mjml-python"] != "unknown"
    assert not any(k in manifest for k in ("builtAt", "timestamp", "date"))


def test_source_change_changes_source_hash_and_version(mini: Path) -> None:
    cfg = config.load(mini)
    out = build(cfg).out_dir
    assert out is not None
    before = json.loads((out / "manifest.json").read_text())
    footer = mini / "templates_src/partials/footer.mjml"
    footer.write_text(footer.read_text().replace("Unsubscribe<", "Unsubscribe here<"))
    build(cfg)
    after = json.loads((out / "manifest.json").read_text())
    assert after["templates"]["mini"]["sourceHash"] != before["templates"]["mini"]["sourceHash"]
    assert after["buildVersion"] != before["buildVersion"]
    toml = mini / "bbws-mail.toml"  # the [company] facts the footer shows are sources too
    toml.write_text(toml.read_text().replace("Long Street", "Loop Street"))
    build(config.load(mini))
    again = json.loads((out / "manifest.json").read_text())
    assert again["templates"]["mini"]["sourceHash"] != after["templates"]["mini"]["sourceHash"]
    assert again["buildVersion"] != after["buildVersion"]


def test_a_schema_edit_changes_source_hash(mini: Path) -> None:
    """The bundled schema is part of the build: its files, shared defs included, are
    sources, so the wheel hook and publish-time provenance see a schema-only change."""
    cfg = config.load(mini)
    out = build(cfg).out_dir
    assert out is not None
    before = json.loads((out / "manifest.json").read_text())["templates"]["mini"]
    schema_files = sorted(p.relative_to(mini).as_posix() for p in (mini / "schemas").rglob(
        "*.schema.json"))
    assert set(schema_files) <= set(before["sources"])
    defs = next(mini / f for f in schema_files if "/defs/" in f)
    doc = json.loads(defs.read_text())
    doc["description"] = "edited"
    defs.write_text(json.dumps(doc))
    build(cfg)
    after = json.loads((out / "manifest.json").read_text())["templates"]["mini"]
    assert after["sourceHash"] != before["sourceHash"]


def test_inline_css_is_inlined_and_media_queries_kept(mini: Path) -> None:
    out = build(config.load(mini)).out_dir
    assert out is not None
    html = (out / "mini.html").read_text()
    assert "font-weight: bold" in html  # from <mj-style inline="inline">
    assert "@media only screen and (min-width:480px)" in html  # MJML's column rules
    assert "prefers-color-scheme: dark" in html
    assert "fonts.googleapis.com" not in html


needs_templates = pytest.mark.skipif(not discover(ROOT / "templates_src"),
                                     reason="no templates in templates_src/ yet")


@needs_templates
def test_committed_build_is_fresh(project_build: Path) -> None:
    """build/ in git must be exactly what the sources build to: run `nox -s build`."""
    committed = ROOT / "build"
    assert committed.is_dir(), "build/ is missing: run `nox -s build` and commit it"
    want, got = _files(project_build), _files(committed)
    stale = sorted(n for n in set(want) | set(got) if want.get(n) != got.get(n))
    assert not stale, f"build/ is stale ({', '.join(stale)}): run `nox -s build` and commit"


@needs_templates
def test_every_template_builds_under_40kb(project_build: Path) -> None:
    names = sorted(p.stem for p in discover(ROOT / "templates_src"))
    assert sorted(p.name.removesuffix(".html") for p in project_build.glob("*.html")) == names
    for name in names:
        size = (project_build / f"{name}.html").stat().st_size
        assert size < 40 * 1024, f"{name}.html is {size} bytes"
        subject = (project_build / f"{name}.subject.txt").read_text()
        assert subject.strip() and "\n" not in subject.rstrip("\n")


def test_verify_fresh_reports_stale_files(mini: Path) -> None:
    from bbws_mail.pipeline import verify_fresh

    cfg = config.load(mini)
    build(cfg)
    assert verify_fresh(cfg) == []
    html = mini / "build" / "mini.html"
    html.write_text(html.read_text().replace("View order", "View ordr"))
    problems = verify_fresh(cfg)
    assert len(problems) == 1 and "mini.html is stale" in problems[0]


def test_bytecode_of_the_build_time_code_is_not_a_stale_file(mini: Path) -> None:
    """Rendering from a checkout imports build/<name>.mustache.py, and Python may write its
    bytecode into build/__pycache__: that must neither fail the freshness check nor
    make the next build rewrite anything."""
    import subprocess
    import sys

    from bbws_mail.buildlayout import CODE_SUFFIX as SUFFIX
    from bbws_mail.pipeline import verify_fresh

    cfg = config.load(mini)
    build(cfg)
    module = mini / "build" / f"mini{SUFFIX}"
    subprocess.run([sys.executable, "-c", "import py_compile, sys; py_compile.compile(sys.argv[1])",
                    str(module)], check=True)
    assert list((mini / "build" / "__pycache__").iterdir())
    assert verify_fresh(cfg) == []
    assert build(cfg).changed == []


def test_no_built_td_has_a_vertical_align_attribute(project_build: Path) -> None:
    # MRML writes vertical-align="middle" (not an HTML attribute) on mj-button's wrapper
    # cell; official MJML 5.4 writes none. The CSS property in style="" is fine.
    pages = sorted(project_build.glob("*.html"))
    assert pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<td\b[^>]*\svertical-align=", html), page.name
        assert "vertical-align:top" in html  # the CSS property is kept


STAGE_FUNCTIONS = [
    ("splice", "bbws_mail.pipeline.splice", "splice"),
    ("placeholders", "bbws_mail.pipeline.placeholders", "check"),
    ("source rules", "bbws_mail.pipeline.rules.source", "check"),
    ("mjml rules", "bbws_mail.pipeline.rules.mjml", "validate"),
    ("compile", "bbws_mail.pipeline.compile", "compile_mjml"),
    ("inline", "bbws_mail.pipeline.inline", "inline_css"),
    ("text", "bbws_mail.pipeline.text", "html_to_text"),
    ("subject", "bbws_mail.pipeline.subject", "extract_subject"),
    ("contract", "bbws_mail.pipeline.contract", "check_template"),
]


@pytest.fixture
def stage_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the calls of every pipeline stage while a test runs."""
    import importlib

    calls: Counter[str] = Counter()
    for label, module_name, attr in STAGE_FUNCTIONS:
        module = importlib.import_module(module_name)
        original = getattr(module, attr)

        def counted(*args: Any, _f: Any = original, _label: str = label, **kw: Any) -> Any:
            calls[_label] += 1
            return _f(*args, **kw)

        monkeypatch.setattr(module, attr, counted)
    return calls


def _once_each(calls: Counter[str], templates: int) -> None:
    assert dict(calls) == {label: templates for label, _, _ in STAGE_FUNCTIONS}


def test_build_runs_each_stage_once_per_template(stage_calls: Counter[str],
                                                 tmp_path: Path) -> None:
    cfg = config.load(ROOT)
    build(cfg, tmp_path / "build")
    _once_each(stage_calls, len(discover(cfg.templates_dir)))


def test_check_runs_each_stage_once_per_template(stage_calls: Counter[str]) -> None:
    from bbws_mail.check import run

    cfg = config.load(ROOT)
    report = run(cfg, spam=False)
    assert not report.errors, report.errors
    _once_each(stage_calls, len(discover(cfg.templates_dir)))


def test_preview_runs_each_stage_once_per_template(stage_calls: Counter[str]) -> None:
    from bbws_mail.preview.workspace import Workspace

    cfg = config.load(ROOT)
    ws = Workspace(cfg)
    ws.build_all()
    for name in ws.names():
        assert ws.preview(name).ok
        ws.checks(name)
    _once_each(stage_calls, len(discover(cfg.templates_dir)))


def test_visual_runs_each_stage_once_per_template(stage_calls: Counter[str],
                                                  tmp_path: Path) -> None:
    from bbws_mail.visual.browser import find_chromium

    if find_chromium() is None:
        pytest.skip("no Chromium")
    from bbws_mail.cli import main

    cfg = config.load(ROOT)
    name = discover(cfg.templates_dir)[0].stem
    code = main(["visual", "--root", str(ROOT), "--only", name,
                 "--report-dir", str(tmp_path / "report")])
    assert code == 0
    _once_each(stage_calls, len(discover(cfg.templates_dir)))
