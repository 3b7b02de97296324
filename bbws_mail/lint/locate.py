"""Point a finding about built HTML back at the MJML line that produced it.

MRML and the inliner keep no source positions, so an element of the output is
found again in the spliced source by what it carries verbatim: an attribute
value (``src``, ``href``, ``alt``), a class, or a snippet of its text. When
nothing matches, the finding points at the template's own file.
"""

from __future__ import annotations

import re

from bbws_mail.pipeline.splice import Spliced


class SourceMap:
    """Finds strings of the built output in a template's spliced source."""

    def __init__(self, spliced: Spliced) -> None:
        self.spliced = spliced
        self.root = spliced.files[0] if spliced.files else spliced.name

    def find(self, *needles: str) -> str:
        """``file:line:col`` of the first needle found, else the template file."""
        for needle in needles:
            needle = needle.strip()
            if len(needle) < 2:
                continue
            at = self.spliced.text.find(needle)
            if at < 0:
                # whitespace differs between source and output: match it loosely
                words = [re.escape(w) for w in needle.split()[:8]]
                if not words:
                    continue
                m = re.search(r"\s+".join(words), self.spliced.text)
                at = m.start() if m else -1
            if at >= 0:
                return str(self.spliced.locate(at))
        return self.root
