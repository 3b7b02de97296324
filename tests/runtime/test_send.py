"""bbws_mail.send through aiosmtpd and moto's SES v2 server on 127.0.0.1.

The outgoing SES request is checked with a botocore hook (moto ignores the
configuration set and tags); what SES and the SMTP server received is parsed back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_string, policy
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import TemplateDataError, UnknownTemplateError
from bbws_mail.errors import MessageError
from bbws_mail.send import (
    RejectedAddressError,
    RetryableSendError,
    Sender,
    SesTransport,
    SmtpTransport,
    is_permanent,
)
from bbws_mail.sources import PackagedSource
from tests.conftest import FIXTURES, ROOT
from tests.smtp import Catcher

FROM = "BBWS <noreply@bbws.co.za>"
ONE_CLICK_BUILD = FIXTURES / "one_click" / "build"
CAMPAIGN = {"firstName": "Thandi",
            "oneClickUnsubscribeUrl": "https://portal.bbws.co.za/unsubscribe/one-click/t0k3n",
            "preferencesUrl": "https://portal.bbws.co.za/preferences/t0k3n"}


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return data


def real_templates() -> list[str]:
    return sorted(p.stem for p in (ROOT / "templates_src").glob("*.mjml"))


def smtp_sender(port: int, source: Any = None) -> Sender:
    return Sender(SmtpTransport("127.0.0.1", port, timeout=5), sender=FROM,
                  reply_to="support@bbws.co.za", source=source)


def test_smtp_delivers_multipart_without_one_click_for_every_real_template(
        smtp: tuple[Catcher, int], project_build: Path) -> None:
    catcher, port = smtp
    sender = smtp_sender(port, PackagedSource(project_build))
    for name in real_templates():
        sender.send(name, example(name), to="Thandi <thandi@example.co.za>")
    assert len(catcher.messages) == len(real_templates())
    for msg in catcher.messages:
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        assert msg["Reply-To"] == "support@bbws.co.za"
        assert msg["To"] == "Thandi <thandi@example.co.za>"
        assert msg["List-Unsubscribe"] is None and msg["List-Unsubscribe-Post"] is None


def test_one_click_headers_only_for_the_opted_in_template(smtp: tuple[Catcher, int]) -> None:
    catcher, port = smtp
    result = smtp_sender(port, PackagedSource(ONE_CLICK_BUILD)).send(
        "campaign_news", CAMPAIGN, to="thandi@example.co.za")
    [msg] = catcher.messages
    assert msg["List-Unsubscribe"] == f"<{CAMPAIGN['oneClickUnsubscribeUrl']}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert CAMPAIGN["preferencesUrl"] not in msg["List-Unsubscribe"]
    assert result.message_id == msg["Message-ID"]


def test_smtp_errors_are_told_apart(smtp: tuple[Catcher, int], project_build: Path) -> None:
    catcher, port = smtp
    sender = smtp_sender(port, PackagedSource(project_build))
    name = real_templates()[0]
    catcher.refuse = "550 5.1.1 mailbox unavailable"
    with pytest.raises(RejectedAddressError):
        sender.send(name, example(name), to="gone@example.co.za")
    catcher.refuse = "451 4.7.1 try again later"
    with pytest.raises(RetryableSendError):
        sender.send(name, example(name), to="later@example.co.za")
    with pytest.raises(RetryableSendError, match=r"cannot reach SMTP server 127\.0\.0\.1:1:"):
        smtp_sender(1, PackagedSource(project_build)).send(name, example(name),
                                                           to="a@example.co.za")


def test_bad_input_is_permanent_and_sends_nothing(smtp: tuple[Catcher, int],
                                                  project_build: Path) -> None:
    catcher, port = smtp
    sender = smtp_sender(port, PackagedSource(project_build))
    name = real_templates()[0]
    bad = {**example(name), "unexpected": 1}
    for call, exc in (
        (lambda: sender.send(name, bad, to="a@example.co.za"), TemplateDataError),
        (lambda: sender.send("no_such", {}, to="a@example.co.za"), UnknownTemplateError),
        (lambda: sender.send(name, example(name), to="a@example.co.za\r\nBcc: x@evil.example"),
         RejectedAddressError),
        (lambda: sender.send(name, example(name), to="not-an-address"), RejectedAddressError),
    ):
        with pytest.raises(exc) as info:
            call()
        assert is_permanent(info.value)
    assert catcher.messages == []
    assert not is_permanent(RetryableSendError("x"))


# -- SES v2 through moto's server ------------------------------------------------------------
class Outgoing:
    """The SendEmail parameters as they leave botocore; optionally answer with an error."""

    def __init__(self, client: Any) -> None:
        self.params: list[dict[str, Any]] = []
        self.answer: tuple[int, str] | None = None
        client.meta.events.register("before-parameter-build.sesv2.SendEmail", self._seen)
        client.meta.events.register("before-send.sesv2.SendEmail", self._send)

    def _seen(self, params: dict[str, Any], **_: Any) -> None:
        self.params.append(dict(params))

    def _send(self, request: Any, **_: Any) -> Any:
        if self.answer is None:
            return None
        from botocore.awsrequest import AWSResponse

        status, code = self.answer

        class Raw:
            def stream(self, **_: Any) -> Iterator[bytes]:
                yield json.dumps({"message": "injected"}).encode()

        return AWSResponse(request.url, status, {"x-amzn-ErrorType": code,
                                                 "Content-Type": "application/json"}, Raw())


def test_ses_sends_with_configuration_set_and_tags(ses: tuple[str, Any],
                                                   project_build: Path) -> None:
    import boto3

    endpoint, backend = ses
    boto3.client("sesv2", region_name="af-south-1", endpoint_url=endpoint
                 ).create_configuration_set(ConfigurationSetName="bbws-transactional")
    transport = SesTransport(region="af-south-1", endpoint_url=endpoint,
                             configuration_set="bbws-transactional")
    outgoing = Outgoing(transport.client)
    sender = Sender(transport, sender=FROM, source=PackagedSource(project_build),
                    tags={"tenant": "t-42"})
    name = real_templates()[0]
    before = len(backend.sent_messages)  # moto's backend is process-wide
    result = sender.send(name, example(name), to="thandi@example.co.za")
    [params] = outgoing.params
    assert params["ConfigurationSetName"] == "bbws-transactional"
    assert {t["Name"]: t["Value"] for t in params["EmailTags"]} == {
        "template": name, "build": result.build_version, "tenant": "t-42"}
    [sent] = backend.sent_messages[before:]
    msg = message_from_string(sent.raw_data, policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["List-Unsubscribe"] is None
    assert result.message_id and result.transport == "ses"

    one_click = Sender(transport, sender=FROM, source=PackagedSource(ONE_CLICK_BUILD))
    one_click.send("campaign_news", CAMPAIGN, to="thandi@example.co.za")
    msg = message_from_string(backend.sent_messages[-1].raw_data, policy=policy.default)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def _one_click_headers(url: str) -> tuple[bytes, Any]:
    """The header block of the campaign fixture's message for ``url``, and it re-parsed."""
    from email import message_from_bytes

    from bbws_mail import render
    from bbws_mail.send import build_message

    email = render("campaign_news", {**CAMPAIGN, "oneClickUnsubscribeUrl": url},
                   source=PackagedSource(ONE_CLICK_BUILD))
    raw = build_message(email, sender=FROM, to=["thandi@example.co.za"], reply_to=[],
                        unsubscribe=url).as_bytes()
    return raw.split(b"\r\n\r\n", 1)[0], message_from_bytes(raw, policy=policy.strict)


def test_an_encoded_word_in_the_one_click_url_never_becomes_a_header() -> None:
    # a valid https URL (RFC 3986 characters only) whose query holds "x\r\nBcc: evil@..."
    import base64

    word = base64.b64encode(b"x\r\nBcc: evil@evil.example").decode()
    url = f"https://portal.bbws.co.za/u?t==?utf-8?b?{word}?="
    head, msg = _one_click_headers(url)
    assert b"evil" not in head.replace(word.encode(), b"")
    assert msg["Bcc"] is None and len(msg.get_all("List-Unsubscribe")) == 1
    [line] = [h for h in head.split(b"\r\n") if h.startswith(b"List-Unsubscribe:")]
    assert b"=?" not in line and b"\r" not in line
    assert line.decode() == "List-Unsubscribe: <" + url.replace("?", "%3F").replace(
        "%3F", "?", 1) + ">"


def test_a_long_one_click_url_is_written_as_it_is_not_as_encoded_words() -> None:
    url = "https://portal.bbws.co.za/unsubscribe/one-click/" + "t0k3n" * 30 + "?list=news"
    head, msg = _one_click_headers(url)
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in head  # never split or encoded
    assert msg["List-Unsubscribe"] == f"<{url}>"


def test_a_one_click_url_no_header_line_can_hold_is_a_message_error() -> None:
    with pytest.raises(MessageError, match="longer than a header line"):
        _one_click_headers("https://portal.bbws.co.za/u/" + "x" * 1000)


@pytest.mark.parametrize("to", ["thandi@under_score.example", "thandi@b\u00fccher.example",
                                "th..andi@example.co.za", "thandi@example.123",
                                ["a@example.co.za", "x" * 65 + "@example.co.za"]])
def test_an_address_no_header_can_carry_is_rejected_permanently(
        smtp: tuple[Catcher, int], project_build: Path, to: Any) -> None:
    """Refused by the header writer's addr-spec rule: a RejectedAddressError up front, so a
    queue drops the message instead of retrying it until the dead-letter queue."""
    catcher, port = smtp
    sender = smtp_sender(port, PackagedSource(project_build))
    name = real_templates()[0]
    with pytest.raises(RejectedAddressError) as info:
        sender.send(name, example(name), to=to)
    assert is_permanent(info.value) and "under_score" not in str(info.value)
    with pytest.raises(RejectedAddressError):
        sender.send(name, example(name), to="a@example.co.za", reply_to=to)
    assert catcher.messages == []


def test_several_reply_to_addresses_each_reach_the_header(smtp: tuple[Catcher, int],
                                                          project_build: Path) -> None:
    """Several Reply-To addresses are a list: a string is exactly one mailbox, so
    "a@..., b@..." is refused (permanently), never split by a CPython-dependent parser."""
    catcher, port = smtp
    sender = Sender(SmtpTransport("127.0.0.1", port, timeout=5), sender=FROM,
                    reply_to=["support@bbws.co.za", "Billing <billing@bbws.co.za>"],
                    source=PackagedSource(project_build))
    name = real_templates()[0]
    sender.send(name, example(name), to="thandi@example.co.za")
    with pytest.raises(RejectedAddressError):
        sender.send(name, example(name), to="thandi@example.co.za",
                    reply_to="a@bbws.co.za, b@bbws.co.za")
    sender.send(name, example(name), to="thandi@example.co.za",
                reply_to=["a@bbws.co.za", "b@bbws.co.za"])
    first, second = catcher.messages
    assert [a.addr_spec for a in first["Reply-To"].addresses] == [
        "support@bbws.co.za", "billing@bbws.co.za"]
    assert [a.addr_spec for a in second["Reply-To"].addresses] == ["a@bbws.co.za",
                                                                   "b@bbws.co.za"]


@pytest.mark.parametrize("data", [None, ["ab", "cd"], "xy", 5])
def test_data_that_is_no_object_is_a_template_data_error(smtp: tuple[Catcher, int],
                                                         project_build: Path, data: Any) -> None:
    catcher, port = smtp
    name = real_templates()[0]
    with pytest.raises(TemplateDataError):
        smtp_sender(port, PackagedSource(project_build)).send(name, data,
                                                              to="thandi@example.co.za")
    assert catcher.messages == []
