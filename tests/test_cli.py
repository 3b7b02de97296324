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
    assert "unknown template(s) mnii; known: mini" in err


def test_visual_without_an_example_says_which_file_is_missing(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("playwright")
    (mini / "schemas/examples/mini.json").unlink()
    assert main(["visual", "--root", str(mini)]) == 2
    err = capsys.readouterr().err
    assert "no example data for mini" in err and "mini.json is missing" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("setting", "message"), [
    ('company_adress = "1 Long Street"',
     "unknown key(s) in [check]: company_adress (did you mean company_address?)"),
    ('size_warn_kb = "big"', "[check] size_warn_kb has the wrong type"),
])
def test_a_bad_check_setting_is_a_build_error_at_its_line(
        mini: Path, capsys: pytest.CaptureFixture[str], setting: str, message: str) -> None:
    toml = mini / "bbws-mail.toml"
    toml.write_text(toml.read_text() + f"\n[check]\n{setting}\n")
    line = len(toml.read_text().splitlines())
    assert main(["build", "-q", "--root", str(mini)]) == 1
    err = capsys.readouterr().err
    assert f"error: bbws-mail.toml:{line}: {message}" in err, err
    assert "Traceback" not in err and not (mini / "build").exists()
    assert main(["check", "--no-spam", "-q", "--root", str(mini)]) == 2
    assert f"bbws-mail.toml:{line}: {message}" in capsys.readouterr().err
