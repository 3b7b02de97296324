"""The compiled renderer against the official Mustache spec (core files, not copied in)."""

from __future__ import annotations

import json
from typing import Any

import chevron
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbws_mail.mustache import Template, html_escape, no_escape
from tests.conftest import SPEC_DIR

CORE = ["comments", "delimiters", "interpolation", "inverted", "partials", "sections"]


def _cases() -> list[Any]:
    if not SPEC_DIR.is_dir():
        return []
    cases = []
    for name in CORE:
        for test in json.loads((SPEC_DIR / f"{name}.json").read_text())["tests"]:
            cases.append(pytest.param(test, id=f"{name}:{test['name']}"))
    return cases


needs_spec = pytest.mark.skipif(not SPEC_DIR.is_dir(), reason=f"spec data not at {SPEC_DIR}")


@needs_spec
@pytest.mark.parametrize("test", _cases())
def test_core_spec(test: dict[str, Any]) -> None:
    template = Template(test["template"], partials=test.get("partials", {}))
    assert template.render(test["data"]) == test["expected"]


@needs_spec
def test_at_least_as_good_as_chevron() -> None:
    ours = theirs = 0
    for param in _cases():
        test = param.values[0]
        partials = test.get("partials", {})
        ours += Template(test["template"], partials=partials).render(test["data"]) \
            == test["expected"]
        theirs += chevron.render(test["template"], test["data"], partials_dict=partials) \
            == test["expected"]
    assert ours >= theirs
    assert ours == len(_cases())


def test_escaping_covers_attribute_quotes() -> None:
    out = Template('<a title="{{t}}">{{t}}</a>', escape=html_escape).render({"t": "\"'<>&"})
    assert out == '<a title="&quot;&#x27;&lt;&gt;&amp;">&quot;&#x27;&lt;&gt;&amp;</a>'


def test_text_mode_does_not_escape() -> None:
    assert Template("{{n}}", escape=no_escape).render({"n": "Acme & Sons"}) == "Acme & Sons"


def test_globals_are_a_fallback_only() -> None:
    t = Template("{{a}} {{b}}")
    assert t.render({"a": "data"}, {"a": "global", "b": "g"}) == "data g"


def test_same_output_as_chevron_on_sections_and_lists() -> None:
    src = "{{#items}}<tr><td>{{name}}</td></tr>{{/items}}{{^items}}none{{/items}}{{#o}}{{x}}{{/o}}"
    for data in ({"items": [{"name": "a"}, {"name": "b&c"}], "o": {"x": 1}}, {"items": []}):
        assert Template(src).render(data) == chevron.render(src, data)


@settings(max_examples=500)
@given(st.text())
def test_html_escape_is_exactly_the_standard_librarys(value: str) -> None:
    import html

    assert html_escape(value) == html.escape(value, quote=True)
