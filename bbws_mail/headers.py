"""Header lines written byte for byte by the project, the same on every CPython.

The ``email`` package folds header values itself, and how depends on the CPython
build: some decode an RFC 2047 encoded word found in a value while folding and
write what it held (``x\\r\\nBcc: y`` became a real Bcc line), and a long value
starting with ``[`` is folded right after the colon, which a parser reads back
with a leading space. So the headers that carry data are written here, already
folded, as objects the ``email`` policy stores and emits unchanged (its
documented header protocol: a value with a ``name`` and a ``fold``), and checked
by re-parsing with ``email.policy.strict`` in the tests on each CPython found.

- Subject: printable ASCII folded at single spaces, anything else (non-ASCII,
  a word too long for a line, a literal ``=?``) as UTF-8 base64 encoded words.
- List-Unsubscribe: ``<url>``, the URL as it is (printable ASCII) on one line (a URL
  cannot be folded; RFC 5322 allows 998 characters); never encoded words, which no
  mail provider reads as a URL, and never an ``=?`` that a reader could take for one.
- Addresses: ``addr`` or ``Name <addr>``; the address must be a plain
  addr-spec (the validator's e-mail rule), one per string, and the name printable
  text without quotes, angle brackets or encoded words; anything else is a
  :class:`MessageError`, never a header.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from bbws_mail.display import neutralise
from bbws_mail.errors import MessageError

MAX_LINE = 78  # RFC 5322's "SHOULD" line length, CRLF excluded
MAX_LONG_LINE = 998  # RFC 5322's "MUST" line length, CRLF excluded
_WORD_BYTES = 42  # UTF-8 bytes per encoded word: "=?utf-8?b?" + 56 base64 + "?=" = 68 chars
_PRINTABLE = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
_ADDRESS = re.compile(r"\s*(?:(?P<name>[^<>]*?)\s*<(?P<addr>[^<>]*)>|(?P<bare>[^<>\s]+))\s*")
_URL = re.compile(r"[\x21-\x3b=\x3f-\x7e]+")
_ATOM_TEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")


class Folded(str):
    """A header value (its ``str``) with the exact line(s) to write (``fold``)."""

    name: str
    _lines: str

    def __new__(cls, name: str, value: str, lines: str) -> Folded:
        self = super().__new__(cls, value)
        self.name = name
        self._lines = lines
        return self

    def fold(self, *, policy: Any) -> str:
        return self._lines.replace("\r\n", policy.linesep)


def _fold(name: str, atoms: list[str]) -> str:
    """``atoms`` joined by single spaces, a line break before any atom that would not fit."""
    line = f"{name}:"
    lines = []
    for atom in atoms:
        if len(line) + 1 + len(atom) > MAX_LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + atom
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def _encoded_words(text: str) -> list[str]:
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in text:
        n = len(char.encode("utf-8"))
        if size + n > _WORD_BYTES:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += n
    if chunk:
        words.append("".join(chunk))
    return ["=?utf-8?b?" + base64.b64encode(w.encode("utf-8")).decode("ascii") + "?="
            for w in words]


def _plain_atoms(text: str) -> list[str] | None:
    """The words of ``text`` if it can be written as it is, else None."""
    if not _PRINTABLE.fullmatch(text) or "=?" in text:
        return None
    atoms = text.split(" ")
    return atoms if all(len(a) < MAX_LINE - 1 for a in atoms) else None


def check_text(what: str, value: str) -> None:
    """Refuse text that cannot be encoded (a lone surrogate) with a MessageError."""
    from bbws_mail.validate import has_surrogate

    if has_surrogate(value):
        raise MessageError(f"the {what} holds a lone surrogate (not valid Unicode text); "
                           "render it with bbws_mail.render(), which refuses such data")


def unstructured(name: str, value: str) -> Folded:
    """A Subject-like header; refuses controls, which no rendered subject holds."""
    check_text(name, value)
    if neutralise(value) != value or value != value.strip() or "  " in value:
        raise MessageError(f"the {name} holds a control, hidden or surplus space character; "
                           "render it with bbws_mail.render(), which neutralises them")
    if not value:
        raise MessageError(f"the {name} is empty")
    atoms = _plain_atoms(value) or _encoded_words(value)
    return Folded(name, value, _fold(name, atoms))


def _one_address(value: Any, role: str) -> tuple[str, str]:
    from bbws_mail.validate import check_email

    if not isinstance(value, str):
        raise MessageError(f"{role} must be a string address, got {type(value).__name__}")
    check_text(role, value)
    if neutralise(value) != value:
        raise MessageError(f"{role} holds a line break, control or hidden character "
                           f"({len(value)} characters); give one plain address")
    match = _ADDRESS.fullmatch(value)
    if not match:
        raise MessageError(f"{role} is not one address of the form addr or Name <addr> "
                           f"({len(value)} characters)")
    addr = match.group("addr") if match.group("addr") is not None else match.group("bare")
    name = (match.group("name") or "").strip()
    if name.startswith('"') and name.endswith('"') and len(name) > 1:
        name = name[1:-1]
    why = check_email(addr)
    if why or "=?" in addr:
        raise MessageError(f"{role} is not one valid address ({why or 'holds =?'}); several "
                           "recipients go in a list, one address per string")
    if '"' in name or "\\" in name or "=?" in name:
        raise MessageError(f"the display name of {role} holds a quote, backslash or =?")
    return name, addr


def _address_atoms(name: str, addr: str) -> list[str]:
    if not name:
        return [addr]
    if not name.isascii():
        phrase = _encoded_words(name)
    elif _ATOM_TEXT.fullmatch(name) and name == " ".join(name.split()):
        phrase = name.split(" ")  # atoms: may fold between words
    else:
        phrase = [f'"{name}"']  # specials (a comma, a dot): one quoted-string
    return [*phrase, f"<{addr}>"]


def addresses(name: str, values: Any, role: str) -> Folded:
    """An address header (From, To, Reply-To) from one address or a list of them."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple) or not values:
        got = "an empty list" if isinstance(values, list | tuple) else type(values).__name__
        raise MessageError(f"{role} must be a non-empty address or list of addresses, got {got}")
    parsed = [_one_address(v, role) for v in values]
    atoms: list[str] = []
    shown = []
    for i, (display, addr) in enumerate(parsed):
        part = _address_atoms(display, addr)
        if i < len(parsed) - 1:
            part[-1] += ","
        atoms += part
        shown.append(f'"{display}" <{addr}>' if display else addr)
    return Folded(name, ", ".join(shown), _fold(name, atoms))


def angle_url(name: str, url: str) -> Folded:
    """``<url>`` for List-Unsubscribe (RFC 2369); the URL is data, so it is written here.

    Given to the ``email`` package, a URL holding ``=?utf-8?b?...?=`` (every character
    of it allowed by RFC 3986) was decoded while folding and its CRLF written as a real
    Bcc line, and a URL longer than a line became encoded words. Here it is written as
    it is; only when it holds ``=?`` is every ``?`` after the first (query or fragment
    text, where ``%3F`` means the same to the server) percent-encoded, since an encoded
    word needs four. It stays on one line, longer than 78 characters if it must (a URL
    cannot be folded); anything but printable ASCII without spaces or angle brackets,
    or a line longer than RFC 5322's 998 characters, is a MessageError.
    """
    if not isinstance(url, str) or not _URL.fullmatch(url):
        raise MessageError(f"the {name} URL must be printable ASCII without spaces or angle "
                           "brackets")
    if "=?" in url:
        head, mark, tail = url.partition("?")
        url = head + mark + tail.replace("?", "%3F")
    value = f"<{url}>"
    if len(name) + 2 + len(value) > MAX_LONG_LINE:
        raise MessageError(f"the {name} URL ({len(url)} characters) is longer than a header "
                           f"line can hold ({MAX_LONG_LINE} characters)")
    return Folded(name, value, f"{name}: {value}\r\n")


def token(name: str, value: str) -> Folded:
    """A header of printable ASCII tokens the project makes itself (X-BBWS-Template)."""
    atoms = _plain_atoms(value)
    if atoms is None:
        raise MessageError(f"the {name} header value must be printable ASCII without =?")
    return Folded(name, value, _fold(name, atoms))
