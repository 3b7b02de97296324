"""Size budget: Gmail clips a message's HTML at 102 KB and drops what follows.

Clipping hides the legal footer and the unsubscribe link and can drop the
styles after the cut, so the built HTML and every example rendering are measured
in bytes (UTF-8, as sent) against a warning and a failure threshold.
"""

from __future__ import annotations

import re

from bbws_mail.pipeline.rules.findings import ERROR, WARNING, Finding

_PARTS = (
    ("<style> blocks", re.compile(r"<style\b.*?</style>", re.S | re.I)),
    ("Outlook conditional comments", re.compile(r"<!--\[if.*?<!\[endif\]-->", re.S | re.I)),
    ("inline style attributes", re.compile(r'\sstyle="[^"]*"', re.I)),
    ("other comments", re.compile(r"<!--.*?-->", re.S)),
)


def contributors(html: str) -> list[tuple[str, int]]:
    """Bytes by kind, biggest first: what to cut when the budget is blown."""
    rest = html
    sizes: list[tuple[str, int]] = []
    for label, pattern in _PARTS:
        total = 0
        for m in pattern.finditer(rest):
            total += len(m.group(0).encode())
        rest = pattern.sub("", rest)
        sizes.append((label, total))
    text = re.sub(r"<[^>]*>", "", rest)
    sizes.append(("text", len(text.encode())))
    sizes.append(("other markup", len(rest.encode()) - len(text.encode())))
    return sorted(sizes, key=lambda kv: -kv[1])


def check(html: str, what: str, location: str, template: str,
          warn: int, fail: int) -> list[Finding]:
    """A finding when ``html`` passes the warning or failure threshold (in bytes, from the
    ``[check]`` settings: ``size_warn_kb``, ``size_fail_kb``)."""
    size = len(html.encode("utf-8"))
    if size < warn:
        return []
    top = ", ".join(f"{label} {n / 1024:.1f} KB" for label, n in contributors(html)[:3])
    if size >= fail:
        return [Finding("size-budget", ERROR, location,
                        f"{what} is {size / 1024:.1f} KB, over Gmail's {fail // 1024} KB clip "
                        f"(biggest: {top})", template)]
    return [Finding("size-budget", WARNING, location,
                    f"{what} is {size / 1024:.1f} KB, near Gmail's {fail // 1024} KB clip "
                    f"(warning at {warn // 1024} KB; biggest: {top})", template)]
