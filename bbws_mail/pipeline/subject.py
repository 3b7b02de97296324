"""Subject line and preheader, read from ``<mj-title>`` and ``<mj-preview>``.

Both are Mustache templates themselves. They are taken from the source rather
than the compiled HTML because MRML copies the title into an ``aria-label`` too,
and entity-decoded here because a subject is a header, not HTML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bbws_mail.errors import Location, TemplateError
from bbws_mail.pipeline.splice import Spliced

_TITLE_RE = re.compile(r"<mj-title\b[^>]*>(.*?)</mj-title\s*>", re.DOTALL | re.IGNORECASE)
_PREVIEW_RE = re.compile(r"<mj-preview\b[^>]*>(.*?)</mj-preview\s*>", re.DOTALL | re.IGNORECASE)
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Subject:
    text: str
    preheader: str
    location: Location  # where <mj-title> is, for contract errors


def extract_subject(spliced: Spliced) -> Subject:
    """The subject template (required) and the preheader template (optional)."""
    title = _TITLE_RE.search(spliced.text)
    if not title or not title.group(1).strip():
        raise TemplateError(Location(spliced.files[0] if spliced.files else spliced.name),
                            "no subject: <mj-title> is missing or empty",
                            "add <mj-title>Your subject {{var}}</mj-title> to <mj-head>")
    subject = _WS.sub(" ", html.unescape(title.group(1))).strip()
    preview = _PREVIEW_RE.search(spliced.text)
    preheader = _WS.sub(" ", html.unescape(preview.group(1))).strip() if preview else ""
    return Subject(subject, preheader, spliced.locate(title.start()))
