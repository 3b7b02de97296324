"""What a Lambda's cold start loads, and the small stand-ins that keep it light.

The runtime avoids a few standard modules on its import and first-render path
(each measured at 1-4 ms of a cold start: see docs/lambda.md#cold-start); these tests
hold each stand-in to the module it replaces, and a fresh interpreter to the list.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbws_mail import _jsonload, _namedtuple
from bbws_mail.pipeline import discover
from bbws_mail.validate import _show, has_surrogate
from tests.conftest import ROOT

# Never loaded by `import bbws_mail` + a first render from the packaged build.
NOT_ON_THE_COLD_PATH = ("typing", "json", "threading", "hashlib", "importlib.util", "warnings",
                        "contextlib", "dataclasses", "pathlib", "html", "email", "decimal",
                        "boto3", "botocore")
FRESH = """
import sys
import bbws_mail
for name, data in {cases}:
    email = bbws_mail.render(name, data)
    assert email.html and email.text and email.subject, name
print(len({cases}), sorted(set({avoid}) & set(sys.modules)))
"""


@pytest.mark.slow
def test_first_renders_load_none_of_the_heavy_modules() -> None:
    names = [p.stem for p in discover(ROOT / "templates_src")]
    assert names
    cases = [(name, json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text()))
             for name in names]
    code = FRESH.format(cases=repr(cases), avoid=repr(NOT_ON_THE_COLD_PATH))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(maxsplit=1) == [str(len(cases)), "[]"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


def _outcome(parse: typing.Callable[[typing.Any], typing.Any], data: str | bytes
             ) -> tuple[str, typing.Any]:
    try:
        return "value", parse(data)
    except Exception as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=500, deadline=None)
@given(JSON_VALUES, st.sampled_from([None, 0, 2]), st.booleans(),
       st.sampled_from(["", " \n", "\t"]))
def test_jsonload_reads_documents_exactly_as_json(value: typing.Any, indent: int | None,
                                                  ascii_only: bool, pad: str) -> None:
    text = pad + json.dumps(value, indent=indent, ensure_ascii=ascii_only) + pad
    for data in (text, text.encode()):
        assert _outcome(_jsonload.loads, data) == _outcome(json.loads, data)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(st.text(st.sampled_from('{}[]",:0123456789.eE+-truefalsnul \t\n\\u\x00é')),
                 st.binary(max_size=12).map(lambda b: b'{"a": "' + b + b'"}')))
def test_jsonload_fails_exactly_as_json(data: str | bytes) -> None:
    assert _outcome(_jsonload.loads, data) == _outcome(json.loads, data)


@pytest.mark.parametrize("data", [b'\xef\xbb\xbf{"a": 1}', '\ufeff{"a": 1}', "NaN", "[Infinity]",
                                  '{"a": 1} x', "", "  ", b'"\xed\xa0\x80"', '"\t"'])
def test_jsonload_edge_cases(data: str | bytes) -> None:
    assert repr(_outcome(_jsonload.loads, data)) == repr(_outcome(json.loads, data))


@settings(max_examples=1000, deadline=None)
@given(st.text())
def test_show_writes_strings_as_json_does(value: str) -> None:
    assert _show(value) == json.dumps(value, ensure_ascii=False)


def test_has_surrogate_is_true_exactly_for_surrogates() -> None:
    found = [c for c in range(0x110000) if has_surrogate("a" + chr(c))]
    assert found == list(range(0xD800, 0xE000))


class Fast(_namedtuple.NamedTuple):
    """A record."""

    name: str
    size: int = 0
    tags: tuple[str, ...] = ()

    def label(self) -> str:
        return f"{self.name}:{self.size}"


class Slow(typing.NamedTuple):
    """A record."""

    name: str
    size: int = 0
    tags: tuple[str, ...] = ()

    def label(self) -> str:
        return f"{self.name}:{self.size}"


def test_namedtuple_behaves_as_typings() -> None:
    fast, slow = Fast("a", 2), Slow("a", 2)
    assert tuple(fast) == tuple(slow) and fast._fields == slow._fields
    assert Fast._field_defaults == Slow._field_defaults
    assert repr(fast).replace("Fast", "Slow") == repr(slow)
    assert fast.label() == slow.label() == "a:2"
    assert fast._replace(size=3) == Fast("a", 3)
    assert Fast.__doc__ == Slow.__doc__ and Fast.__module__ == Slow.__module__
    assert pickle.loads(pickle.dumps(fast)) == fast
    assert not hasattr(fast, "__dict__")
    with pytest.raises(TypeError):
        Fast()  # type: ignore[call-arg]


def test_namedtuple_refuses_a_field_without_default_after_one_with() -> None:
    with pytest.raises(TypeError, match="without a default"):
        class Bad(_namedtuple.NamedTuple):
            a: int = 0
            b: int


def test_the_runtime_records_are_namedtuples() -> None:
    from bbws_mail.errors import DataProblem, Location
    from bbws_mail.render import RenderedEmail
    from bbws_mail.sources import Snapshot, TemplateFiles

    for cls in (DataProblem, Location, RenderedEmail, Snapshot, TemplateFiles):
        assert issubclass(cls, tuple) and cls._fields, cls
    assert str(Location("a.mjml", 3, 7)) == "a.mjml:3:7"
