"""The preview against hostile content and requests, on the real server on 127.0.0.1.

Template sources, assets and data come from pull requests; the designer's browser
also visits other sites while the preview runs. Neither may make the preview act
as the designer: send mail (with their SMTP or SES credentials), or run script in
the preview's origin.
"""

from __future__ import annotations

import html
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bbws_mail.cli import main
from bbws_mail.pipeline.brand import hashed_name
from bbws_mail.preview.send import SendSettings
from bbws_mail.preview.server import PreviewServer
from tests.preview.conftest import ServerFactory
from tests.smtp import Catcher

pytestmark = pytest.mark.slow
expect: Any = pytest.importorskip("playwright.sync_api").expect

# Synchronous, so the mail has been sent (or refused) by the time the document has loaded.
SEND_JS = ("var x=new XMLHttpRequest();x.open('POST',self.origin+'/api/send/mini',false);"
           "x.setRequestHeader('Content-Type','application/json');"
           "x.send(JSON.stringify({to:'attacker@evil.example'}));"
           "top.document.body.dataset.pwned='1'")
# an inline SVG's load handler: html-forbidden refuses it, but a reviewer may accept
# the finding in check-allow.toml, and the preview must stay safe even then
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
    (mini_copy / "check-allow.toml").write_text(
        '[[accept]]\nrule = "html-forbidden"\ntemplates = ["mini"]\n'
        'reason = "accepted by mistake in review"\n', encoding="utf-8")
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


def _request(server: PreviewServer, method: str, path: str, body: bytes = b"",
             **headers: str) -> tuple[int, str]:
    """One request on its own connection; a dropped connection or a hang fails the test."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.putrequest(method, path)
        for name, value in {"Content-Type": "application/json",
                            "Content-Length": str(len(body)), **headers}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        reply = conn.getresponse()
        return reply.status, reply.read().decode()
    finally:
        conn.close()


def test_malformed_data_and_requests_get_an_answer(
        mini_copy: Path, serve: ServerFactory) -> None:
    """Data that json/UTF-8 refuse beyond a syntax error, and broken requests, are reported.

    A nested-too-deeply or over-long number, or a file saved in Latin-1, is data a
    designer can have; each raised past the handler, printed a traceback and dropped
    the connection, and the example file took the index page down with it.
    """
    example = mini_copy / "schemas/examples/mini.json"
    example.write_bytes(example.read_text(encoding="utf-8")
                        .replace("Nkosi", "Nkosí").encode("latin-1"))
    (mini_copy / "preview-data").mkdir()
    (mini_copy / "preview-data/deep.json").write_text("[" * 100_000, encoding="utf-8")
    server = serve(mini_copy)

    status, page = _request(server, "GET", "/")
    assert status == 200 and "1 data problem(s)" in page
    status, page = _request(server, "GET", "/t/mini")
    assert status == 200 and "UTF-8" in page
    status, page = _request(server, "GET", "/t/mini?data=preview-data/deep.json")
    assert status == 200 and "nested too deeply" in page
    for text in ("[" * 100_000, '{"total": ' + "9" * 5000 + "}"):
        status, page = _request(server, "POST", "/api/preview/mini",
                                json.dumps({"text": text}).encode())
        assert status == 200 and "invalid JSON" in json.loads(page)["panels"]["problems"]
        status, page = _request(server, "POST", "/api/send/mini",
                                json.dumps({"to": "a@example.com", "text": text}).encode())
        assert status == 200 and "not sent: invalid JSON" in json.loads(page)["message"]
    status, page = _request(server, "POST", "/api/preview/mini", b"[" * 100_000)
    assert status == 400
    status, page = _request(server, "POST", "/api/preview/mini", b"{}", **{"Content-Length": "-1"})
    assert status == 400


def test_symlinks_out_of_the_project_are_never_read(
        mini_copy: Path, serve: ServerFactory, tmp_path: Path) -> None:
    """A symlink from a pull request (assets/x.png -> /proc/self/environ) is not followed.

    CI runs ``--export`` on pull requests and uploads the result as an artifact, so
    an asset or example data file that is a link to a file outside its folder would
    publish that file (the runner's environment, .git/config's token) to anyone who
    can read the artifacts.
    """
    secret = tmp_path / "secret.json"
    secret.write_text('{"token": "TOP-SECRET"}', encoding="utf-8")
    (mini_copy / "assets").mkdir()
    (mini_copy / "assets/leak.png").symlink_to(secret)
    (mini_copy / "preview-data").mkdir()
    (mini_copy / "preview-data/leak.json").symlink_to(secret)
    (mini_copy / "schemas/examples/mini.json").unlink()
    (mini_copy / "schemas/examples/mini.json").symlink_to(secret)

    server = serve(mini_copy)
    hashed = hashed_name("leak.png", secret.read_bytes())
    for path in ("/assets/leak.png", f"/assets/{hashed}", "/assets/%00", "/t/mini",
                 "/t/mini?data=preview-data/leak.json", "/text/mini.txt"):
        _, page = _request(server, "GET", path)
        assert "TOP-SECRET" not in page, path
    out = tmp_path / "site"
    main(["preview", "--root", str(mini_copy), "--export", str(out)])
    leaked = [p.name for p in out.rglob("*") if p.is_file() and b"TOP-SECRET" in p.read_bytes()]
    assert leaked == []



def test_another_site_cannot_frame_the_preview(
        page: Any, mini_copy: Path, serve: ServerFactory) -> None:
    """Framed invisibly by another site, the send form could be clicked (or dragged into).

    The other site is served from 127.0.0.1 too: this Chromium asks before a public
    site may reach a local address, other browsers do not.
    """
    server = serve(mini_copy, send_to="designer@example.com")
    body = (f'<iframe src="{server.url}/t/mini"></iframe>'
            f'<iframe src="{server.url}/"></iframe>').encode()

    class Evil(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    evil = ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://localhost:{evil.server_address[1]}/")
        page.wait_for_load_state("load")
    finally:
        evil.shutdown()
        evil.server_close()
    framed = page.main_frame.child_frames
    assert len(framed) == 2
    for frame in framed:
        assert frame.evaluate("() => document.querySelector('#send-form, .tpl-link')") is None


def test_an_unknown_template_in_the_url_is_described_not_echoed(
        mini_copy: Path, serve: ServerFactory) -> None:
    import urllib.error
    import urllib.request
    from urllib.parse import quote

    server = serve(mini_copy)
    for asked, shown in (("refund-receipt", "'refund-receipt'"),
                         ("<b>x</b>\u202e", "(a string of 9 character(s))")):
        try:
            urllib.request.urlopen(f"{server.url}/t/{quote(asked)}", timeout=10)
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
            body = exc.read().decode()
        else:
            raise AssertionError("an unknown template was served")
        assert f"There is no template {html.escape(shown)}" in body
        assert "\u202e" not in body and "&lt;b&gt;" not in body
