"""Re-parse messages strictly and list what is wrong with their headers (stdlib only).

Run by the header tests in the test interpreter and, as a script, under every other
CPython found on the machine: the email package's folding differs between versions
(and between distributions' patch levels), so the same RenderedEmail must give the
same safe headers everywhere.

    python header_check.py CASES.json   ->  prints a JSON list of failures
    python header_check.py --addresses CASES.json
        ->  prints {"failures": [...], "written": {label: the To header as written}}

Address headers are read back twice: by ``email.policy.strict`` (the addresses) and by
:func:`rfc_mailboxes`, a reading of RFC 5322 phrases with RFC 2047 encoded words
(the display names). CPython's display-name parser keeps the white space between two
adjacent encoded words, which RFC 2047 section 6.2 says to drop, so it cannot tell
whether a name longer than one encoded word came back exactly.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import sys
from typing import Any

SENDER = "BBWS Portal <noreply@bbws.co.za>"
REPLY_TO = "support@bbws.co.za"
# What to_message writes; the MIME headers come from set_content/add_alternative.
EXPECTED = {"subject", "from", "to", "reply-to", "date", "message-id", "x-bbws-template",
            "mime-version", "content-type"}


def problems(case: dict[str, Any]) -> list[str]:
    """Why the message built from ``case`` is unsafe; [] when it is fine."""
    from bbws_mail.render import RenderedEmail

    rendered = RenderedEmail(case["template"], case["build"], case["subject"], case["html"],
                             case["text"])
    msg = rendered.to_message(sender=SENDER, to=case["to"], reply_to=REPLY_TO)
    raw = msg.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    found = []
    if any(len(line) > 998 for line in head.split(b"\r\n")):
        found.append("a header line is longer than 998 octets")
    back = email.message_from_bytes(raw, policy=email.policy.strict)
    names = [k.lower() for k in back]
    if set(names) != EXPECTED or len(names) != len(set(names)):
        found.append(f"headers read back: {names}")
    if back["Subject"] != case["subject"]:
        found.append(f"subject read back as {str(back['Subject'])!r}")
    got_to = [a.addr_spec for a in back["To"].addresses] if back["To"] else []
    if got_to != case["to"]:
        found.append(f"To read back as {got_to!r}")
    return found


_WORD = re.compile(r'''(?P<ws>[ \t]*)(?:
    (?P<q>"(?:[^"\\]|\\.)*")
    | (?P<ew>=\?utf-8\?b\?[A-Za-z0-9+/=]*\?=)(?=[ \t<,]|$)
    | (?P<angle><[^<>]*>)
    | (?P<comma>,)
    | (?P<atom>[^ \t"<>,]+))''', re.VERBOSE)


def rfc_mailboxes(value: str) -> list[tuple[str, str]]:
    """(display name, address) pairs of an unfolded address-list value, read as RFC 5322
    phrases with RFC 2047 encoded words (white space between two encoded words dropped)."""
    found: list[tuple[str, str]] = []
    words: list[tuple[str, str, str]] = []  # (kind, text, white space before it)
    pos = 0
    while pos < len(value.rstrip(" ")):
        m = _WORD.match(value, pos)
        if not m:
            raise ValueError(f"unreadable at {pos}: {value[pos:pos + 20]!r}")
        pos = m.end()
        if m["angle"] is not None:
            name = ""
            for i, (kind, text, ws) in enumerate(words):
                joins_words = i and not (kind == "ew" and words[i - 1][0] == "ew")
                name += (ws if joins_words else "") + text
            found.append((name, m["angle"][1:-1]))
            words = []
        elif m["comma"] is not None:
            if words:  # a bare addr-spec
                found.append(("", "".join(text for _, text, _ in words)))
                words = []
        elif m["q"] is not None:
            words.append(("q", re.sub(r"\\(.)", r"\1", m["q"][1:-1]), m["ws"]))
        elif m["ew"] is not None:
            payload = m["ew"][len("=?utf-8?b?"):-2]
            words.append(("ew", base64.b64decode(payload).decode("utf-8"), m["ws"]))
        else:
            words.append(("atom", m["atom"], m["ws"]))
    if words:
        found.append(("", "".join(text for _, text, _ in words)))
    return found


def address_problems(case: dict[str, Any]) -> tuple[list[str], str]:
    """Why the To header written for ``case["to"]`` is wrong, and the header as written.

    ``case["expect"]`` is a list of [name, address] pairs, or "refused" (a MessageError).
    """
    from bbws_mail.errors import MessageError
    from bbws_mail.render import RenderedEmail

    rendered = RenderedEmail("t", "v1", "Hello", "<p>Hi</p>", "Hi")
    try:
        msg = rendered.to_message(sender=SENDER, to=case["to"])
    except MessageError as exc:
        if case["expect"] == "refused":
            return ([] if "\n" not in str(exc) else ["the error message holds a line break"]), ""
        return [f"refused: {exc}"], ""
    if case["expect"] == "refused":
        return ["accepted a value that must be refused"], ""
    head = msg.as_bytes().split(b"\r\n\r\n", 1)[0].decode("ascii")
    to_lines = re.search(r"(?m)^To:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*", head)
    assert to_lines is not None
    written = to_lines[0]
    found = []
    if any(len(line) > 78 for line in written.split("\r\n")):
        found.append("a To line is longer than 78 characters")
    expect = [tuple(pair) for pair in case["expect"]]
    got = rfc_mailboxes(written[len("To:"):].replace("\r\n", ""))
    if got != expect:
        found.append(f"To reads back (RFC 2047) as {got!r}")
    back = email.message_from_bytes(msg.as_bytes(), policy=email.policy.strict)
    if [a.addr_spec for a in back["To"].addresses] != [addr for _, addr in expect]:
        found.append(f"To reads back (CPython) as {[a.addr_spec for a in back['To'].addresses]}")
    if back["Bcc"] is not None or back["Cc"] is not None:
        found.append("a Bcc or Cc header appeared")
    return found, written


def main(path: str, addresses: bool = False) -> int:
    with open(path, encoding="utf-8") as fh:
        cases = json.load(fh)
    failures = []
    written = {}
    version = sys.version.split()[0]
    for case in cases:
        if addresses:
            found, written[case["label"]] = address_problems(case)
        else:
            found = problems(case)
        failures += [f"{version} {case['label']}: {problem}" for problem in found]
    print(json.dumps({"failures": failures, "written": written} if addresses else failures))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--addresses":
        sys.exit(main(sys.argv[2], addresses=True))
    sys.exit(main(sys.argv[1]))
