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
- Addresses (From, To, Reply-To): mailboxes are values (:class:`Address`), and a
  string is exactly one mailbox, read by :func:`parse_mailbox`, the project's only
  address parser (no ``email.utils``, whose readings differ between CPython patch
  releases). The addr-spec must pass the validator's e-mail rule (ASCII dot-atom,
  host name domain, no ``=?``). A display name may hold anything but line breaks and
  other controls (C0, DEL, C1, U+2028/U+2029), lone surrogates, or more than
  ``MAX_NAME`` characters (those are a MessageError naming the field); it is written
  as atoms when it is plain words, else as one quoted-string with backslash escapes
  when it is printable ASCII without ``=?`` and fits one line (never folded inside),
  else as RFC 2047 encoded words (UTF-8, base64; non-ASCII, bidi, ``=?``, a word or a
  quoted-string too long for a line). Every line holds
  at most 998 octets and is folded near 78 where the syntax allows. A name longer
  than one encoded word is several, split between characters: RFC 2047 readers join
  them exactly, while CPython's display-name parser (3.11-3.13, measured) keeps the
  folding space between two encoded words, so it shows a space at each split.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bbws_mail._namedtuple import NamedTuple
from bbws_mail.display import neutralise
from bbws_mail.errors import MessageError

MAX_LINE = 78  # RFC 5322's "SHOULD" line length, CRLF excluded
MAX_LONG_LINE = 998  # RFC 5322's "MUST" line length, CRLF excluded
_WORD_BYTES = 42  # UTF-8 bytes per encoded word: "=?utf-8?b?" + 56 base64 + "?=" = 68 chars
_PRINTABLE = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
MAX_NAME = 2000  # characters of a display name; a longer one is refused, naming the field
_PIECE = 70  # longest word or quoted-string piece written as it is; longer: encoded words
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_QUOTED = re.compile(r'(?:[^"\\]|\\.)*')
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


class Address(NamedTuple):
    """One mailbox as a value: a display name ('' for none) and an addr-spec.

    Give recipients, From and Reply-To as ``Address`` values (or, in a JSON body,
    ``{"name": ..., "address": ...}``) so that no producer builds ``Name <addr>``
    text from data: a name is only ever a name, whatever it holds.
    """

    name: str
    addr: str

    def __str__(self) -> str:
        return self.addr if not self.name else f"{_quoted(self.name)} <{self.addr}>"


if TYPE_CHECKING:
    from typing import TypeAlias

    Mailbox: TypeAlias = "str | Address | Mapping[str, str]"
    Recipients: TypeAlias = "Mailbox | list[Mailbox] | list[str] | list[Address]"


def parse_mailbox(text: str, field: str) -> Address:
    """The one mailbox a string names: ``addr`` or ``name <addr>``; else a MessageError.

    The project's only reading of address text, the same on every CPython (the
    ``email.utils`` parsers differ between patch releases). A string is exactly one
    mailbox, never a list: when it ends with ``>`` the address is inside the last
    ``<...>`` and everything before it is the display name (commas, semicolons, ``@``
    and quotes included), unquoted only when the whole name is one quoted-string;
    otherwise the whole string is the address. Comments are not read.
    """
    _check_chars(text, f"{field} address")
    value = text.strip(" ")
    if value.endswith(">"):
        opener = value.rfind("<")
        if opener < 0:
            raise MessageError(f"{field} ends with > but has no < ({len(text)} characters); "
                               "give addr or Name <addr>")
        addr = value[opener + 1:-1].strip(" ")
        name = _phrase(value[:opener].rstrip(" "))
    else:
        addr, name = value, ""
    return mailbox(Address(name, addr), field)


def mailbox(value: Address, field: str) -> Address:
    """``value`` checked by the header writer's rules (see the module docstring)."""
    from bbws_mail.validate import check_email

    name, addr = value
    if not isinstance(name, str) or not isinstance(addr, str):
        raise MessageError(f"{field}: an address and its name must be strings, got "
                           f"{type(addr).__name__} and {type(name).__name__}")
    _check_chars(addr, f"{field} address")
    why = check_email(addr) or ("holds =?" if "=?" in addr else "")
    if why:
        raise MessageError(f"{field} is not one valid address ({why}; {len(addr)} characters); "
                           "several recipients go in a list, one address per item")
    _check_chars(name, f"{field} display name")
    if len(name) > MAX_NAME:
        raise MessageError(f"the display name of {field} has {len(name)} characters; at most "
                           f"{MAX_NAME} are written: shorten it or send without a name")
    return Address(name, addr)


def mailboxes(value: Any, field: str) -> list[Address]:
    """The mailboxes of a To, From or Reply-To value; a MessageError naming ``field``.

    Accepted: a string (exactly one mailbox, see :func:`parse_mailbox`), an
    :class:`Address`, a mapping ``{"name": ..., "address": ...}`` (``name``
    optional or null; the shape a JSON body carries), or a non-empty list of these. A plain
    tuple is refused: ``("Thandi", "t@example.co.za")`` could be a name and an
    address or two recipients, and reading it the wrong way drops one.
    """
    items = value if isinstance(value, list) else [value]
    if not items:
        raise MessageError(f"{field} is an empty list; give at least one address")
    found = []
    for i, item in enumerate(items):
        where = field if len(items) == 1 else f"{field} #{i + 1}"
        if isinstance(item, Address):
            found.append(mailbox(item, where))
        elif isinstance(item, str):
            found.append(parse_mailbox(item, where))
        elif isinstance(item, Mapping):
            if not {"address"} <= set(item) <= {"name", "address"}:
                raise MessageError(f"{where} must be an object with \"address\" and optionally "
                                   "\"name\", and no other keys")
            name = item.get("name")  # JSON null: no name
            found.append(mailbox(Address("" if name is None else name, item["address"]), where))
        else:
            hint = (" (a tuple is ambiguous: Address(name, addr) for one mailbox, a list for "
                    "several)" if isinstance(item, tuple) else "")
            raise MessageError(f"{where} must be an address string, an Address or a list of "
                               f"them, got {type(item).__name__}{hint}")
    return found


def _check_chars(text: Any, what: str) -> None:
    if not isinstance(text, str):
        raise MessageError(f"the {what} must be a string, got {type(text).__name__}")
    check_text(what, text)
    if _CONTROL.search(text):
        raise MessageError(f"the {what} holds a line break or control character "
                           f"({len(text)} characters); remove it")


def _phrase(text: str) -> str:
    """A display name as written: a whole quoted-string is unquoted, anything else kept."""
    if len(text) > 1 and text[0] == text[-1] == '"' and _QUOTED.fullmatch(text[1:-1]):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _quoted(name: str) -> str:
    """``name`` as one RFC 5322 quoted-string (backslash before each quote and backslash)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _name_pieces(name: str) -> list[str]:
    """The display name as pieces a fold may separate (each later one starts with a space).

    Atoms when the name is plain words; else one quoted-string (backslash escapes)
    when it is printable ASCII without ``=?`` and fits a line; else RFC 2047 encoded
    words, never inside a quoted-string (some readers decode them there), each split
    only between characters. A quoted-string is never folded inside: a reader that
    does not unfold first (CPython's compat32 parser, as moto's SES uses it) reads a
    folded ``", , ,"`` as dozens of addresses.
    """
    if _ATOM_TEXT.fullmatch(name) and "=?" not in name and name == " ".join(name.split()):
        words = name.split(" ")
        if all(len(w) < _PIECE for w in words):
            return words[:1] + [" " + w for w in words[1:]]
    quoted = _quoted(name)
    if name.isascii() and name.isprintable() and "=?" not in name and len(quoted) < _PIECE:
        return [quoted]  # never folded inside: readers that do not unfold split it at commas
    words = _encoded_words(name)
    return words[:1] + [" " + w for w in words[1:]]


def addresses(name: str, values: Any, field: str | None = None) -> Folded:
    """An address header (From, To, Reply-To) from one mailbox or a list of them.

    Every line of it holds at most 998 octets and is folded near 78 where the syntax
    allows (between words, between a name and its address, between encoded words);
    the ``str`` of the result is the unfolded value.
    """
    parsed = mailboxes(values, field or name)
    pieces = [f"{name}:"]
    for i, (display, addr) in enumerate(parsed):
        tail = "," if i < len(parsed) - 1 else ""
        if display:
            first, *rest = _name_pieces(display)
            pieces += [" " + first, *rest, f" <{addr}>{tail}"]
        else:
            pieces.append(f" {addr}{tail}")
    lines = _fold_pieces(pieces)
    return Folded(name, "".join(lines)[len(name) + 2:], "\r\n".join(lines) + "\r\n")


def _fold_pieces(pieces: list[str]) -> list[str]:
    """Lines of ``pieces``, a line break before a piece (which starts with a space)
    whenever the line would pass 78 characters."""
    lines = []
    line = pieces[0]
    for piece in pieces[1:]:
        if len(line) + len(piece) > MAX_LINE and line.strip() and piece[1:].strip():
            lines.append(line)
            line = piece
        else:
            line += piece
    lines.append(line)
    return lines


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
