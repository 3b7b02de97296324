"""What every displayed value goes through: characters that hide or reorder text are neutralised.

Data typed by customers reaches subjects, HTML and text parts. Some characters
show nothing but change what a reader sees: bidi controls reorder a line ("Ltd"
typed as U+202E "dtL" reads as "Ltd" while meaning something else), zero-width
characters split words so that filters and people see different strings, and
controls or line separators start new lines in the text part or a header. The
rules, decided once here and documented in the README:

- replaced by a space: C0 controls (TAB, CR and LF included), DEL, C1 controls,
  U+2028 and U+2029 (a line break would start a forged line; a space keeps words apart);
- removed: bidi embeddings, overrides and isolates (U+202A..E, U+2066..9), the
  direction marks U+200E, U+200F, U+061C, the zero-width space U+200B, the word
  joiner and invisible operators U+2060..4, and U+FEFF;
- U+200C (ZWNJ) and U+200D (ZWJ) are kept only between two non-ASCII visible
  characters, where they shape emoji sequences (👨‍👩‍👧) and Arabic or Indic
  scripts; beside ASCII, at an edge or beside another joiner they only serve to
  disguise a word, and are removed.

Lone surrogates never get here: the validator refuses them.
"""

from __future__ import annotations

import re

_BREAKS = "\x00-\x1f\x7f-\x9f\u2028\u2029"
_INVISIBLE = "\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_JOINERS = "\u200c\u200d"
_ANY = re.compile(f"[{_BREAKS}{_INVISIBLE}{_JOINERS}]")
_BREAK = re.compile(f"[{_BREAKS}]")
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
# a joiner not between two visible non-ASCII characters
_LOOSE_JOINER = re.compile(
    f"(?<![^\\x00-\\x7f{_JOINERS}])[{_JOINERS}]|[{_JOINERS}](?![^\\x00-\\x7f{_JOINERS}])")


def neutralise(value: str) -> str:
    """``value`` with hiding characters replaced or removed (see the module docstring)."""
    if not _ANY.search(value):  # the common case: one scan, no copy
        return value
    value = _BREAK.sub(" ", value)
    value = _INVISIBLE_RE.sub("", value)
    return _LOOSE_JOINER.sub("", value)
