"""WCAG 2.x contrast of every text run against its effective background.

Colours come from the inline styles (the only CSS every client reads) and
``bgcolor``/``<font color>`` attributes. Dark mode is judged by applying the
template's own ``@media (prefers-color-scheme: dark)`` rules on top of the inline
styles with css-inline (already the build's inliner), so that what Apple Mail and
Outlook.com show in dark mode is checked too, with the same cascade and
``!important`` handling.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple

from bbws_mail.pipeline.rules import finding
from bbws_mail.pipeline.rules.colors import named_colors
from bbws_mail.pipeline.rules.findings import Finding
from bbws_mail.pipeline.rules.html import parse, tree
from bbws_mail.pipeline.rules.locate import SourceMap

AA_BODY = 4.5
AA_LARGE = 3.0
DEFAULT_TEXT = (0.0, 0.0, 0.0)
DEFAULT_LINK = (0.0, 0.0, 238 / 255)  # browsers' unvisited-link blue, where no colour is set
DEFAULT_BG = (1.0, 1.0, 1.0)
_SKIP = {"head", "title", "style", "script", "meta", "link"}
_DARK_RE = re.compile(r"@media[^{]*prefers-color-scheme\s*:\s*dark[^{]*\{", re.I)

_STYLE_RE = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S | re.I)
_BRACE_RE = re.compile(r"[{}]")
_HEX_RE = re.compile(r"#([0-9a-f]{3,8})")
_COLOR_TOKEN_RE = re.compile(r"#[0-9a-fA-F]{3,8}|rgba?\([^)]*\)|[a-zA-Z]+")
_FONT_SIZE_RE = re.compile(r"([\d.]+)\s*(px|pt|em|rem|%)?")
_RGB_RE = re.compile(
    r"rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)")
RGBA = tuple[float, float, float, float]


@lru_cache(maxsize=4096)
def parse_color(value: str) -> RGBA | None:
    """``#abc``, ``#aabbcc``, ``#aabbccdd``, ``rgb()``/``rgba()`` or a CSS colour name.

    Memoised: a template writes a handful of colours on hundreds of elements."""
    v = value.strip().lower().replace("!important", "").strip()
    v = named_colors().get(v, v)
    if v in ("transparent", "none"):
        return (0.0, 0.0, 0.0, 0.0)
    m = _HEX_RE.fullmatch(v)
    if m:
        h = m.group(1)
        if len(h) in (3, 4):
            h = "".join(c * 2 for c in h)
        if len(h) not in (6, 8):
            return None
        alpha = int(h[6:8], 16) / 255 if len(h) == 8 else 1.0
        return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, alpha)
    m = _RGB_RE.fullmatch(v)
    if m:
        a = m.group(4)
        alpha = 1.0 if a is None else (float(a[:-1]) / 100 if a.endswith("%") else float(a))
        return (float(m.group(1)) / 255, float(m.group(2)) / 255, float(m.group(3)) / 255, alpha)
    return None


def luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@lru_cache(maxsize=4096)
def ratio(fg: tuple[float, float, float], bg: tuple[float, float, float]) -> float:
    """The WCAG contrast ratio, 1.0 to 21.0."""
    a, b = luminance(fg), luminance(bg)
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


def hexify(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


@lru_cache(maxsize=4096)
def _declarations(style: str) -> dict[str, str]:
    """Declarations of a style attribute; an ``!important`` one beats a later normal one.

    Memoised (MRML repeats a few styles on hundreds of elements): the dict is shared,
    read it, never change it."""
    out: dict[str, str] = {}
    important: set[str] = set()
    for decl in style.split(";"):
        if ":" not in decl:
            continue
        prop, value = decl.split(":", 1)
        prop = prop.strip().lower()
        is_important = "!important" in value
        if prop in important and not is_important:
            continue
        out[prop] = value.replace("!important", "").strip()
        if is_important:
            important.add(prop)
    return out


def _background(style: dict[str, str], bgcolor: str | None) -> RGBA | None:
    # background-color wins over the shorthand only when it comes later; MRML writes both
    # with the same value, so either order gives the same colour here.
    for prop in ("background-color", "background"):
        if prop in style:
            for token in _COLOR_TOKEN_RE.findall(style[prop]):
                color = parse_color(token)
                if color:
                    return color
    if bgcolor:
        return parse_color(bgcolor)
    return None


class _Look(NamedTuple):
    """What an element's own style and colour attributes say, once per distinct value."""

    hidden: bool
    layer: RGBA | None  # its background
    color: RGBA | None  # its text colour (style, else <font color>)
    font_size: str
    weight: str


@lru_cache(maxsize=4096)
def _look(style_text: str, bgcolor: str | None, font_color: str | None) -> _Look:
    style = _declarations(style_text)
    color = parse_color(style["color"]) if "color" in style else None
    if color is None and font_color:
        color = parse_color(font_color)
    return _Look(_hidden(style), _background(style, bgcolor), color,
                 style.get("font-size", ""), style.get("font-weight", ""))


def _blend(top: RGBA, under: tuple[float, float, float]) -> tuple[float, float, float]:
    a = top[3]
    return (top[0] * a + under[0] * (1 - a), top[1] * a + under[1] * (1 - a),
            top[2] * a + under[2] * (1 - a))


@lru_cache(maxsize=1024)
def _font_px(value: str, parent_px: float) -> float:
    m = _FONT_SIZE_RE.match(value)
    if not m:
        return parent_px
    n, unit = float(m.group(1)), m.group(2) or "px"
    return {"px": n, "pt": n * 4 / 3, "em": n * parent_px, "rem": n * 16, "%": n * parent_px / 100
            }[unit]


def _hidden(style: dict[str, str]) -> bool:
    return (style.get("display", "").startswith("none") or style.get("opacity", "") in ("0", "0.0")
            or style.get("max-height", "") in ("0", "0px") or style.get("mso-hide") == "all"
            or style.get("visibility") == "hidden")


def check_html(html: str, where: SourceMap, template: str, mode: str = "light",
               doc: Any = None) -> list[Finding]:
    """Contrast findings for one HTML document, as it renders in ``mode``.

    ``doc`` is ``html`` already parsed (``rules.html.parse``), when the caller has it.
    """
    if doc is None:
        doc, _ = parse(html)
    findings: dict[tuple[str, str, str], Finding] = {}
    body = doc.find(".//body")
    if body is None:
        return []

    seen: dict[str, int] = {}

    def visit(el: Any, fg: tuple[float, float, float], bg: tuple[float, float, float],
              px: float, bold: bool) -> None:
        if not isinstance(el.tag, str):
            return  # a comment: its tail is counted by the parent
        tag = el.tag
        if tag in _SKIP:
            return
        look = _look(el.get("style") or "", el.get("bgcolor"),
                     el.get("color") if tag == "font" else None)
        if look.hidden:
            return
        layer = look.layer
        if layer is not None and layer[3] > 0:
            bg = _blend(layer, bg)
        color = look.color
        if color is not None:
            fg = _blend(color, bg)
        elif tag == "a":
            fg = DEFAULT_LINK
        if look.font_size:
            px = _font_px(look.font_size, px)
        weight = look.weight
        if weight:
            bold = weight in ("bold", "bolder") or (weight.isdigit() and int(weight) >= 700)
        elif tag in ("b", "strong", "th", "h1", "h2", "h3"):
            bold = True
        pieces = [el.text or "", *(child.tail or "" for child in el)]
        own_text = "".join(pieces)
        if own_text.strip():
            # the first run of text, and how many runs before it read the same: the
            # source is searched for that occurrence, not for the first look-alike
            first = " ".join(next(p for p in pieces if p.strip()).split())
            seen[first] = nth = seen.get(first, 0) + 1
            large = px >= 24 or (bold and px >= 18.66)
            need = AA_LARGE if large else AA_BODY
            got = ratio(fg, bg)
            if got < need:
                snippet = " ".join(own_text.split())[:40]
                key = (hexify(fg), hexify(bg), where.find_text(first, nth - 1))
                if key not in findings:
                    findings[key] = finding(
                        "a11y-contrast", key[2],
                        f"{'dark mode: ' if mode == 'dark' else ''}text {snippet!r} is "
                        f"{key[0]} on {key[1]}: {got:.2f}:1, WCAG AA needs {need}:1 for "
                        f"{'large' if large else 'body'} text ({px:.0f}px"
                        f"{' bold' if bold else ''})", template)
        for child in el:
            visit(child, fg, bg, px, bold)

    visit(body, DEFAULT_TEXT, DEFAULT_BG, 16.0, False)
    return list(findings.values())


def dark_css(html: str) -> str:
    """The bodies of every ``@media (prefers-color-scheme: dark)`` rule in the HTML."""
    parts: list[str] = []
    for block in _STYLE_RE.findall(html):
        for m in _DARK_RE.finditer(block):
            # the rule's body: up to the brace that closes the one _DARK_RE opened
            depth, end = 1, len(block)  # unclosed: to the end, as far as it goes
            for brace in _BRACE_RE.finditer(block, m.end()):
                depth += 1 if brace.group() == "{" else -1
                if not depth:
                    end = brace.end()
                    break
            parts.append(block[m.end(): end - 1])
    return "\n".join(parts)


def check(html: str, where: SourceMap, template: str, doc: Any = None) -> list[Finding]:
    """Light mode, and dark mode where the template defines it."""
    found = check_html(html, where, template, "light", doc)
    css = dark_css(html)
    if css.strip():
        import css_inline

        inliner = css_inline.CSSInliner(inline_style_tags=False, keep_style_tags=True,
                                        load_remote_stylesheets=False, extra_css=css)
        light = {(f.location, f.message) for f in found}
        dark = inliner.inline(html)
        for f in check_html(dark, where, template, "dark", tree(dark)):
            # the same colours in both modes: reported once, as the light-mode finding
            if (f.location, f.message.removeprefix("dark mode: ")) not in light:
                found.append(f)
    return found
