"""Re-parse messages strictly and list what is wrong with their headers (stdlib only).

Run by the header tests in the test interpreter and, as a script, under every other
CPython found on the machine: the email package's folding differs between versions
(and between distributions' patch levels), so the same RenderedEmail must give the
same safe headers everywhere.

    python header_check.py CASES.json   ->  prints a JSON list of failures
"""

from __future__ import annotations

import email
import email.policy
import json
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


def main(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        cases = json.load(fh)
    failures = []
    for case in cases:
        for problem in problems(case):
            failures.append(f"{sys.version.split()[0]} {case['label']}: {problem}")
    print(json.dumps(failures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
