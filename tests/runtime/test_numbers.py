"""DynamoDB data (every number a Decimal) renders exactly like the same data from JSON."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from bbws_mail import TemplateDataError, render
from bbws_mail.pipeline import discover
from bbws_mail.sources import PackagedSource
from tests.conftest import ROOT

NAMES = sorted(p.stem for p in discover(ROOT / "templates_src"))


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return data


def _dynamodb(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as a Lambda reads it back from DynamoDB: every number a Decimal."""
    as_decimals = json.loads(json.dumps(data), parse_float=Decimal)
    item: dict[str, Any] = TypeDeserializer().deserialize(TypeSerializer().serialize(as_decimals))
    return item


def _numeric_paths(schema: dict[str, Any], data: Any, path: tuple[Any, ...] = ()
                   ) -> list[tuple[Any, ...]]:
    types = schema.get("type")
    types = {types} if isinstance(types, str) else set(types or [])
    if isinstance(data, dict):
        props = schema.get("properties", {})
        return [p for k, v in data.items() if k in props
                for p in _numeric_paths(props[k], v, (*path, k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data)
                for p in _numeric_paths(schema.get("items", {}), v, (*path, i))]
    return [path] if types & {"integer", "number"} and not isinstance(data, bool) else []


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


@pytest.fixture(scope="module")
def source(project_build: Path) -> PackagedSource:
    return PackagedSource(project_build)


@pytest.mark.parametrize("name", NAMES)
def test_dynamodb_round_trip_renders_the_same(source: PackagedSource, name: str) -> None:
    data = _example(name)
    assert render(name, _dynamodb(data), source=source) == render(name, data, source=source)


@pytest.mark.parametrize("name", NAMES)
def test_every_numeric_field_accepts_decimals_and_prints_integers(source: PackagedSource,
                                                                  name: str) -> None:
    schema = source.snapshot().templates[name].schema
    base = _example(name)
    paths = _numeric_paths(schema, base)
    if not paths:
        pytest.skip(f"{name} has no numeric field")
    for path in paths:
        n = _get(base, path)
        assert isinstance(n, int), path
        expected = render(name, base, source=source)
        for variant in (Decimal(n), Decimal(f"{n}.00"), float(n)):
            data = copy.deepcopy(base)
            _set(data, path, variant)
            assert render(name, data, source=source) == expected, (path, variant)
        data = copy.deepcopy(base)
        _set(data, path, True)
        with pytest.raises(TemplateDataError):
            render(name, data, source=source)


def test_at_least_one_template_has_numeric_fields(source: PackagedSource) -> None:
    assert any(_numeric_paths(source.snapshot().templates[n].schema, _example(n)) for n in NAMES)
