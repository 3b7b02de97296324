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
     r"background-color='\{\{brand\}\}' on <mj-button>: placeholders are allowed only in "
     r"URL and text attributes.*\[mjml-placeholder-attribute\]", "{{brand}}"),
    # MRML reports these without a position: found in the source, not at its end
    ("unclosed-html", TEMPLATE, "Total: {{total}}</mj-text>",
     "Total: <strong>{{total}}</mj-text>", r"MJML parse error: <strong> is never closed",
     "<strong>"),
    ("unquoted-attribute", TEMPLATE, 'css-class="total"', "css-class=total",
     r"the value of css-class on <mj-text> is not quoted", "css-class=total"),
    ("delimiter-change-to-markup", TEMPLATE, "Total: {{total}}", "Total: {{=<% %>=}} <%total%>",
     r"delimiter change \{\{=\.\.\.=\}\} is not supported", "{{=<%"),
    ("in-partial", "templates_src/partials/footer.mjml", 'href="{{unsubscribeUrl}}"',
     'href="{{&unsubscribeUrl}}"', r"unescaped placeholder", "{{&unsubscribeUrl}}"),
    # an include reads only files of templates_src/: nothing else can reach build/
    ("include-outside", TEMPLATE, "partials/footer.mjml", "../../../../etc/passwd",
     r"<mj-include> path leads outside templates_src/", "etc/passwd"),
    ("include-absolute", TEMPLATE, "partials/footer.mjml", "/etc/passwd",
     r"<mj-include> path leads outside templates_src/", "/etc/passwd"),
    ("include-device", TEMPLATE, "partials/footer.mjml", "/dev/zero",
     r"<mj-include> path leads outside templates_src/", "/dev/zero"),
    ("include-sibling", TEMPLATE, "partials/footer.mjml", "../schemas/mini.schema.json",
     r"<mj-include> path leads outside templates_src/", "../schemas"),
    ("include-folder", TEMPLATE, "partials/footer.mjml", "partials",
     r"included path templates_src/partials is not a file", 'path="partials"'),
    ("include-nothing", TEMPLATE, "partials/footer.mjml", "",
     r"included path templates_src is not a file", 'path=""'),
    # MRML stops at a NUL without a position; found where it is written
    ("nul-character", TEMPLATE, "Total: {{total}}", "Total: \0{{total}}",
     r"control character U\+0000", "Total:"),
]


TOTAL = '<mj-text css-class="total">Total: {{total}}</mj-text>'
BUTTON = '<mj-button href="{{orderUrl}}">'
# Sources that used to build into broken or unsafe output: each is refused by a rule of
# the build stage (the rule id ends the message), at the line that holds the problem.
RULE_CASES = [
    ("typo-element", "mjml-unknown-element", TOTAL,
     '<mj-txt css-class="total">Total: {{total}}</mj-txt>', r"<mj-txt> is not an MJML", "mj-txt"),
    ("typo-button", "mjml-unknown-element", '<mj-button href="{{orderUrl}}">View order</mj-button>',
     '<mj-buton href="{{orderUrl}}">View order</mj-buton>',
     r"<mj-buton> is not an MJML component \(did you mean <mj-button>\?\)", "mj-buton"),
    ("typo-attribute", "mjml-unknown-attribute", BUTTON,
     '<mj-button href="{{orderUrl}}" paddng-top="4px">', r"'paddng-top'.*did you mean",
     "paddng-top"),
    ("typo-background", "mjml-unknown-attribute", BUTTON,
     '<mj-button href="{{orderUrl}}" backgroud-color="${brand.primary}">', r"'backgroud-color'",
     "backgroud-color"),
    ("invalid-value", "mjml-invalid-value", BUTTON,
     '<mj-button href="{{orderUrl}}" padding="banana">', r"padding='banana'", "banana"),
    ("invalid-child", "mjml-invalid-child", "<mj-section>\n      <mj-column>",
     "<mj-section>\n      <mj-text>stray</mj-text>\n      <mj-column>",
     r"<mj-text> is not allowed in <mj-section>", "stray"),
    ("no-alt", "a11y-img-alt", ' alt="BBWS"', "", r"<mj-image> has no alt", "<mj-image"),
    # the same src as an image with alt, earlier: the finding is at the one without
    ("no-alt-same-src", "a11y-img-alt", "<mj-text>Hi",
     '<mj-image src="{{assetBaseUrl}}/logo.png" width="90px" />\n        <mj-text>Hi',
     r"<mj-image> has no alt", 'width="90px"'),
    ("low-contrast", "a11y-contrast", TOTAL,
     '<mj-text css-class="total" color="${brand.faint_grey}">Total: {{total}}</mj-text>',
     r"#aaaaaa on #ffffff: 2\.\d+:1", "faint_grey"),
    ("named-low-contrast", "a11y-contrast", TOTAL,
     '<mj-text css-class="total" color="${brand.faint_named}">Total: {{total}}</mj-text>',
     r"#d3d3d3 on #ffffff", "faint_named"),
    # the same words as an earlier paragraph that passes: found as the second occurrence
    ("low-contrast-repeated-text", "a11y-contrast", TOTAL,
     TOTAL + '\n        <mj-text css-class="total" color="${brand.faint_grey}" padding-top="2px">'
     "Total: {{total}}</mj-text>", r"#aaaaaa on #ffffff", 'padding-top="2px"'),
    ("script", "html-forbidden", TOTAL, TOTAL + "\n<mj-raw><script>var n = {{total}};</script>"
     "</mj-raw>", r"<script> is stripped", "<script>"),
    ("event-handler", "html-forbidden", TOTAL, TOTAL + '\n<mj-raw><svg ONLoad="send()">'
     "</svg></mj-raw>", r"event handler 'onload' on <svg> is script", "ONLoad"),
    ("form", "html-forbidden", "Total: {{total}}", 'Total: {{total}} <form action="https://x.'
     'example"><input name="q"></form>', r"<form>: forms do not work", "<form"),
    ("entity-space", "link-scheme", BUTTON, '<mj-button href="&#32;{{orderUrl}}">',
     r"href on <mj-button> starts with whitespace or a character reference", "&#32;"),
    ("entity-tab", "link-scheme", BUTTON, '<mj-button href="&Tab;{{orderUrl}}">',
     r"href on <mj-button> starts with whitespace", "&Tab;"),
    ("scheme-prefix", "link-scheme", BUTTON, '<mj-button href="java{{orderUrl}}">',
     r"fix no scheme and host", "java{{"),
    ("protocol-relative", "link-scheme", BUTTON, '<mj-button href="/{{orderUrl}}">',
     r"starts with a path", 'href="/{{'),
    # data right after the host could be "@evil.example": the host must end in / ? or #
    ("host-then-data", "link-scheme", BUTTON, '<mj-button href="https://www.bbws.co.za{{orderUrl}}">',
     r"a host that data can extend", "www.bbws.co.za{{"),
    ("encoded-javascript", "link-scheme", BUTTON,
     '<mj-button href="&#106;ava&#x09;script:alert(1)">', r"uses javascript:", "&#106;"),
    ("plain-http-image", "link-scheme", '<mj-image src="{{assetBaseUrl}}/logo.png"',
     '<mj-image src="http://cdn.example.com/logo.png"', r"uses http:", "http://cdn"),
    # a colour written by hand stays behind when brand.toml changes: refused, with the
    # token of the same colour suggested
    ("hex-button", "color-literal", BUTTON,
     '<mj-button href="{{orderUrl}}" background-color="#0f766e">',
     r"background-color on <mj-button>: the colour #0f766e is written by hand.*"
     r"add it to brand.toml", "#0f766e"),
    ("named-border", "color-literal", TOTAL,
     '<mj-text css-class="total" container-background-color="White">Total: {{total}}</mj-text>',
     r"container-background-color on <mj-text>: the colour White .*"
     r"write \$\{brand.on_primary\} or \$\{brand.card\}", "White"),
    ("no-footer", "legal-footer", '<mj-include path="partials/footer.mjml" />', "",
     r"no unsubscribe link", "</mj-body>"),
]


@pytest.mark.parametrize("case", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rule_of_the_build_stage_refuses_the_build(
        mini: Path, capsys: pytest.CaptureFixture[str], case: tuple[str, ...]) -> None:
    _, rule, old, new, pattern, needle = case
    assert _build(mini, capsys)[0] == 0
    before = _snapshot(mini / "build")
    target = mini / TEMPLATE
    _replace(target, old, new)

    code, err = _build(mini, capsys)

    assert code == 1, err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, "one problem, one error:\n" + err
    assert re.search(pattern, errors[0]), errors[0]
    assert errors[0].endswith(f"[{rule}]"), errors[0]
    assert errors[0].startswith(f"error: {TEMPLATE}:{_line_of(target, needle)}:"), errors[0]
    assert _snapshot(mini / "build") == before, "a failed build must leave build/ untouched"


def test_every_error_rule_of_the_build_stage_has_a_case() -> None:
    from bbws_mail.pipeline.rules import BUILD_RULES

    # "build" and mjml-placeholder-attribute: the CASES below
    covered = {c[1] for c in RULE_CASES} | {"build", "mjml-placeholder-attribute"}
    assert covered == set(BUILD_RULES)


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


def test_a_typo_in_a_dotted_name_is_one_error_with_a_suggestion(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = mini / TEMPLATE
    # every use of customer.name misspelt: no follow-on "required but never shown" error
    target.write_text(target.read_text().replace("{{customer.name}}", "{{customer.nmae}}"))
    code, err = _build(mini, capsys)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 1
    assert len(errors) == 3, err  # one per use, nothing else
    line = _line_of(target, "{{customer.nmae}}")
    assert errors[0].startswith(f"error: {TEMPLATE}:{line}:"), errors[0]
    for error in errors:
        assert "$.customer in schemas/mini.schema.json has no property 'nmae'" in error
        assert "did you mean {{customer.name}}?" in error
        assert "top level" not in error


@pytest.mark.parametrize(("old", "new", "pattern", "needle"), [
    ('"format": "uuid"}', '"format": "uuid", "oneOf": []}',
     r"schema not supported: unsupported keyword\(s\) oneOf", "oneOf"),
    # the parser notices the missing comma on the next line, where it wants one
    ('"format": "uuid"},', '"format": "uuid"}', r"invalid JSON: Expecting ',' delimiter",
     '"email"'),
], ids=["unsupported-keyword", "json-error"])
def test_a_problem_in_a_shared_schema_is_reported_once_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
        pattern: str, needle: str) -> None:
    project = _project_copy(tmp_path / "p")
    defs = project / "schemas/defs/tenant.schema.json"
    users = [p for p in (project / "schemas").glob("*.schema.json")
             if "defs/tenant.schema.json" in p.read_text()]
    assert len(users) > 1
    _replace(defs, old, new)

    code, err = _build(project, capsys)

    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 1 and len(errors) == 1, err
    line = _line_of(defs, needle)
    assert errors[0].startswith(f"error: schemas/defs/tenant.schema.json:{line}"), errors[0]
    assert re.search(pattern, errors[0]), errors[0]
    assert errors[0].endswith(f"(in {len(users)} templates)"), errors[0]


def _project_copy(dest: Path) -> Path:
    """A copy of the real project's sources, schemas, assets and settings."""
    import shutil

    from tests.conftest import ROOT

    for part in ("templates_src", "schemas", "assets", "bbws-mail.toml", "brand.toml"):
        copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy2
        copy(ROOT / part, dest / part)
    return dest


def test_a_footer_that_does_not_show_the_company_address_is_one_error_at_the_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project_copy(tmp_path / "p")
    _replace(project / "templates_src/partials/footer.mjml", "${company.address}",
             "18 Ebenezer Road")
    code, err = _build(project, capsys)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 1 and len(errors) == 1, err
    line = _line_of(project / "bbws-mail.toml", "address =")
    templates = len(list((project / "templates_src").glob("*.mjml")))
    assert errors[0].startswith(f"error: bbws-mail.toml:{line}: the footer does not show "
                                "the company address set by [company] address"), errors[0]
    assert errors[0].endswith(f"[legal-footer]  (in {templates} templates)"), errors[0]


@pytest.mark.parametrize(("raw", "pattern", "column"), [
    (b"Total: \xff{{total}}", r"not valid UTF-8: byte 0xff", 43),
    (b"Total: \xc3", r"not valid UTF-8: byte 0xc3", 43),
], ids=["invalid-start-byte", "truncated-sequence"])
def test_bytes_that_are_not_utf8_are_refused_at_their_line_and_column(
        mini: Path, capsys: pytest.CaptureFixture[str], raw: bytes, pattern: str,
        column: int) -> None:
    assert _build(mini, capsys)[0] == 0
    before = _snapshot(mini / "build")
    target = mini / TEMPLATE
    line = _line_of(target, "Total: {{total}}")
    target.write_bytes(target.read_bytes().replace(b"Total: {{total}}", raw, 1))

    code, err = _build(mini, capsys)

    errors = [e for e in err.splitlines() if e.startswith("error: ")]
    assert code == 1 and len(errors) == 1, err
    assert errors[0].startswith(f"error: {TEMPLATE}:{line}:{column}: "), errors[0]
    assert re.search(pattern, errors[0]), errors[0]
    assert _snapshot(mini / "build") == before


def test_a_byte_order_mark_changes_nothing(mini: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    assert _build(mini, capsys)[0] == 0
    before = {n: d for n, d in _snapshot(mini / "build").items() if n != "manifest.json"}
    for rel in (TEMPLATE, "templates_src/partials/footer.mjml"):
        path = mini / rel
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    code, err = _build(mini, capsys)

    assert code == 0, err
    after = {n: d for n, d in _snapshot(mini / "build").items() if n != "manifest.json"}
    assert after == before


@pytest.mark.parametrize(("nested", "pattern"), [
    # MRML overflows its stack (a segmentation fault) at about 1200 sections in columns
    ("<mj-section><mj-column>" * 1500 + "</mj-column></mj-section>" * 1500,
     r"<mj-section> nested \d+ elements deep"),
    # the build's own HTML checks recurse once per element
    ("<mj-section><mj-column><mj-text>" + "<div>" * 5000 + "x" + "</div>" * 5000
     + "</mj-text></mj-column></mj-section>", r"<div> nested \d+ elements deep"),
], ids=["mjml", "html"])
def test_nesting_deeper_than_any_email_needs_is_one_error(
        mini: Path, capsys: pytest.CaptureFixture[str], nested: str, pattern: str) -> None:
    assert _build(mini, capsys)[0] == 0
    before = _snapshot(mini / "build")
    target = mini / TEMPLATE
    _replace(target, '<mj-include path="partials/footer.mjml" />',
             nested + '\n<mj-include path="partials/footer.mjml" />')

    code, err = _build(mini, capsys)

    errors = [e for e in err.splitlines() if e.startswith("error: ")]
    assert code == 1 and len(errors) == 1, err[:2000]
    line = _line_of(target, nested[:30])
    assert errors[0].startswith(f"error: {TEMPLATE}:{line}:"), errors[0]
    assert re.search(pattern, errors[0]), errors[0]
    assert _snapshot(mini / "build") == before


@pytest.mark.parametrize(("old", "new", "pattern"), [
    (BUTTON, '<mj-button href="{{orderUrl}}" padding="' + "9" * 10_000_000 + '">',
     r"padding=\(a value of 10000000 characters\) on <mj-button>: expected"),
    (BUTTON, '<mj-button href="{{orderUrl}}" ' + "x" * 100_000 + '="1">',
     r"<mj-button> has no attribute \(a name of 100000 characters\)"),
    (BUTTON, '<mj-button href="{{orderUrl}}" padding="4px\u202e">',
     r"padding=\(a value of 4 characters\) on <mj-button>"),
    ("<mj-text>Hi", "<mj-" + "x" * 100_000 + " />\n<mj-text>Hi",
     r"<\(a name of 100003 characters\)> is not an MJML component"),
], ids=["long-value", "long-attribute-name", "hidden-character", "long-element-name"])
def test_errors_describe_long_or_odd_source_values_instead_of_copying_them(
        mini: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
        pattern: str) -> None:
    _replace(mini / TEMPLATE, old, new)

    code, err = _build(mini, capsys)

    errors = [e for e in err.splitlines() if e.startswith("error: ")]
    assert code == 1 and len(errors) == 1, err[:2000]
    assert len(errors[0]) < 400 and errors[0].isprintable(), errors[0][:400]
    assert re.search(pattern, errors[0]), errors[0][:400]


# -- hints that lead to a build, errors at the template's own line --------------------------
HINT_RE = re.compile(
    r"insert </(?P<tag>mj-[a-z-]+)> at (?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+)")


def _follow(project: Path, hint: str) -> None:
    """Do what the hint says, literally: insert the closing tag at the file:line:column."""
    m = HINT_RE.search(hint)
    assert m, hint
    path = project / m["file"]
    lines = path.read_text().splitlines(keepends=True)
    line, col = int(m["line"]) - 1, int(m["col"]) - 1
    lines[line] = lines[line][:col] + f"</{m['tag']}>" + lines[line][col:]
    path.write_text("".join(lines))


def _unclosed_cases() -> list[tuple[str, int]]:
    """(template, n): the n-th </mj-text> of a real template that another MJML element
    follows, so that leaving it out puts that element inside the text."""
    from tests.conftest import ROOT

    cases = []
    for path in sorted((ROOT / "templates_src").glob("*.mjml")):
        closes = [m.end() for m in re.finditer(r"</mj-text>", path.read_text())]
        followed = [i for i, end in enumerate(closes)
                    if re.match(r"(?:\s|<!--.*?-->)*<mj-", path.read_text()[end:], re.S)]
        cases += [(path.stem, i) for i in followed[:1] + followed[-1:]]
    return sorted(set(cases))


@pytest.mark.parametrize("case", _unclosed_cases(), ids=lambda c: f"{c[0]}-{c[1]}")
def test_the_hint_for_an_unclosed_mj_text_leads_to_a_build(
        tmp_path: Path, case: tuple[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import ROOT
    from tests.preview.conftest import copy_project

    name, index = case
    project = copy_project(ROOT, tmp_path / "p")
    source = project / f"templates_src/{name}.mjml"
    good = source.read_text()
    where = [m.start() for m in re.finditer(r"</mj-text>", good)][index]
    source.write_text(good[:where] + good[where + len("</mj-text>"):])
    code, err = _build(project, capsys)
    assert code == 1
    errors = [e for e in err.splitlines() if e.startswith("error: ")]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"error: templates_src/{name}.mjml:"), errors
    assert "<mj-text> is never closed" in errors[0]
    _follow(project, errors[0])
    code, err = _build(project, capsys)
    assert code == 0, err


def test_the_hint_for_an_unclosed_element_before_its_parent_closes_leads_to_a_build(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _replace(mini / TEMPLATE, "View order</mj-button>", "View order")
    code, err = _build(mini, capsys)
    assert code == 1 and "<mj-button> is never closed" in err, err
    _follow(mini, err)
    assert _build(mini, capsys)[0] == 0


@pytest.mark.parametrize("old,new,needle,what", [
    ('css-class="total"', '{{cls}}="total"', "{{cls}}", "attribute name"),
    ("Total: {{total}}", "<{{tag}}>Total: {{total}}</{{tag}}>", "<{{tag}}>", "tag name"),
    ("Total: {{total}}", "Total: <b {{attr}}>{{total}}</b>", "{{attr}}", "attribute name"),
])
def test_a_placeholder_as_an_attribute_or_tag_name_is_reported_at_its_own_line(
        mini: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, needle: str,
        what: str) -> None:
    _replace(mini / TEMPLATE, old, new)
    code, err = _build(mini, capsys)
    errors = [e for e in err.splitlines() if e.startswith("error: ")]
    assert code == 1 and errors, err
    line = _line_of(mini / TEMPLATE, needle)
    assert all(e.startswith(f"error: {TEMPLATE}:{line}:") for e in errors), errors
    assert any(what in e or "has no attribute" in e for e in errors), errors


def test_a_placeholder_lost_on_the_way_is_reported_where_the_source_has_it(
        mini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A tag the compiler drops (here inside MJML's own comment-less raw ending) is
    named with the line of its first use, not the template's bare file name."""
    from bbws_mail import config as config_mod
    from bbws_mail.pipeline import check_invariants, placeholders, splice

    cfg = config_mod.load(mini)
    spliced = splice.splice(mini / TEMPLATE, cfg.templates_dir)
    tags, _ = placeholders.check(spliced)
    errors = check_invariants(spliced, tags, "<html></html>", "", "")
    assert errors
    for e in errors:
        assert re.match(rf"{TEMPLATE}:\d+:\d+$", str(e.location)), str(e)
    html_error = next(e for e in errors if "in the HTML" in e.message)
    first = min((t for t in tags if t.context != "title"), key=lambda t: t.offset)
    assert html_error.location == spliced.locate(first.offset)
