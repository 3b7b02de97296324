"""neutralise() against the rules of docs/reference/security.md#what-data-can-and-cannot-do,
written here as regular expressions."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from bbws_mail.display import neutralise

BREAKS = "\x00-\x1f\x7f-\x9f\u2028\u2029"
INVISIBLE = "\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
JOINERS = "\u200c\u200d"


def reference(value: str) -> str:
    value = re.sub(f"[{BREAKS}]", " ", value)
    value = re.sub(f"[{INVISIBLE}]", "", value)
    # a joiner not between two visible non-ASCII characters
    return re.sub(f"(?<![^\\x00-\\x7f{JOINERS}])[{JOINERS}]|[{JOINERS}](?![^\\x00-\\x7f{JOINERS}])",
                  "", value)


SPECIAL = [chr(c) for c in [*range(0x00, 0x21), *range(0x7E, 0xA1), 0x2028, 0x2029, 0x061C,
                            *range(0x200A, 0x2010), *range(0x2029, 0x2030), *range(0x205F, 0x206B),
                            0xFEFF, 0xFEFE]]
TEXT = st.text(st.one_of(st.sampled_from(SPECIAL), st.sampled_from("aZ é👨👩世ب"),
                         st.characters(blacklist_categories=("Cs",))), max_size=12)


@settings(max_examples=3000, deadline=None)
@given(TEXT)
def test_matches_the_rules(value: str) -> None:
    assert neutralise(value) == reference(value)


def test_every_character_in_every_neighbourhood() -> None:
    """Each code point alone, beside ASCII and between visible non-ASCII characters."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for left, right in [("", ""), ("a", "a"), ("\u00e9", "\u4e16"), ("\u200d", "\u0628")]:
        text = "|".join(left + c + right for c in chars)
        assert neutralise(text) == reference(text), (left, right)


def test_every_character_it_changes_is_one_isprintable_refuses() -> None:
    """The fast path (an isprintable() string is returned as it is) skips nothing."""
    changed = [c for c in map(chr, range(0x110000))
               if unicodedata.category(c) != "Cs" and reference(c) != c]
    assert changed and not any(c.isprintable() for c in changed)


def test_examples() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert neutralise(family) == family
    assert neutralise("Acme \u202edtL") == "Acme dtL"
    assert neutralise("pay\u200dpal") == "paypal"
    assert neutralise("line\r\nBcc: x") == "line  Bcc: x"
    assert neutralise("\u200d\u0628\u200c") == "\u0628"
    plain = "Thandi Nkosi, order BB-2026-00042"
    assert neutralise(plain) is plain
