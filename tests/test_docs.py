"""Every link between the docs, and every hint that names a doc section, leads somewhere.

A link is a relative Markdown link (or image) in README.md or docs/**/*.md: its file must
exist and its ``#fragment`` must be a heading of that file, slugged as GitHub slugs it.
A hint is a doc path (``README.md``, ``docs/....md``) written in the code, the tests or
the docs' own text, with an optional ``#fragment``: it must resolve the same way. A hint
names a section only as ``#slug``, so the test can follow it; "the README" without a
path names nothing a reader can open, and is refused in the code.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from bbws_mail.cli import make_parser
from bbws_mail.pipeline.rules import BUILD_RULES, RULES

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 250

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
_HINT = re.compile(r"(?<![\w/.-])((?:docs/[\w./-]+?|README)\.md)(?:#([\w-]+))?")
_QUOTED_SECTION = re.compile(r"(?<![\w/.-])[\w./-]*\w\.md(?:,\s*|\s+\()[\"']")
_VAGUE = re.compile(r"\bREADME\b(?!\.md)")


def docs(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, link text kept, every character that
    is not a letter, digit, space, hyphen or underscore dropped, spaces made hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_FENCE.sub("", doc.read_text(encoding="utf-8"))):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def _resolve(target: Path, fragment: str, root: Path) -> str:
    """'' when target (and fragment, if any) exist, else what is wrong."""
    if not target.resolve().is_relative_to(root.resolve()):
        return "leaves the repository"
    if not target.exists():
        return "no such file"
    if fragment:
        if target.suffix != ".md":
            return f"#{fragment} on a file that is not Markdown"
        if fragment not in anchors(target):
            return f"no heading with the anchor #{fragment}"
    return ""


def link_problems(doc: Path, root: Path = ROOT) -> list[str]:
    prose = _CODE_SPAN.sub("", _FENCE.sub("", doc.read_text(encoding="utf-8")))
    problems = []
    for link in _LINK.findall(prose):
        if _SCHEME.match(link):
            continue
        path, _, fragment = link.partition("#")
        target = doc.parent / path if path else doc
        wrong = _resolve(target, fragment, root)
        if wrong:
            problems.append(f"{doc.relative_to(root)}: link {link}: {wrong}")
    return problems


def hint_problems(path: Path, root: Path = ROOT) -> list[str]:
    text = path.read_text(encoding="utf-8")
    rel = path.relative_to(root)
    problems = [f"{rel}: hint {m.group(1)}: {wrong}"
                for m in _HINT.finditer(text)
                if (wrong := _resolve(root / m.group(1), m.group(2) or "", root))]
    problems += [f"{rel}: {m.group(0)!r}: name the section as #slug"
                 for m in _QUOTED_SECTION.finditer(text)]
    return problems


def code_files(root: Path = ROOT) -> list[Path]:
    files = [root / "noxfile.py", root / "hatch_build.py"]
    for folder in ("bbws_mail", "benchmarks", "tests", "scripts"):
        files += sorted(p for p in (root / folder).rglob("*")
                        if p.suffix in {".py", ".sh", ".toml"} and p.is_file()
                        and "fixtures" not in p.relative_to(root).parts)
    return [p for p in files if p.exists() and p != Path(__file__).resolve()]


def test_the_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES


def test_the_readme_points_every_reader_at_a_doc() -> None:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Where to read on", 1)[1]
    linked = {(ROOT / link.partition("#")[0]).resolve() for link in _LINK.findall(section)}
    for doc in docs()[1:]:
        if doc.parent.name == "runbooks" and doc.name != "README.md":
            continue  # each runbook is listed in docs/runbooks/README.md
        assert doc.resolve() in linked, doc.relative_to(ROOT)


@pytest.mark.parametrize("doc", docs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves(doc: Path) -> None:
    assert link_problems(doc) == []


@pytest.mark.parametrize("doc", docs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_hint_in_a_doc_resolves(doc: Path) -> None:
    assert hint_problems(doc) == []


def test_every_hint_in_the_code_resolves() -> None:
    problems = []
    for path in code_files():
        problems += hint_problems(path)
        text = path.read_text(encoding="utf-8")
        problems += [f"{path.relative_to(ROOT)}: 'README' without a path or section"
                     for _ in _VAGUE.finditer(text)]
    assert problems == []


def test_the_rules_reference_lists_every_rule_with_its_stage() -> None:
    text = (ROOT / "docs/reference/rules.md").read_text(encoding="utf-8")
    section = text.split("## Quality rules", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([\w-]+)`( \(build\))? \|", section, re.M)
    assert sorted(rule for rule, _ in rows) == sorted(RULES)
    assert {rule for rule, build in rows if build} == set(BUILD_RULES)


_BBWS_MAIL = re.compile(r"\bbbws-mail ([a-z]+)([^\n`#()]*)")
_OPTION = re.compile(r"(?<![\w-])(--[a-z][\w-]*)")
_NOX = re.compile(r"\bnox -s (\w+)")
_PYTHON_M = re.compile(r"\bpython3? -m ([\w.]+)")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next((a.choices for a in parser._actions  # argparse keeps them nowhere public
                 if isinstance(a, argparse._SubParsersAction)), {})


def command_problems(text: str) -> list[str]:
    """What a `bbws-mail`, `nox -s` or `python -m` command shown in text gets wrong: a
    subcommand, session or module that does not exist, an option the subcommand lacks."""
    problems = []
    commands = _subcommands(make_parser())
    for name, rest in _BBWS_MAIL.findall(text):
        sub = commands.get(name)
        if sub is None:
            problems.append(f"bbws-mail {name}: no such command")
            continue
        nested = _subcommands(sub)
        if nested:
            words = rest.split()
            sub = nested.get(words[0]) if words else None
            if sub is None:
                problems.append(f"bbws-mail {name}{rest}: no such command")
                continue
        for option in _OPTION.findall(rest):
            if option not in sub._option_string_actions:
                problems.append(f"bbws-mail {name}: no option {option}")
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    sessions = {f.name for f in tree.body if isinstance(f, ast.FunctionDef)
                and any("session" in ast.unparse(d) for d in f.decorator_list)}
    problems += [f"nox -s {name}: no such session"
                 for name in _NOX.findall(text) if name not in sessions]
    sys.path.insert(0, str(ROOT))
    try:
        problems += [f"python -m {module}: no such module"
                     for module in _PYTHON_M.findall(text)
                     if importlib.util.find_spec(module) is None]
    finally:
        sys.path.remove(str(ROOT))
    return problems


def code(text: str) -> str:
    """The fenced blocks and code spans of a Markdown text, where its commands are."""
    blocks = [m.group(0) for m in _FENCE.finditer(text)]
    return "\n".join([*blocks, *_CODE_SPAN.findall(_FENCE.sub("", text))])


@pytest.mark.parametrize("doc", docs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_shown_exists(doc: Path) -> None:
    assert command_problems(code(doc.read_text(encoding="utf-8"))) == []


_REPO_PATH = re.compile(r"(?<![\w/.$-])((?:bbws_mail|tests|benchmarks|scripts|assets|schemas"
                        r"|templates_src|docs)/[\w./-]*[\w/])(?![\w<*{.-])")
# names a doc makes up on purpose: a placeholder, the template `nox -s new` example creates,
# and the folder build/ becomes inside the wheel and the Lambda zip
MADE_UP = re.compile(r"\b(NAME|password_reset)\b|^bbws_mail/_build\b")


def path_problems(text: str, root: Path = ROOT) -> list[str]:
    return [f"{path}: no such file or folder" for path in _REPO_PATH.findall(text)
            if not MADE_UP.search(path) and not (root / path).exists()]


@pytest.mark.parametrize("doc", docs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_shown_exists(doc: Path) -> None:
    assert path_problems(code(doc.read_text(encoding="utf-8"))) == []


def test_the_checks_find_what_is_broken(tmp_path: Path) -> None:
    """The checker itself: a missing file, a missing heading, a hint to a section that
    does not exist and a section named in quotes are all reported; good ones are not."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/a.md").write_text(
        "# A page\n\n## The `x` rule: why?\n\n## Twice\n\n## Twice\n\n```\n# not a heading\n```\n",
        encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "[ok](docs/a.md#the-x-rule-why) [dup](docs/a.md#twice-1) [web](https://x.test/#y)\n"
        "[gone](docs/b.md) [nohead](docs/a.md#not-a-heading) `[code](docs/none.md)`\n",
        encoding="utf-8")
    code = tmp_path / "mod.py"
    code.write_text('"""see docs/a.md#twice and docs/a.md#nope, docs/a.md, "Twice" and\n'
                    'a.md ("Twice"); ROOT / "docs/a.md" is a path."""\n', encoding="utf-8")
    assert link_problems(tmp_path / "README.md", tmp_path) == [
        "README.md: link docs/b.md: no such file",
        "README.md: link docs/a.md#not-a-heading: no heading with the anchor #not-a-heading",
    ]
    assert hint_problems(code, tmp_path) == [
        "mod.py: hint docs/a.md: no heading with the anchor #nope",
        "mod.py: 'docs/a.md, \"': name the section as #slug",
        "mod.py: 'a.md (\"': name the section as #slug",
    ]
    assert command_problems(
        "`bbws-mail publish --env dev --dry-run` `bbws-mail bucket check --env dev`\n"
        "`bbws-mail publsh` `bbws-mail bucket chek` `bbws-mail gc --force-all`\n"
        "`nox -s tests` `nox -s testz` `python -m benchmarks` `python -m benchmarkz`\n") == [
        "bbws-mail publsh: no such command",
        "bbws-mail bucket chek: no such command",
        "bbws-mail gc: no option --force-all",
        "nox -s testz: no such session",
        "python -m benchmarkz: no such module",
    ]

    assert path_problems("`bbws_mail/render.py` `tests/nowhere.py` `schemas/<name>.json`"
                         " `schemas/examples/NAME.json` `bbws_mail/rendr/`") == [
        "tests/nowhere.py: no such file or folder", "bbws_mail/rendr/: no such file or folder"]
