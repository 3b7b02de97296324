"""The real templates: each renders its example, repeats rows, flips inverted sections."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import chevron
import pytest

from bbws_mail import TemplateDataError, render
from bbws_mail.pipeline import discover
from bbws_mail.pipeline.brand import hashed_name
from bbws_mail.sources import PackagedSource
from tests.conftest import ROOT

NAMES = sorted(p.stem for p in discover(ROOT / "templates_src"))
LOGO = hashed_name("logo.png", (ROOT / "assets/logo.png").read_bytes())  # logo.<sha16>.png
pytestmark = pytest.mark.skipif(not NAMES, reason="no templates in templates_src/ yet")


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return data


@pytest.fixture(scope="module")
def source(project_build: Path) -> PackagedSource:
    return PackagedSource(project_build)


@pytest.mark.parametrize("name", NAMES)
def test_example_renders_completely(source: PackagedSource, name: str) -> None:
    email = render(name, example(name), source=source)
    for part in (email.subject, email.html, email.text):
        assert "{{" not in part and "}}" not in part
    assert email.subject and len(email.subject) < 100
    assert "unsubscribe" in email.text.lower()
    assert f"https://assets.bbws.co.za/email/{LOGO}" in email.html


@pytest.mark.parametrize("name", NAMES)
def test_chevron_renders_the_build_too(project_build: Path, name: str) -> None:
    """The built files are plain Mustache: chevron itself renders them completely."""
    data = {**example(name), "assetBaseUrl": "https://assets.bbws.co.za/email"}
    for suffix in (".html", ".txt", ".subject.txt"):
        out = chevron.render((project_build / f"{name}{suffix}").read_text(), data)
        assert "{{" not in out


def _arrays_of_objects(schema: dict[str, Any], data: Any, path: tuple[Any, ...] = ()
                       ) -> list[tuple[tuple[Any, ...], str | None, int]]:
    """(path to an array in data, a plain string field of its items, or None for an array
    of plain strings) for every such array."""
    found = []
    if schema.get("type") == "object" and isinstance(data, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in data:
                found += _arrays_of_objects(sub, data[key], (*path, key))
    elif schema.get("type") == "array" and isinstance(data, list) and data:
        items = schema.get("items", {})
        if items.get("type") == "string" and not ({"pattern", "format", "enum"} & set(items)):
            found.append((path, None, schema.get("maxItems", 10)))
        for key, sub in items.get("properties", {}).items():
            plain = sub.get("type") == "string" and not ({"pattern", "format", "enum"} & set(sub))
            if plain and isinstance(data[0], dict) and key in data[0]:
                found.append((path, key, schema.get("maxItems", 10)))
                break
    return found


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


@pytest.mark.parametrize("name", NAMES)
def test_repeated_rows_match_the_data(source: PackagedSource, name: str) -> None:
    schema = source.snapshot().templates[name].schema
    base = example(name)
    arrays = _arrays_of_objects(schema, base)
    if not arrays:
        pytest.skip(f"{name} repeats no array of objects")
    for path, field, most in arrays:
        for count in (1, min(10, most)):
            data = copy.deepcopy(base)
            array = _get(data, path)
            template_item = array[0]
            array[:] = [f"Zq{i}x" if field is None else
                        {**copy.deepcopy(template_item), field: f"Zq{i}x"} for i in range(count)]
            email = render(name, data, source=source)
            for part in (email.html, email.text):
                per_item = [part.count(f"Zq{i}x") for i in range(count)]
                assert per_item[0] > 0, f"{name}: {'.'.join(path)}[].{field} not shown"
                assert "{{" not in part
                assert per_item == [per_item[0]] * count, (name, path, per_item)


def _inverted_blocks(text_template: str) -> list[tuple[str, str]]:
    """(section name, a static line inside it) for each inverted section of a text part."""
    blocks = []
    stripped = re.sub(r"\{\{[^}]*\}\}", "", text_template)
    for m in re.finditer(r"\{\{\^([\w.]+)\}\}(.*?)\{\{/\1\}\}", text_template, re.DOTALL):
        pieces = [p.strip() for p in re.split(r"\{\{[^}]*\}\}|\n", m.group(2))]
        static = [p for p in pieces if re.search(r"[A-Za-z]{3}", p) and stripped.count(p) == 1]
        if static:
            blocks.append((m.group(1), max(static, key=len)))
    return blocks


def _falsy(value: Any) -> Any:
    if isinstance(value, list):
        return []
    if isinstance(value, bool):
        return False
    return None


def _truthy_from(base: Any, schema: dict[str, Any]) -> Any:
    return base if base else (True if schema.get("type") == "boolean" else {"x": 1})


@pytest.mark.parametrize("name", NAMES)
def test_inverted_sections_flip(project_build: Path, name: str) -> None:
    text_template = (project_build / f"{name}.txt").read_text()
    html_template = (project_build / f"{name}.html").read_text()
    blocks = _inverted_blocks(text_template)
    if not blocks:
        pytest.skip(f"{name} has no inverted section with static text")
    base = {**example(name), "assetBaseUrl": "https://assets.bbws.co.za/email"}
    for key, line in blocks:
        path = tuple(key.split("."))
        parent = _get(base, path[:-1]) if len(path) > 1 else base
        original = parent.get(path[-1])
        for value, shown in ((_falsy(original), True), (original or True, False)):
            data = copy.deepcopy(base)
            target = _get(data, path[:-1]) if len(path) > 1 else data
            target[path[-1]] = value
            text = chevron.render(text_template, data)
            assert (line in text) == shown, (name, key, value, line)
            html = chevron.render(html_template, data)
            words = line.split()[0]
            assert "{{" not in html
            if shown:
                assert words in html


def _rand(money: str) -> float:
    return float(money.replace("R", "").replace(",", ""))


SHOWS_VAT = [n for n in NAMES if "{{totals.vat}}" in (ROOT / f"templates_src/{n}.mjml").read_text()]


@pytest.mark.parametrize("name", NAMES)
def test_no_template_states_a_vat_rate_of_its_own(name: str) -> None:
    """The rate is data (totals.vatRate), as the amount it was computed with is."""
    source = (ROOT / f"templates_src/{name}.mjml").read_text()
    assert not re.search(r"[0-9]\s*%\s*VAT|VAT\s*\(?\s*[0-9]", source), name


@pytest.mark.parametrize("name", SHOWS_VAT)
def test_the_vat_rate_shown_is_the_one_in_the_data(source: PackagedSource, name: str) -> None:
    data = example(name)
    shown = "vatRate" in data["totals"]
    if not shown:  # a template may show the amount alone; then its schema need not ask
        assert "{{totals.vatRate}}" not in (ROOT / f"templates_src/{name}.mjml").read_text()
        return
    data["totals"]["vatRate"] = "15.5%"
    email = render(name, data, source=source)
    assert "VAT (15.5%)" in email.text and "VAT (15.5%)" in email.html
    data["totals"]["vatRate"] = "15"
    with pytest.raises(TemplateDataError, match=r"\$\.totals\.vatRate"):
        render(name, data, source=source)


@pytest.mark.parametrize("name", [n for n in NAMES if "totals" in example(n)])
def test_each_examples_vat_is_its_rate_of_the_taxable_amount(name: str) -> None:
    """totals.vat must be totals.vatRate of the VAT-exclusive amount (after discount)."""
    totals = example(name)["totals"]
    if "vatRate" not in totals:
        pytest.skip(f"{name}'s example states no rate")
    taxable = _rand(totals["subtotal"]) + _rand(totals.get("discount", "R0.00"))
    rate = float(totals["vatRate"].rstrip("%")) / 100
    assert _rand(totals["vat"]) == pytest.approx(round(taxable * rate + 1e-9, 2), abs=0.005)
    if "total" in totals:
        assert _rand(totals["total"]) == pytest.approx(taxable + _rand(totals["vat"]), abs=0.005)


def test_a_tax_invoice_shows_the_recipients_vat_number_when_given(
        source: PackagedSource) -> None:
    """VAT Act s20(4): a full tax invoice to a vendor names the recipient's VAT number."""
    data = example("invoice")
    assert "vatRegistration" in data["billTo"], "the example is a business customer"
    number = data["billTo"]["vatRegistration"]["vatNumber"]
    email = render("invoice", data, source=source)
    assert f"VAT number {number}" in email.text and f"VAT number {number}" in email.html
    del data["billTo"]["vatRegistration"]
    email = render("invoice", data, source=source)
    assert number not in email.text and email.text.count("VAT number") == 1  # BBWS's own
    data["billTo"]["vatRegistration"] = {"vatNumber": "123456789"}
    with pytest.raises(TemplateDataError, match=r"\$\.billTo\.vatRegistration\.vatNumber"):
        render("invoice", data, source=source)
