"""Arbitrary strings in every free-text field never change the HTML's structure."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import html5lib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbws_mail import TemplateDataError, render
from bbws_mail.pipeline import discover
from bbws_mail.sources import PackagedSource
from tests.conftest import ROOT

NAMES = sorted(p.stem for p in discover(ROOT / "templates_src"))
pytestmark = pytest.mark.skipif(not NAMES, reason="no templates in templates_src/ yet")
NASTY = st.text(
    alphabet=st.sampled_from([*list("<>&\"'`=/ \\\r\n\t\u2028\x00\x0b{}#!-:;"), "a", "é", "😀"])
    | st.characters(codec="utf-8"),
    min_size=1, max_size=40,
)
UNSAFE_URLS = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html;base64,PHNjcmlwdD4=",
               "vbscript:msgbox(1)", "https://x.co/\"><script>alert(1)</script>", "//evil.co",
               "http://insecure.example"]


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return data


def _string_paths(schema: dict[str, Any], data: Any, path: tuple[Any, ...] = (),
                  want_urls: bool = False) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    out: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    types = schema.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    if "object" in types and isinstance(data, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in data:
                out += _string_paths(sub, data[key], (*path, key), want_urls)
    elif "array" in types and isinstance(data, list):
        for i, item in enumerate(data):
            out += _string_paths(schema.get("items", {}), item, (*path, i), want_urls)
    elif "string" in types and isinstance(data, str):
        is_url = schema.get("format") == "uri"
        free = not ({"pattern", "format", "enum", "const"} & set(schema))
        if (want_urls and is_url) or (not want_urls and free):
            out.append((path, schema))
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _structure(html: str) -> list[tuple[str, tuple[str, ...]]]:
    doc = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    return [(el.tag if isinstance(el.tag, str) else "#comment", tuple(sorted(el.attrib)))
            for el in doc.iter()]


@pytest.fixture(scope="module")
def source(project_build: Path) -> PackagedSource:
    return PackagedSource(project_build)


@pytest.mark.parametrize("name", NAMES)
def test_strings_never_add_elements_or_attributes(source: PackagedSource, name: str) -> None:
    schema = source.snapshot().templates[name].schema
    base = _example(name)
    paths = _string_paths(schema, base)
    assert paths, f"{name} has no free-text string fields"
    expected = _structure(render(name, base, source=source).html)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(NASTY, min_size=len(paths), max_size=len(paths)))
    def check(values: list[str]) -> None:
        data = copy.deepcopy(base)
        for (path, sub), value in zip(paths, values, strict=True):
            lo, hi = sub.get("minLength", 0), sub.get("maxLength", 10_000)
            value = (value * (lo // max(len(value), 1) + 1))[: max(lo, min(len(value), hi))]
            _set(data, path, value)
        try:
            email = render(name, data, source=source)
        except TemplateDataError:
            return  # refused is fine; what matters is that nothing unsafe is produced
        assert _structure(email.html) == expected
        assert "\r" not in email.subject and "\n" not in email.subject

    check()


HIDING = "\u202eLTD\u202c \u2066x\u2069\u061c\u200e\u200f\u202a\u202b\u200bz\u2060\ufeff\u200d"
HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2028\u2029"
                    "\u2060\u2066-\u2069\ufeff]")


@pytest.mark.parametrize("name", NAMES)
def test_hiding_characters_never_reach_any_part(source: PackagedSource, name: str) -> None:
    """Bidi, zero-width and control characters in every free-text field are neutralised."""
    schema = source.snapshot().templates[name].schema
    base = _example(name)
    paths = _string_paths(schema, base)
    data = copy.deepcopy(base)
    for path, sub in paths:
        value = ("Nk" + HIDING + "osi\r\nBcc: x\u2028y")[: sub.get("maxLength", 10_000)]
        _set(data, path, value)
    email = render(name, data, source=source)
    for part in (email.subject, email.text, email.html):
        assert not HIDDEN.search(part)
    assert "\r" not in email.text and "Nk" in email.text


@pytest.mark.parametrize("name", NAMES)
def test_unsafe_urls_are_refused(source: PackagedSource, name: str) -> None:
    schema = source.snapshot().templates[name].schema
    base = _example(name)
    url_paths = _string_paths(schema, base, want_urls=True)
    assert url_paths, f"{name} has no URL fields (the footer's unsubscribe link is one)"
    for path, _ in url_paths:
        for bad in UNSAFE_URLS:
            data = copy.deepcopy(base)
            _set(data, path, bad)
            with pytest.raises(TemplateDataError) as info:
                render(name, data, source=source)
            shown = "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path)
            assert any(p.path == shown for p in info.value.problems), (bad, info.value)
