"""The generated TypedDicts: mypy flags a Lambda handler's missing or misspelt field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

HANDLER = '''\
from typing import Any

from bbws_mail import render
from bbws_mail.datatypes import {cls}


def handler(event: dict[str, Any], context: object) -> str:
    data: {cls} = {data}
    return render({name!r}, data).subject
'''


def _template_with_required_top_level() -> tuple[str, dict[str, Any]]:
    for path in sorted((ROOT / "templates_src").glob("*.mjml")):
        schema = json.loads((ROOT / "build" / f"{path.stem}.schema.json").read_text())
        if schema.get("required"):
            example = json.loads((ROOT / "schemas/examples" / f"{path.stem}.json").read_text())
            return path.stem, example
    raise AssertionError("no template has a required field")


def _mypy(tmp_path: Path, name: str, data: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    from bbws_mail.pipeline.datatypes import class_name

    handler = tmp_path / "handler.py"
    handler.write_text(HANDLER.format(cls=class_name(name), data=repr(data), name=name))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
         "--cache-dir", str(tmp_path / ".mypy"), str(handler)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)


@pytest.mark.slow
def test_mypy_flags_a_missing_or_misspelt_field(tmp_path: Path) -> None:
    name, example = _template_with_required_top_level()
    ok = _mypy(tmp_path, name, example)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    schema = json.loads((ROOT / "build" / f"{name}.schema.json").read_text())
    field = schema["required"][0]
    missing = {k: v for k, v in example.items() if k != field}
    result = _mypy(tmp_path, name, missing)
    assert result.returncode == 1
    assert f'Missing key "{field}"' in result.stdout

    misspelt = {**missing, field + "x": example[field]}
    result = _mypy(tmp_path, name, misspelt)
    assert result.returncode == 1 and f'"{field}x"' in result.stdout


def test_every_template_has_its_typed_dict_and_the_package_links_the_build() -> None:
    import bbws_mail.datatypes as datatypes

    names = sorted(p.stem for p in (ROOT / "templates_src").glob("*.mjml"))
    assert sorted(datatypes.TEMPLATE_DATA) == names
    link = ROOT / "bbws_mail" / "datatypes.py"
    assert link.resolve() == (ROOT / "build" / "datatypes.py").resolve()
