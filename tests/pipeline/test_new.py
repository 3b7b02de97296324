"""Templates are data: `bbws-mail new` adds one that every tool and test accepts unchanged."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bbws_mail.cli import main
from bbws_mail.pipeline.scaffold import add_to_table
from bbws_mail.preview.workspace import audience
from bbws_mail.visual.baselines import FINGERPRINT, shot_name
from bbws_mail.visual.browser import find_chromium
from bbws_mail.visual.shoot import VARIANTS
from tests.conftest import ROOT

NEW = "password_reset"
# the template-driven tests, run inside the copy (so ROOT there is the copy)
TEMPLATE_DRIVEN = [
    "tests/test_templates.py",
    "tests/lint/test_project.py",
    "tests/pipeline/test_build.py",
    "tests/pipeline/test_text.py::test_every_template_has_the_text_part_html5lib_gives",
    "tests/preview/test_workspace.py::test_all_templates_build_and_render_with_their_examples",
    "tests/visual/test_visual.py::test_all_templates_match_baselines_with_sound_layout",
]


def _tracked_copy(dest: Path) -> Path:
    """The repository's files (tests and baselines included), as a fresh clone has them."""
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    files = subprocess.run(listing, cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src, out = ROOT / rel, dest / rel
        if src.is_symlink():  # as git checks it out: a link (bbws_mail/datatypes.py -> build/)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.symlink_to(os.readlink(src))
        elif src.is_file():
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(src.read_bytes())
    # a repository, as a clone is: tests that ask git (ls-files, check-ignore) work there too
    for git in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(git, cwd=dest, capture_output=True, check=True)
    return dest


@pytest.mark.slow
def test_a_thirteenth_template_needs_no_python_edit(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    project = _tracked_copy(tmp_path / "clone")
    before = len(list((project / "templates_src").glob("*.mjml")))
    root = ["--root", str(project)]

    assert main(["new", NEW, "--category", "notifications", *root]) == 0
    toml = (project / "bbws-mail.toml").read_text()
    assert f'{NEW} = "notifications"' in toml
    # one line added to [templates]; every other line, comments included, kept as it was
    assert toml.replace(f'{NEW} = "notifications"\n', "", 1) == \
        (ROOT / "bbws-mail.toml").read_text()
    assert main(["build", "-q", *root]) == 0
    assert (project / "build" / f"{NEW}.html").is_file()
    assert len(list((project / "build").glob("*.html"))) == before + 1
    assert main(["check", "--no-spam", "-q", *root]) == 0
    if find_chromium() is not None:
        # as on a machine whose Chromium differs from the one that took the baselines
        baselines = project / "tests/visual/baselines"
        stamps = json.loads((baselines / FINGERPRINT).read_text())
        for environment in stamps["environments"].values():
            environment["browser"] = "0.0"
        (baselines / FINGERPRINT).write_text(json.dumps(stamps))
        before = {p.name: p.read_bytes() for p in baselines.iterdir()}
        assert main(["visual", "--update", "--only", NEW, *root]) == 0
        after = {p.name: p.read_bytes() for p in baselines.iterdir()}
        changed = {name for name in after if after[name] != before.get(name)}
        assert changed == {FINGERPRINT, *(f"{NEW}__{v.name}.{ext}" for v in VARIANTS
                                          for ext in ("png", "json"))}, changed
    capsys.readouterr()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          *TEMPLATE_DRIVEN], cwd=project, env=env, capture_output=True,
                         text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert f"{NEW}]" in run.stdout or " passed" in run.stdout


def test_new_refuses_bad_names_categories_and_existing_templates(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = ["--root", str(mini)]
    before = {p: p.read_bytes() for p in mini.rglob("*") if p.is_file()}
    assert main(["new", "Password-Reset", "--category", "receipts", *root]) == 2
    assert "'Password-Reset' is not a valid template name" in capsys.readouterr().err
    assert main(["new", "mini", "--category", "receipts", *root]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["new", "other", "--category", "receiptz", *root])
    assert {p: p.read_bytes() for p in mini.rglob("*") if p.is_file()} == before


def test_the_templates_table_is_edited_in_place() -> None:
    text = ('# top comment\n[defaults]\nregion = "af-south-1"\n\n# the categories\n'
            '[templates]\norder = "receipts"  # kept\n\n# next table\n[check]\nx = 1\n')
    out = add_to_table(text, "password_reset", "notifications")
    assert out == text.replace('order = "receipts"  # kept\n',
                               'order = "receipts"  # kept\npassword_reset = "notifications"\n')
    fresh = add_to_table('[defaults]\nregion = "x"', "a", "invoices")
    assert fresh.endswith('[templates]\na = "invoices"\n')
    assert fresh.startswith('[defaults]\nregion = "x"\n')


HAND_MADE = "refund_receipt"
PROOF = "tests/pipeline/test_new.py::test_a_template_added_by_hand_passes_the_whole_suite"


def _customer_receipt() -> str:
    """A customer template filed under receipts, chosen from bbws-mail.toml's [templates]."""
    stated = tomllib.loads((ROOT / "bbws-mail.toml").read_text())["templates"]
    return next(name for name in sorted(stated)
                if stated[name] == "receipts" and audience(name) == "customer"
                and (ROOT / "templates_src" / f"{name}.mjml").is_file())


@pytest.mark.proof
def test_a_template_added_by_hand_passes_the_whole_suite(tmp_path: Path) -> None:
    """Copy a customer receipt, its schema, its example and its [templates] line by hand,
    build, and run the whole suite in that copy: nothing in tests/ may count or list
    templates, categories or colours of its own.

    The new template's visual baselines are taken as docs/designers.md#adding-a-template says
    (`visual --update --only NAME`), so the visual tests run too; without Chromium they skip
    themselves, as everywhere.
    """
    project = _tracked_copy(tmp_path / "clone")
    model = _customer_receipt()
    for rel in ("templates_src/{}.mjml", "schemas/{}.schema.json", "schemas/examples/{}.json"):
        text = (project / rel.format(model)).read_text(encoding="utf-8")
        if rel.startswith("schemas/{}"):  # its own $id, as a designer would rename it
            text = re.sub(rf'("\$id":\s*"[^"]*/){model}(\.schema\.json")',
                          rf"\g<1>{HAND_MADE}\g<2>", text, count=1)
        (project / rel.format(HAND_MADE)).write_text(text, encoding="utf-8")
    toml = project / "bbws-mail.toml"
    toml.write_text(toml.read_text().replace("[templates]\n",
                                              f'[templates]\n{HAND_MADE} = "receipts"\n', 1))
    root = ["--root", str(project)]
    assert main(["build", "-q", *root]) == 0
    assert (project / "build" / f"{HAND_MADE}.html").is_file()
    left_out = [PROOF]  # itself: it would copy and run the suite again, forever
    # the baseline step of docs/designers.md#adding-a-template; only the new shots change
    if find_chromium() is not None:
        assert main(["visual", "--update", "--only", HAND_MADE, *root]) == 0
        taken = {p.name for p in (project / "tests/visual/baselines").iterdir()}
        assert {f"{shot_name(HAND_MADE, v.name)}.png" for v in VARIANTS} <= taken
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
         "-n", "auto", "--dist", "loadfile",  # as `nox -s tests` runs it
         *(f"--deselect={t}" for t in left_out)],
        cwd=project, env=env, capture_output=True, text=True, timeout=3600, check=False)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    print(f"whole suite with {HAND_MADE} added (left out: {left_out}): {summary}")
