"""Errors describe, never quote; they stay small whatever the payload; they pickle."""

from __future__ import annotations

import copy
import inspect
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import bbws_mail
from bbws_mail import BBWSMailError, TemplateDataError, render
from bbws_mail.errors import (
    SHOWN_PROBLEMS,
    BuildError,
    DataProblem,
    Location,
    MessageError,
    SourceError,
    TemplateError,
    UnknownTemplateError,
)
from bbws_mail.pipeline import discover
from bbws_mail.sources import PackagedSource
from bbws_mail.validate import MAX_PROBLEMS, Validator
from tests.conftest import ROOT

NAMES = sorted(p.stem for p in discover(ROOT / "templates_src"))
SECRET = "Qx7vKz9Wm2Jp"


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return data


def _string_paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _string_paths(v, (*path, k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _string_paths(v, (*path, i))]
    return [path] if isinstance(data, str) else []


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


# Each is refused by some rule: length, pattern, enum, format (uri, email, date, uuid).
PLANTED = [
    SECRET * 200,
    f"{SECRET}\n",
    f"https://thandi:{SECRET}@portal.bbws.co.za/x",
    f"https://portal.bbws.co.za/{SECRET}\u00a0or pay at https://evil.example",
    f"javascript:{SECRET}",
    f"{SECRET}@@example.com",
    f"2026-{SECRET}",
    f"\ud800{SECRET}",
]


def _leaks(text: str | bytes) -> list[str]:
    grams = {SECRET[i:i + 4] for i in range(len(SECRET) - 3)}
    if isinstance(text, bytes):
        return [g for g in grams if g.encode() in text]
    return [g for g in grams if g in text]


@pytest.fixture(scope="module")
def source(project_build: Path) -> PackagedSource:
    return PackagedSource(project_build)


@pytest.mark.parametrize("name", NAMES)
def test_no_planted_secret_reaches_a_message_repr_or_pickle(source: PackagedSource,
                                                             name: str) -> None:
    base = _example(name)
    paths = _string_paths(base)
    assert paths
    refused = 0
    for path in paths:
        for value in PLANTED:
            data = copy.deepcopy(base)
            _set(data, path, value)
            try:
                render(name, data, source=source)
            except TemplateDataError as exc:
                refused += 1
                for shown in (str(exc), repr(exc), repr(exc.problems), pickle.dumps(exc)):
                    assert _leaks(shown) == [], (path, value[:20], shown[:300])
    assert refused >= 2 * len(paths)  # at least the over-long and the surrogate values


def test_messages_name_the_template_path_rule_and_shape() -> None:
    v = Validator({"type": "object", "properties": {
        "status": {"enum": ["PAID", "DUE"]}, "card": {"type": "string", "maxLength": 4}}})
    problems = v.problems({"status": "4111111111111111", "card": "4111111111111111"})
    error = TemplateDataError("receipt", problems)
    text = str(error)
    assert "'receipt'" in text and "$.status" in text and "$.card" in text
    assert '"PAID"' in text and "a string of 16 character(s)" in text
    assert "4111" not in text


def test_huge_invalid_array_is_one_problem_and_items_are_not_walked() -> None:
    v = Validator({"type": "array", "maxItems": 50, "items": {
        "type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}})
    problems = v.problems([{}] * 100_000)
    assert [p.path for p in problems] == ["$"]
    assert "at most 50" in problems[0].message


def test_long_string_is_refused_by_length_before_the_pattern_runs() -> None:
    v = Validator({"type": "string", "maxLength": 10, "pattern": "^a+$"})
    assert [p.message.split(" (")[0] for p in v.problems("b" * 1_000_000)] == [
        "must be at most 10 characters long"]


def test_problem_count_is_capped_and_the_rest_counted() -> None:
    v = Validator({"type": "array", "maxItems": 5000, "items": {"type": "string"}})
    problems = v.problems(list(range(5000)))
    assert len(problems) == MAX_PROBLEMS and problems.more == 5000 - MAX_PROBLEMS
    error = TemplateDataError("t", problems, problems.more)
    assert "has 5000 problem(s)" in str(error)
    assert f"... and {5000 - SHOWN_PROBLEMS} more" in str(error)
    assert len(str(error)) < 3000


def test_unknown_fields_are_listed_until_there_are_too_many_to_walk() -> None:
    v = Validator({"type": "object", "additionalProperties": False,
                   "properties": {"a": {"type": "string"}}})
    few = v.problems({"a": "x", "b": 1, "c": 2})
    assert [p.path for p in few] == ["$.b", "$.c"]
    many = v.problems({f"k{i}": i for i in range(100_000)})
    assert [p.path for p in many] == ["$"] and "far more fields than the 1" in many[0].message


def test_unknown_keys_are_shown_only_when_they_are_plain_names() -> None:
    v = Validator({"type": "object", "additionalProperties": False, "properties": {}})
    paths = [p.path for p in v.problems({"firstname": 1, f"x-{SECRET}-{SECRET}": 2})]
    assert "$.firstname" in paths
    assert not any(_leaks(p) for p in paths)


def test_lone_surrogates_are_refused() -> None:
    assert Validator({"type": "string"}).problems("Tha\udc00ndi")


def _all_error_classes() -> list[type[BBWSMailError]]:
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(bbws_mail.__path__, "bbws_mail."):
        if module.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:
            continue
    found, todo = [], [BBWSMailError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


SAMPLES: list[BBWSMailError] = [
    TemplateDataError("receipt", [DataProblem("$.a", "is required")], 3),
    UnknownTemplateError("reciept", ["receipt", "invoice"]),
    TemplateError(Location("templates_src/x.mjml", 3, 4), "bad", "fix it"),
    BuildError([TemplateError(Location("a.mjml", 1), "bad")]),
    SourceError("no build"),
    MessageError("to must be a non-empty address"),
]


@pytest.mark.parametrize("error", SAMPLES, ids=lambda e: type(e).__name__)
def test_errors_pickle_with_the_same_message_and_attributes(error: BBWSMailError) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error) and back.args == error.args
    assert back.__dict__.keys() == error.__dict__.keys()
    assert all(repr(back.__dict__[k]) == repr(v) for k, v in error.__dict__.items())


def test_every_project_error_class_pickles() -> None:
    for cls in _all_error_classes():
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        args = ["x" if p.annotation in ("str", str) else [] for p in params
                if p.default is inspect.Parameter.empty
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        try:
            error = cls(*args)
        except Exception:  # a signature this generic probe cannot fill
            error = cls.__new__(cls, "x")
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is cls and str(back) == str(error), cls


@pytest.mark.parametrize("name", [SECRET * 1000, f"receipt\n{SECRET}: injected log line",
                                  ["receipt"], {"name": SECRET}, None, 7])
def test_an_unknown_template_name_from_data_is_described_not_quoted(name: Any) -> None:
    """Queue consumers take the name from a message body: it is data like any other."""
    with pytest.raises(UnknownTemplateError) as info:
        render(name, {})
    text = str(info.value)
    assert _leaks(text) == [] and "\n" not in text and len(text) < 1000
    assert "order_confirmation_customer" in text  # the known names are still listed


def test_a_plain_unknown_template_name_is_still_shown() -> None:
    with pytest.raises(UnknownTemplateError, match="unknown template 'reciept'"):
        render("reciept", {})
