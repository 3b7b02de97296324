"""jsonpos finds keys and strings by structure, never by text that merely looks alike."""

from __future__ import annotations

from bbws_mail.pipeline import jsonpos

TEXT = """{
  "note": "a \\"name\\" and {\\"name\\": 1} in a string",
  "a/b": {"required": ["x", "name"], "properties": {"name": {}}},
  "list": [{"name": 1}, {"name": 2}],
  "dup": {"name": 1}, "dup": {"name": 2}
}
"""


def _at(offset: int | None) -> tuple[int, int] | None:
    return None if offset is None else jsonpos.position(TEXT, offset)


def test_a_key_under_a_pointer_with_a_slash_in_a_name() -> None:
    assert _at(jsonpos.member(TEXT, ("a/b", "properties"), "name")) == (3, 53)


def test_a_string_in_a_list() -> None:
    assert _at(jsonpos.element(TEXT, ("a/b", "required"), "name")) == (3, 29)
    assert jsonpos.element(TEXT, ("a/b", "required"), "y") is None


def test_array_elements_by_index() -> None:
    assert _at(jsonpos.member(TEXT, ("list", "1"), "name")) == (4, 26)


def test_a_duplicated_key_is_the_last_one_as_json_loads_reads_it() -> None:
    assert _at(jsonpos.member(TEXT, ("dup",), "name")) == (5, 31)


def test_what_is_not_there() -> None:
    assert jsonpos.member(TEXT, ("nope",), "name") is None
    assert jsonpos.member(TEXT, ("note",), "name") is None
    assert jsonpos.member(TEXT, ("list", "2"), "name") is None
    assert jsonpos.member(TEXT, (), "name") is None
