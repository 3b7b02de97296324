"""The live preview in a real browser: index, frames, dark mode, live reload, errors, data.

Each test starts its own server in-process on a free port over a copy of the
project and drives headless Chromium with Playwright's auto-waiting ``expect``:
no sleeps, so a slow machine only makes a test slower, never wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bbws_mail.pipeline import discover
from bbws_mail.preview.workspace import audience, family
from tests.conftest import BRAND, css_rgb
from tests.preview.conftest import TIMEOUT, ServerFactory

pytestmark = pytest.mark.slow
expect: Any = pytest.importorskip("playwright.sync_api").expect
NAME = "order_confirmation_customer"  # example data: customer Thandi, order BB-2026-00417


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_index_lists_every_template_side_by_side_with_subjects(
        page: Any, project: Path, serve: ServerFactory) -> None:
    server = serve(project)
    page.goto(server.url + "/")
    links = page.locator("a.tpl-link")
    names = [p.stem for p in discover(project / "templates_src")]
    internal = [n for n in names if audience(n) == "internal"]
    expect(links).to_have_count(len(names))
    expect(page.locator(".cell.customer a.tpl-link")).to_have_count(len(names) - len(internal))
    expect(page.locator(".cell.internal a.tpl-link")).to_have_count(len(internal))
    # customer and internal of one family share a row
    shared = next(f for f in sorted({family(n) for n in internal})
                  if any(family(n) == f and audience(n) == "customer" for n in names))
    members = sorted(n for n in names if family(n) == shared)
    row = page.locator(".fam", has=page.locator("a.tpl-link",
                                                has_text=re.compile(f"^{members[-1]}$")))
    expect(row.locator("a.tpl-link")).to_have_text(members)
    # subjects are rendered with the example data
    expect(page.locator(".cell", has_text=NAME).first.locator(".subject")).to_contain_text(
        "Order BB-2026-00417 confirmed")
    links.filter(has_text=re.compile(f"^{NAME}$")).click()
    expect(page).to_have_url(re.compile(f"/t/{NAME}$"))


def test_template_page_shows_the_email_in_desktop_and_mobile_frames(
        page: Any, project: Path, serve: ServerFactory) -> None:
    server = serve(project)
    page.goto(f"{server.url}/t/{NAME}")
    for frame_id in ("#frame-desktop", "#frame-mobile"):
        body = page.frame_locator(frame_id).locator("body")
        expect(body).to_contain_text("Thandi")
        expect(body).to_contain_text("BB-2026-00417")
        # the logo comes from the server's own /assets (offline)
        logo = page.frame_locator(frame_id).locator("img[alt='BBWS KimmyAI']")
        expect(logo).to_have_js_property("complete", True)
        assert logo.evaluate("img => img.naturalWidth") > 0
    assert page.locator("#frame-desktop").bounding_box()["width"] == pytest.approx(800, abs=2)
    assert page.locator("#frame-mobile").bounding_box()["width"] == pytest.approx(375, abs=2)
    expect(page.locator("#subject")).to_have_text(
        "Order BB-2026-00417 confirmed: your WordPress site is on its way")
    expect(page.locator("#preheader")).to_contain_text("Thanks, Thandi.")
    expect(page.locator("#panel-text")).to_contain_text("Thandi")
    expect(page.locator("#panel-meta .size")).to_contain_text("of the 102 KB budget (size_fail_kb)")
    expect(page.locator("#panel-checks")).to_be_visible()
    expect(page.locator("#overlay")).to_be_hidden()


def test_dark_mode_toggle_applies_the_templates_dark_styles(
        page: Any, project: Path, serve: ServerFactory) -> None:
    server = serve(project)
    page.goto(f"{server.url}/t/{NAME}")
    frame = page.frame_locator("#frame-mobile")
    body_bg = "el => getComputedStyle(el).backgroundColor"
    expect(frame.locator("body")).to_contain_text("Thandi")
    dark_page, dark_card = css_rgb(BRAND["dark_page"]), css_rgb(BRAND["dark_card"])
    assert frame.locator("body").evaluate(body_bg) != dark_page
    page.locator("#dark").check()
    expect(page).to_have_url(re.compile(r"dark=1"))
    # head.mjml's @media (prefers-color-scheme: dark) rules now apply: brand.toml's dark_page
    expect(frame.locator("body")).to_have_css("background-color", dark_page)
    expect(frame.locator(".bb-card").first).to_have_css("background-color", dark_card)
    page.locator("#dark").uncheck()
    expect(frame.locator("body")).not_to_have_css("background-color", dark_page)
    # a reload keeps the choice in the URL
    page.goto(f"{server.url}/t/{NAME}?dark=1")
    expect(page.locator("#dark")).to_be_checked()
    expect(frame.locator("body")).to_have_css("background-color", dark_page)


def _insert_text(source: Path, words: str) -> None:
    """Save ``source`` with ``words`` at the start of its first <mj-text>, as an editor would."""
    text = source.read_text(encoding="utf-8")
    m = re.search(r"<mj-text[^>]*>", text)
    assert m
    source.write_text(text.replace(m.group(0), m.group(0) + words, 1), encoding="utf-8")


def test_saving_a_template_reloads_the_page_with_the_change(
        page: Any, project_copy: Path, serve: ServerFactory) -> None:
    server = serve(project_copy)
    page.goto(f"{server.url}/t/{NAME}")
    frame = page.frame_locator("#frame-desktop")
    expect(frame.locator("body")).to_contain_text("Thandi")
    expect(page.locator("#live")).to_have_text("● live")  # the event stream is connected
    _insert_text(project_copy / f"templates_src/{NAME}.mjml", "Freshly edited copy. ")
    expect(frame.locator("body")).to_contain_text("Freshly edited copy.", timeout=TIMEOUT)
    expect(page.locator("#panel-text")).to_contain_text("Freshly edited copy.")


def test_saving_a_partial_reloads_every_template_that_includes_it(
        page: Any, project_copy: Path, serve: ServerFactory) -> None:
    server = serve(project_copy)
    page.goto(f"{server.url}/t/receipt_internal")
    frame = page.frame_locator("#frame-desktop")
    expect(frame.locator("body")).to_contain_text("BBWS")
    _insert_text(project_copy / "templates_src/partials/footer.mjml", "Partial edited. ")
    expect(frame.locator("body")).to_contain_text("Partial edited.")


@pytest.mark.parametrize("case", ["undeclared-placeholder", "unclosed-tag"])
def test_a_build_error_shows_an_overlay_with_file_line_and_clears_when_fixed(
        page: Any, mini_copy: Path, serve: ServerFactory, case: str) -> None:
    server = serve(mini_copy)
    page.goto(f"{server.url}/t/mini")
    frame = page.frame_locator("#frame-desktop")
    expect(frame.locator("body")).to_contain_text("Hi Thandi Nkosi")
    source = mini_copy / "templates_src/mini.mjml"
    good = source.read_text(encoding="utf-8")
    if case == "undeclared-placeholder":
        _replace(source, "Hi {{customer.name}},", "Hi {{customerNmae}},")
        where = f"templates_src/mini.mjml:{_line_of(source, 'customerNmae')}"
        message = "customerNmae"
    else:
        _replace(source, 'Total: {{total}}</mj-text>', "Total: {{total}}")
        where = f"templates_src/mini.mjml:{_line_of(source, 'Total: {{total}}')}"
        message = "never closed"
    overlay = page.locator("#overlay")
    expect(overlay).to_be_visible()
    expect(overlay.locator(".loc").first).to_contain_text(where)
    expect(overlay).to_contain_text(message)
    source.write_text(good, encoding="utf-8")
    expect(overlay).to_be_hidden()
    expect(frame.locator("body")).to_contain_text("Hi Thandi Nkosi")


def test_a_page_opened_while_broken_shows_the_overlay_and_recovers(
        page: Any, mini_copy: Path, serve: ServerFactory) -> None:
    source = mini_copy / "templates_src/mini.mjml"
    good = source.read_text(encoding="utf-8")
    _replace(source, "Hi {{customer.name}},", "Hi {{customerNmae}},")
    server = serve(mini_copy)
    page.goto(server.url + "/")
    expect(page.locator(".cell", has_text="mini")).to_contain_text("1 build error(s)")
    page.goto(f"{server.url}/t/mini")
    expect(page.locator("#overlay")).to_contain_text("templates_src/mini.mjml:11")
    expect(page.locator("#frames")).to_be_hidden()  # no earlier build to show
    source.write_text(good, encoding="utf-8")
    expect(page.locator("#overlay")).to_be_hidden()
    expect(page.frame_locator("#frame-desktop").locator("body")).to_contain_text("Thandi")


def test_edited_data_shows_schema_errors_with_json_paths_then_renders_again(
        page: Any, project: Path, serve: ServerFactory) -> None:
    server = serve(project)
    page.goto(f"{server.url}/t/invoice")
    frame = page.frame_locator("#frame-desktop")
    expect(frame.locator("body")).to_contain_text("INV-2026-00288")
    example = json.loads((project / "schemas/examples/invoice.json").read_text())
    editor = page.locator("#data-editor")
    expect(editor).to_have_value(re.compile("INV-2026-00288"))

    bad = json.loads(json.dumps(example))
    bad["items"][0]["unitPrice"] = 2990
    del bad["payUrl"]
    editor.fill(json.dumps(bad, indent=2))
    problems = page.locator("#panel-problems")
    expect(problems.locator("table.data-errors")).to_contain_text("$.items[0].unitPrice")
    expect(problems).to_contain_text("payUrl")
    expect(page.locator("#frames")).to_be_hidden()

    editor.fill('{\n  "invoiceNumber": "INV-1",\n  "items": [,]\n}')
    expect(problems).to_contain_text("invalid JSON at line 3, column 13")

    edited = json.loads(json.dumps(example))
    edited["billTo"]["organization"] = "Edited Org (Pty) Ltd"
    editor.fill(json.dumps(edited, indent=2))
    expect(page.locator("#frames")).to_be_visible()
    expect(problems).to_be_empty()
    expect(frame.locator("body")).to_contain_text("Edited Org (Pty) Ltd")
    # the data file itself is untouched; "Reset to file" brings it back
    assert json.loads((project / "schemas/examples/invoice.json").read_text()) == example
    page.locator("#data-reset").click()
    expect(frame.locator("body")).not_to_contain_text("Edited Org (Pty) Ltd")


def test_another_data_file_can_be_picked_and_is_watched(
        page: Any, project_copy: Path, serve: ServerFactory) -> None:
    data_dir = project_copy / "preview-data"
    data_dir.mkdir()
    example = json.loads((project_copy / f"schemas/examples/{NAME}.json").read_text())
    example["customer"]["firstName"] = "Sipho"
    variant = data_dir / f"{NAME}-sipho.json"
    variant.write_text(json.dumps(example), encoding="utf-8")
    server = serve(project_copy)
    page.goto(f"{server.url}/t/{NAME}")
    frame = page.frame_locator("#frame-desktop")
    expect(frame.locator("body")).to_contain_text("Thandi")
    page.locator("#data-file").select_option(f"preview-data/{NAME}-sipho.json")
    expect(frame.locator("body")).to_contain_text("Sipho")
    expect(page).to_have_url(re.compile(r"data=preview-data"))
    # saving the data file re-renders too
    example["customer"]["firstName"] = "Lerato"
    variant.write_text(json.dumps(example), encoding="utf-8")
    expect(frame.locator("body")).to_contain_text("Lerato")
    # ?data= opens a page on that file directly; a path outside the data folders is refused
    page.goto(f"{server.url}/t/{NAME}?data=preview-data/{NAME}-sipho.json")
    expect(frame.locator("body")).to_contain_text("Lerato")
    page.goto(f"{server.url}/t/{NAME}?data=bbws-mail.toml")
    expect(page.locator("#panel-problems")).to_contain_text("no data")


def test_the_index_reloads_when_a_template_breaks(
        page: Any, mini_copy: Path, serve: ServerFactory) -> None:
    server = serve(mini_copy)
    page.goto(server.url + "/")
    cell = page.locator(".cell", has_text="mini")
    expect(cell).to_contain_text("KB")
    expect(page.locator("#live")).to_have_text("● live")
    _replace(mini_copy / "templates_src/mini.mjml", "Hi {{customer.name}},",
             "Hi {{customerNmae}},")
    expect(page.locator(".cell", has_text="mini")).to_contain_text("1 build error(s)")
