"""The compiled validator: every problem with its JSON path, and agreement with jsonschema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbws_mail.validate import Validator, check_schema, check_url

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "items", "url"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 20},
        "count": {"type": "integer", "minimum": 0, "maximum": 10},
        "ratio": {"type": "number", "exclusiveMinimum": 0},
        "status": {"enum": ["A", "B"]},
        "flag": {"type": "boolean"},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "email": {"type": "string", "format": "email"},
        "day": {"type": "string", "format": "date"},
        "url": {"type": "string", "format": "uri"},
        "maybe": {"type": ["string", "null"]},
        "items": {
            "type": "array", "minItems": 1, "maxItems": 3,
            "items": {"type": "object", "additionalProperties": False, "required": ["n"],
                      "properties": {"n": {"type": "integer"}}},
        },
    },
}
V = Validator(SCHEMA)


def test_valid_data_has_no_problems() -> None:
    data = {"name": "x", "items": [{"n": 1}], "url": "https://bbws.co.za/a?b=1",
            "day": "2026-01-31", "email": "a@b.co", "code": "ABC", "status": "A", "maybe": None,
            "count": 3}
    assert V.problems(data) == []


def test_every_problem_is_listed_with_its_path() -> None:
    data = {"name": "", "items": [{"n": "1"}, {}], "url": "javascript:alert(1)", "extra": 1,
            "count": 11, "day": "2026-02-30"}
    got = {(p.path, p.message.split(" ")[0]) for p in V.problems(data)}
    assert ("$.name", "must") in got
    assert ("$.items[0].n", "expected") in got
    assert ("$.items[1].n", "is") in got
    assert ("$.url", "URL") in got
    assert ("$.extra", "is") in got
    assert ("$.count", "must") in got
    assert ("$.day", "not") in got


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JAVASCRIPT:alert(1)", " https://x.co", "http://x.co",
    "data:text/html,x",
    "vbscript:x", "https://", "https:x.co", "https://a b.co", 'https://x.co/"onmouseover=1',
    "https://user@evil.co", "//x.co", "mailto:a@b.co",
])
def test_unsafe_urls_are_refused(url: str) -> None:
    assert check_url(url) != ""


def test_mailto_only_where_allowed() -> None:
    assert check_url("mailto:ops@bbws.co.za", ("https", "mailto")) == ""
    assert check_url("mailto:ops@bbws.co.za") != ""


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-20, 20) | st.floats(-5, 5, allow_nan=False)
    | st.text(max_size=5) | st.sampled_from(["A", "B", "ABC", "https://x.co", "2026-01-01"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["n", "name", "items", "url", "count", "status", "x"]), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional={k: json_values for k in SCHEMA["properties"]}))
def test_agrees_with_jsonschema_on_validity(data: dict[str, Any]) -> None:
    # Formats and patterns are compared in test_formats (jsonschema's pattern is
    # Python's re, not ECMA-262), so here both sides get the schema without them.
    plain_ours = json.loads(json.dumps(SCHEMA))
    for prop in plain_ours["properties"].values():
        prop.pop("format", None)
        prop.pop("pattern", None)
    plain = plain_ours
    ours = Validator(plain_ours).problems(data) == []
    theirs = jsonschema.Draft202012Validator(plain).is_valid(data)
    assert ours == theirs, data


def test_an_int_past_pythons_int_to_str_limit_is_described_not_a_crash() -> None:
    """str() refuses ints over 4300 digits: describing one must not need its digits."""
    [problem] = Validator({"type": "object", "properties": {"name": {"type": "string"}}}
                          ).problems({"name": 10**5000})
    assert problem.path == "$.name" and "a number of more than 4300 digit(s)" in problem.message


def test_a_shared_set_of_known_good_sub_schemas_still_refuses_what_is_new() -> None:
    """The build shares the sub-schemas already found supported between templates;
    a schema reusing them is still refused for its own unsupported parts, every time."""
    known: set[str] = set()
    money = {"type": "string", "maxLength": 20, "pattern": "^R [0-9]+$"}
    check_schema({"type": "object", "properties": {"total": money}}, known)
    assert known
    bad = {"type": "object", "properties": {"total": money, "vat": {"type": "string",
                                                                     "oneOf": []}}}
    for _ in range(2):
        with pytest.raises(ValueError, match="oneOf"):
            check_schema(bad, known)
    with pytest.raises(ValueError, match="oneOf"):
        check_schema(bad)
