"""Template files the runtime compiles (an S3 bundle) are data: malformed ones are SourceErrors.

Anyone who can write the bucket decides a bundle's text and schema; the bundle's hash
only proves it is the one the manifest names. Whatever they hold, a render fails with
a project error naming the template and the kind of failure, never a traceback from
chevron, the code generators or the generated code, and never with the files' text.
"""

from __future__ import annotations

from typing import Any

import pytest

from bbws_mail import BBWSMailError, SourceError, render
from bbws_mail.sources import FixedSource, LazyTemplates, Snapshot, TemplateFiles

SECRET = "Qx7vKz9Wm2Jp"


def _source(html: str = "<p>{{a}}</p>", text: str = "{{a}}", subject: str = "Hi {{a}}",
            schema: Any = None) -> FixedSource:
    if schema is None:
        schema = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 9}}}
    files = TemplateFiles("t", html, text, subject, schema)
    lazy = LazyTemplates({"t": "digest"}, lambda _name: files)
    return FixedSource(Snapshot("v1", lazy, "https://assets.example", "s3://bucket/x"))


def _deep_schema(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


HOSTILE: dict[str, dict[str, Any]] = {
    "unclosed section": {"html": "{{#a}}" + SECRET},
    "stray end tag": {"text": SECRET + "{{/a}}"},
    "unclosed tag": {"subject": "{{a" + SECRET},
    "odd delimiters": {"html": "{{=<% %>=}}<% a" + SECRET},
    "sections nested past recursion": {"html": "{{#a}}" * 5000 + "{{/a}}" * 5000},
    "schema type a number": {"schema": {"type": 5}},
    "schema type list of lists": {"schema": {"type": [["object"]]}},
    "schema not an object": {"schema": [SECRET]},
    "schema properties a list": {"schema": {"type": "object", "properties": [SECRET]}},
    "schema property a number": {"schema": {"type": "object", "properties": {"a": 5}}},
    "schema required a list": {"schema": {"type": "object", "required": [[SECRET]]}},
    "schema maxLength text": {"schema": {"type": "object", "properties": {
        "a": {"type": "string", "maxLength": SECRET}}}},
    "schema maxItems infinite": {"schema": {"type": "object", "properties": {
        "a": {"type": "array", "maxItems": float("inf")}}}},
    "schema minimum text": {"schema": {"type": "object", "properties": {
        "n": {"type": "integer", "minimum": SECRET}}}},
    "schema maximum a list": {"schema": {"type": "object", "properties": {
        "n": {"maximum": [1]}}}},
    "schema pattern a number": {"schema": {"type": "object", "properties": {
        "a": {"type": "string", "pattern": 5}}}},
    "schema format a list": {"schema": {"type": "object", "properties": {
        "a": {"type": "string", "format": ["uri"]}}}},
    "schema x-schemes numbers": {"schema": {"type": "object", "properties": {
        "a": {"type": "string", "format": "uri", "x-schemes": [5]}}}},
    "schema enum a number": {"schema": {"type": "object", "properties": {"a": {"enum": 5}}}},
    "schema items a number": {"schema": {"type": "object", "properties": {
        "a": {"type": "array", "items": 5}}}},
    "schema nested past recursion": {"schema": _deep_schema(5000)},
}


@pytest.mark.parametrize("files", HOSTILE.values(), ids=list(HOSTILE))
def test_a_malformed_template_is_a_source_error_naming_it(files: dict[str, Any]) -> None:
    source = _source(**files)
    for _ in range(2):  # every render, not just the first
        with pytest.raises(SourceError) as info:
            render("t", {"a": "x", "n": 3}, source=source)
        message = str(info.value)
        assert "'t'" in message and SECRET not in message and len(message) < 300


def test_a_well_formed_template_still_renders() -> None:
    email = render("t", {"a": "<x>"}, source=_source())
    assert email.html == "<p>&lt;x&gt;</p>" and email.subject == "Hi <x>"


def test_a_list_index_int_cannot_read_is_a_missing_name() -> None:
    """``\u00b2`` is a digit to str.isdigit but not to int(): no index, an empty value."""
    source = _source(html="<p>{{a.\u00b2}}</p>", schema={"type": "object"})
    assert render("t", {"a": ["x"]}, source=source).html == "<p></p>"


def test_the_error_is_a_project_error_that_pickles() -> None:
    import pickle

    with pytest.raises(BBWSMailError) as info:
        render("t", {"a": "x"}, source=_source(schema={"type": 5}))
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is type(info.value) and str(back) == str(info.value)
