"""``bbws-mail preview --export DIR``: static pages that open from disk."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bbws_mail.cli import main
from bbws_mail.pipeline.brand import hashed_name

ATTR_RE = re.compile(r"""\b(?:href|src)\s*=\s*"([^"]*)\"""")


@pytest.fixture(scope="module")
def exported(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "site"
    assert main(["preview", "--root", str(project), "--export", str(out)]) == 0
    return out


def test_export_writes_every_page_email_and_text(exported: Path, project: Path) -> None:
    names = sorted(p.stem for p in (project / "templates_src").glob("*.mjml"))
    assert names
    for name in names:
        for suffix in (".html", ".email.html", ".txt"):
            assert (exported / f"{name}{suffix}").is_file(), f"{name}{suffix}"
    assert (exported / "assets/logo.png").is_file()
    assert not (exported / "assets/make_logo.py").exists()
    index = (exported / "index.html").read_text()
    assert len(re.findall(r'class="tpl-link"', index)) == len(names)
    for name in names:
        assert f'href="{name}.html"' in index
    # the email files are the rendered emails, logo relative to the export
    email = (exported / "receipt.email.html").read_text()
    logo = hashed_name("logo.png", (project / "assets/logo.png").read_bytes())
    assert f'src="assets/{logo}"' in email and "{{" not in email
    assert (exported / "assets" / logo).read_bytes() == (project / "assets/logo.png").read_bytes()


def test_export_links_are_relative_and_there_is_no_live_reload(exported: Path) -> None:
    for page in [exported / "index.html", *exported.glob("*.html")]:
        if page.name.endswith(".email.html"):
            continue
        html = page.read_text()
        for target in ATTR_RE.findall(html):
            assert not target.startswith(("/", "http://", "https://", "file:")), (
                page.name, target)
            assert (exported / target).exists(), (page.name, target)
        assert "EventSource" not in html and "/api/" not in html, page.name
        assert "127.0.0.1" not in html, page.name


def test_exported_pages_work_from_disk(exported: Path, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto((exported / "index.html").as_uri())
    names = list((exported.parent / "site").glob("*.email.html"))
    expect(page.locator("a.tpl-link")).to_have_count(len(names))
    page.locator("a.tpl-link", has_text=re.compile("^order_confirmation_customer$")).click()
    frame = page.frame_locator("#frame-mobile")
    expect(frame.locator("body")).to_contain_text("Thandi")
    logo = frame.locator("img[alt='BBWS KimmyAI']")
    expect(logo).to_have_js_property("complete", True)
    assert logo.evaluate("img => img.naturalWidth") > 0
    page.locator("#dark").check()
    expect(frame.locator("body")).to_have_css("background-color", "rgb(17, 24, 39)")
    expect(page.locator("#panel-text")).to_contain_text("Thandi")
    page.locator("a.back").click()
    expect(page).to_have_url(re.compile(r"index\.html$"))


def test_export_of_a_broken_project_shows_the_errors_and_fails(
        mini_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = mini_copy / "templates_src/mini.mjml"
    src.write_text(src.read_text().replace("{{customer.name}},", "{{customerNmae}},", 1))
    out = tmp_path / "site"
    assert main(["preview", "--root", str(mini_copy), "--export", str(out)]) == 1
    assert "templates_src/mini.mjml:11" in capsys.readouterr().err
    page = (out / "mini.html").read_text()
    assert "does not build" in page and "templates_src/mini.mjml:11" in page
