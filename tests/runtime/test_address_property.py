"""Property: whatever a display name or address holds, one intended recipient or a refusal.

Names and addresses are built from what bends address parsing: commas, semicolons,
quotes, angle brackets, ``@``, group syntax (``x:;``), comments, encoded words,
CR/LF/NUL, bidi characters and names up to and past the 2,000-character cap. Every
name outside the stated refused class (a control character, more than
``headers.MAX_NAME`` characters) is sent; its display name reads back exactly (RFC
2047 reading: see ``header_check.rfc_mailboxes``); the envelope recipients, the header
recipients and the one intended address are the same; and no line exceeds 998 octets.
Checked for ``to_message``, ``Sender.send`` over SMTP (aiosmtpd) and over SES (moto).
"""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from typing import Any

import hypothesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbws_mail import headers
from bbws_mail.errors import MessageError
from bbws_mail.headers import Address
from bbws_mail.render import RenderedEmail
from bbws_mail.send import RejectedAddressError, Sender, SesTransport, SmtpTransport
from bbws_mail.sources import PackagedSource
from bbws_mail.validate import check_email
from tests.runtime import header_check
from tests.runtime.test_send import FROM, Outgoing, example, real_templates
from tests.smtp import Catcher

PIECES = [",", ";", '"', "<", ">", "@", "x:;", "(comment)", "=?utf-8?b?DQpCY2M6IHhAeS5jbw==?=",
          "=?", "?=", "\\", " ", "  ", "\r", "\n", "\r\nBcc: x@evil.example", "\x00", "\t",
          "\u202e", "\u2066", "\u200f", "Ñ", "😀", "Thandi", "Nkosi", "a@b.co", "<t@evil.example>",
          ".", "'"]
SHOWN = [p for p in PIECES if p.isprintable()]  # pieces without control characters
NAMES = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    st.text(max_size=40),
    st.tuples(st.lists(st.sampled_from(SHOWN), min_size=1, max_size=6).map("".join),
              st.integers(min_value=100, max_value=700)).map(lambda p: (p[0] * p[1])[:2100]),
).filter(lambda n: not re.search("[\ud800-\udfff]", n))
GOOD_ADDRESSES = st.sampled_from(["t@example.co.za", "thandi.nkosi+receipts@mail.example.com",
                                  "a_b-c@x-y.example"])
BAD_ADDRESSES = st.lists(st.sampled_from([*PIECES, "t", "example.co.za", "@"]), min_size=1,
                         max_size=6).map("".join)
ADDRESSES = st.one_of(GOOD_ADDRESSES, GOOD_ADDRESSES, BAD_ADDRESSES)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
EMAIL = RenderedEmail("t", "v1", "Hello", "<p>Hi</p>", "Hi")
LONG = ("Ñkosi, \"T\" <t@evil.example> x:; \u202e" * 60)[:2000]


def always(test: Any) -> Any:
    """Cases every run includes, whatever Hypothesis draws: the longest name sent, one past
    the cap, a long name without spaces, and a customer-typed name naming an address."""
    for name, addr in ((LONG, "t@example.co.za"), (LONG + "x", "t@example.co.za"),
                       ("N" * 1200, "t@example.co.za"),
                       ("spam@evil.example, Thandi", "t@example.co.za"),
                       (", " * 100, "t@example.co.za")):
        test = hypothesis.example(name, addr)(test)
    return test


def refused(name: str, addr: str) -> bool:
    """The stated refused class (headers' docstring): a control character in the name or
    the address, a name over the cap, an address that is no plain addr-spec."""
    return bool(CONTROL.search(name) or CONTROL.search(addr) or len(name) > headers.MAX_NAME
                or check_email(addr) or "=?" in addr)


def check_raw(raw: bytes, name: str, addr: str, envelope: list[str]) -> None:
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    text = head.decode("ascii")
    found = re.search(r"(?m)^To:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*", text)
    assert found is not None
    assert header_check.rfc_mailboxes(found[0][3:].replace("\r\n", "")) == [(name, addr)]
    back = email.message_from_bytes(raw, policy=email.policy.strict)
    assert [a.addr_spec for a in back["To"].addresses] == envelope == [addr]
    assert back["Bcc"] is None and back["Cc"] is None


@FAST
@always
@given(NAMES, ADDRESSES)
def test_to_message_sends_the_name_to_the_one_address_or_refuses(name: str, addr: str) -> None:
    try:
        msg = EMAIL.to_message(sender=FROM, to=Address(name, addr))
    except MessageError as exc:
        assert refused(name, addr), exc
        return
    assert not refused(name, addr)
    check_raw(msg.as_bytes(), name, addr, [addr])


@FAST
@always
@given(NAMES, ADDRESSES)
def test_a_string_names_at_most_the_address_in_its_last_angle_brackets(name: str,
                                                                       addr: str) -> None:
    """``f"{name} <{addr}>"`` from customer data: never a recipient but ``addr``."""
    try:
        [parsed] = headers.mailboxes(f"{name} <{addr}>", "To")
    except MessageError:
        return
    assert parsed.addr == addr
    msg = EMAIL.to_message(sender=FROM, to=f"{name} <{addr}>")
    back = email.message_from_bytes(msg.as_bytes(), policy=email.policy.strict)
    assert [a.addr_spec for a in back["To"].addresses] == [addr]


def test_sender_over_smtp(smtp: tuple[Catcher, int], project_build: Path) -> None:
    handler, port = smtp
    template = real_templates()[0]
    sender = Sender(SmtpTransport("127.0.0.1", port, timeout=5), sender=FROM,
                    source=PackagedSource(project_build))

    outcomes: list[str] = []

    @FAST
    @always
    @given(NAMES, ADDRESSES)
    def check(name: str, addr: str) -> None:
        before = len(handler.raw)
        try:
            sender.send(template, example(template), to=Address(name, addr))
        except RejectedAddressError as exc:
            assert refused(name, addr), exc
            assert len(handler.raw) == before
            outcomes.append("refused")
            return
        assert not refused(name, addr)
        [raw] = handler.raw[before:]
        check_raw(raw, name, addr, handler.envelopes[-1][1])
        outcomes.append("long" if len(name) > 998 else "sent")

    check()
    assert {"refused", "sent", "long"} <= set(outcomes), outcomes  # the property was exercised


def test_sender_over_ses(ses: tuple[str, Any], project_build: Path) -> None:
    endpoint, backend = ses
    template = real_templates()[0]
    sender = Sender(SesTransport(region="af-south-1", endpoint_url=endpoint), sender=FROM,
                    source=PackagedSource(project_build))
    outgoing = Outgoing(sender.transport.client)  # the envelope as it leaves botocore

    outcomes: list[str] = []

    @settings(FAST, max_examples=15)
    @always
    @given(NAMES, ADDRESSES)
    def check(name: str, addr: str) -> None:
        before = len(backend.sent_messages)
        try:
            sender.send(template, example(template), to=Address(name, addr))
        except RejectedAddressError as exc:
            assert refused(name, addr), exc
            assert len(backend.sent_messages) == before
            return
        assert not refused(name, addr)
        outcomes.append("sent")
        [sent] = backend.sent_messages[before:]
        envelope = outgoing.params[-1]["Destination"]["ToAddresses"]
        check_raw(sent.raw_data.encode("utf-8"), name, addr, list(envelope))

    check()
    assert outcomes, "no example was sent: the property was not exercised"
