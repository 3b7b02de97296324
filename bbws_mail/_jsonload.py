"""``json.loads`` for the packaged build's own files, without importing the json package.

Why not ``json`` itself: importing it compiles its regexes and loads its encoder,
~1.5-2 ms of a Lambda cold start (measured), to parse two small files the build
wrote. The parsing in ``json`` is CPython's C scanner, ``_json.make_scanner``,
which ``json.decoder`` wraps in a few lines; this module wraps it the same way. The
scanner is a private CPython API, so everything unusual goes to ``json.loads``
itself: no C scanner (another interpreter), bytes that are not UTF-8, and any
document the scanner does not take whole (its errors, extra data). The result is
therefore always exactly ``json.loads``'s, errors included; a differential test
holds the two together.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: see bbws_mail._namedtuple
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_SPACE = " \t\n\r"  # JSON's whitespace (RFC 8259 section 2)
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Context:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder``, at its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


_scan: Callable[[str, int], tuple[Any, int]] | None
try:
    from _json import make_scanner as _make_scanner

    _scan = _make_scanner(_Context())  # type: ignore[arg-type]  # duck-typed like JSONDecoder
except Exception:  # not CPython, or a CPython whose scanner wants something else
    _scan = None


def loads(data: bytes | str) -> Any:
    """The value of the JSON document ``data``, exactly as ``json.loads(data)`` gives it."""
    if _scan is not None:
        try:
            text = data if isinstance(data, str) else data.decode("utf-8")
            start = len(text) - len(text.lstrip(_SPACE))
            value, end = _scan(text, start)
            if end == len(text.rstrip(_SPACE)):
                return value
        except Exception:  # json.loads below gives the precise error, or the value
            pass
    import json

    return json.loads(data)
