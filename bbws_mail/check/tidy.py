"""html-tidy: every built HTML through HTML Tidy, the design's markup validation stage.

Runs Debian's ``tidy`` (tidy-html5, package ``tidy``; ``scripts/system-deps.sh``
installs it) once over all built pages, errors and warnings only (``-e``), each
message with its id (``--mute-id yes``). What MRML writes on purpose for mail clients
(``align`` on cells for Outlook, the VML namespaces, ``aria-roledescription``...) is
flagged too: those messages are accepted in ``check-allow.toml``, rule ``html-tidy``,
subject ``"ID: message"``, each with its reason, so the list of email idioms is the
one reviewed allow-list. Anything else tidy finds fails ``check``.

Mustache tags are masked before tidy reads a page (same length, ``x``), so
``href="{{orderUrl}}"`` is judged as the URL it will be, not as illegal characters;
line and column stay those of the built HTML. A finding points at the source line
that holds the element when the element's markup is found there, else at the
template, and always names the built HTML's line and column.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

from bbws_mail.errors import ToolError
from bbws_mail.pipeline.rules import finding
from bbws_mail.pipeline.rules.findings import Finding
from bbws_mail.pipeline.rules.locate import SourceMap

ARGS = ("-q", "-e", "--show-info", "no", "--mute-id", "yes", "--gnu-emacs", "yes",
        "--show-errors", "1000", "--show-warnings", "yes")
MIN_VERSION = (5, 6)  # tidy-html5 (Debian 12's 5.6.0): older tidies do not know HTML5
_LINE_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<kind>Warning|Error): "
                      r"(?P<text>.*?)(?: \((?P<id>[A-Z_]+)\))?$")
_MUSTACHE_RE = re.compile(r"\{\{.*?\}\}\}?")
_ATTR_RE = re.compile(r"""\s([\w:-]+)=("[^"]*"|'[^']*')""")
_NAME_RE = re.compile(r"</?([A-Za-z][\w:-]*)")
_DISTINCT = frozenset({"id", "href", "src", "alt", "title", "name"})
TIMEOUT = 60


class Page(NamedTuple):
    """One built page, and how to find its elements again in the template's source."""

    html: str
    where: SourceMap
    template: str


def executable() -> tuple[str | None, str]:
    """The tidy program, or None and why it cannot be used."""
    setting = os.environ.get("BBWS_TIDY")  # an explicit setting wins, never replaced
    program = setting or shutil.which("tidy")
    if not program or not Path(program).is_file():
        return None, "tidy is not installed"
    try:
        version = subprocess.run([program, "-v"], capture_output=True, text=True,
                                 timeout=TIMEOUT).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"tidy does not run ({type(exc).__name__})"
    m = re.search(r"version (\d+)\.(\d+)", version)
    if not m or (int(m.group(1)), int(m.group(2))) < MIN_VERSION:
        return None, (f"{program} is not tidy-html5 {'.'.join(map(str, MIN_VERSION))} or "
                      "newer (an old tidy does not know HTML5)")
    return program, ""


def masked(html: str) -> str:
    """``html`` with each Mustache tag replaced by as many ``x``: same lines and columns."""
    return _MUSTACHE_RE.sub(lambda m: "x" * len(m.group(0)), html)


def check(pages: list[Page], program: str) -> list[Finding]:
    """html-tidy findings for every page; ToolError when tidy itself fails."""
    if not pages:
        return []
    by_file: dict[str, Page] = {}
    with tempfile.TemporaryDirectory(prefix="bbws-tidy-") as tmp:
        for each in pages:
            path = Path(tmp) / f"{each.template}.html"
            path.write_text(masked(each.html), encoding="utf-8")
            by_file[str(path)] = each
        try:
            done = subprocess.run([program, *ARGS, *by_file], capture_output=True, text=True,
                                  timeout=TIMEOUT, cwd=tmp)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ToolError(f"tidy did not run: {type(exc).__name__}") from None
    if done.returncode not in (0, 1, 2):
        raise ToolError(f"tidy failed with exit status {done.returncode}")
    # one finding per message and source place: MRML repeats an idiom on every table
    seen: dict[tuple[str, str, str], list[tuple[int, int, str]]] = {}
    for raw in done.stderr.splitlines():
        m = _LINE_RE.match(raw)
        found = by_file.get(m.group("file")) if m else None
        if m is None or found is None:
            continue
        page = found
        line, column = int(m.group("line")), int(m.group("column"))
        ident = m.group("id") or m.group("kind").upper()
        key = (page.template, f"{ident}: {m.group('text')}",
               _source_of(page, line, column))
        seen.setdefault(key, []).append((line, column, m.group("kind").lower()))
    out: list[Finding] = []
    for (template, subject, where), places in seen.items():
        line, column, kind = min(places)
        more = f" and {len(places) - 1} more place(s)" if len(places) > 1 else ""
        out.append(finding(
            "html-tidy", where,
            f"tidy {kind} at built HTML {line}:{column}{more}: {subject}: fix the markup; if "
            "MRML writes it on purpose for a mail client, accept it in check-allow.toml "
            f"(rule \"html-tidy\", subject '{subject}') with the reason", template,
            subject=subject))
    return out


def _source_of(page: Page, line: int, column: int) -> str:
    """The source line holding the element tidy names, else the template's file."""
    lines = page.html.split("\n")
    if not 0 < line <= len(lines):
        return page.where.root
    offset = sum(len(x) + 1 for x in lines[: line - 1]) + column - 1
    start = page.html.rfind("<", 0, offset + 1)
    end = page.html.find(">", offset)
    if start < 0 or end < 0:
        return page.where.root
    tag = page.html[start:end + 1]
    needles = [f"{name}={value}" for name, value in _ATTR_RE.findall(tag)
               if name in _DISTINCT and "{{" not in value]
    element = _NAME_RE.match(tag)
    source = page.where.spliced.text
    if element and source.count(f"<{element.group(1)}") == 1:  # an element written once
        needles.append(f"<{element.group(1)}")
    return page.where.find(*needles) if needles else page.where.root
