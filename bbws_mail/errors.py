"""One error hierarchy for the whole toolkit.

Every error carries where it happened (a file:line or a JSON path) because the
people reading them are designers fixing a template or Lambda authors fixing a
payload, and "somewhere in receipt" is not actionable.
"""

from __future__ import annotations

from bbws_mail._namedtuple import NamedTuple

TYPE_CHECKING = False  # typing is not imported at run time: see bbws_mail._namedtuple
if TYPE_CHECKING:
    from typing import Any


class BBWSMailError(Exception):
    """Base class: catch this to handle any bbws-mail failure.

    Errors cross process boundaries (process pools, multiprocessing, Lambda
    extensions), so every subclass pickles: the default ``Exception`` pickling
    calls ``cls(*args)`` with the formatted message, which breaks any subclass
    whose ``__init__`` takes structured arguments. Instead the instance is rebuilt
    from its message and attributes, without calling ``__init__`` again.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.__class__, self.args, self.__dict__))


def _rebuild(cls: type[BBWSMailError], args: tuple[Any, ...], state: dict[str, Any]
             ) -> BBWSMailError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


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
    """The template name is not in the build; the message lists the known ones.

    The name may come from data (a queue message's body), so it is shown only when it
    looks like a template name; anything else is described by its type and length.
    """

    def __init__(self, name: Any, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown template {_shown_name(name)}; known templates: "
                         f"{', '.join(sorted(known))}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def _shown_name(name: Any) -> str:
    """``name`` quoted when it is a short plain name, else what it is (never its text)."""
    if isinstance(name, str):
        if len(name) <= 64 and name.isascii() and name.replace("_", "a").replace("-", "a"
                                                                              ).isalnum():
            return repr(name)
        return f"(a string of {len(name)} character(s) that is no template name)"
    return f"(a {type(name).__name__}, not a string)"


class DataProblem(NamedTuple):
    """One reason why render data does not match the template's schema."""

    path: str  # JSON path, e.g. "$.items[2].unitPrice"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# How many problems a TemplateDataError message lists; the rest are counted. A Lambda
# logs the message, and a payload with a million bad values must not make a huge log.
SHOWN_PROBLEMS = 20


class TemplateDataError(BBWSMailError, ValueError):
    """Render data does not match the schema; ``problems`` lists the mismatches.

    Messages describe values (JSON path, rule, type and length), never quote them:
    the data is customers' and may hold secrets. ``more`` counts problems found
    beyond those kept in ``problems``.
    """

    def __init__(self, template: str, problems: list[DataProblem], more: int = 0) -> None:
        self.template = template
        self.problems = problems
        self.more = more
        total = len(problems) + more
        shown = problems[:SHOWN_PROBLEMS]
        lines = "\n".join(f"  {p}" for p in shown)
        hidden = total - len(shown)
        if hidden:
            lines += f"\n  ... and {hidden} more"
        super().__init__(f"data for template {template!r} has {total} problem(s):\n{lines}")


class MessageError(BBWSMailError, ValueError):
    """A message cannot be written safely: an impossible recipient, sender or header value."""


class ConfigError(BBWSMailError, ValueError):
    """``bbws-mail.toml`` cannot be used: the message starts with file:line and says the fix."""


class SourceError(BBWSMailError):
    """Compiled templates could not be loaded (missing build, unreachable bucket, bad manifest)."""


class BrokenTemplateError(SourceError):
    """A template of the build cannot be read or compiled: its files are not a template.

    Raised on every render of it (templates from S3 are data: whoever can write the
    bucket decides them). The message names the template, where the build came from
    and the kind of failure, never the files' text.
    """

    def __init__(self, name: str, origin: str, cause: BaseException) -> None:
        self.name = name
        self.origin = origin
        super().__init__(f"template {name!r} of the build at {origin or '?'} cannot be used: "
                         f"{type(cause).__name__} while reading or compiling it; publish a "
                         "build made by `bbws-mail build`")


class VisualError(BBWSMailError):
    """The visual regression cannot run as asked: no Chromium, unreadable baselines, or an
    ``--update`` that would re-bless shots it was not asked to (the message says the way on).
    """
