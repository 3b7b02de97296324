"""What a template name is: the one rule every layer applies (standard library only).

A template's name becomes a file name (``templates_src/<name>.mjml``), a part of S3 keys
(``<category>/<name>/<sha256>.json``), an SES message tag value, a Python identifier
(the generated ``<Name>Data`` TypedDicts, precompiled modules), a TOML bare key in
``[templates]`` and the first half of a visual shot name (``<name>__<variant>``). Lower-case
ASCII words joined by single underscores, at most 64 characters, is what all of them
accept: no hyphen or space (S3 and tags would take them, Python and TOML bare keys not),
no double underscore (the shot separator), no leading digit (an identifier).

Names also arrive as data (a queue message naming its template, a bucket's manifest), so
:func:`shown` describes a name that breaks the rule instead of copying it into a message.
"""

from __future__ import annotations

import re

MAX_LENGTH = 64
RULE = ("lower-case ASCII words (a-z, 0-9, starting with a letter) joined by single "
        f"underscores, at most {MAX_LENGTH} characters, e.g. password_reset")
_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*\Z")
# Near-names worth quoting in a message (refund-receipt, Receipt): short, printable, no quotes.
_QUOTABLE = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")


def is_template_name(name: object) -> bool:
    """True when ``name`` follows the rule (any type may be asked: names arrive as data)."""
    return isinstance(name, str) and len(name) <= MAX_LENGTH and _NAME.match(name) is not None


def shown(name: object) -> str:
    """``name`` for a message: quoted when it is short and harmless, else described by its
    type and length (a name from a queue body or a bucket may be anything)."""
    if isinstance(name, str):
        if _QUOTABLE.match(name):
            return repr(name)
        return f"(a string of {len(name)} character(s))"
    return f"(a {type(name).__name__}, not a string)"


def problem(name: object) -> str:
    """Why ``name`` is not a template name ('' when it is one), with the rule."""
    if is_template_name(name):
        return ""
    return f"{shown(name)} is not a valid template name: use {RULE}"
