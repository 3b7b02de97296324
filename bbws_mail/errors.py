"""One error hierarchy for the whole toolkit.

Every error carries where it happened (a file:line or a JSON path) because the
people reading them are designers fixing a template or Lambda authors fixing a
payload, and "somewhere in receipt" is not actionable.
"""

from __future__ import annotations

from typing import NamedTuple


class BBWSMailError(Exception):
    """Base class: catch this to handle any bbws-mail failure."""


class Location(NamedTuple):
    """A place in a source file; ``line`` and ``column`` are 1-based.

    NamedTuple rather than a dataclass: ``dataclasses`` costs ~12 ms of import
    time, which a Lambda cold start pays for nothing.
    """

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        if not self.column:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


class TemplateError(BBWSMailError):
    """A template source cannot be built: the message starts with file:line."""

    def __init__(self, location: Location | str, message: str, hint: str = "") -> None:
        self.location = location
        self.message = message
        self.hint = hint
        text = f"{location}: {message}"
        if hint:
            text += f" (hint: {hint})"
        super().__init__(text)


class BuildError(BBWSMailError):
    """A build failed; ``errors`` holds every problem found, not just the first."""

    def __init__(self, errors: list[TemplateError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class UnknownTemplateError(BBWSMailError, KeyError):
    """The template name is not in the build; the message lists the known ones."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown template {name!r}; known templates: {', '.join(sorted(known))}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class DataProblem(NamedTuple):
    """One reason why render data does not match the template's schema."""

    path: str  # JSON path, e.g. "$.items[2].unitPrice"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class TemplateDataError(BBWSMailError, ValueError):
    """Render data does not match the schema; ``problems`` lists every mismatch."""

    def __init__(self, template: str, problems: list[DataProblem]) -> None:
        self.template = template
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"data for template {template!r} has {len(problems)} problem(s):\n{lines}")


class SourceError(BBWSMailError):
    """Compiled templates could not be loaded (missing build, unreachable bucket, bad manifest)."""
