"""The command line: clear errors instead of tracebacks, typos refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bbws_mail.cli import main


@pytest.mark.parametrize(("command", "module", "extra"), [
    (["publish", "--env", "dev", "--dry-run"], "boto3", "publish"),
    (["visual", "--only", "mini"], "playwright", "visual"),
])
def test_a_missing_extra_prints_the_pip_install_line(
        mini: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        command: list[str], module: str, extra: str) -> None:
    assert main(["build", "-q", "--root", str(mini)]) == 0
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # import fails: ModuleNotFoundError
    code = main([*command, "--root", str(mini)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"pip install 'bbws-mail[{extra}]'" in err
    assert "Traceback" not in err


def test_check_only_an_unknown_template_is_an_error(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--only", "mnii", "--no-spam", "--root", str(mini)]) == 2
    err = capsys.readouterr().err
    assert "unknown template 'mnii'; known templates: mini" in err


def test_visual_without_an_example_says_which_file_is_missing(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("playwright")
    (mini / "schemas/examples/mini.json").unlink()
    assert main(["visual", "--root", str(mini)]) == 2
    err = capsys.readouterr().err
    assert "no example data for mini" in err and "mini.json is missing" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("setting", "message"), [
    ("size_fail_k = 90", "unknown key(s) in [check]: size_fail_k (did you mean size_fail_kb?)"),
    ('company_address = "1 Long Street"',
     "[check] company_address: the company's address is stated once, as address in the "
     "[company] table"),
    ('size_warn_kb = "big"', "[check] size_warn_kb has the wrong type"),
    ("size_fail_kb = true", "[check] size_fail_kb has the wrong type"),
    ("size_fail_kb = -5", "[check] size_fail_kb must be more than 0"),
    ("spam_max_score = -1", "[check] spam_max_score must be 0 or more"),
])
def test_a_bad_check_setting_is_a_config_error_at_its_line(
        mini: Path, capsys: pytest.CaptureFixture[str], setting: str, message: str) -> None:
    """[check] is validated with the rest of bbws-mail.toml: every command refuses it."""
    toml = mini / "bbws-mail.toml"
    toml.write_text(toml.read_text() + f"\n[check]\n{setting}\n")
    line = len(toml.read_text().splitlines())
    for command in (["build", "-q"], ["check", "--no-spam", "-q"]):
        assert main([*command, "--root", str(mini)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {toml}:{line}: {message}"), err
    assert not (mini / "build").exists()


@pytest.mark.parametrize(("toml", "line"), [
    ("[env.prod]\nbucket = 'a'\n[env.prod]\n", 3),                # not TOML: a table twice
    ("[env.prod]\nrequires_approval = false\n", 2),                # TOML, but refused
])
@pytest.mark.parametrize("command", [["build", "-q"], ["check", "--no-spam"],
                                     ["new", "x_y", "--category", "receipts"],
                                     ["visual", "--only", "mini"],
                                     ["publish", "--env", "dev", "--dry-run"],
                                     ["preview", "--export", "out"]])
def test_a_broken_config_file_is_one_error_line_for_every_command(
        mini: Path, capsys: pytest.CaptureFixture[str], command: list[str], toml: str,
        line: int) -> None:
    config_file = mini / "bbws-mail.toml"
    config_file.write_text(toml)
    before = sorted(p.relative_to(mini) for p in mini.rglob("*"))
    code = main([*command, "--root", str(mini)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"error: {config_file}:{line}:"), err
    assert "Traceback" not in err
    assert sorted(p.relative_to(mini) for p in mini.rglob("*")) == before


def test_nox_visual_reports_a_broken_config_file_as_the_cli_does(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bbws_mail.visual.__main__ import main as visual_main

    (mini / "bbws-mail.toml").write_text("[env.prod]\nrequires_approval = false\n")
    assert visual_main(["--root", str(mini)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {mini / 'bbws-mail.toml'}:2:")
