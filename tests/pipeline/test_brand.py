"""One brand token file re-colours header, buttons, dark mode and logo; assets are hashed."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from bbws_mail import config
from bbws_mail.cli import main
from bbws_mail.pipeline import build
from bbws_mail.pipeline.brand import find_asset, hashed_name
from tests.conftest import ROOT

# The brand as committed, and two colours it does not use: the test follows brand.toml.
TOKENS = tomllib.loads((ROOT / "brand.toml").read_text())
OLD = TOKENS["primary"]
_UNUSED = [c for c in ("#0f766e", "#99f6e4", "#b45309", "#fde68a") if c not in TOKENS.values()]
TEAL, MINT = _UNUSED[0], _UNUSED[1]  # the new primary and dark-mode link colours


def _copy(dest: Path) -> Path:
    for part in ("templates_src", "schemas", "assets", "bbws-mail.toml", "brand.toml"):
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / part)
    return dest


def _make_logo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_logo", ROOT / "assets/make_logo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_logo_generator_draws_the_committed_logo_from_the_tokens(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    out = tmp_path / "logo.png"
    _make_logo().main(ROOT / "brand.toml", out)
    assert out.read_bytes() == (ROOT / "assets/logo.png").read_bytes()


def test_a_brand_colour_change_recolours_header_buttons_dark_mode_and_logo(
        tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    project = _copy(tmp_path / "p")
    tokens = project / "brand.toml"
    text = tokens.read_text()
    text = re.sub(r'(?m)^primary = "#[0-9a-f]{6}"', f'primary = "{TEAL}"', text)
    text = re.sub(r'(?m)^link_dark = "#[0-9a-f]{6}"', f'link_dark = "{MINT}"', text)
    tokens.write_text(text)
    _make_logo().main(tokens, project / "assets/logo.png")
    out = build(config.load(project)).out_dir
    assert out is not None

    html = (out / "order_confirmation_customer.html").read_text()
    assert OLD not in html
    header = re.search(r'<div class="bb-header" style="([^"]*)"', html)
    assert header and f"background-color:{TEAL}" in header.group(1)
    button = re.search(r'<td align="center" bgcolor="([^"]+)" role="presentation"', html)
    assert button and button.group(1) == TEAL
    assert f".bb-card a {{ color: {MINT} !important; }}" in html  # dark-mode links
    logo = json.loads((out / "manifest.json").read_text())["assets"]["logo.png"]
    assert logo["path"] != "assets/" + hashed_name("logo.png",
                                                   (ROOT / "assets/logo.png").read_bytes())
    assert f"{{{{assetBaseUrl}}}}/{logo['path'].removeprefix('assets/')}" in html
    with Image.open(out / logo["path"]) as img:
        assert img.convert("RGB").getpixel((2, 2)) == tuple(
            int(TEAL[i:i + 2], 16) for i in (1, 3, 5))


def test_every_asset_the_build_references_is_in_build_assets(project_build: Path) -> None:
    manifest = json.loads((project_build / "manifest.json").read_text())
    referenced = set()
    for page in project_build.glob("*.html"):
        referenced |= set(re.findall(r"\{\{assetBaseUrl\}\}/([^\"' )]+)", page.read_text()))
    assert referenced
    assert referenced == {e["path"].removeprefix("assets/") for e in manifest["assets"].values()}
    for name, entry in manifest["assets"].items():
        data = (project_build / entry["path"]).read_bytes()
        assert data == (ROOT / "assets" / name).read_bytes()
        assert entry["path"] == "assets/" + hashed_name(name, data)
        assert find_asset(ROOT / "assets", entry["path"].removeprefix("assets/")) == \
            ROOT / "assets" / name


def test_an_unknown_token_is_a_build_error_with_location_and_suggestion(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _copy(tmp_path / "p")
    header = project / "templates_src/partials/header.mjml"
    header.write_text(header.read_text().replace("${brand.primary}", "${brand.primray}"))
    assert main(["build", "-q", "--root", str(project)]) == 1
    err = capsys.readouterr().err
    line = next(i for i, text in enumerate(header.read_text().splitlines(), 1)
                if "primray" in text)
    assert f"error: templates_src/partials/header.mjml:{line}:" in err
    assert "did you mean ${brand.primary}?" in err
    assert not (project / "build").exists()


def test_an_asset_that_is_a_symbolic_link_is_a_build_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Sources come from pull requests and git stores links: assets/logo.png linked to a
    file of the build machine would be hashed into build/ and published."""
    project = _copy(tmp_path / "p")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the asset bucket")
    logo = project / "assets/logo.png"
    logo.unlink()
    logo.symlink_to(secret)
    assert main(["build", "-q", "--root", str(project)]) == 1
    err = capsys.readouterr().err
    assert "${asset.logo.png}" in err and "symbolic link" in err, err
    assert err.startswith("error: templates_src/"), err
    assert not (project / "build").exists()


def test_a_token_file_that_is_not_utf8_is_a_build_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _copy(tmp_path / "p")
    (project / "brand.toml").write_bytes(b'primary = "#0f766e"\nname = "Caf\xe9"\n')
    assert main(["build", "-q", "--root", str(project)]) == 1
    err = capsys.readouterr().err
    assert "error: brand.toml: not UTF-8 (byte 32)" in err, err
    assert not (project / "build").exists()


@pytest.mark.parametrize(("extra", "says"), [
    ("shadow = 5\n", "token(s) shadow must be one-line strings"),
    ("shadow = = 1\n", "not valid TOML: Invalid value"),
])
def test_a_bad_token_file_names_the_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, says: str) -> None:
    project = _copy(tmp_path / "p")
    tokens = project / "brand.toml"
    tokens.write_text(tokens.read_text() + extra)
    line = len(tokens.read_text().splitlines())
    assert main(["build", "-q", "--root", str(project)]) == 1
    err = capsys.readouterr().err
    assert f"error: brand.toml:{line}" in err and says in err, err


def test_the_company_table_feeds_every_footer_and_the_invoices_escaped(tmp_path: Path) -> None:
    from bbws_mail import render
    from bbws_mail.sources import PackagedSource

    project = _copy(tmp_path / "p")
    toml = project / "bbws-mail.toml"
    company = config.load(project).company.facts()
    toml.write_text(toml.read_text().replace(f'name = "{company["name"]}"',
                                             'name = "Mokoena & <Daughters> (Pty) Ltd"'))
    cfg = config.load(project)
    build(cfg)
    source = PackagedSource(project / "build", env="dev")
    for path in sorted((project / "templates_src").glob("*.mjml")):
        data = json.loads((project / "schemas/examples" / f"{path.stem}.json").read_text())
        email = render(path.stem, data, source=source)
        assert "Mokoena &amp; &lt;Daughters&gt; (Pty) Ltd" in email.html, path.stem
        assert "Mokoena & <Daughters> (Pty) Ltd" in email.text, path.stem
        assert company["name"] not in email.text, path.stem
        for key in ("address", "registration", "vat_number"):
            assert company[key] in email.text, (path.stem, key)
    manifest = json.loads((project / "build/manifest.json").read_text())
    assert all("bbws-mail.toml" in t["sources"] for t in manifest["templates"].values())


def test_an_unknown_company_key_is_a_build_error_with_location_and_suggestion(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _copy(tmp_path / "p")
    footer = project / "templates_src/partials/footer.mjml"
    footer.write_text(footer.read_text().replace("${company.vat_number}",
                                                 "${company.vat_numbr}"))
    assert main(["build", "-q", "--root", str(project)]) == 1
    err = capsys.readouterr().err
    line = next(i for i, text in enumerate(footer.read_text().splitlines(), 1)
                if "${company.vat_numbr}" in text)
    assert f"error: templates_src/partials/footer.mjml:{line}:" in err
    assert "bbws-mail.toml [company] sets no 'vat_numbr'" in err
    assert "did you mean ${company.vat_number}?" in err


def test_brand_spans_stay_exact_after_a_company_value_of_another_length(tmp_path: Path) -> None:
    from bbws_mail.pipeline.brand import Brand

    brand = Brand(tmp_path, tokens={"primary": "#1d4ed8"}, company={"name": "A & B (Pty) Ltd"})
    spans: list[tuple[int, int]] = []
    text = brand.expand("<p>${company.name}</p><p style=\"color:${brand.primary}\">", "x", spans)
    assert text == '<p>A &amp; B (Pty) Ltd</p><p style="color:#1d4ed8">'
    assert [text[s:e] for s, e in spans] == ["#1d4ed8"]
