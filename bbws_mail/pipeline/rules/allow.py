"""The reviewed allow-list: findings accepted on purpose, each with its reason.

``check-allow.toml`` at the project root holds ``[[accept]]`` entries matching a
rule, optionally a subject (a CSS feature id, a URL) and template names (globs).
An entry without a reason is itself an error, and an entry that accepts nothing
is reported so the list cannot silently rot.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from bbws_mail.config import toml_problem
from bbws_mail.pipeline.rules.findings import ERROR, WARNING, Finding

FILE_NAME = "check-allow.toml"
KEYS = {"rule", "subject", "templates", "reason", "reviewed_by"}


class Entry(NamedTuple):
    rule: str
    subject: str
    templates: list[str]
    reason: str
    where: str  # file:line of the entry, for messages

    def accepts(self, finding: Finding) -> bool:
        return (finding.rule == self.rule
                and fnmatch.fnmatchcase(finding.subject or "", self.subject or "*")
                and any(fnmatch.fnmatchcase(finding.template, t) for t in self.templates))


def load(root: Path) -> tuple[list[Entry], list[Finding]]:
    """The entries of ``root/check-allow.toml`` and the problems of the file itself.

    A file or an entry of the wrong shape is a problem (an allow-list finding), never a
    crash, and accepts nothing.
    """
    path = root / FILE_NAME
    if not path.is_file():
        return [], []
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [Finding("allow-list", ERROR, FILE_NAME,
                            f"not UTF-8 (byte {exc.start + 1}): save it as UTF-8")]
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column, what = toml_problem(str(exc))
        where = f"{FILE_NAME}:{line}:{column}" if line else FILE_NAME
        return [], [Finding("allow-list", ERROR, where, f"not valid TOML: {what}")]
    accept = data.get("accept", [])
    if not isinstance(accept, list) or not all(isinstance(a, dict) for a in accept):
        return [], [Finding("allow-list", ERROR, FILE_NAME, "accept must be [[accept]] "
                            "entries (tables), each with rule, reason and optional subject "
                            "and templates")]
    entry_lines = [i + 1 for i, line in enumerate(text.splitlines())
                   if line.strip() == "[[accept]]"]
    entries: list[Entry] = []
    problems: list[Finding] = []
    for i, raw in enumerate(accept):
        where = f"{FILE_NAME}:{entry_lines[i]}" if i < len(entry_lines) else FILE_NAME
        unknown = set(raw) - KEYS
        if unknown:
            problems.append(Finding("allow-list", ERROR, where,
                                    f"unknown key(s) {', '.join(sorted(unknown))}; "
                                    f"use {', '.join(sorted(KEYS))}"))
        wrong = _wrong_types(raw)
        if wrong:
            problems.append(Finding("allow-list", ERROR, where, wrong))
            continue
        if not raw.get("rule", "").strip():
            problems.append(Finding("allow-list", ERROR, where, "entry without a rule"))
            continue
        if not raw.get("reason", "").strip():
            problems.append(Finding("allow-list", ERROR, where,
                                    f"entry for {raw['rule']} has no reason: say why it is "
                                    "acceptable"))
            continue
        templates = raw.get("templates", ["*"])
        if isinstance(templates, str):
            templates = [templates]
        entries.append(Entry(raw["rule"], raw.get("subject", ""), list(templates),
                             raw["reason"].strip(), where))
    return entries, problems


def _wrong_types(raw: dict[str, Any]) -> str:
    """Why an entry's values are not of the kinds the file takes, or ""."""
    for key in ("rule", "subject", "reason", "reviewed_by"):
        if key in raw and not isinstance(raw[key], str):
            return f"{key} must be a string (found {type(raw[key]).__name__})"
    templates = raw.get("templates", "*")
    if not (isinstance(templates, str)
            or (isinstance(templates, list) and all(isinstance(t, str) for t in templates))):
        return "templates must be a name glob or a list of them, as strings"
    return ""


def apply(findings: list[Finding], entries: list[Entry], *, report_unused: bool = True,
          not_run: frozenset[str] = frozenset()) -> list[Finding]:
    """Mark accepted findings (their ``accepted`` holds the reason); flag unused entries.

    Entries for a rule in ``not_run`` (a stage whose program is missing here) are not
    flagged: they accept nothing only because nothing was judged.
    """
    used: set[int] = set()
    out = []
    for finding in findings:
        for k, entry in enumerate(entries):
            if entry.accepts(finding):
                used.add(k)
                finding = finding._replace(accepted=entry.reason)
                break
        out.append(finding)
    if report_unused:
        for k, entry in enumerate(entries):
            if k not in used and entry.rule not in not_run:
                out.append(Finding("allow-list", WARNING, entry.where,
                                   f"entry for {entry.rule} {entry.subject!r} accepts nothing "
                                   "any more: remove it"))
    return out
