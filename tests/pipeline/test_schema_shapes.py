"""A schema whose keywords have the wrong JSON type is one error at the keyword's line.

Designers edit schemas by hand: a quoted number, a string for a list, an empty enum.
Each used to be a traceback, or worse a build that passed and shipped a schema the
runtime validator cannot apply; now each is refused where it is written.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.pipeline.test_contract import _edit, _errors, _line

SCHEMA = "schemas/mini.schema.json"
ORDER = '"orderNumber": {"type": "string", "minLength": 1, "maxLength": 40}'
NAME = '"properties": {"name": {"type": "string", "minLength": 1, "maxLength": 120}}'
REQUIRED = '"required": ["orderNumber", "customer", "items", "total", "orderUrl", ' \
    '"unsubscribeUrl"]'
ORDER_LINE = '"orderNumber": {'
TOTAL = '"total": {"$ref": "defs/common.schema.json#/$defs/money"}'

CASES = [
    # (id, old, new, message pattern, needle on the expected line)
    ("type-number", ORDER, '"orderNumber": {"type": 5, "maxLength": 40}',
     r"type must be one of .* or a list of them \(found a number", ORDER_LINE),
    ("type-list-of-objects", ORDER, '"orderNumber": {"type": [1, {}], "maxLength": 40}',
     r"type must be one of", ORDER_LINE),
    ("max-length-quoted", ORDER, '"orderNumber": {"type": "string", "maxLength": "40"}',
     r"maxLength must be an integer from 0 to 2147483647 \(found a string of 2", ORDER_LINE),
    ("max-length-negative", ORDER, '"orderNumber": {"type": "string", "maxLength": -5}',
     r"maxLength must be an integer from 0", ORDER_LINE),
    ("max-length-huge", ORDER, '"orderNumber": {"type": "string", "maxLength": 1' + "0" * 300
     + "}", r"maxLength must be an integer from 0 to 2147483647 \(found a number of 301",
     ORDER_LINE),
    ("max-items-huge", '"maxItems": 50', '"maxItems": 1' + "0" * 400,
     r"maxItems must be an integer from 0", '"maxItems"'),
    ("minimum-quoted", '"minimum": 1, "maximum": 100', '"minimum": "1", "maximum": 100',
     r"minimum must be a number", '"minimum"'),
    ("enum-empty", ORDER, '"orderNumber": {"type": "string", "enum": []}',
     r"enum must be a non-empty array", ORDER_LINE),
    ("enum-string", ORDER, '"orderNumber": {"type": "string", "enum": "abc"}',
     r"enum must be a non-empty array \(found a string", ORDER_LINE),
    ("pattern-number", ORDER, '"orderNumber": {"type": "string", "maxLength": 9, "pattern": 5}',
     r"pattern must be a string", ORDER_LINE),
    ("required-string", REQUIRED, '"required": "orderNumber"',
     r"required must be an array of property names", '"required"'),
    ("required-numbers", REQUIRED, '"required": [1, 2]',
     r"required must be an array of property names", '"required"'),
    ("properties-array", NAME, '"properties": [1]',
     r"properties must be an object of schemas", '"properties": [1]'),
    ("property-number", ORDER, '"orderNumber": 5',
     r"orderNumber must be a schema \(a JSON object\)", '"orderNumber": 5'),
    ("additional-properties-string", '"additionalProperties": false, "required": ["name"]',
     '"additionalProperties": "no", "required": ["name"]',
     r"additionalProperties must be true, false or a schema", '"additionalProperties": "no"'),
    ("ref-number", TOTAL, '"total": {"$ref": 5}', r"\$ref must be a string", '"total": {'),
    ("ref-outside", TOTAL, '"total": {"$ref": "../../../../etc/passwd"}',
     r"\$ref leads outside schemas/", '"total": {'),
    ("ref-folder", TOTAL, '"total": {"$ref": "defs"}',
     r"\$ref names schemas/defs, which is not a file", '"total": {'),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_keyword_of_the_wrong_type_is_one_error_at_its_line(
        mini: Path, capsys: pytest.CaptureFixture[str], case: tuple[str, ...]) -> None:
    _, old, new, pattern, needle = case
    schema = mini / SCHEMA
    _edit(schema, old, new)

    errors = _errors(mini, capsys)

    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{SCHEMA}:{_line(schema, needle)}:"), errors[0]
    assert re.search(pattern, errors[0]), errors[0]
    assert len(errors[0]) < 400, "values are described, not copied"


@pytest.mark.parametrize(("text", "pattern"), [
    ("[1, 2]", r"^schemas/mini.schema.json:1:1: the schema must be a JSON object"),
    ("null", r"^schemas/mini.schema.json:1:1: the schema must be a JSON object"),
    ("[" * 100_000 + "]" * 100_000, r"^schemas/mini.schema.json:1:\d+: invalid JSON: nested "
     r"deeper than"),
], ids=["array", "null", "deep"])
def test_a_schema_that_is_no_object_is_one_error(
        mini: Path, capsys: pytest.CaptureFixture[str], text: str, pattern: str) -> None:
    (mini / SCHEMA).write_text(text)
    [error] = _errors(mini, capsys)
    assert re.search(pattern, error), error


def test_bytes_that_are_not_utf8_in_a_schema_are_refused_at_their_line(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema = mini / SCHEMA
    line = _line(schema, "orderNumber\": {")
    schema.write_bytes(schema.read_bytes().replace(b'"minLength": 1,', b'"minLength": 1,\xff', 1))
    [error] = _errors(mini, capsys)
    assert re.match(rf"{SCHEMA}:{line}:\d+: not valid UTF-8: byte 0xff", error), error
