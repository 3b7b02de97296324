"""Schema errors name the exact file, line and column, wherever else the same name appears.

The fixture puts each name in several places on purpose: a ``required`` list above
``properties``, the same field in two nested objects, a defs file with two objects
declaring the same fields, used through ``$ref`` with sibling keywords.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.test_contract import _errors

SCHEMA = "schemas/mini.schema.json"
PEOPLE = "schemas/defs/people.schema.json"

MINI = """\
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["orderNumber", "customer", "items", "total", "orderUrl", "unsubscribeUrl"],
  "properties": {
    "orderNumber": {"type": "string", "maxLength": 40},
    "customer": {
      "$ref": "defs/people.schema.json#/$defs/person",
      "required": ["name"]
    },
    "campaign": {
      "type": "object", "additionalProperties": false,
      "required": ["code", "discountPercent"],
      "properties": {
        "code": {"type": "string", "maxLength": 32},
        "discountPercent": {"type": "integer", "minimum": 1, "maximum": 100}
      }
    },
    "items": {
      "type": "array",
      "maxItems": 50,
      "items": {
        "type": "object", "additionalProperties": false,
        "required": ["name", "lineTotal"],
        "properties": {
          "name": {"type": "string", "maxLength": 120},
          "lineTotal": {"$ref": "defs/common.schema.json#/$defs/money"}
        }
      }
    },
    "total": {"$ref": "defs/common.schema.json#/$defs/money"},
    "orderUrl": {"$ref": "defs/common.schema.json#/$defs/url"},
    "unsubscribeUrl": {"$ref": "defs/common.schema.json#/$defs/url"}
  }
}
"""

PEOPLE_DEFS = """\
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$defs": {
    "company": {
      "type": "object", "additionalProperties": false,
      "required": ["name"],
      "properties": {
        "name": {"type": "string", "maxLength": 160},
        "email": {"type": "string", "format": "email", "maxLength": 254}
      }
    },
    "person": {
      "type": "object", "additionalProperties": false,
      "properties": {
        "name": {"type": "string", "maxLength": 120},
        "email": {"type": "string", "format": "email", "maxLength": 254}
      }
    }
  }
}
"""


@pytest.fixture
def project(mini: Path) -> Path:
    """The mini project with the schemas above."""
    (mini / SCHEMA).write_text(MINI)
    (mini / PEOPLE).write_text(PEOPLE_DEFS)
    return mini


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def _at(root: Path, rel: str, needle: str, skip: str = "") -> str:
    """``rel:line:column`` of the one ``needle`` in the file (after ``skip``, if given)."""
    text = (root / rel).read_text()
    start = text.index(skip) + len(skip) if skip else 0
    assert text.count(needle, start) == 1, needle
    offset = text.index(needle, start)
    line = text.count("\n", 0, offset) + 1
    return f"{rel}:{line}:{offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _one(errors: list[str], message: str) -> str:
    [found] = [e for e in errors if message in e]
    return found


def test_the_fixture_builds(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _errors(project, capsys) == []


def test_unbounded_string_in_the_second_object_declaring_the_name(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / SCHEMA, '"name": {"type": "string", "maxLength": 120}',
          '"name": {"type": "string"}')
    error = _one(_errors(project, capsys), "$.items[].name is displayed but unbounded")
    assert error.startswith(_at(project, SCHEMA, '"name": {"type": "string"}') + ": "), error


def test_array_without_max_items_at_its_property_not_the_required_list(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / SCHEMA, '      "maxItems": 50,\n', "")
    error = _one(_errors(project, capsys), "$.items is repeated but has no maxItems")
    assert error.startswith(_at(project, SCHEMA, '"items": {\n      "type": "array"') + ": "), \
        error


def test_unbounded_field_of_a_defs_object_used_through_ref_with_siblings(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / PEOPLE, '"name": {"type": "string", "maxLength": 120}',
          '"name": {"type": "string"}')
    error = _one(_errors(project, capsys), "$.customer.name is displayed but unbounded")
    assert error.startswith(_at(project, PEOPLE, '"name": {"type": "string"}') + ": "), error


def test_required_by_a_ref_sibling_is_reported_where_the_sibling_requires_it(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / SCHEMA, '"required": ["name"]', '"required": ["name", "email"]')
    error = _one(_errors(project, capsys), "required property $.customer.email is never used")
    assert error.startswith(_at(project, SCHEMA, '"email"') + ": "), error


def test_required_and_unused_in_the_second_object_requiring_the_name(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / SCHEMA, '"required": ["name", "lineTotal"]',
          '"required": ["name", "lineTotal", "code"]')
    _edit(project / SCHEMA, '"lineTotal": {"$ref"', '"code": {"type": "string", "maxLength": 8},\n'
          '          "lineTotal": {"$ref"')
    error = _one(_errors(project, capsys), "required property $.items[].code is never used")
    assert error.startswith(_at(project, SCHEMA, '"code"]') + ": "), error


def test_open_object_at_its_own_first_property(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / SCHEMA, '"type": "object", "additionalProperties": false,\n'
          '        "required": ["name", "lineTotal"]',
          '"type": "object",\n        "required": ["name", "lineTotal"]')
    error = _one(_errors(project, capsys), 'object $.items[] must set "additionalProperties"')
    assert error.startswith(
        _at(project, SCHEMA, '"name": {"type": "string", "maxLength": 120}') + ": "), error


def test_unsupported_keyword_in_the_defs_object_actually_used(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for length in (160, 120):
        _edit(project / PEOPLE, f'"maxLength": {length}}}',
              f'"maxLength": {length}, "not": {{"const": ""}}}}')
    [error] = _errors(project, capsys)
    assert "schema not supported: unsupported keyword(s) not" in error
    assert error.startswith(_at(project, PEOPLE, '"not"', skip='"person"') + ": "), error


def test_a_declared_global_at_its_property_not_the_required_list(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / SCHEMA, '"required": ["orderNumber",', '"required": ["assetBaseUrl", '
          '"orderNumber",')
    _edit(project / SCHEMA, '"properties": {\n    "orderNumber"',
          '"properties": {\n    "assetBaseUrl": {"type": "string", "format": "uri"},\n'
          '    "orderNumber"')
    error = _one(_errors(project, capsys), "assetBaseUrl is provided by the renderer")
    assert error.startswith(_at(project, SCHEMA, '"assetBaseUrl": {') + ": "), error
