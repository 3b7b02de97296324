"""Test sends: ``bbws-mail send`` and the page's button, against a real local SMTP server."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from bbws_mail.cli import main
from bbws_mail.errors import MessageError
from bbws_mail.preview.send import SendSettings
from bbws_mail.send import RejectedAddressError, SendError
from tests.preview.conftest import LOGO, TIMEOUT, ServerFactory
from tests.smtp import Catcher

NAME = "receipt"


def _assert_multipart(msg: EmailMessage, subject: str, needle: str) -> None:
    """multipart/alternative with a text/plain and a text/html part, both showing ``needle``."""
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == subject
    parts = {p.get_content_type(): p for p in msg.iter_parts()}
    assert list(parts) == ["text/plain", "text/html"]  # RFC 2046 order: richest last
    text = parts["text/plain"].get_content()
    html = parts["text/html"].get_content()
    assert needle in text and needle in html
    assert "<html" in html.lower() and "<" not in text.splitlines()[0]
    assert "{{" not in text + html + subject


def _expected(root: Path, name: str, asset_base_url: str) -> Any:
    """What the template renders to from its example (the build comes from the sources)."""
    from bbws_mail import config
    from bbws_mail.preview.workspace import Workspace

    ws = Workspace(config.load(root), asset_base_url=asset_base_url)
    ws.build_all()
    data = json.loads((root / f"schemas/examples/{name}.json").read_text())
    return ws.render(name, data)


def _free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_send_delivers_a_multipart_alternative_email(
        project: Path, smtp: tuple[Catcher, int], capsys: pytest.CaptureFixture[str]) -> None:
    catcher, port = smtp
    code = main(["send", NAME, "--to", "designer@example.com", "--root", str(project),
                 "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
                 "--from", "Preview <preview@example.com>"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert catcher.received.wait(5)
    [msg] = catcher.messages
    expected = _expected(project, NAME, "https://assets.dev.bbws.co.za/email")
    _assert_multipart(msg, expected.subject, "RCT-2026-00311")
    assert msg["To"] == "designer@example.com"
    assert msg["From"] == "Preview <preview@example.com>"
    assert catcher.envelopes == [("preview@example.com", ["designer@example.com"])]
    # sent emails point at the environment's asset host, not at the local preview
    assert f"https://assets.dev.bbws.co.za/email/{LOGO}" in msg.as_string()
    assert msg["X-BBWS-Template"].startswith(f"{NAME}; build=")
    assert "sent to designer@example.com via SMTP 127.0.0.1:" in out


def test_cli_send_uses_a_data_file_and_env_settings(
        project: Path, smtp: tuple[Catcher, int], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    catcher, port = smtp
    data = json.loads((project / "schemas/examples/invoice.json").read_text())
    data["billTo"]["organization"] = "Data File Org"
    path = tmp_path / "invoice.json"
    path.write_text(json.dumps(data))
    monkeypatch.setenv("BBWS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("BBWS_SMTP_PORT", str(port))
    monkeypatch.setenv("BBWS_MAIL_FROM", "env-sender@example.com")
    assert main(["send", "invoice", "--to", "a@example.com", "--to", "b@example.com",
                 "--data", str(path), "--root", str(project)]) == 0
    [msg] = catcher.messages
    _assert_multipart(msg, msg["Subject"], "Data File Org")
    assert catcher.envelopes == [("env-sender@example.com", ["a@example.com", "b@example.com"])]


def test_cli_send_names_the_unreachable_server(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_closed_port()
    code = main(["send", NAME, "--to", "a@example.com", "--root", str(project),
                 "--smtp-host", "127.0.0.1", "--smtp-port", str(port)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"cannot reach SMTP server 127.0.0.1:{port}" in err


def test_cli_send_refuses_invalid_data_and_unknown_templates(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((project / "schemas/examples/invoice.json").read_text())
    data["items"][0]["unitPrice"] = 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert main(["send", "invoice", "--to", "a@example.com", "--data", str(bad),
                 "--root", str(project)]) == 1
    assert "$.items[0].unitPrice" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text('{\n "a": }')
    assert main(["send", "invoice", "--to", "a@example.com", "--data", str(broken),
                 "--root", str(project)]) == 2
    assert "broken.json:2:7: invalid JSON" in capsys.readouterr().err
    assert main(["send", "nope", "--to", "a@example.com", "--root", str(project)]) == 2
    assert "known templates: invoice" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "says"), [
    ("Zo\xeb".encode("latin-1"), "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"n": ' + b"9" * 5000 + b"}", "invalid JSON"),
])
def test_cli_send_reports_data_json_cannot_read(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes,
        says: str) -> None:
    data = tmp_path / "data.json"
    data.write_bytes(content)
    assert main(["send", "invoice", "--to", "a@example.com", "--data", str(data),
                 "--root", str(project)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {data}") and says in err, err


def test_smtp_rejections_name_the_server(smtp: tuple[Catcher, int], project: Path) -> None:
    from bbws_mail.preview.send import send_email

    catcher, port = smtp

    async def reject(server: Any, session: Any, envelope: Any, address: str,
                     options: Any) -> str:
        return "550 5.1.1 no such mailbox"

    catcher.handle_RCPT = reject  # type: ignore[attr-defined]
    email = _expected(project, NAME, "https://assets.example/email")
    with pytest.raises(RejectedAddressError, match=rf"127.0.0.1:{port} refused every recipient"):
        send_email(email, "nobody@example.com",
                   SendSettings(smtp_host="127.0.0.1", smtp_port=port))


def test_the_page_button_sends_the_edited_data(
        page: Any, project: Path, serve: ServerFactory, smtp: tuple[Catcher, int]) -> None:
    from playwright.sync_api import expect

    catcher, port = smtp
    server = serve(project, send=SendSettings(smtp_host="127.0.0.1", smtp_port=port))
    page.goto(f"{server.url}/t/{NAME}")
    expect(page.locator("#send-status")).to_contain_text(f"via SMTP 127.0.0.1:{port}")
    example = json.loads((project / f"schemas/examples/{NAME}.json").read_text())
    example["tenant"]["organization"] = "Button Org"
    page.locator("#data-editor").fill(json.dumps(example, indent=2))
    expect(page.frame_locator("#frame-desktop").locator("body")).to_contain_text("Button Org")
    page.locator("#send-to").fill("designer@example.com")
    page.locator("#send-button").click()
    expect(page.locator("#send-status")).to_contain_text("sent to designer@example.com",
                                                         timeout=TIMEOUT)
    [msg] = catcher.messages
    subject = page.locator("#subject").inner_text()
    _assert_multipart(msg, subject, "Button Org")
    # the page renders with the local /assets; the sent email with the dev asset host
    assert f"https://assets.dev.bbws.co.za/email/{LOGO}" in msg.as_string()
    assert "127.0.0.1" not in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]


def _post(url: str, body: dict[str, Any], **headers: str) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_send_endpoint_reports_failures_and_refuses_other_origins(
        project: Path, serve: ServerFactory, smtp: tuple[Catcher, int]) -> None:
    catcher, port = smtp
    closed = _free_closed_port()
    unreachable = serve(project, send=SendSettings(smtp_host="127.0.0.1", smtp_port=closed))
    status, reply = _post(f"{unreachable.url}/api/send/{NAME}", {"to": "a@example.com"})
    assert status == 200 and not reply["ok"]
    assert f"cannot reach SMTP server 127.0.0.1:{closed}" in reply["message"]
    server = serve(project, send=SendSettings(smtp_host="127.0.0.1", smtp_port=port))
    status, reply = _post(f"{server.url}/api/send/{NAME}", {"to": "a@example.com",
                                                            "text": '{"receiptNumber": 1}'})
    assert not reply["ok"] and "$.receiptNumber" in reply["message"]
    # a page on another origin cannot make the preview send mail
    status, reply = _post(f"{server.url}/api/send/{NAME}", {"to": "a@example.com"},
                          Origin="https://evil.example")
    assert status == 403
    req = urllib.request.Request(f"{server.url}/api/send/{NAME}", method="POST",
                                 data=b"to=a@example.com",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 403
    status, reply = _post(f"{server.url}/api/send/{NAME}", {"to": "x@example.com\r\nBcc: y@z"})
    assert not reply["ok"] and "line break" in reply["message"]
    status, reply = _post(f"{server.url}/api/send/{NAME}", {"to": "x@example.com, y@example.com"})
    assert not reply["ok"] and "not one valid address" in reply["message"]
    assert catcher.messages == []  # nothing above reached the mail server
    status, reply = _post(f"{server.url}/api/send/{NAME}", {"to": "a@example.com"})
    assert reply["ok"] and len(catcher.messages) == 1


def test_ses_sends_the_same_raw_mime_message(project: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Over HTTP to moto's server on 127.0.0.1 (sesv2 SendEmail with Raw content)."""
    pytest.importorskip("moto")
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.server import ThreadedMotoServer
    from moto.ses.models import ses_backends

    from bbws_mail.preview.send import send_email

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        email = _expected(project, NAME, "https://assets.example/email")
        settings = SendSettings.from_env({}, transport="ses", region="af-south-1",
                                         sender="preview@example.com")
        assert settings.describe() == "SES (af-south-1)"
        boto3.client("ses", region_name="af-south-1").verify_email_identity(
            EmailAddress="preview@example.com")
        outbox = ses_backends[DEFAULT_ACCOUNT_ID]["af-south-1"].sent_messages
        before = len(outbox)  # moto's backends are per process: other tests send too
        result = send_email(email, "designer@example.com", settings)
        [sent] = outbox[before:]
    finally:
        server.stop()
    assert "via SES (af-south-1), message id" in result
    assert "multipart/alternative" in sent.raw_data
    assert email.subject in sent.raw_data


def test_settings_come_from_the_environment_with_local_defaults() -> None:
    default = SendSettings.from_env({})
    assert (default.transport, default.smtp_host, default.smtp_port) == ("smtp", "localhost",
                                                                         1025)
    env = {"BBWS_SMTP_HOST": "mail.example", "BBWS_SMTP_PORT": "587", "BBWS_SMTP_USER": "u",
           "MY_PW": "secret", "BBWS_SMTP_STARTTLS": "yes"}
    s = SendSettings.from_env(env, password_env="MY_PW", smtp_port=2525)
    assert (s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password, s.starttls) == (
        "mail.example", 2525, "u", "secret", True)
    assert "secret" not in repr(s) and "secret" not in s.describe()
    with pytest.raises(SendError, match="BBWS_SMTP_PORT"):
        SendSettings.from_env({"BBWS_SMTP_PORT": "smtp"})


def test_the_test_send_reads_addresses_as_every_send_does(smtp: tuple[Catcher, int],
                                                          project: Path) -> None:
    """The preview uses bbws_mail.send's parser, transports and errors: a string is one
    mailbox whose name never adds a recipient; what a Lambda's send refuses, it refuses."""
    from bbws_mail.preview.send import send_email

    catcher, port = smtp
    email = _expected(project, NAME, "https://assets.example/email")
    settings = SendSettings(smtp_host="127.0.0.1", smtp_port=port,
                            sender="Preview, Cape Town <preview@example.com>")
    send_email(email, "spam@evil.example, Designer <d@example.com>", settings)
    assert catcher.envelopes == [("preview@example.com", ["d@example.com"])]
    [msg] = catcher.messages
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("spam@evil.example, Designer", "d@example.com")]
    for bad in ("", "not-an-address", "a@example.com\r\nBcc: x@example.com",
                "a@example.com, b@example.com"):
        with pytest.raises(MessageError):
            send_email(email, bad, settings)
    assert len(catcher.messages) == 1


@pytest.mark.parametrize(("host", "warned"), [
    ("127.0.0.1", False), ("127.0.0.2", False), ("::1", False), ("localhost", False),
    ("0.0.0.0", True), ("192.168.1.20", True), ("::", True), ("designer-laptop", True),
])
def test_listening_beyond_this_machine_is_warned_about(host: str, warned: bool) -> None:
    from bbws_mail.preview.cli import exposure_warning

    message = exposure_warning(host)
    assert bool(message) == warned
    if warned:
        assert host in message and "test sends" in message
