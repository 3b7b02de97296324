"""The preview against hostile content and requests, on the real server on 127.0.0.1.

Template sources, assets and data come from pull requests; the designer's browser
also visits other sites while the preview runs. Neither may make the preview act
as the designer: send mail (with their SMTP or SES credentials), or run script in
the preview's origin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bbws_mail.preview.send import SendSettings
from tests.preview.conftest import ServerFactory
from tests.smtp import Catcher

pytestmark = pytest.mark.slow
expect: Any = pytest.importorskip("playwright.sync_api").expect

# Synchronous, so the mail has been sent (or refused) by the time the document has loaded.
SEND_JS = ("var x=new XMLHttpRequest();x.open('POST',self.origin+'/api/send/mini',false);"
           "x.setRequestHeader('Content-Type','application/json');"
           "x.send(JSON.stringify({to:'attacker@evil.example'}));"
           "top.document.body.dataset.pwned='1'")
# markup the build accepts (no <script>): an inline SVG's load handler
HOSTILE_MJML = f'<mj-raw><svg width="1" height="1" onload="{SEND_JS}"></svg></mj-raw>'
HOSTILE_SVG = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{SEND_JS}"></svg>'


def _frames_loaded(page: Any) -> None:
    """Wait until both preview frames hold the loaded email (its handlers have run)."""
    page.wait_for_function("""() => ['frame-desktop', 'frame-mobile'].every((id) => {
        const d = document.getElementById(id).contentDocument;
        return d && d.readyState === 'complete' && d.body
            && d.body.textContent.includes('Thandi'); })""")


def test_hostile_email_markup_cannot_act_as_the_preview(
        page: Any, mini_copy: Path, serve: ServerFactory, smtp: tuple[Catcher, int]) -> None:
    catcher, port = smtp
    source = mini_copy / "templates_src/mini.mjml"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("<mj-text css-class=\"total\">",
                                   HOSTILE_MJML + "<mj-text css-class=\"total\">", 1),
                      encoding="utf-8")
    (mini_copy / "assets").mkdir()
    (mini_copy / "assets/evil.svg").write_text(HOSTILE_SVG, encoding="utf-8")
    server = serve(mini_copy, send=SendSettings(smtp_host="127.0.0.1", smtp_port=port))
    assert server.workspace.state("mini").errors == []  # type: ignore[union-attr]

    page.goto(f"{server.url}/t/mini")  # the desktop and mobile frames
    _frames_loaded(page)
    assert [m["To"] for m in catcher.messages] == []
    assert page.evaluate("document.body.dataset.pwned") is None
    with page.expect_popup() as opened:  # "Open email ↗"
        page.locator("#open-email").click()
    popup = opened.value
    popup.wait_for_load_state()
    assert [m["To"] for m in catcher.messages] == []
    expect(popup.frame_locator("iframe").locator("body")).to_contain_text("Thandi")
    # the email's and an asset's own URLs, as a link in the email or another site opens them
    page.goto(f"{server.url}/email/mini.html")
    expect(page.locator("body")).to_contain_text("Thandi")
    page.goto(f"{server.url}/assets/evil.svg")
    assert [m["To"] for m in catcher.messages] == []
