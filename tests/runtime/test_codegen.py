"""Generated code: hostile template and schema text stays data, and any nesting compiles."""

from __future__ import annotations

from typing import Any

import chevron
import pytest

from bbws_mail.mustache import Template, _Codegen
from bbws_mail.validate import Validator, _Gen

HOSTILE = ["'", '"', "'''", '"""', "\\", "\\'", "\n", "\r\n", "\\n", "')\nimport os\n('",
           '"""); __import__("os"); ("""', "{", "}", "\x00", "é😀"]


def _absent(markers: list[str], source: str) -> bool:
    """None of ``markers`` appears in ``source``, neither as written nor as a literal."""
    return not any(m in source or repr(m)[1:-1] in source for m in markers)


def _template_source(text: str) -> str:
    import chevron.tokenizer

    gen = _Codegen()
    gen.block(list(chevron.tokenizer.tokenize(text)), 0, None, 1)
    return gen.program()


@pytest.mark.parametrize("bad", [h for h in HOSTILE if h not in "{}"])  # braces are tags
def test_hostile_template_text_renders_as_text_and_never_enters_the_source(bad: str) -> None:
    name = "fieldname" + bad.replace("}", "").replace("{", "").replace("\n", "").replace("\r", "") \
        .replace("\x00", "")
    text = f"a{bad}b{{{{{name}}}}}c{{{{#s}}}}{bad}{{{{/s}}}}"
    data = {name: "<V>", "s": [1, 2]}
    assert Template(text).render(data) == chevron.render(text, data)
    assert _absent([f"a{bad}b", name], _template_source(text))


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_schema_text_stays_data(bad: str) -> None:
    schema: dict[str, Any] = {
        "type": "object", "additionalProperties": False, "required": [f"r{bad}"],
        "properties": {
            f"r{bad}": {"type": "string", "enum": [f"e{bad}", "ok"]},
            f"p{bad}": {"type": "string", "pattern": "^[a-z]+$", "description": bad},
            f"c{bad}": {"const": f"c{bad}"},
        },
    }
    v = Validator(schema)
    assert v.problems({f"r{bad}": f"e{bad}", f"c{bad}": f"c{bad}"}) == []
    paths = {p.path for p in v.problems({f"r{bad}": "no", f"p{bad}": "1", f"c{bad}": 1})}
    assert len(paths) == 3
    assert _absent([f"r{bad}", f"e{bad}", f"p{bad}", f"c{bad}"], _Gen().program(schema, "#"))


def _nested_template(depth: int) -> tuple[str, dict[str, Any]]:
    text = "".join(f"{{{{#a{i}}}}}<{i}>{{{{^n{i}}}}}-{{{{/n{i}}}}}" for i in range(depth))
    text += "{{v}}" + "".join(f"{{{{/a{i}}}}}" for i in reversed(range(depth)))
    data: dict[str, Any] = {"v": "V"}
    for i in reversed(range(depth)):
        data = {f"a{i}": [data] if i % 2 else data}
    return text, data


@pytest.mark.parametrize("depth", [21, 50, 120])
def test_deeply_nested_sections_compile_and_render(depth: int) -> None:
    text, data = _nested_template(depth)
    assert Template(text).render(data) == chevron.render(text, data)


@pytest.mark.parametrize("depth", [21, 50, 120])
def test_deeply_nested_schemas_compile_and_validate(depth: int) -> None:
    schema: dict[str, Any] = {"type": "object"}
    node, data = schema, {}
    cursor: dict[str, Any] = data
    for _ in range(depth):
        child: dict[str, Any] = {"type": "object", "additionalProperties": False,
                                 "required": ["k"], "properties": {}}
        node["properties"] = {"k": {"type": "array", "maxItems": 2, "items": child}}
        node = child
        cursor["k"] = [{}]
        cursor = cursor["k"][0]
    problems = Validator(schema).problems(data)
    assert [p.message for p in problems] == ["is required"]
    assert problems[0].path == "$" + ".k[0]" * depth + ".k"
