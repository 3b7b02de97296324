"""schema-meta: every schema file is valid JSON Schema 2020-12, refused at its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bbws_mail.check import metaschema
from tests.conftest import FIXTURES, ROOT


def _project(tmp_path: Path) -> Path:
    dest = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", dest)
    return dest


def _break(path: Path, old: str, new: str) -> tuple[int, int]:
    """Replace ``old`` by ``new``; the line and column of the replaced text's value part."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    at = text.index(old) + len(new.split(": ", 1)[0]) + 2
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


@pytest.mark.parametrize(("old", "new", "says"), [
    ('"maxItems": 50', '"maxItems": "50"', "'50' is not of type 'integer'"),
    ('"maxItems": 50', '"minItems": -1', "-1 is less than the minimum of 0"),
    ('"type": "object", "additionalProperties": false, "required": ["name"]',
     '"type": "strin", "additionalProperties": false, "required": ["name"]',
     "'strin' is not one of"),
    ('"required": ["name"]', '"required": "name"', "'name' is not of type 'array'"),
])
def test_a_schema_violating_the_metaschema_is_refused_at_its_line(
        tmp_path: Path, old: str, new: str, says: str) -> None:
    project = _project(tmp_path)
    line, column = _break(project / "schemas" / "mini.schema.json", old, new)
    [hit] = metaschema.check(project / "schemas", project)
    assert hit.rule == "schema-meta"
    assert hit.location == f"schemas/mini.schema.json:{line}:{column}", hit
    assert says in hit.message, hit.message


def test_a_shared_definition_is_validated_too(tmp_path: Path) -> None:
    project = _project(tmp_path)
    common = project / "schemas" / "defs" / "common.schema.json"
    text = common.read_text(encoding="utf-8")
    common.write_text(text.replace('"$defs": {', '"$defs": {\n    "odd": {"minLength": -1},', 1),
                      encoding="utf-8")
    [hit] = metaschema.check(project / "schemas", project)
    assert hit.location.startswith("schemas/defs/common.schema.json:"), hit
    assert "#/$defs/odd/minLength" in hit.message


def test_a_schema_of_another_draft_or_not_json_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path)
    schema = project / "schemas" / "mini.schema.json"
    schema.write_text(schema.read_text().replace("draft/2020-12/schema",
                                                 "draft-07/schema#"), encoding="utf-8")
    [hit] = metaschema.check(project / "schemas", project)
    assert hit.location == "schemas/mini.schema.json:2:3" and "2020-12" in hit.message
    schema.write_text('{\n  "type": "object",\n}\n', encoding="utf-8")
    [hit] = metaschema.check(project / "schemas", project)
    assert hit.location == "schemas/mini.schema.json:3:1" and "not valid JSON" in hit.message


def test_examples_are_data_not_schemas(tmp_path: Path) -> None:
    project = _project(tmp_path)
    files = metaschema.schema_files(project / "schemas")
    assert files and not [p for p in files if "examples" in p.parts]


def test_every_schema_of_the_project_is_valid_2020_12() -> None:
    files = metaschema.schema_files(ROOT / "schemas")
    assert {p.parent.name for p in files} == {"schemas", "defs"}
    assert metaschema.check(ROOT / "schemas", ROOT) == []
