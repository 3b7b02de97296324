"""One rule for template names, applied where a name is made, read or received."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from bbws_mail import config as config_mod
from bbws_mail import layout, names
from bbws_mail.cli import main
from bbws_mail.errors import ConfigError, UnknownTemplateError
from bbws_mail.render import render
from tests.conftest import ROOT

GOOD = ["receipt", "order_confirmation_customer", "a", "v2", "receipt_v2", "a" * 64]
BAD = ["refund-receipt", "refund receipt", "Receipt", "2fa_code", "_receipt", "receipt_",
       "shot__variant", "a" * 65, "", "receipt.html", "re\u00e7eipt", "receipt\n",
       "templates/receipt"]


@pytest.mark.parametrize("name", GOOD)
def test_the_rule_accepts_plain_lower_case_words(name: str) -> None:
    assert names.is_template_name(name)
    assert names.problem(name) == ""


@pytest.mark.parametrize("name", BAD)
def test_the_rule_refuses_what_a_key_tag_identifier_or_shot_name_cannot_hold(name: str) -> None:
    assert not names.is_template_name(name)
    assert "not a valid template name" in names.problem(name)
    assert names.RULE in names.problem(name)


@pytest.mark.parametrize("value", [None, 3, b"receipt", ["receipt"]])
def test_values_that_are_not_strings_are_no_names(value: object) -> None:
    assert not names.is_template_name(value)
    assert type(value).__name__ in names.shown(value)


def test_every_template_of_the_project_follows_the_rule() -> None:
    sources = sorted(p.stem for p in (ROOT / "templates_src").glob("*.mjml"))
    assert sources and all(names.is_template_name(n) for n in sources)


def test_messages_describe_hostile_names_instead_of_copying_them() -> None:
    hostile = "x\r\nBcc: victim@example.com"
    assert "Bcc" not in names.problem(hostile)
    assert names.shown(hostile) == f"(a string of {len(hostile)} character(s))"
    assert names.shown("refund-receipt") == "'refund-receipt'"


def _mini(tmp_path: Path, stem: str) -> Path:
    """The mini project plus a copy of its template under ``stem`` (no [templates] line:
    the name is what is wrong, and the build says so first)."""
    project = tmp_path / "mini"
    shutil.copytree(ROOT / "tests/fixtures/mini", project)
    shutil.copy(project / "templates_src/mini.mjml", project / f"templates_src/{stem}.mjml")
    shutil.copy(project / "schemas/mini.schema.json", project / f"schemas/{stem}.schema.json")
    return project


@pytest.mark.parametrize("stem", ["refund-receipt", "refund receipt", "Refund"])
def test_a_source_whose_file_name_breaks_the_rule_is_a_build_error(
        tmp_path: Path, stem: str, capsys: pytest.CaptureFixture[str]) -> None:
    project = _mini(tmp_path, stem)
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert main(["build", "--root", str(project), "-q"]) != 0
    err = capsys.readouterr().err
    line = next(e for e in err.splitlines() if "template name" in e)
    assert line.startswith(f"error: templates_src/{stem}.mjml: "), err
    assert names.RULE in line and "Traceback" not in err
    assert "refund_receipt.mjml" in line or stem == "Refund"
    assert not (project / "build").exists()
    assert before == {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}


def test_new_applies_the_same_rule(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("shot__variant", "a" * 65, "refund-receipt"):
        assert main(["new", bad, "--category", "receipts", "--root", str(mini)]) == 2
        assert names.RULE in capsys.readouterr().err


def test_a_templates_key_that_breaks_the_rule_is_a_config_error_at_its_line(
        tmp_path: Path) -> None:
    (tmp_path / "bbws-mail.toml").write_text(
        '[templates]\nreceipt = "receipts"\n"refund-receipt" = "receipts"\n')
    with pytest.raises(ConfigError) as caught:
        config_mod.load(tmp_path)
    message = str(caught.value)
    assert "bbws-mail.toml:3" in message and "'refund-receipt'" in message
    assert names.RULE in message


def test_a_manifest_naming_a_template_against_the_rule_names_it_and_the_rule() -> None:
    digest = "0" * 64
    good = {"category": "receipts", "sha256": digest,
            "key": layout.bundle_key("receipts", "receipt", digest)}
    for bad in ("refund-receipt", "x\r\nBcc: y"):
        doc = {"format": layout.LAYOUT_FORMAT, "kind": layout.BUILD_KIND,
               "buildVersion": "b1", "templates": {"receipt": good, bad: good}}
        with pytest.raises(layout.LayoutError) as caught:
            layout.check_build_manifest(doc, "build/manifest.json")
        message = str(caught.value)
        assert message.startswith("build/manifest.json: templates: "), message
        assert names.shown(bad) in message and names.RULE in message
        assert "Bcc" not in message


@pytest.mark.parametrize("name", ["refund-receipt", "x\r\nBcc: y", 7, "a" * 100])
def test_render_refuses_a_name_from_data_before_looking_it_up(name: object) -> None:
    with pytest.raises(UnknownTemplateError) as caught:
        render(name, {})  # type: ignore[arg-type]
    message = str(caught.value)
    assert names.shown(name) in message and "Bcc" not in message
    assert pickle.loads(pickle.dumps(caught.value)).args == caught.value.args


def test_a_packaged_manifest_naming_a_template_against_the_rule_is_refused(
        tmp_path: Path, project_build: Path) -> None:
    from bbws_mail.errors import SourceError
    from bbws_mail.sources import PackagedSource

    shutil.copytree(project_build, tmp_path / "build")
    manifest_path = tmp_path / "build/manifest.json"
    manifest = json.loads(manifest_path.read_text())
    first = sorted(manifest["templates"])[0]
    manifest["templates"]["refund-receipt"] = manifest["templates"][first]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(SourceError, match="'refund-receipt' is not a valid template name"):
        PackagedSource(tmp_path / "build").snapshot()
