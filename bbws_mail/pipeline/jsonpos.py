"""Where a key or a string sits in JSON text, under a JSON pointer.

``json`` returns values without positions, and searching the text for a name finds
its first mention: a ``required`` list above ``properties``, the same field in
another object. So the text is walked again with the standard library's own
scanner (``JSONDecoder.raw_decode`` reads each key and string and steps over each
value): the offsets belong to the very document ``json.loads`` read, and a
duplicated key resolves as it does there, to the last one. Used only on the error
path, so each query walks from the start.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

Pointer = tuple[str, ...]
_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _SPACE:
        i += 1
    return i


def _members(text: str, i: int) -> Iterator[tuple[str, int, int]]:
    """(key, key offset, value offset) of each member of the object starting at ``i``."""
    i = _skip(text, i + 1)
    while text.startswith('"', i):
        key, end = _DECODER.raw_decode(text, i)
        value = _skip(text, _skip(text, end) + 1)  # past the colon
        yield key, i, value
        i = _skip(text, _DECODER.raw_decode(text, value)[1])
        if not text.startswith(",", i):
            return
        i = _skip(text, i + 1)


def _elements(text: str, i: int) -> Iterator[int]:
    """The offset of each element of the array starting at ``i``."""
    i = _skip(text, i + 1)
    if text.startswith("]", i):
        return
    while i < len(text):
        yield i
        i = _skip(text, _DECODER.raw_decode(text, i)[1])
        if not text.startswith(",", i):
            return
        i = _skip(text, i + 1)


def member(text: str, pointer: Pointer, key: str) -> int | None:
    """The offset of ``key`` (its opening quote) in the object at ``pointer``, or None."""
    at = value_at(text, pointer)
    if at is None or not text.startswith("{", at):
        return None
    found = None
    for name, offset, _ in _members(text, at):
        if name == key:
            found = offset
    return found


def element(text: str, pointer: Pointer, string: str) -> int | None:
    """The offset of the first element equal to ``string`` in the array at ``pointer``."""
    at = value_at(text, pointer)
    if at is None or not text.startswith("[", at):
        return None
    for offset in _elements(text, at):
        if text.startswith('"', offset) and _DECODER.raw_decode(text, offset)[0] == string:
            return offset
    return None


def value_at(text: str, pointer: Pointer) -> int | None:
    """The offset of the value at ``pointer`` (parts already unescaped), or None."""
    at = _skip(text, 0)
    for part in pointer:
        if text.startswith("{", at):
            found = None
            for name, _, value in _members(text, at):
                if name == part:
                    found = value
        elif text.startswith("[", at) and part.isdigit():
            found = next((v for n, v in enumerate(_elements(text, at)) if n == int(part)),
                         None)
        else:
            return None
        if found is None:
            return None
        at = found
    return at


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset``; the column counts characters."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1
