"""Data straight from DynamoDB: boto3's deserializer gives every number as Decimal.

Every template's example goes through DynamoDB's wire format and back (the way a
Lambda reads an item), and must render exactly as the plain-JSON example does.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import render
from bbws_mail.sources import PackagedSource
from tests.conftest import ROOT


def _numbers(node: Any) -> int:
    if isinstance(node, dict):
        return sum(_numbers(v) for v in node.values())
    if isinstance(node, list):
        return sum(_numbers(v) for v in node)
    return int(isinstance(node, Decimal))


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "templates_src").glob("*.mjml")))
def test_dynamodb_items_render_like_json(name: str, project_build: Path) -> None:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    text = (ROOT / "schemas/examples" / f"{name}.json").read_text()
    plain = json.loads(text)
    wire = {k: TypeSerializer().serialize(v) for k, v in json.loads(
        text, parse_float=Decimal).items()}
    item = {k: TypeDeserializer().deserialize(v) for k, v in wire.items()}
    source = PackagedSource(project_build, env="prod")
    if not _numbers(item):
        pytest.skip(f"{name}'s example has no numbers")
    assert render(name, item, source=source) == render(name, plain, source=source)
