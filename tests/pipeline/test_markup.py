"""The position-keeping lexer: offsets, attributes, comments, raw text, bad markup."""

from __future__ import annotations

from bbws_mail.pipeline.markup import element_stacks, tokenize


def _kinds(src: str) -> list[tuple[str, str, str]]:
    return [(t.kind, t.name, src[t.start:t.end]) for t in tokenize(src)]


def test_attributes_with_offsets_quotes_and_a_quoted_gt() -> None:
    src = """<mj-button href="{{payUrl}}" title='a > b' data-x=bare disabled/>tail"""
    start, text = list(tokenize(src))
    assert (start.kind, start.name, start.self_closing) == ("start", "mj-button", True)
    assert src[start.start:start.end] == src[:-4]  # the quoted '>' does not end the tag
    assert [(a.name, a.value) for a in start.attrs] == [
        ("href", "{{payUrl}}"), ("title", "a > b"), ("data-x", "bare"), ("disabled", "")]
    href = start.attrs[0]
    assert src[href.start:href.start + len(href.value)] == "{{payUrl}}"
    assert (text.kind, text.text) == ("text", "tail")


def test_comments_raw_text_and_end_tags() -> None:
    src = "<mj-style>a > b { x: '<p>' }</MJ-STYLE ><!-- {{#items}} --><p>x</p>"
    assert _kinds(src) == [
        ("start", "mj-style", "<mj-style>"),
        ("text", "", "a > b { x: '<p>' }"),  # raw text: no tags inside a style
        ("end", "mj-style", "</MJ-STYLE >"),
        ("comment", "", "<!-- {{#items}} -->"),
        ("start", "p", "<p>"), ("text", "", "x"), ("end", "p", "</p>"),
    ]
    comment = list(tokenize(src))[3]
    assert comment.text == " {{#items}} "


def test_malformed_markup_degrades_to_text_and_covers_every_character() -> None:
    for src in ["a < b", "<!doctype html><p>", "<!-- never closed", "<p class=\"open",
                "<", "<3 <> </>", "<a href=x"]:
        tokens = list(tokenize(src))
        covered = "".join(src[t.start:t.end] for t in tokens)
        assert covered == src, src
        assert all(t.end > t.start for t in tokens)
    assert _kinds("a < b") == [("text", "", "a "), ("text", "", "<"), ("text", "", " b")]


def test_element_stacks_track_nesting_and_void_elements() -> None:
    src = "<mj-column><mj-text>Hi<br>{{name}}</mj-text><mj-image /></mj-column>"
    stacks = {src[t.start:t.end]: s for t, s in element_stacks(src)}
    assert stacks["{{name}}"] == ("mj-column", "mj-text")
    assert stacks["<mj-image />"] == ("mj-column",)
    assert stacks["</mj-column>"] == ()
