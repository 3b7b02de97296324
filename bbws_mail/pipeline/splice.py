"""Splice ``<mj-include>`` partials into a source, in Python, before compiling.

MRML's own include loader drops the body width from included sections and swallows
the loader's error message, so partials are pasted in here instead. The spliced
text keeps a line map so every later stage can report ``file:line`` in the file
the designer actually edits, not in the spliced blob.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bbws_mail import names
from bbws_mail.errors import Location, TemplateError

if TYPE_CHECKING:
    from bbws_mail.pipeline.brand import Brand

INCLUDE_RE = re.compile(
    r"<mj-include\b(?P<attrs>[^>]*?)(?:/>|>\s*</mj-include\s*>)", re.IGNORECASE | re.DOTALL
)
PATH_ATTR_RE = re.compile(r"""\bpath\s*=\s*(?:"([^"]*)"|'([^']*)')""")
# C0 controls other than tab, LF and CR, and DEL: no markup needs them, HTML calls
# them parse errors, and MRML stops at a NUL without saying where.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class Spliced:
    """A source with its partials pasted in, and where each of its lines came from."""

    name: str
    text: str
    # origin[i] = (file, line) of the first character of spliced line i (0-based index)
    origins: list[tuple[str, int]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read, root first
    # assets referenced through ${asset.NAME}: name -> content-hashed name
    assets: dict[str, str] = field(default_factory=dict)
    # where a ${brand.NAME} value was written: (start, end) offsets in ``text``, in order
    brand_spans: list[tuple[int, int]] = field(default_factory=list)
    # the project's brand tokens (name -> value), for hints that name the right token
    brand: dict[str, str] = field(default_factory=dict)

    def locate(self, offset: int) -> Location:
        """Map a character offset in the spliced text back to file:line:column."""
        offset = max(0, min(offset, len(self.text)))
        line_index = self.text.count("\n", 0, offset)
        line_start = self.text.rfind("\n", 0, offset) + 1
        file, line = self.origins[min(line_index, len(self.origins) - 1)]
        return Location(file, line, offset - line_start + 1)


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.origins: list[tuple[str, int]] = []
        self.at_line_start = True
        self.length = 0  # characters added so far
        self.brand_spans: list[tuple[int, int]] = []

    def add(self, chunk: str, file: str, line: int) -> None:
        if not chunk:
            return
        self.length += len(chunk)
        if self.at_line_start:
            if self.origins and self.parts and self.parts[-1].endswith("\n"):
                self.origins[-1] = (file, line)
            elif not self.origins:
                self.origins.append((file, line))
        for k, _ in enumerate(re.finditer("\n", chunk), start=1):
            self.origins.append((file, line + k))
        self.parts.append(chunk)
        self.at_line_start = chunk.endswith("\n")


class Reads:
    """What splicing reads from disk, read once for all the templates of one build.

    Every template includes the same partials and brand tokens; a build reads each
    file and writes its tokens, parses ``brand.toml`` and resolves each include's real
    path once. Only what succeeded is kept: a problem is found, and reported at its
    own include, again.
    """

    def __init__(self, root: Path, company: dict[str, str] | None = None) -> None:
        from bbws_mail.pipeline import brand as brand_mod

        if company is None:
            from bbws_mail import config

            company = config.load(root.parent).company.facts()
        self.root = root
        self.brand = brand_mod.load(root.parent, company)
        # each file's text with its tokens written, where brand values sit, assets used
        self.expanded: dict[Path, tuple[str, list[tuple[int, int]], dict[str, str]]] = {}
        self.shown: dict[Path, str] = {}  # a file's path as errors name it
        self.targets: dict[str, Path] = {}  # an include's path attribute -> the file
        self.inside: dict[Path, bool] = {}

    def fresh_brand(self) -> Brand:
        """The project's tokens, with an empty record of the assets a template used."""
        return self.brand.for_template()


def splice(path: Path, root: Path, company: dict[str, str] | None = None,
           reads: Reads | None = None) -> Spliced:
    """Return ``path``'s text with every ``<mj-include path=...>`` replaced, recursively.

    Include paths are relative to ``root`` (the ``templates_src`` folder), so a
    partial can be moved between templates without rewriting its includes. Brand
    tokens (``${brand.primary}``) and asset names (``${asset.logo.png}``) are written
    in each file as it is read (``bbws_mail.pipeline.brand``), and so are the company's
    facts (``${company.address}``): ``company``, ``config.Company.facts()``, which the
    build passes; read from the project's bbws-mail.toml when not given. ``reads``
    shares the files read between the templates of one build (its company facts then
    apply; by default, nothing is shared).
    """
    check_name(path, root)
    reads = reads if reads is not None else Reads(root, company)
    builder = _Builder()
    files: list[str] = []
    tokens = reads.fresh_brand()
    _splice_into(builder, path, root, stack=[], files=files, included_from=None,
                 brand=tokens, reads=reads)
    text = "".join(builder.parts)
    origins = builder.origins or [(_display(path, root), 1)]
    # one origin per line, even for a trailing line without newline
    while len(origins) < text.count("\n") + 1:
        origins.append(origins[-1])
    return Spliced(path.stem, text, origins, files, dict(tokens.used_assets),
                   builder.brand_spans, dict(tokens.tokens))


def check_name(path: Path, root: Path) -> None:
    """The file name is the template's name (S3 key, SES tag, identifier): one rule."""
    problem = names.problem(path.stem)
    if problem:
        raise TemplateError(Location(_display(path, root)), f"the file name makes {problem}",
                            f"rename the file (and its schema and [templates] line), e.g. to "
                            f"{_suggest(path.stem)}.mjml")


def _suggest(stem: str) -> str:
    """A name that follows the rule, made from ``stem``."""
    words = re.findall(r"[a-z0-9]+", stem.lower())
    name = "_".join(words)[: names.MAX_LENGTH].strip("_")
    if not name or not name[0].isalpha():
        name = f"template_{name}".strip("_")[: names.MAX_LENGTH]
    return name if names.is_template_name(name) else "password_reset"


def _absolute(path: Path) -> Path:
    """Absolute and normalised without touching the disk (resolve() stats every part)."""
    return Path(os.path.normpath(os.path.abspath(path)))


def _display(path: Path, root: Path) -> str:
    try:
        return str(_absolute(path).relative_to(_absolute(root).parent))
    except ValueError:
        return str(path)


def _splice_into(
    builder: _Builder,
    path: Path,
    root: Path,
    stack: list[Path],
    files: list[str],
    included_from: Location | None,
    brand: Brand,
    reads: Reads,
) -> None:
    shown = reads.shown.get(path)
    if shown is None:
        shown = reads.shown[path] = _display(path, root)
    files.append(shown)
    expanded = reads.expanded.get(path)
    if expanded is None:
        # read and expanded once per build; the assets it names are recorded with it
        raw = _read(path, shown, included_from)
        file_brand = brand.for_template()
        file_spans: list[tuple[int, int]] = []
        expanded = reads.expanded[path] = (file_brand.expand(raw, shown, file_spans),
                                           file_spans, file_brand.used_assets)
    text, spans, used = expanded
    brand.used_assets.update(used)
    path_abs = _absolute(path)
    pos = 0
    line = 1

    def add(stop: int) -> None:
        """Add ``text[pos:stop]``, and the brand values inside it, to the spliced text."""
        base = builder.length - pos
        builder.add(text[pos:stop], shown, line)
        builder.brand_spans += [(base + s, base + e) for s, e in spans if pos <= s < stop]

    for match in INCLUDE_RE.finditer(text):
        before = text[pos : match.start()]
        add(match.start())
        line += before.count("\n")
        here = Location(shown, line, match.start() - text.rfind("\n", 0, match.start()))
        attr = PATH_ATTR_RE.search(match.group("attrs"))
        if not attr:
            raise TemplateError(here, "<mj-include> without a path attribute")
        named = attr.group(1) or attr.group(2) or ""
        target = reads.targets.get(named)
        if target is None:
            target = reads.targets[named] = _absolute(root / named)
        inside = reads.inside.get(target)
        if inside is None:
            inside = reads.inside[target] = _inside(target, root)
        if not inside:
            raise TemplateError(here, "<mj-include> path leads outside templates_src/",
                                'include partials by their path in templates_src/, e.g. '
                                'path="partials/footer.mjml"')
        if target in stack or target == path_abs:
            raise TemplateError(here, f"include cycle through {_display(target, root)}")
        _splice_into(builder, target, root, [*stack, path_abs], files, here, brand,
                     reads)
        line += match.group(0).count("\n")
        pos = match.end()
    add(len(text))


def _inside(target: Path, root: Path) -> bool:
    """Whether ``target``, symbolic links followed, is ``root`` or below it.

    Only files of ``templates_src/`` may be spliced: an include of ``/dev/zero`` never
    ends, and any other file would be copied into ``build/`` and published.
    """
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(target)]) == real_root


def _read(path: Path, shown: str, included_from: Location | None) -> str:
    """The text of one source file; TemplateError at file:line:column when it is unusable.

    A leading byte order mark is dropped and CRLF line ends become LF: editors on
    Windows write both, they mean nothing, and MRML refuses a CR in some places.
    """
    if not path.is_file():
        where = included_from or Location(shown)
        if path.exists():
            raise TemplateError(where, f"included path {shown} is not a file",
                                'name a .mjml file, e.g. path="partials/footer.mjml"')
        raise TemplateError(
            where, f"included file not found: {shown}", "paths are relative to templates_src/")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start:exc.start].decode("utf-8-sig")) + 1
        raise TemplateError(Location(shown, data.count(b"\n", 0, exc.start) + 1, column),
                            f"not valid UTF-8: byte 0x{data[exc.start]:02x} ({exc.reason})",
                            "save the file as UTF-8") from None
    text = text.replace("\r\n", "\n")
    control = CONTROL_RE.search(text)
    if control:
        offset = control.start()
        raise TemplateError(
            Location(shown, text.count("\n", 0, offset) + 1,
                     offset - text.rfind("\n", 0, offset)),
            f"control character U+{ord(control.group()):04X} in the source",
            "delete it (it is invisible in most editors)")
    return text
