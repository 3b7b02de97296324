"""Each way a source can be broken gives one precise error, exits non-zero, changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bbws_mail.cli import main

TEMPLATE = "templates_src/mini.mjml"


def _build(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["build", "--root", str(root), "-q"])
    return code, capsys.readouterr().err


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


CASES = [
    # (id, file to edit, old, new, expected message regex, needle for the expected line)
    ("bare-between-rows", TEMPLATE, "<!--{{#items}}-->", "{{#items}}",
     r"bare section tag \{\{#items\}\} between table rows", "{{#items}}"),
    ("bare-between-components", TEMPLATE, "<!--{{^items}}-->", "{{^items}}",
     r"bare section tag \{\{\^items\}\} between components", "{{^items}}"),
    ("bare-between-sections", TEMPLATE, '<mj-include path="partials/footer.mjml" />',
     '{{#campaign}}<mj-include path="partials/footer.mjml" />{{/campaign}}',
     r"bare section tag \{\{#campaign\}\} between components in <mj-body>",
     "{{#campaign}}<mj-include"),
    ("ampersand", TEMPLATE, "Total: {{total}}", "Total: {{&total}}",
     r"unescaped placeholder \{\{&total\}\}", "{{&total}}"),
    ("triple", TEMPLATE, "Total: {{total}}", "Total: {{{total}}}",
     r"unescaped placeholder \{\{\{total\}\}\}", "{{{total}}}"),
    ("partial", TEMPLATE, "Total: {{total}}", "Total: {{> totals}}",
     r"Mustache partial \{\{> totals\}\} is not supported", "{{> totals}}"),
    ("space-in-attr", TEMPLATE, 'href="{{orderUrl}}"', 'href="{{ orderUrl }}"',
     r"spaces inside \{\{ orderUrl \}\} in the href attribute", "{{ orderUrl }}"),
    ("unclosed", TEMPLATE, "{{/campaign}}</mj-text>", "</mj-text>",
     r"section \{\{#campaign\}\} is never closed", "{{#campaign}}"),
    ("crossed", TEMPLATE, "with {{code}}.{{/campaign}}",
     "with {{#code}}x{{/campaign}}{{/code}}",
     r"crossed sections: \{\{/campaign\}\} closes before \{\{/code\}\}", "{{#code}}"),
    ("stray-close", TEMPLATE, "Total: {{total}}", "Total: {{total}}{{/total}}",
     r"closing tag \{\{/total\}\} without an opening tag", "{{/total}}"),
    ("mjml-parse", TEMPLATE, "</mj-button>", "</mj-buton>",
     r"MJML parse error: </mj-buton> closes <mj-button>", "</mj-buton>"),
    ("mjml-unclosed", TEMPLATE, '<mj-text css-class="total">Total: {{total}}</mj-text>',
     '<mj-text css-class="total">Total: {{total}}', r"MJML parse error", "css-class"),
    ("missing-include", TEMPLATE, "partials/footer.mjml", "partials/fooetr.mjml",
     r"included file not found: templates_src/partials/fooetr\.mjml", "fooetr"),
    ("placeholder-in-css", "templates_src/partials/head.mjml", "font-weight: bold;",
     "font-weight: {{weight}};", r"placeholder \{\{weight\}\} inside CSS", "{{weight}}"),
    ("placeholder-in-colour", TEMPLATE, '<mj-button href="{{orderUrl}}">',
     '<mj-button href="{{orderUrl}}" background-color="{{brand}}">',
     r"placeholder \{\{brand\}\} in the background-color attribute", "{{brand}}"),
    ("in-partial", "templates_src/partials/footer.mjml", 'href="{{unsubscribeUrl}}"',
     'href="{{&unsubscribeUrl}}"', r"unescaped placeholder", "{{&unsubscribeUrl}}"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_broken_source_is_refused_with_location(mini: Path, capsys: pytest.CaptureFixture[str],
                                                 case: tuple[str, ...]) -> None:
    _, rel, old, new, pattern, needle = case
    assert _build(mini, capsys)[0] == 0
    before = _snapshot(mini / "build")
    target = mini / rel
    _replace(target, old, new)

    code, err = _build(mini, capsys)

    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors, err
    first = errors[0]
    assert re.search(pattern, first), first
    line = _line_of(target, needle)
    assert first.startswith(f"error: {rel}:{line}"), (first, line)
    assert "\n" not in first
    assert _snapshot(mini / "build") == before, "a failed build must leave build/ untouched"


def test_all_errors_are_reported_at_once(mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _replace(mini / TEMPLATE, "Total: {{total}}", "Total: {{&total}} {{> p}}")
    code, err = _build(mini, capsys)
    assert code == 1
    assert "{{&total}}" in err and "{{> p}}" in err
    assert not (mini / "build").exists()


def test_failed_write_keeps_previous_build(mini: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from bbws_mail.pipeline import output

    assert _build(mini, capsys)[0] == 0
    before = _snapshot(mini / "build")
    _replace(mini / TEMPLATE, "View order", "See your order")

    def boom(*_a: object, **_k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(output.os, "replace", boom)
    with pytest.raises(OSError):
        main(["build", "--root", str(mini), "-q"])
    assert _snapshot(mini / "build") == before
    assert not list(mini.glob(".build.*")), "temp folders are cleaned up"
