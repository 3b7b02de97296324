"""Point a finding about built HTML back at the MJML line that produced it (best effort).

Every rule that can be decided on the source is judged there, at the element's own
offset through the splice line map (``rules.source``, ``rules.mjml``, the placeholder
and structure checks). This is only for rules that need the compiled HTML (contrast,
parse errors, client CSS, layout tables): MRML and the inliner keep no source
positions, so an element of the output is found again in the spliced source by what
it carries verbatim (an attribute value, a class, a snippet of its text). When
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

    def find_text(self, text: str, nth: int = 0) -> str:
        """``file:line:col`` of the ``nth`` occurrence of ``text`` in the body's text.

        Only text content counts (no attributes, comments or ``<mj-head>``), in
        document order, which MRML keeps: so the second of two identical paragraphs
        is found as the second, not as the first. Falls back to :meth:`find`.
        """
        import html

        from bbws_mail.pipeline.markup import element_stacks

        words = [re.escape(w) for w in text.split()[:8]]
        if not words:
            return self.root
        pattern = re.compile(r"\s+".join(words))
        count = 0
        for tok, stack in element_stacks(self.spliced.text):
            if tok.kind != "text" or "mj-head" in stack:
                continue
            for m in pattern.finditer(html.unescape(tok.text)):
                if count == nth:
                    return str(self.spliced.locate(tok.start + m.start()))
                count += 1
        return self.find(text)

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
