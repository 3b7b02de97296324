"""No data can bend a header: subjects and recipients, re-parsed strictly, on every CPython here.

The email package of some CPython builds decodes an RFC 2047 encoded word found in a
header value when it folds the header, so a first name holding an encoded
``x\\r\\nBcc: y`` once became a real Bcc line. Every subject-bound field of every
template gets such payloads; the message must read back, with ``policy.strict``, as
exactly the rendered subject and the headers ``to_message`` set, and an SMTP server
must see no recipient but ``to``.
"""

from __future__ import annotations

import copy
import json
import os
import re
import smtplib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import BBWSMailError, TemplateDataError, render
from bbws_mail.errors import MessageError
from bbws_mail.headers import Address
from bbws_mail.pipeline import discover
from bbws_mail.render import RenderedEmail
from bbws_mail.sources import PackagedSource
from tests.conftest import ROOT
from tests.runtime import header_check
from tests.smtp import Catcher

NAMES = sorted(p.stem for p in discover(ROOT / "templates_src"))
TO = ["thandi@example.com"]
PAYLOADS = {
    "encoded-word-bcc": "=?utf-8?b?VGhhbmRpDQpCY2M6IGV2aWxAZXhhbXBsZS5jb20=?=",
    "encoded-word-q": "=?utf-8?q?Thandi=0D=0ABcc:_evil@example.com?=",
    "encoded-word-display": "Thandi =?utf-8?b?SGFja2Vk?= Nkosi",
    "split-encoded-word": "Acme =?utf-8?b?SGFj a2Vk?= =",
    "crlf": "Acme\r\nBcc: evil@example.com",
    "bidi": "Nkosi \u202eLTD YTP\u202c Interiors \u2066x\u2069\u061c\u200e\u200f\u202a\u202b",
    "zero-width": "Nk\u200bosi\u200c \u2060Inte\ufeffriors\u200d",
    "separators": "Acme\u2028Bcc: x@y.co\u2029\x85\x0b\x0c\x1b",
    "long-non-ascii": "Ñkosi Ïnteriors " * 9 + "Ltd",
    "long-ascii": "Nkosi Interiors and Associates " * 5,
}
HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2028\u2029"
                    "\u2060\u2066-\u2069\ufeff]")


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return data


def _subject_fields(source: PackagedSource, name: str) -> list[str]:
    subject = source.snapshot().templates[name].subject
    return re.findall(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}", subject)


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


@pytest.fixture(scope="module")
def source(project_build: Path) -> PackagedSource:
    return PackagedSource(project_build)


@pytest.fixture(scope="module")
def cases(source: PackagedSource) -> list[dict[str, Any]]:
    """Every template's example plus every payload in every subject field it renders."""
    out = []
    for name in NAMES:
        base = _example(name)
        variants = [("example", base)]
        for field in _subject_fields(source, name):
            for label, payload in PAYLOADS.items():
                data = copy.deepcopy(base)
                _set(data, field, payload)
                variants.append((f"{field}={label}", data))
        for label, data in variants:
            try:
                email = render(name, data, source=source)
            except TemplateDataError:
                continue  # refused (a patterned field): nothing reaches a header
            out.append({"label": f"{name} {label}", "template": name,
                        "build": email.build_version, "subject": email.subject,
                        "html": email.html, "text": email.text, "to": TO})
    return out


def test_payloads_reach_subjects_of_templates_with_free_text(cases: list[dict[str, Any]]
                                                             ) -> None:
    reached = {c["template"] for c in cases if "=" in c["label"].split(" ", 1)[1]}
    assert reached, "no payload was accepted into any subject: the test would prove nothing"


def test_rendered_subjects_hold_no_encoded_word_or_hidden_character(
        cases: list[dict[str, Any]]) -> None:
    for case in cases:
        assert "=?" not in case["subject"], case["label"]
        assert not HIDDEN.search(case["subject"]), case["label"]
        assert case["subject"] == " ".join(case["subject"].split()), case["label"]
        for part in ("html", "text"):
            assert not HIDDEN.search(case[part].replace("\n", "").replace("\t", "")), \
                (case["label"], part)


def test_strict_reparse_gives_back_exactly_the_subject_and_headers(
        cases: list[dict[str, Any]]) -> None:
    failures = [f"{c['label']}: {p}" for c in cases for p in header_check.problems(c)]
    assert failures == []


def _interpreters() -> list[str]:
    found = [sys.executable]
    home = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    pyenv = (str(p / "bin/python3") for p in sorted(home.glob("3.1[1-9]*")))
    candidates = ["/usr/bin/python3", *pyenv]
    for exe in candidates:
        if Path(exe).is_file() and os.path.realpath(exe) != os.path.realpath(sys.executable):
            found.append(exe)
    return found


@pytest.mark.parametrize("python", _interpreters())
def test_every_cpython_here_writes_the_same_safe_headers(
        cases: list[dict[str, Any]], python: str, tmp_path: Path) -> None:
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2] >= (3, 11))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    if version != "True":
        pytest.skip(f"{python} is older than the supported 3.11")
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([python, str(Path(header_check.__file__)), str(path)],
                            capture_output=True, text=True, env=env, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []


def test_smtp_server_sees_only_the_given_recipients(cases: list[dict[str, Any]],
                                                    smtp: tuple[Catcher, int]) -> None:
    catcher, port = smtp
    hostile = cases
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        for case in hostile:
            email = RenderedEmail(case["template"], case["build"], case["subject"], case["html"],
                                  case["text"])
            client.send_message(email.to_message(sender=header_check.SENDER, to=TO))
    assert len(catcher.envelopes) == len(hostile)
    assert all(rcpts == TO for _, rcpts in catcher.envelopes), catcher.envelopes
    assert [m["Subject"] for m in catcher.messages] == [c["subject"] for c in hostile]


EMAIL = RenderedEmail("t", "v1", "Hello", "<p>Hi</p>", "Hi")


@pytest.mark.parametrize("to", [
    [], None, "", "a@b.co\r\nBcc: evil@example.com", "a@b.co, evil@example.com",
    "a@b.co;evil@example.com", ["a@b.co", "x@y.co\nBcc: z@w.co"], "not-an-address",
    ["a@b.co", 3], "a@b.co\u202e", ("Thandi", "a@b.co"), {"address": "a@b.co", "cc": "x"},
    "Th\r\nandi <a@b.co>", {"name": "x" * 2001, "address": "a@b.co"},
])
def test_impossible_recipients_are_a_project_error(to: Any) -> None:
    with pytest.raises(MessageError) as info:
        EMAIL.to_message(sender="noreply@bbws.co.za", to=to)
    assert isinstance(info.value, BBWSMailError)
    assert "evil" not in str(info.value)


# A mailbox value, and what it must read back as: [name, address] pairs, or "refused".
ADDRESS_CASES: list[tuple[str, Any, Any]] = [
    ("semicolon", "a@example.co.za;evil@example.com", "refused"),
    ("two in a string", "a@example.co.za, evil@example.com", "refused"),
    ("name naming another address", "spam@evil.example, Thandi <t@example.co.za>",
     [["spam@evil.example, Thandi", "t@example.co.za"]]),
    ("comma in a name", "Nkosi, Thandi <t@example.co.za>", [["Nkosi, Thandi", "t@example.co.za"]]),
    ("quoted name", '"Nkosi, \\"T\\"" <t@example.co.za>', [['Nkosi, "T"', "t@example.co.za"]]),
    ("angle bracket in a name", "A <b@c.de> <t@example.co.za>",
     [["A <b@c.de>", "t@example.co.za"]]),
    ("spaces kept", '" a  b " <t@example.co.za>', [[" a  b ", "t@example.co.za"]]),
    ("bare angle", "<t@example.co.za>", [["", "t@example.co.za"]]),
    ("long name", "N" * 1200 + " <t@example.co.za>", [["N" * 1200, "t@example.co.za"]]),
    ("long words", {"name": "Nkosi Interiors and Associates " * 30, "address": "t@example.co.za"},
     [["Nkosi Interiors and Associates " * 30, "t@example.co.za"]]),
    ("encoded word in a name", "Thandi =?utf-8?b?SGFja2Vk?= <t@example.co.za>",
     [["Thandi =?utf-8?b?SGFja2Vk?=", "t@example.co.za"]]),
    ("hostile structured name",
     {"name": "x:; (c) =?utf-8?b?DQpCY2M6IGV2aWxAZXhhbXBsZS5jb20=?= \u202eevil\u202c \\",
      "address": "t@example.co.za"},
     [["x:; (c) =?utf-8?b?DQpCY2M6IGV2aWxAZXhhbXBsZS5jb20=?= \u202eevil\u202c \\",
       "t@example.co.za"]]),
    ("non-ASCII", {"name": "Ñkosi Ïnteriors " * 9, "address": "t@example.co.za"},
     [["Ñkosi Ïnteriors " * 9, "t@example.co.za"]]),
    ("several", ["a@example.co.za", {"name": "B, b", "address": "b@example.co.za"}],
     [["", "a@example.co.za"], ["B, b", "b@example.co.za"]]),
    ("line break in a name", {"name": "a\r\nBcc: x@y.co", "address": "t@example.co.za"},
     "refused"),
    ("NUL in a name", {"name": "a\x00b", "address": "t@example.co.za"}, "refused"),
    ("name over the cap", {"name": "x" * 2001, "address": "t@example.co.za"}, "refused"),
    ("comment", "t@example.co.za (Thandi)", "refused"),
    ("empty", "", "refused"),
    ("empty list", [], "refused"),
]


def _address_cases() -> list[dict[str, Any]]:
    return [{"label": label, "to": to, "expect": expect} for label, to, expect in ADDRESS_CASES]


def test_address_cases_read_back_as_intended() -> None:
    failures = [p for case in _address_cases() for p in header_check.address_problems(case)[0]]
    assert failures == []


@pytest.mark.parametrize("python", _interpreters())
def test_every_cpython_here_parses_and_writes_addresses_the_same(python: str,
                                                                 tmp_path: Path) -> None:
    """One parser and one writer, no ``email.utils``: the same bytes on every CPython."""
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2] >= (3, 11))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    if version != "True":
        pytest.skip(f"{python} is older than the supported 3.11")
    cases = _address_cases()
    path = tmp_path / "addresses.json"
    path.write_text(json.dumps(cases))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([python, str(Path(header_check.__file__)), "--addresses", str(path)],
                            capture_output=True, text=True, env=env, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["failures"] == []
    assert report["written"] == {c["label"]: header_check.address_problems(c)[1] for c in cases}


@pytest.mark.parametrize("email", [
    EMAIL._replace(subject="Tha\udc00ndi"), EMAIL._replace(text="Hi \ud800"),
    EMAIL._replace(html="<p>\udfff</p>"), EMAIL._replace(subject="Hi\r\nBcc: x@y.co"),
    EMAIL._replace(subject=""),
])
def test_unwritable_parts_are_a_project_error(email: RenderedEmail) -> None:
    with pytest.raises(MessageError):
        email.to_message(sender="noreply@bbws.co.za", to=TO)


def test_recipient_with_lone_surrogate_is_a_project_error() -> None:
    with pytest.raises(MessageError):
        EMAIL.to_message(sender="noreply@bbws.co.za", to="Th\ud800 <a@b.co>")


@pytest.mark.parametrize("field", ["sender", "reply_to"])
def test_sender_and_reply_to_are_checked_too(field: str) -> None:
    kwargs = {"sender": "noreply@bbws.co.za", "to": TO, field: "a@b.co\r\nBcc: evil@example.com"}
    with pytest.raises(MessageError):
        EMAIL.to_message(**kwargs)


def test_display_names_survive_exactly() -> None:
    import email as email_pkg
    import email.policy

    msg = EMAIL.to_message(sender="BBWS Portal, Cape Town <noreply@bbws.co.za>",
                           to=["Thandi Nkosi <thandi@example.com>", "Ñandi <n@example.com>"])
    back = email_pkg.message_from_bytes(msg.as_bytes(), policy=email.policy.strict)
    assert [(a.display_name, a.addr_spec) for a in back["To"].addresses] == [
        ("Thandi Nkosi", "thandi@example.com"), ("Ñandi", "n@example.com")]
    assert back["From"].addresses[0].display_name == "BBWS Portal, Cape Town"


@pytest.mark.parametrize("name", [", " * 100, "Nkosi, Thandi; " * 12, '"quoted", <angled>; ' * 9])
def test_a_long_name_with_specials_is_never_folded_inside_a_quoted_string(name: str) -> None:
    """A reader that does not unfold first (CPython's compat32 parser, as moto's SES and
    many scripts use it) splits a folded quoted-string at its commas into many addresses."""
    import email as email_pkg
    from email.utils import getaddresses

    msg = EMAIL.to_message(sender="noreply@bbws.co.za", to=Address(name, "t@example.co.za"))
    naive = email_pkg.message_from_string(msg.as_bytes().decode("ascii"))
    assert [a for _, a in getaddresses([naive["To"]]) if a] == ["t@example.co.za"]
