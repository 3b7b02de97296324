"""The build-time contract: placeholders resolve in the schema, as Mustache scopes them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bbws_mail.cli import main

TEMPLATE = "templates_src/mini.mjml"
SCHEMA = "schemas/mini.schema.json"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _errors(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    code = main(["build", "--root", str(root), "-q"])
    err = capsys.readouterr().err
    lines = [ln[len("error: "):] for ln in err.splitlines() if ln.startswith("error: ")]
    assert (code != 0) == bool(lines), err
    return lines


def _line(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if needle in ln)


def test_clean_fixture_passes(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _errors(mini, capsys) == []


def test_undeclared_variable_names_file_line_and_suggests(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(mini / TEMPLATE, "Total: {{total}}", "Total: {{total}} {{totl}}")
    [error] = _errors(mini, capsys)
    line = _line(mini / TEMPLATE, "{{totl}}")
    assert error.startswith(f"{TEMPLATE}:{line}:")
    assert "{{totl}} uses 'totl', which schemas/mini.schema.json does not declare" in error
    assert "did you mean {{total}}?" in error


def test_section_scope_resolves_item_fields(mini: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    # {{lineTotal}} only exists inside {{#items}}: outside it is undeclared
    _edit(mini / TEMPLATE, "Total: {{total}}", "Total: {{total}} {{lineTotal}}")
    [error] = _errors(mini, capsys)
    assert "{{lineTotal}} uses 'lineTotal'" in error and "at the top level" in error


def test_outer_names_are_visible_inside_sections(mini: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _edit(mini / TEMPLATE, "<td>{{name}}</td>", "<td>{{name}} ({{orderNumber}})</td>")
    assert _errors(mini, capsys) == []


def test_dotted_names_resolve_strictly(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(mini / TEMPLATE, "Hi {{customer.name}},", "Hi {{customer.name}} {{customer.nam}},")
    [error] = _errors(mini, capsys)
    assert "{{customer.nam}} uses 'customer.nam'" in error


def test_section_on_a_string_is_refused(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(mini / TEMPLATE, "Total: {{total}}", "Total: {{#total}}{{total}}{{/total}}")
    [error] = _errors(mini, capsys)
    assert "section {{#total}} is used on $.total, which the schema types as string" in error


def test_printing_an_object_is_refused(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(mini / TEMPLATE, "Total: {{total}}", "Total: {{total}} {{customer}}")
    [error] = _errors(mini, capsys)
    assert "{{customer}} prints $.customer, which the schema types as object" in error


def test_url_attribute_needs_a_url_typed_value(mini: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    _edit(mini / TEMPLATE, 'href="{{orderUrl}}"', 'href="{{orderNumber}}"')
    errors = _errors(mini, capsys)
    assert any("{{orderNumber}} starts the href URL but $.orderNumber is not URL-typed" in e
               for e in errors), errors


def test_required_but_unused_property(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema_path = mini / SCHEMA
    schema = json.loads(schema_path.read_text())
    schema["required"].append("orderDate")
    schema["properties"]["orderDate"] = {"type": "string", "format": "date"}
    schema_path.write_text(json.dumps(schema, indent=2))
    [error] = _errors(mini, capsys)
    line = _line(schema_path, '"orderDate"')  # the required entry: indent=2 lists it first
    assert re.match(rf"{SCHEMA}:{line}:\d+: required property \$\.orderDate is never used",
                    error), error


def test_not_shown_marker_accepts_an_unused_required_property(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema_path = mini / SCHEMA
    schema = json.loads(schema_path.read_text())
    schema["required"].append("orderDate")
    schema["properties"]["orderDate"] = {"type": "string", "x-not-shown": True}
    schema_path.write_text(json.dumps(schema, indent=2))
    assert _errors(mini, capsys) == []


def test_nested_required_inside_used_section(mini: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    schema_path = mini / SCHEMA
    schema = json.loads(schema_path.read_text())
    item = schema["properties"]["items"]["items"]
    item["required"].append("sku")
    item["properties"]["sku"] = {"type": "string"}
    schema_path.write_text(json.dumps(schema, indent=2))
    [error] = _errors(mini, capsys)
    assert "required property $.items[].sku is never used" in error


def test_subject_placeholders_are_checked_too(mini: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _edit(mini / TEMPLATE, "<mj-title>Order {{orderNumber}}",
          "<mj-title>Order {{orderNumber}}{{orderNo}}")
    [error] = _errors(mini, capsys)
    assert re.match(rf"{TEMPLATE}:3:\d+: \{{\{{orderNo\}}\}} uses 'orderNo'", error), error


def test_missing_schema_and_bad_refs(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(mini / SCHEMA, "defs/common.schema.json#/$defs/money",
          "defs/common.schema.json#/$defs/mony")
    errors = _errors(mini, capsys)
    assert any("$ref 'defs/common.schema.json#/$defs/mony' points nowhere" in e for e in errors)
    (mini / SCHEMA).unlink()
    [error] = _errors(mini, capsys)
    assert error.startswith("schemas/mini.schema.json: schema file is missing")


def test_unsupported_schema_keyword(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(mini / SCHEMA, '"orderNumber": {"type": "string", "minLength": 1, "maxLength": 40}',
          '"orderNumber": {"type": "string", "oneOf": [{"minLength": 1}]}')
    [error] = _errors(mini, capsys)
    assert "unsupported keyword(s) oneOf" in error


def test_open_objects_are_refused(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema_path = mini / SCHEMA
    schema = json.loads(schema_path.read_text())
    del schema["properties"]["customer"]["additionalProperties"]
    schema_path.write_text(json.dumps(schema, indent=2))
    [error] = _errors(mini, capsys)
    assert 'object $.customer must set "additionalProperties": false' in error


def test_globals_cannot_be_declared(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schema_path = mini / SCHEMA
    schema = json.loads(schema_path.read_text())
    schema["properties"]["assetBaseUrl"] = {"type": "string", "format": "uri"}
    schema_path.write_text(json.dumps(schema, indent=2))
    [error] = _errors(mini, capsys)
    assert "assetBaseUrl is provided by the renderer" in error


# --- bounds: every displayed value bounded, the worst case under the budget ----------

def test_displayed_string_without_max_length_is_an_error(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(mini / SCHEMA, '"name": {"type": "string", "minLength": 1, "maxLength": 120}',
          '"name": {"type": "string", "minLength": 1}')
    errors = _errors(mini, capsys)
    line = _line(mini / SCHEMA, '"name": {"type": "string", "minLength": 1}')
    assert any(re.match(rf"{SCHEMA}:{line}:\d+: \$\.customer\.name is displayed but unbounded",
                        e) for e in errors), errors


def test_repeated_array_without_max_items_is_an_error(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(mini / SCHEMA, '"maxItems": 50,', "")
    errors = _errors(mini, capsys)
    line = _line(mini / SCHEMA, '"items": {')
    assert any(re.match(rf"{SCHEMA}:{line}:5: \$\.items is repeated but has no maxItems", e)
               for e in errors), errors


def test_worst_case_over_the_budget_fails_and_names_the_biggest_fields(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (mini / "bbws-mail.toml").open("a") as fh:
        fh.write("\n[check]\nsize_fail_kb = 40\n")
    errors = _errors(mini, capsys)
    assert len(errors) == 1 and errors[0].startswith(TEMPLATE), errors
    assert "over the 40 KB budget" in errors[0] and "$.items[].name" in errors[0]
    assert not (mini / "build").exists()


def test_build_prints_each_templates_worst_case(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--root", str(mini)]) == 0
    assert re.search(r"\] mini \(worst-case HTML \d+\.\d KB, text \d+\.\d KB\)",
                     capsys.readouterr().err)


def test_worst_case_text_is_the_same_walk_unescaped() -> None:
    """Text values are not HTML-escaped: 4 bytes a character (UTF-8), not 6; literals
    count as they are and arrays multiply, as in the HTML part."""
    from bbws_mail import config
    from bbws_mail.pipeline import bounds
    from tests.conftest import FIXTURES

    cfg = config.load(FIXTURES / "mini")
    schema = {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 10},
        "rows": {"type": "array", "maxItems": 3, "items": {
            "type": "object", "properties": {"n": {"type": "integer", "minimum": 0,
                                                   "maximum": 999}}}}}}
    template = "Hi {{name}}!\n{{#rows}}- {{n}}\n{{/rows}}"
    text, text_paths, text_errors = bounds.worst_case_text(template, schema, cfg, "s")
    html, _, _ = bounds.worst_case_html(template, schema, cfg, "s")
    assert text == 3 + 10 * 4 + 2 + 3 * (2 + 3 + 1) and text_errors == []
    assert html == 3 + 10 * 6 + 2 + 3 * (2 + 3 + 1)
    assert text_paths == {"$.name": 40, "$.rows[].n": 9}


def _maximal(schema: dict, data: object) -> object:
    """``data`` with free-text strings at maxLength (all quotes: the longest escape)
    and arrays at maxItems: as large as schema-valid data of that shape gets."""
    if isinstance(data, dict):
        props = schema.get("properties", {})
        return {k: _maximal(props.get(k, {}), v) for k, v in data.items()}
    if isinstance(data, list) and data:
        items = [_maximal(schema.get("items", {}), v) for v in data]
        return [items[i % len(items)] for i in range(schema.get("maxItems", len(items)))]
    if isinstance(data, str) and "maxLength" in schema and not (
            {"pattern", "format", "enum", "const"} & set(schema)):
        return '"' * schema["maxLength"]
    return data


def test_worst_case_bounds_every_real_template(project_build: Path) -> None:
    from bbws_mail import config, render
    from bbws_mail.pipeline import bounds
    from bbws_mail.sources import PackagedSource
    from tests.conftest import ROOT

    cfg = config.load(ROOT)
    source = PackagedSource(project_build)
    budget = float(cfg.check.size_fail_kb) * 1024
    names = sorted(source.snapshot().templates)
    assert names
    for name in names:
        files = source.snapshot().templates[name]
        worst, _, errors = bounds.worst_case_html(files.html, files.schema, cfg, name)
        assert errors == [] and worst <= budget, (name, worst)
        worst_text, _, errors = bounds.worst_case_text(files.text, files.schema, cfg, name)
        assert errors == [], name
        example = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
        big = render(name, _maximal(files.schema, example), source=source)
        assert len(big.html.encode()) <= worst, name
        assert len(big.text.encode()) <= worst_text < worst, name
        assert len(big.html.encode()) > len(render(name, example, source=source).html.encode())


def test_manifest_records_the_validator_semantics(project_build: Path) -> None:
    from bbws_mail.validate import SEMANTICS_VERSION

    manifest = json.loads((project_build / "manifest.json").read_text())
    assert manifest["validator"] == SEMANTICS_VERSION and isinstance(SEMANTICS_VERSION, int)


def test_fifty_nested_sections_build_and_render(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """CPython refuses 20 nested blocks; the generated code must not hit that limit."""
    from bbws_mail import render
    from bbws_mail.sources import PackagedSource

    depth = 50
    opened = "".join(f"{{{{#n{i}}}}}" for i in range(depth))
    closed = "".join(f"{{{{/n{i}}}}}" for i in reversed(range(depth)))
    deep = f"<mj-text>Deep: {opened}[{{{{v}}}}]{closed}</mj-text>\n"
    hi = "<mj-text>Hi {{customer.name}},"
    _edit(mini / TEMPLATE, hi, deep + hi)
    node: dict = {"type": "object", "additionalProperties": False,
                  "properties": {"v": {"type": "string", "maxLength": 10}}}
    data: dict = {"v": "bottom"}
    for i in reversed(range(1, depth)):
        node = {"type": "object", "additionalProperties": False, "properties": {f"n{i}": node}}
        data = {f"n{i}": data}
    _edit(mini / SCHEMA, '"properties": {\n', f'"properties": {{\n    "n0": {json.dumps(node)},\n')
    assert _errors(mini, capsys) == []
    example = json.loads((mini / "schemas/examples/mini.json").read_text())
    email = render("mini", {**example, "n0": data}, source=PackagedSource(mini / "build"))
    assert "Deep: [bottom]" in email.text
