"""The preview's state without a browser: what rebuilds, freshness, data, checks, dark mode."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import check, config
from bbws_mail.cli import make_parser
from bbws_mail.pipeline import discover
from bbws_mail.preview.pages import frame_document
from bbws_mail.preview.watch import Watcher
from bbws_mail.preview.workspace import Workspace, parse_data, preheader_of
from tests.conftest import ROOT
from tests.preview.conftest import LOGO

# Tests follow templates_src/: any template serves, and the count is what is there.
NAMES = [p.stem for p in discover(ROOT / "templates_src")]
ONE, OTHER = NAMES[0], NAMES[-1]


@pytest.fixture
def ws(project_copy: Path) -> Workspace:
    w = Workspace(config.load(project_copy), asset_base_url="http://assets.test")
    w.build_all()
    return w


def _touch(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _watch(ws: Workspace) -> Watcher:
    return Watcher(ws.watch_specs(), ws.on_files_changed, settle=0)


def test_all_templates_build_and_render_with_their_examples(ws: Workspace) -> None:
    assert ws.names() == sorted(p.stem for p in discover(ws.config.templates_dir))
    for name in ws.names():
        p = ws.preview(name)
        assert p.ok, (name, p.build_errors, p.data_errors, p.json_error)
        assert p.email and "{{" not in p.email.subject
        assert p.preheader and "{{" not in p.preheader
        assert 0 < p.size < 102 * 1024
        assert f"http://assets.test/{LOGO}" in p.email.html


def test_a_template_change_rebuilds_only_that_template(ws: Workspace) -> None:
    watcher = _watch(ws)
    root = ws.config.root
    before = ws.generation
    _touch(root / f"templates_src/{ONE}.mjml", "<mj-text", "<mj-text css-class=\"x\"")
    watcher.poll()
    assert ws.last_change["rebuilt"] == [ONE]
    assert ws.last_change["files"] == [f"templates_src/{ONE}.mjml"]
    assert ws.generation == before + 1


def test_a_partial_change_rebuilds_the_templates_including_it(ws: Workspace) -> None:
    watcher = _watch(ws)
    _touch(ws.config.root / "templates_src/partials/footer.mjml", "<mj-text", "<mj-text ")
    watcher.poll()
    including = sorted(n for n, s in ws.templates.items()
                       if s.shown and "templates_src/partials/footer.mjml" in s.shown.sources)
    assert including and ws.last_change["rebuilt"] == including


def test_schema_changes_rebuild_their_template_or_all(ws: Workspace) -> None:
    watcher = _watch(ws)
    root = ws.config.root
    schema = root / f"schemas/{OTHER}.schema.json"
    schema.write_text(schema.read_text() + "\n")
    watcher.poll()
    assert ws.last_change["rebuilt"] == [OTHER]
    shared = root / "schemas/defs/common.schema.json"
    shared.write_text(shared.read_text() + "\n")
    watcher.poll()
    assert ws.last_change["rebuilt"] == ws.names()
    example = root / f"schemas/examples/{OTHER}.json"
    example.write_text(example.read_text() + "\n")
    watcher.poll()
    assert ws.last_change["rebuilt"] == [] and ws.last_change["files"] == [
        f"schemas/examples/{OTHER}.json"]


def test_new_and_deleted_templates_are_discovered(ws: Workspace) -> None:
    watcher = _watch(ws)
    root = ws.config.root
    before = ws.names()
    (root / f"templates_src/{ONE}.mjml").unlink()
    watcher.poll()
    assert ws.names() == [n for n in before if n != ONE]
    (root / "templates_src/zz_added.mjml").write_text(
        (ROOT / f"templates_src/{ONE}.mjml").read_text())
    watcher.poll()
    assert ws.names() == sorted([*(n for n in before if n != ONE), "zz_added"])


def test_a_rebuild_is_never_served_stale_from_the_render_cache(ws: Workspace) -> None:
    name = ONE
    data = json.loads((ws.config.root / f"schemas/examples/{name}.json").read_text())
    first = ws.render(name, data)
    _touch(ws.config.root / f"templates_src/{name}.mjml", "<mj-text", "<mj-text>Edited!</mj-text>"
           "<mj-text")
    ws.rebuild([name])
    second = ws.render(name, data)
    assert second.build_version != first.build_version
    assert "Edited!" in second.html and "Edited!" not in first.html
    render_mod = importlib.import_module("bbws_mail.render")
    mine = [k for k in render_mod._cache if k[0] == ws.origin and k[2] == name]
    assert mine == [(ws.origin, second.build_version, name)]  # the old build was dropped


def test_a_broken_build_keeps_the_last_good_one_under_its_errors(ws: Workspace) -> None:
    src = ws.config.root / f"templates_src/{ONE}.mjml"
    good = src.read_text()
    variable = _top_level_variable(ws, ONE)
    _touch(src, f"{{{{{variable}}}}}", f"{{{{{variable}Typo}}}}")
    ws.rebuild([ONE])
    p = ws.preview(ONE)
    assert p.stale and p.email is not None
    assert any(f"templates_src/{ONE}.mjml:" in e and f"{variable}Typo" in e
               for e in p.build_errors)
    src.write_text(good)
    ws.rebuild([ONE])
    assert ws.preview(ONE).build_errors == []


def _top_level_variable(ws: Workspace, name: str) -> str:
    """A ``{{variable}}`` the template shows that its schema declares at the top level."""
    import re

    schema = json.loads((ws.config.schemas_dir / f"{name}.schema.json").read_text())
    source = (ws.config.templates_dir / f"{name}.mjml").read_text()
    return next(v for v in re.findall(r"\{\{([A-Za-z]\w*)\}\}", source)
                if v in schema.get("properties", {}))


def test_data_errors_and_json_errors_are_precise(ws: Workspace) -> None:
    data = json.loads((ws.config.root / f"schemas/examples/{OTHER}.json").read_text())
    field = next(k for k, v in data.items() if isinstance(v, str))
    data[field] = 12
    p = ws.preview(OTHER, text=json.dumps(data))
    assert p.email is None
    assert [d.path for d in p.data_errors] == [f"$.{field}"]
    assert parse_data('{\n  "a": 1,\n  "b": tru\n}')[1].startswith(
        "invalid JSON at line 3, column 8")
    assert ws.preview(OTHER, text="[1, 2").json_error.startswith("invalid JSON at line 1")


def test_only_listed_data_files_can_be_read(ws: Workspace) -> None:
    from bbws_mail.errors import BBWSMailError

    assert f"schemas/examples/{OTHER}.json" in ws.data_files()
    for sneaky in ("bbws-mail.toml", "../etc/passwd", f"schemas/{OTHER}.schema.json"):
        with pytest.raises(BBWSMailError):
            ws.read_data_file(sneaky)
        assert ws.preview(OTHER, file=sneaky).email is None


def test_checks_failures_never_break_the_preview(ws: Workspace,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(cfg: Any, built: Any) -> list[Any]:
        raise RuntimeError("lint bug")

    monkeypatch.setattr(check, "check_built", boom)
    ws._checks.clear()
    p = ws.preview(ONE)
    assert p.ok and "lint bug" in p.checks.crashed


def test_checks_show_the_lint_findings_of_the_build(ws: Workspace,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from bbws_mail.pipeline.rules import finding

    big = finding("size-budget", "x.mjml:3", "big", ONE, severity="warning")
    monkeypatch.setattr(check, "check_built", lambda cfg, built: [big])
    ws._checks.clear()
    checks = ws.preview(ONE).checks
    assert checks.findings == [big]
    assert (checks.errors, checks.warnings) == (0, 1)


def test_frame_document_forces_the_colour_scheme() -> None:
    html = ('<html><head><meta name="color-scheme" content="light dark"><style>'
            "@media (prefers-color-scheme: dark) { body { background: #111 } }"
            "@media screen and (prefers-color-scheme:light) { body { background: #fff } }"
            "</style></head><body>x</body></html>")
    dark = frame_document(html, dark=True)
    assert "prefers-color-scheme" not in dark
    assert "@media (min-width:0px) { body { background: #111 } }" in dark
    assert "screen and (max-width:0px)" in dark
    assert '<meta name="color-scheme" content="dark">' in dark
    assert "light dark" not in dark and '<base target="_blank">' in dark
    light = frame_document(html, dark=False)
    assert "@media (max-width:0px) { body { background: #111 } }" in light
    assert ":root{color-scheme:light}" in light


def test_preheader_is_read_from_the_hidden_div() -> None:
    html = ('<body><div style="display:none;font-size:1px;">Hi &amp; <b>welcome</b>  back'
            '</div><div style="display:block">body</div></body>')
    assert preheader_of(html) == "Hi & welcome back"
    assert preheader_of("<body>none</body>") == ""


def test_the_cli_registers_preview_and_send() -> None:
    parser = make_parser()
    args = parser.parse_args(["preview", "--port", "0", "--export", "out"])
    assert (args.port, args.export, args.host) == (0, "out", "127.0.0.1")
    args = parser.parse_args(["send", ONE, "--to", "a@example.com", "--ses",
                              "--region", "eu-west-1", "--smtp-password-env", "PW"])
    assert (args.name, args.to, args.ses, args.region, args.smtp_password_env) == (
        ONE, ["a@example.com"], True, "eu-west-1", "PW")
    assert parser.parse_args(["preview"]).port == 8025


def test_an_edited_bbws_mail_toml_is_read_again(ws: Workspace) -> None:
    toml = ws.config.root / "bbws-mail.toml"
    address = ws.config.company.facts()["address"]
    assert address in ws.preview(ONE).email.text  # type: ignore[union-attr]
    _touch(toml, f'address = "{address}"', 'address = "1 Elsewhere Road, Cape Town"')
    _watch_changes(ws, [toml])
    assert ws.config.company.facts()["address"] == "1 Elsewhere Road, Cape Town"
    for name in ws.names():  # every footer shows the one address
        email = ws.preview(name).email
        assert email is not None and "1 Elsewhere Road, Cape Town" in email.text, name
        assert address not in email.text, name
    _touch(toml, 'vat_number = "4123456789"', 'vat_number = "41234"')
    _watch_changes(ws, [toml])
    state = ws.state(ONE)
    assert state is not None and state.built is None  # the table is refused, at its line
    assert any("[company] vat_number" in e.message for e in state.errors), state.errors


def _watch_changes(ws: Workspace, paths: list[Path]) -> None:
    assert any(paths[0].match(pattern) for folder, pattern in ws.watch_specs()
               if folder == paths[0].parent)
    ws.on_files_changed(paths)


def test_an_edited_brand_toml_recolours_every_template(ws: Workspace) -> None:
    tokens = ws.config.root / "brand.toml"
    old = next(line.split('"')[1] for line in tokens.read_text().splitlines()
               if line.startswith("primary ="))
    _touch(tokens, f'primary = "{old}"', 'primary = "#0f766e"')
    _watch_changes(ws, [tokens])
    for name in ws.names():
        p = ws.preview(name)
        assert p.ok and p.email is not None, (name, p.build_errors)
        assert "#0f766e" in p.email.html and old not in p.email.html, name


def test_the_size_bar_measures_against_the_configured_budget(mini_copy: Path) -> None:
    from bbws_mail.config import CheckSettings
    from bbws_mail.preview.pages import meta_panel

    toml = mini_copy / "bbws-mail.toml"
    # the build's worst-case budget stays large: only the preview's measure is at stake
    toml.write_text(toml.read_text() + "\n[check]\nworst_case_fail_kb = 500\nsize_warn_kb = 1\n"
                    "size_fail_kb = 1\n")
    w = Workspace(config.load(mini_copy))
    w.build_all()
    p = w.preview("mini")
    assert p.ok and p.size > 1024, p.size
    assert p.budget == 1024
    assert "over the 1 KB budget (size_fail_kb)!" in meta_panel(p)
    toml.write_text(toml.read_text().replace("size_fail_kb = 1\n", ""))
    w.reload_config()
    assert w.preview("mini").budget == CheckSettings.size_fail_kb * 1024  # the default


@pytest.mark.parametrize("severity", ["error", "warning"])
def test_the_index_shows_the_check_result_when_every_finding_is_accepted(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch, severity: str) -> None:
    from bbws_mail.pipeline.rules import finding
    from bbws_mail.preview.pages import Links, index_page

    def cell(page: str, name: str) -> str:
        start = page.index(f">{name}</a>")
        return page[start:page.index('<div class="cell', start)]

    links = Links(index="/", page=lambda n: f"/t/{n}", email=lambda n: f"/e/{n}",
                  text=lambda n: f"/x/{n}")
    big = finding("size-budget", "x.mjml:3", "big", ONE, severity=severity)
    accepted = big._replace(accepted="reviewed: the table is long on purpose")
    monkeypatch.setattr(check, "check_built", lambda cfg, built: [accepted])
    ws._checks.clear()
    page = index_page([ws.preview(n) for n in ws.names()], links, live=False)
    assert 'chip ok">checks ok (1 accepted)</span>' in cell(page, ONE)
    monkeypatch.setattr(check, "check_built", lambda cfg, built: [big, accepted])
    ws._checks.clear()
    page = index_page([ws.preview(n) for n in ws.names()], links, live=False)
    shown = cell(page, ONE)
    assert "checks ok" not in shown
    assert f"1 {'check error' if severity == 'error' else 'warning'}(s)" in shown


def test_the_index_says_when_checks_could_not_run(ws: Workspace,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from bbws_mail.preview.pages import Links, index_page

    def boom(cfg: Any, built: Any) -> list[Any]:
        raise RuntimeError("lint bug")

    monkeypatch.setattr(check, "check_built", boom)
    ws._checks.clear()
    links = Links(index="/", page=lambda n: f"/t/{n}", email=lambda n: f"/e/{n}",
                  text=lambda n: f"/x/{n}")
    page = index_page([ws.preview(ONE)], links, live=False)
    assert 'chip warn">checks did not run</span>' in page and "checks ok" not in page
