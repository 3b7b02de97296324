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

from bbws_mail.lint.findings import ERROR, WARNING, Finding

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
    """The entries of ``root/check-allow.toml`` and the problems of the file itself."""
    path = root / FILE_NAME
    if not path.is_file():
        return [], []
    text = path.read_text(encoding="utf-8")
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [], [Finding("allow-list", ERROR, FILE_NAME, f"not valid TOML: {exc}")]
    entry_lines = [i + 1 for i, line in enumerate(text.splitlines())
                   if line.strip() == "[[accept]]"]
    entries: list[Entry] = []
    problems: list[Finding] = []
    for i, raw in enumerate(data.get("accept", [])):
        where = f"{FILE_NAME}:{entry_lines[i]}" if i < len(entry_lines) else FILE_NAME
        unknown = set(raw) - KEYS
        if unknown:
            problems.append(Finding("allow-list", ERROR, where,
                                    f"unknown key(s) {', '.join(sorted(unknown))}; "
                                    f"use {', '.join(sorted(KEYS))}"))
        if not str(raw.get("rule", "")).strip():
            problems.append(Finding("allow-list", ERROR, where, "entry without a rule"))
            continue
        if not str(raw.get("reason", "")).strip():
            problems.append(Finding("allow-list", ERROR, where,
                                    f"entry for {raw['rule']} has no reason: say why it is "
                                    "acceptable"))
            continue
        templates = raw.get("templates", ["*"])
        if isinstance(templates, str):
            templates = [templates]
        entries.append(Entry(raw["rule"], str(raw.get("subject", "")), list(templates),
                             str(raw["reason"]).strip(), where))
    return entries, problems


def apply(findings: list[Finding], entries: list[Entry], *, report_unused: bool = True
          ) -> list[Finding]:
    """Mark accepted findings (their ``accepted`` holds the reason); flag unused entries."""
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
            if k not in used:
                out.append(Finding("allow-list", WARNING, entry.where,
                                   f"entry for {entry.rule} {entry.subject!r} accepts nothing "
                                   "any more: remove it"))
    return out
