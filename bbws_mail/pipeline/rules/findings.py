"""What a check reports: one finding per problem, with the place a designer edits.

Every checker returns ``Finding`` values; the runner filters them through the
reviewed allow-list and formats them. Findings are plain data so that CI can read
them as JSON and the preview can show them as a table.
"""

from __future__ import annotations

from typing import NamedTuple

ERROR = "error"
WARNING = "warning"


class Finding(NamedTuple):
    """One problem: ``location`` is ``file:line:col`` in templates_src/ where possible."""

    rule: str
    severity: str  # ERROR or WARNING
    location: str
    message: str
    template: str = ""
    subject: str = ""  # what it is about (a CSS feature, a URL): allow-list entries match it
    accepted: str = ""  # the allow-list reason when a reviewed entry accepts it

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}[{self.rule}]: {self.message}"

    def as_dict(self) -> dict[str, str | int]:
        file, line, column = split_location(self.location)
        return {
            "rule": self.rule,
            "severity": self.severity,
            "file": file,
            "line": line,
            "column": column,
            "template": self.template,
            "message": self.message,
            "subject": self.subject,
            "accepted": self.accepted,
        }


def split_location(location: str) -> tuple[str, int, int]:
    """``"a/b.mjml:12:5"`` -> ``("a/b.mjml", 12, 5)``; missing parts are 0."""
    parts = location.split(":")
    numbers: list[int] = []
    while parts and parts[-1].isdigit() and len(numbers) < 2:
        numbers.insert(0, int(parts.pop()))
    line = numbers[0] if numbers else 0
    column = numbers[1] if len(numbers) > 1 else 0
    return ":".join(parts), line, column
