"""`nox -s package` and the wheel: never a stale build/, and boto3 only when S3 or SES is used."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import bbws_mail
from bbws_mail.pipeline.package import PackageError, make_package
from tests.conftest import ROOT
from tests.runtime.test_render import DATA

FRESH_INTERPRETER = """
import json, sys
sys.path.insert(0, {where!r})
import bbws_mail
assert bbws_mail.__file__.startswith({where!r}), bbws_mail.__file__
import chevron.tokenizer
assert chevron.tokenizer.__file__.startswith({where!r})
email = bbws_mail.render("mini", json.loads({data!r}))
assert "Acme" in email.html and email.build_version
import bbws_mail.send, bbws_mail.sqs, bbws_mail.formatting, bbws_mail.datatypes
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))
assert not loaded, loaded
from bbws_mail.s3source import S3Source
S3Source("dev", bucket="not-contacted").client  # using S3 is what loads boto3
assert "boto3" in sys.modules
print("ok")
"""


@pytest.fixture
def built_mini(mini: Path) -> Path:
    from bbws_mail import config
    from bbws_mail.pipeline import build

    build(config.load(mini))
    return mini


def test_package_refuses_a_stale_build(built_mini: Path, tmp_path: Path) -> None:
    source = built_mini / "templates_src" / "mini.mjml"
    source.write_text(source.read_text().replace("Hi ", "Hello "))
    out = tmp_path / "lambda.zip"
    with pytest.raises(PackageError, match="stale"):
        make_package(built_mini, out)
    assert not out.exists()



def test_the_package_command_says_error_on_one_line_per_problem(
        built_mini: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bbws_mail.pipeline.package import main

    source = built_mini / "templates_src" / "mini.mjml"
    source.write_text(source.read_text().replace("Hi ", "Hello "))
    out = tmp_path / "lambda.zip"
    assert main(["--root", str(built_mini), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), lines
    assert any("mini.html is stale: run `nox -s build`" in line for line in lines), lines
    assert captured.out == "" and not out.exists()
    (built_mini / "bbws-mail.toml").write_text("[templates\n")
    assert main(["--root", str(built_mini), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bbws-mail.toml:1" in err and "Traceback" not in err


@pytest.mark.slow
def test_package_imports_in_a_fresh_interpreter_without_boto3(built_mini: Path,
                                                              tmp_path: Path) -> None:
    import json

    out = make_package(built_mini, tmp_path / "lambda.zip")
    again = make_package(built_mini, tmp_path / "again.zip")
    assert out.read_bytes() == again.read_bytes(), "the zip is not deterministic"
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path / "lambda")
    assert not any(n.startswith(("bbws_mail/pipeline", "bbws_mail/publish", "bbws_mail/check",
                                 "bbws_mail/preview", "bbws_mail/visual")) for n in names)
    assert "bbws_mail/_build/manifest.json" in names
    tag = sys.implementation.cache_tag
    for module in (n for n in names if n.endswith(".py") and "/_build/" not in n):
        folder, _, stem = module.rpartition("/")
        assert f"{folder}/__pycache__/{stem[:-3]}.{tag}.pyc" in names, module
    code = FRESH_INTERPRETER.format(where=str(tmp_path / "lambda"), data=json.dumps(DATA))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "AWS_REGION": "af-south-1"})
    assert result.stdout.strip() == "ok", result.stderr


WHEEL_FILES = ("pyproject.toml", "hatch_build.py", "README.md", "bbws-mail.toml", "bbws_mail",
               "build", "templates_src", "schemas", "brand.toml", "assets")


@pytest.mark.slow
def test_the_wheel_refuses_a_stale_build(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    project = tmp_path / "project"
    project.mkdir()
    for name in WHEEL_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, project / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, project / name)

    def wheel() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                               "--no-build-isolation", "-w", str(tmp_path / "dist"),
                               str(project)], capture_output=True, text=True, timeout=300)

    ok = wheel()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    [built] = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(built) as zf:
        assert "bbws_mail/_build/manifest.json" in zf.namelist()
        assert "bbws_mail/datatypes.py" in zf.namelist()
        [metadata] = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        assert f"\nVersion: {bbws_mail.__version__}\n" in zf.read(metadata).decode()
    built.unlink()
    template = sorted((project / "templates_src").glob("*.mjml"))[0]
    template.write_text(template.read_text() + "\n<!-- edited, not rebuilt -->\n")
    stale = wheel()
    assert stale.returncode != 0
    assert f"build/ is stale for {template.stem}" in stale.stdout + stale.stderr
    assert not list((tmp_path / "dist").glob("*.whl"))


def test_the_version_has_one_source() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "version" not in project["project"], "pyproject.toml states a second version"
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "bbws_mail/__init__.py"
