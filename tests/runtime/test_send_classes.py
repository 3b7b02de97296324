"""What a send does with customer-typed names and addresses, and which failures come back.

A queue consumer sends with ``Sender.send`` and ``handle_batch``: the recipient must be
the one intended address whatever a name holds, a From that constructs must send, and
each failure must land in the class that matches what a retry can change, so SQS
neither drops nor duplicates mail. Against aiosmtpd and moto's SES on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from bbws_mail.headers import Address
from bbws_mail.send import (
    DeploymentError,
    PermanentSendError,
    RejectedAddressError,
    RetryableSendError,
    Sender,
    SesTransport,
    SmtpTransport,
    is_permanent,
)
from bbws_mail.sources import PackagedSource
from bbws_mail.sqs import handle_batch
from tests.runtime.test_send import (
    CAMPAIGN,
    FROM,
    ONE_CLICK_BUILD,
    Outgoing,
    example,
    real_templates,
)
from tests.smtp import Catcher


def _sender(port: int, build: Path, **kwargs: Any) -> Sender:
    return Sender(SmtpTransport("127.0.0.1", port, timeout=5), sender=FROM,
                  source=PackagedSource(build), **kwargs)


def _record(message_id: str, body: Any) -> dict[str, Any]:
    return {"messageId": message_id, "body": json.dumps(body)}


def _names(msg: Any) -> list[tuple[str, str]]:
    return [(a.display_name, a.addr_spec) for a in msg["To"].addresses]


# -- 1. recipients depend on the data, not on who wrote the string ---------------------------
def test_a_customer_typed_name_never_adds_a_recipient(smtp: tuple[Catcher, int],
                                                      project_build: Path) -> None:
    catcher, port = smtp
    name = real_templates()[0]
    sender = _sender(port, project_build)
    tenant_name, email = "spam@evil.example, Thandi", "t@example.co.za"
    sender.send(name, example(name), to=f"{tenant_name} <{email}>")
    sender.send(name, example(name), to=Address(tenant_name, email))
    assert [rcpts for _, rcpts in catcher.envelopes] == [[email], [email]]
    assert [_names(m) for m in catcher.messages] == [[(tenant_name, email)]] * 2


def test_a_name_with_a_comma_is_one_name_and_is_sent(smtp: tuple[Catcher, int],
                                                     project_build: Path) -> None:
    catcher, port = smtp
    name = real_templates()[0]
    _sender(port, project_build).send(name, example(name), to="Nkosi, Thandi <t@example.co.za>")
    [msg] = catcher.messages
    assert _names(msg) == [("Nkosi, Thandi", "t@example.co.za")]
    assert catcher.envelopes[0][1] == ["t@example.co.za"]


@pytest.mark.parametrize("to", ["a@example.co.za;evil@example.com",
                                "a@example.co.za, evil@example.com"])
def test_a_string_is_exactly_one_mailbox(smtp: tuple[Catcher, int], project_build: Path,
                                         to: str) -> None:
    """Two addresses in one string are no valid mailbox on any CPython: refused, not split."""
    catcher, port = smtp
    name = real_templates()[0]
    with pytest.raises(RejectedAddressError) as info:
        _sender(port, project_build).send(name, example(name), to=to)
    assert is_permanent(info.value) and "evil" not in str(info.value)
    assert catcher.messages == []


def test_structured_recipients_from_a_json_body(smtp: tuple[Catcher, int],
                                                project_build: Path) -> None:
    catcher, port = smtp
    name = real_templates()[0]
    body = json.loads(json.dumps({"to": [{"name": "Nkosi, \"T\" <x@y.z>", "address":
                                          "t@example.co.za"}, "b@example.co.za",
                                         {"address": "c@example.co.za"}]}))
    _sender(port, project_build).send(name, example(name), to=body["to"])
    [msg] = catcher.messages
    assert _names(msg) == [("Nkosi, \"T\" <x@y.z>", "t@example.co.za"),
                           ("", "b@example.co.za"), ("", "c@example.co.za")]
    assert catcher.envelopes[0][1] == ["t@example.co.za", "b@example.co.za", "c@example.co.za"]


# -- 2. header lines fit ---------------------------------------------------------------------
@pytest.mark.parametrize("field", ["to", "sender", "reply_to"])
def test_long_display_names_are_folded_not_refused_by_the_server(
        smtp: tuple[Catcher, int], project_build: Path, field: str) -> None:
    catcher, port = smtp
    name = real_templates()[0]
    long_name = "N" * 1200
    kwargs: dict[str, Any] = {"sender": FROM, "to": "t@example.co.za", "reply_to": None}
    kwargs[field] = f"{long_name} <t@example.co.za>"
    sender = Sender(SmtpTransport("127.0.0.1", port, timeout=5), sender=kwargs["sender"],
                    source=PackagedSource(project_build))
    sender.send(name, example(name), to=kwargs["to"], reply_to=kwargs["reply_to"])
    [msg] = catcher.messages
    head = catcher.raw[0].split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    header = {"to": "To", "sender": "From", "reply_to": "Reply-To"}[field]
    assert msg[header].addresses[0].addr_spec == "t@example.co.za"
    assert msg[header].addresses[0].display_name.replace(" ", "") == long_name


# -- 3. From judged once, at construction ----------------------------------------------------
def test_a_from_that_to_message_accepts_constructs_and_sends(smtp: tuple[Catcher, int],
                                                             project_build: Path) -> None:
    catcher, port = smtp
    name = real_templates()[0]
    sender = Sender(SmtpTransport("127.0.0.1", port, timeout=5),
                    sender="BBWS Portal, Cape Town <noreply@bbws.co.za>",
                    source=PackagedSource(project_build))
    sender.send(name, example(name), to="t@example.co.za")
    [msg] = catcher.messages
    assert [(a.display_name, a.addr_spec) for a in msg["From"].addresses] == [
        ("BBWS Portal, Cape Town", "noreply@bbws.co.za")]
    assert catcher.envelopes[0][0] == "noreply@bbws.co.za"


@pytest.mark.parametrize("kwargs", [
    {"sender": "noreply@bbws.co.za, ops@bbws.co.za"},
    {"sender": ["noreply@bbws.co.za", "ops@bbws.co.za"]},
    {"sender": "BBWS\r\nBcc: x@y.co <noreply@bbws.co.za>"},
    {"sender": FROM, "reply_to": "support@bbws.co.za; x@y.co"},
    {"sender": FROM, "tags": {"tenant": "Acme Ltd"}},
    {"sender": FROM, "tags": {"tenant": "a.b"}},
])
def test_a_sender_that_cannot_send_fails_at_construction(smtp: tuple[Catcher, int],
                                                         project_build: Path,
                                                         kwargs: dict[str, Any]) -> None:
    _, port = smtp
    with pytest.raises(DeploymentError) as info:
        Sender(SmtpTransport("127.0.0.1", port, timeout=5), source=PackagedSource(project_build),
               **kwargs)
    assert not is_permanent(info.value)  # met inside a handler: retried, never dropped


# -- 4. retry classes ------------------------------------------------------------------------
def test_a_failed_quit_after_data_is_sent_once(smtp: tuple[Catcher, int], project_build: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """Re-feeding what handle_batch lists, as SQS would, leaves exactly one copy."""
    catcher, port = smtp
    catcher.quit_reply = "421 4.3.2 shutting down"
    sender = _sender(port, project_build)
    name = real_templates()[0]
    records = [_record("m1", {"template": name, "data": example(name), "to": "t@example.co.za"})]
    for _ in range(4):
        failed = {f["itemIdentifier"] for f in handle_batch(
            {"Records": records}, lambda b: sender.send(b["template"], b["data"], to=b["to"])
        )["batchItemFailures"]}
        records = [r for r in records if r["messageId"] in failed]
        if not records:
            break
    assert len(catcher.messages) == 1
    assert any("QUIT" in r.getMessage() for r in caplog.records if r.name == "bbws_mail.send")


def test_a_partial_recipient_refusal_is_reported_per_recipient(smtp: tuple[Catcher, int],
                                                               project_build: Path) -> None:
    catcher, port = smtp
    catcher.refuse_only = {"gone@example.co.za": "550 5.1.1 no such mailbox"}
    name = real_templates()[0]
    result = _sender(port, project_build).send(
        name, example(name), to=["t@example.co.za", "gone@example.co.za"])
    assert catcher.envelopes[0][1] == ["t@example.co.za"]
    assert result.refused == (("gone@example.co.za", 550),)


def test_smtp_5xx_is_permanent_and_4xx_retryable(smtp: tuple[Catcher, int],
                                                 project_build: Path) -> None:
    catcher, port = smtp
    name = real_templates()[0]
    sender = _sender(port, project_build)
    catcher.refuse = "550 5.1.1 mailbox unavailable"
    with pytest.raises(RejectedAddressError):
        sender.send(name, example(name), to="gone@example.co.za")
    catcher.refuse = "451 4.7.1 try again later"
    with pytest.raises(RetryableSendError) as info:
        sender.send(name, example(name), to="later@example.co.za")
    assert not is_permanent(info.value)


@pytest.mark.parametrize("tags", [{"tenant": "Acme Ltd"}, {"tenant": "a.b@c"}, {"x" * 257: "v"},
                                  {"tenant": ""}])
def test_per_message_tags_ses_refuses_are_dropped(smtp: tuple[Catcher, int],
                                                  project_build: Path,
                                                  tags: dict[str, str]) -> None:
    catcher, port = smtp
    sender = _sender(port, project_build)
    name = real_templates()[0]
    event = {"Records": [_record("m1", {"template": name, "data": example(name)})]}
    result = handle_batch(event, lambda b: sender.send(b["template"], b["data"],
                                                       to="t@example.co.za", tags=tags))
    assert result == {"batchItemFailures": []}
    assert catcher.messages == []


def test_a_one_click_url_too_long_for_a_header_line_is_dropped(smtp: tuple[Catcher, int]
                                                               ) -> None:
    catcher, port = smtp
    sender = _sender(port, ONE_CLICK_BUILD)
    data = {**CAMPAIGN, "oneClickUnsubscribeUrl": "https://portal.bbws.co.za/u/" + "x" * 1000}
    event = {"Records": [_record("m1", data)]}
    result = handle_batch(event, lambda b: sender.send("campaign_news", b, to="t@example.co.za"))
    assert result == {"batchItemFailures": []}
    assert catcher.messages == []


def test_a_sandbox_message_rejected_is_retried_not_dropped(ses: tuple[str, Any],
                                                           project_build: Path) -> None:
    endpoint, _ = ses
    transport = SesTransport(region="af-south-1", endpoint_url=endpoint)
    outgoing = Outgoing(transport.client)
    sender = Sender(transport, sender=FROM, source=PackagedSource(project_build))
    outgoing.answer = (400, "MessageRejected")  # "Email address is not verified" (sandbox)
    name = real_templates()[0]
    event = {"Records": [_record("m1", {"template": name, "data": example(name)})]}
    result = handle_batch(event, lambda b: sender.send(b["template"], b["data"],
                                                       to="t@example.co.za"))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_ses_deployment_problems_fail_at_construction(ses: tuple[str, Any],
                                                      project_build: Path) -> None:
    endpoint, _ = ses
    transport = SesTransport(region="af-south-1", endpoint_url=endpoint)
    with pytest.raises(DeploymentError, match="identity"):
        Sender(transport, sender="someone@unverified.example",
               source=PackagedSource(project_build))
    missing = SesTransport(region="af-south-1", endpoint_url=endpoint,
                           configuration_set="no-such-set")
    with pytest.raises(DeploymentError, match="configuration set"):
        Sender(missing, sender=FROM, source=PackagedSource(project_build))


def test_ses_throttling_and_5xx_are_retryable_malformed_is_permanent(
        ses: tuple[str, Any], project_build: Path) -> None:
    endpoint, _ = ses
    transport = SesTransport(region="af-south-1", endpoint_url=endpoint)
    outgoing = Outgoing(transport.client)
    sender = Sender(transport, sender=FROM, source=PackagedSource(project_build))
    name = real_templates()[0]
    for status, code in ((429, "TooManyRequestsException"), (500, "InternalFailure"),
                         (503, "ServiceUnavailable")):
        outgoing.answer = (status, code)
        with pytest.raises(RetryableSendError, match=code) as info:
            sender.send(name, example(name), to="thandi@example.co.za")
        assert not isinstance(info.value, DeploymentError)
    outgoing.answer = (400, "BadRequestException")
    with pytest.raises(PermanentSendError):
        sender.send(name, example(name), to="thandi@example.co.za")


def test_a_subdomain_of_a_verified_domain_may_send(ses: tuple[str, Any],
                                                   project_build: Path) -> None:
    import boto3

    endpoint, _ = ses
    boto3.client("ses", region_name="af-south-1", endpoint_url=endpoint
                 ).verify_domain_identity(Domain="portal.example")
    transport = SesTransport(region="af-south-1", endpoint_url=endpoint)
    Sender(transport, sender="noreply@mail.portal.example", source=PackagedSource(project_build))


def _one_reply_server(reply: bytes) -> tuple[socket.socket, threading.Thread]:
    """A server on 127.0.0.1 that answers each connection with ``reply`` and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    conn.sendall(reply)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize("greeting", [b"554 5.3.2 no service here\r\n",
                                      b"421 4.3.2 too busy\r\n"])
def test_a_server_that_will_not_start_a_session_is_retried(project_build: Path,
                                                           greeting: bytes) -> None:
    """Refused before the message was offered: the message is not at fault."""
    listener, _ = _one_reply_server(greeting)
    try:
        sender = _sender(listener.getsockname()[1], project_build)
        name = real_templates()[0]
        with pytest.raises(RetryableSendError) as info:
            sender.send(name, example(name), to="t@example.co.za")
        assert not is_permanent(info.value)
    finally:
        listener.close()


def _answer_get_account(client: Any, body: dict[str, Any]) -> None:
    """GetAccount answered with ``body`` (moto's SES v2 server does not implement it)."""
    from botocore.awsrequest import AWSResponse

    class Raw:
        def stream(self, **_: Any) -> Any:
            yield json.dumps(body).encode()

    def answer(request: Any, **_: Any) -> Any:
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, Raw())

    client.meta.events.register("before-send.sesv2.GetAccount", answer)


def test_the_sandbox_is_seen_at_construction_and_paused_sending_fails_there(
        ses: tuple[str, Any], project_build: Path, caplog: pytest.LogCaptureFixture) -> None:
    endpoint, _ = ses
    sandbox = SesTransport(region="af-south-1", endpoint_url=endpoint)
    _answer_get_account(sandbox.client, {"ProductionAccessEnabled": False,
                                         "SendingEnabled": True})
    Sender(sandbox, sender=FROM, source=PackagedSource(project_build))
    assert any("sandbox" in r.getMessage() for r in caplog.records
               if r.name == "bbws_mail.send" and r.levelname == "WARNING")
    paused = SesTransport(region="af-south-1", endpoint_url=endpoint)
    _answer_get_account(paused.client, {"ProductionAccessEnabled": True,
                                        "SendingEnabled": False})
    with pytest.raises(DeploymentError, match="paused"):
        Sender(paused, sender=FROM, source=PackagedSource(project_build))
