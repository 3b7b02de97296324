"""Mustache placeholders in sources: where each one sits, and the rules they must obey.

Every measured way the pipeline silently loses a placeholder (see
ENGINEERING_NOTES: bare section tags between rows, ``{{&x}}``, partials, spaces
in attributes) is refused here, before compiling, with the file:line a designer
can jump to. The multiset helpers back the end-to-end invariant: the tags that go
in are the tags that come out, in the HTML and in the text part.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bbws_mail.errors import TemplateError
from bbws_mail.pipeline.markup import element_stacks
from bbws_mail.pipeline.splice import Spliced

# {{{x}}} first, then {{...}}; the name part may not contain braces.
TAG_RE = re.compile(r"\{\{\{([^{}]*)\}\}\}|\{\{([^{}]*)\}\}")
SECTION_SIGILS = "#^/"
# MJML elements whose content is running text/HTML: bare section tags are safe inside them.
TEXT_HOSTS = {
    "mj-text", "mj-button", "mj-title", "mj-preview", "mj-raw", "mj-navbar-link",
    "mj-accordion-title", "mj-accordion-text", "mj-social-element", "mj-table",
}
# HTML elements where a parser foster-parents stray text out of the table.
TABLE_STRUCTURE = {"table", "tbody", "thead", "tfoot", "tr", "colgroup", "mj-table"}
# Attributes a placeholder may fill: URLs and human text only.
PLACEHOLDER_ATTRS = {"href", "src", "alt", "title", "aria-label"}
# Of those, the ones the plain-text part carries ("text (url)", image alt text).
TEXT_VISIBLE_ATTRS = {"href", "alt"}
COMMENT_SECTION_RE = re.compile(r"^\s*(\{\{[#^/][^{}]*\}\})\s*$")


@dataclass(frozen=True)
class Placeholder:
    """One Mustache tag as written in a source."""

    raw: str  # exactly as written, e.g. "{{#items}}"
    sigil: str  # "" for a variable, else one of # ^ / ! & > = {
    name: str  # stripped name, e.g. "items"
    offset: int
    # "text" | "comment" | "attr:<name>" | "attr-name" | "tag-name" | "style" | "title" |
    # "preview"
    context: str
    stack: tuple[str, ...]
    prefix: str = ""  # for attributes: the value's text before this tag

    @property
    def key(self) -> str:
        """The normalised tag, as the multiset invariant compares it."""
        if self.sigil == "{":
            return "{{{" + self.name + "}}}"
        return "{{" + self.sigil + self.name + "}}"

    @property
    def is_section(self) -> bool:
        return self.sigil != "" and self.sigil in SECTION_SIGILS


def parse_tag(inner_triple: str | None, inner: str | None) -> tuple[str, str]:
    """Split a tag's inside into (sigil, name)."""
    if inner_triple is not None:
        return "{", inner_triple.strip()
    body = (inner or "").strip()
    if body and body[0] in "#^/!&>=":
        sigil, name = body[0], body[1:]
        if sigil == "=":
            name = name.rstrip("=")
        return sigil, name.strip()
    return "", body


def tag_keys(text: str) -> Counter[str]:
    """Multiset of normalised Mustache tags found anywhere in ``text``."""
    keys: Counter[str] = Counter()
    for m in TAG_RE.finditer(text):
        sigil, name = parse_tag(m.group(1), m.group(2))
        keys["{{{" + name + "}}}" if sigil == "{" else "{{" + sigil + name + "}}"] += 1
    return keys


def scan(src: str) -> list[Placeholder]:
    """Every Mustache tag in an MJML/HTML source, with the markup context around it."""
    found: list[Placeholder] = []
    for tok, stack in element_stacks(src):
        if tok.kind == "text":
            context = "text"
            if stack and stack[-1] in {"style", "mj-style"}:
                context = "style"
            elif "mj-title" in stack or "title" in stack:
                context = "title"
            elif "mj-preview" in stack:
                context = "preview"
            _collect(found, tok.text, tok.start, context, stack)
        elif tok.kind == "comment":
            _collect(found, tok.text, tok.start + 4, "comment", stack)
        elif tok.kind == "start" and src.find("{{", tok.start, tok.end) >= 0:
            inner_stack = (*stack, tok.name)
            for attr in tok.attrs:
                if "{{" in attr.name:
                    at = src.rfind(attr.name, tok.start, attr.start + 1)
                    _collect(found, attr.name, at, "attr-name", inner_stack)
                _collect(found, attr.value, attr.start, "attr:" + attr.name, inner_stack)
    # "<{{x}}>" is no element to the lexer, only text: a tag name made of a placeholder
    return [dataclasses.replace(t, context="tag-name")
            if t.context == "text" and (src.endswith("<", 0, t.offset)
                                        or src.endswith("</", 0, t.offset)) else t
            for t in found]


def _collect(
    out: list[Placeholder], text: str, base: int, context: str, stack: tuple[str, ...]
) -> None:
    if "{{" not in text:
        return
    for m in TAG_RE.finditer(text):
        sigil, name = parse_tag(m.group(1), m.group(2))
        prefix = text[: m.start()] if context.startswith("attr:") else ""
        out.append(Placeholder(m.group(0), sigil, name, base + m.start(), context, stack,
                               prefix))


def check(spliced: Spliced) -> tuple[list[Placeholder], list[TemplateError]]:
    """Scan a spliced source and return its placeholders plus every rule violation."""
    tags = scan(spliced.text)
    errors: list[TemplateError] = []

    def err(tag: Placeholder, message: str, hint: str) -> None:
        errors.append(TemplateError(spliced.locate(tag.offset), message, hint))

    comment_ok = _comment_wrapped_offsets(spliced.text)
    for tag in tags:
        raw = tag.raw
        if tag.context in ("attr-name", "tag-name"):
            what = "an attribute name" if tag.context == "attr-name" else "a tag name"
            err(tag, f"placeholder {raw} used as {what}",
                "tag and attribute names are fixed markup: placeholders fill text and the "
                "values of href, src, alt or title")
            continue
        if tag.sigil == "&" or tag.sigil == "{":
            err(tag, f"unescaped placeholder {raw} is not allowed",
                f"write {{{{{tag.name}}}}}: every value is HTML-escaped")
            continue
        if tag.sigil == ">":
            err(tag, f"Mustache partial {raw} is not supported",
                'splice partials at build time with <mj-include path="partials/..." />')
            continue
        if tag.sigil == "=":
            err(tag, f"delimiter change {raw} is not supported", "use the default {{ }} delimiters")
            continue
        if not tag.name:
            err(tag, f"empty placeholder {raw}", "write a variable name inside the braces")
            continue
        if re.search(r"\s", tag.name) or (tag.sigil == "" and raw != "{{" + tag.name + "}}"):
            if tag.context.startswith("attr:"):
                err(tag, f"spaces inside {raw} in the {tag.context[5:]} attribute",
                    f"write {tag.key}: inliners URL-encode spaces in attributes")
                continue
            if re.search(r"\s", tag.name):
                err(tag, f"invalid placeholder name in {raw}", "names have no spaces")
                continue
        if tag.context == "style":
            err(tag, f"placeholder {raw} inside CSS", "CSS cannot carry data; use a fixed value")
        elif tag.context.startswith("attr:"):
            attr = tag.context[5:]
            if tag.is_section or tag.sigil == "!":
                err(tag, f"section tag {raw} inside the {attr} attribute",
                    "put sections around the whole element")
            elif attr not in PLACEHOLDER_ATTRS:
                err(tag, f"placeholder {raw} in the {attr} attribute",
                    "placeholders may only fill href, src, alt or title values")
        elif tag.context == "comment":
            if not (tag.is_section and tag.offset in comment_ok):
                err(tag, f"{raw} inside an HTML comment is not rendered",
                    "only a lone section tag may be wrapped in a comment: <!--{{#items}}-->")
        elif tag.is_section and tag.context == "text":
            problem = _bare_section_problem(tag.stack)
            if problem:
                err(tag, f"bare section tag {raw} {problem}",
                    f"wrap it in a comment: <!--{raw}-->")
    errors.extend(_balance_errors(spliced, [t for t in tags if t.is_section]))
    # A delimiter change whose new delimiters look like markup ({{=<% %>=}}) is split by
    # the lexer and never seen as one tag above: look for its opening in the raw text.
    reported = {t.offset for t in tags if t.sigil == "="}
    for m in re.finditer(r"\{\{=", spliced.text):
        if m.start() not in reported:
            errors.append(TemplateError(spliced.locate(m.start()),
                                        "delimiter change {{=...=}} is not supported",
                                        "use the default {{ }} delimiters"))
    return tags, errors


def _comment_wrapped_offsets(src: str) -> set[int]:
    """Offsets of section tags that are the only content of their HTML comment."""
    ok: set[int] = set()
    for m in re.finditer(r"<!--(.*?)-->", src, re.DOTALL):
        inner = COMMENT_SECTION_RE.match(m.group(1))
        if inner:
            ok.add(m.start(1) + inner.start(1))
    return ok


def _bare_section_problem(stack: tuple[str, ...]) -> str:
    if stack and stack[-1] in TABLE_STRUCTURE:
        return "between table rows (an HTML parser moves it out of the table)"
    if not any(name in TEXT_HOSTS for name in stack):
        where = stack[-1] if stack else "the document"
        return f"between components in <{where}> (MJML drops or moves it)"
    return ""


def _balance_errors(spliced: Spliced, sections: Iterable[Placeholder]) -> list[TemplateError]:
    errors: list[TemplateError] = []
    open_tags: list[Placeholder] = []
    for tag in sections:
        if tag.sigil in "#^":
            open_tags.append(tag)
            continue
        if not open_tags:
            errors.append(TemplateError(spliced.locate(tag.offset),
                                        f"closing tag {tag.raw} without an opening tag",
                                        f"add {{{{#{tag.name}}}}} before it or remove it"))
            continue
        top = open_tags[-1]
        if top.name == tag.name:
            open_tags.pop()
            continue
        if any(t.name == tag.name for t in open_tags):
            errors.append(TemplateError(
                spliced.locate(tag.offset),
                f"crossed sections: {tag.raw} closes before {{{{/{top.name}}}}}",
                f"{top.raw} opened at {spliced.locate(top.offset)} must close first"))
            while open_tags and open_tags[-1].name != tag.name:
                open_tags.pop()
            open_tags.pop()
        else:
            errors.append(TemplateError(spliced.locate(tag.offset),
                                        f"closing tag {tag.raw} does not match {top.raw}",
                                        f"{top.raw} opened at {spliced.locate(top.offset)}"))
    for tag in open_tags:
        errors.append(TemplateError(spliced.locate(tag.offset),
                                    f"section {tag.raw} is never closed",
                                    f"add {{{{/{tag.name}}}}}"))
    return errors
