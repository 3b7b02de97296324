"""color-literal: colours in templates and partials come from ``brand.toml`` tokens only.

A colour written by hand (``background-color="#0f766e"`` on a button) builds and
looks right, and then stays behind when the brand changes: the header turns teal,
that one button stays purple. So every colour literal in a place that takes a
colour is refused: hex (``#rgb``, ``#rgba``, ``#rrggbb``, ``#rrggbbaa``), colour
functions (``rgb()``, ``rgba()``, ``hsl()``...) and CSS colour names, in colour
attributes (``color``, ``background-color``, ``bgcolor``, ``border``...) and in CSS
(``style="..."``, ``<mj-style>``, ``<style>``) colour properties. Brand values are
told from literals by where the splice wrote a ``${brand.NAME}`` value (the spliced
text's ``brand_spans``), so the rule reads the spliced source once, with the tokens
the other source rules already lexed. ``transparent``, ``currentColor`` and
``inherit`` are not colours of a brand and pass.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

from bbws_mail.pipeline.markup import tokenize
from bbws_mail.pipeline.rules import finding
from bbws_mail.pipeline.rules.colors import KEYWORDS, named_colors
from bbws_mail.pipeline.rules.findings import Finding
from bbws_mail.pipeline.splice import Spliced

_HEX = r"#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})(?![0-9A-Za-z_-])"
_FUNCTION = r"\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\([^)]*\)"
_LITERAL_RE = re.compile(rf"{_HEX}|{_FUNCTION}|\b[A-Za-z]+\b", re.IGNORECASE)
_WORD_RE = re.compile(r"[A-Za-z]+")
# url(...) and quoted strings hold file names and fonts, not colours ("red.png")
_SKIP_RE = re.compile(r"""url\([^)]*\)|"[^"]*"|'[^']*'""", re.IGNORECASE)
# one CSS declaration: property and value (selectors like a:hover give harmless pairs)
_DECLARATION_RE = re.compile(r"(?<![\w-])(-?[A-Za-z][\w-]*)\s*:\s*([^;{}]*)")
_COLOUR_PREFIXES = ("border", "inner-border", "outline", "column-rule")
_NOT_COLOUR_SUFFIXES = ("radius", "width", "style", "collapse", "spacing", "image")
_COLOUR_NAMES = frozenset({"background", "bgcolor", "fill", "stroke", "box-shadow",
                           "text-shadow", "text-decoration"})
_CSS_HOSTS = frozenset({"mj-style", "style"})
_COMMENT_RE = re.compile(r"/\*.*?\*/", re.DOTALL)
_VENDOR_RE = re.compile(r"^(?:-[a-z]+-|mso-)")


@lru_cache(maxsize=512)
def takes_colour(name: str) -> bool:
    """Whether the attribute or CSS property ``name`` takes a colour (or a shorthand with one)."""
    bare = _VENDOR_RE.sub("", name.lower())
    if "color" in bare or bare in _COLOUR_NAMES:
        return True
    return bare.startswith(_COLOUR_PREFIXES) and not bare.endswith(_NOT_COLOUR_SUFFIXES)


def check(spliced: Spliced) -> list[Finding]:
    """Every colour literal in a colour attribute or CSS colour property, where it is written."""
    text = spliced.text
    spans = spliced.brand_spans
    starts = [s for s, _ in spans]
    whole = set(spans)
    names = _names()
    out: list[Finding] = []

    def judge(value: str, at: int, name: str, where: str) -> None:
        bare = value.rstrip()
        if bare.endswith("!important"):
            bare = bare[:-10].rstrip()
        if (at, at + len(bare)) in whole:
            return  # one brand value: the usual case, decided by one lookup
        # brand values, url(...) and strings become spaces: offsets stay, literals remain
        k = max(bisect.bisect_right(starts, at) - 1, 0)
        end = at + len(value)
        while k < len(spans) and spans[k][0] < end:
            s, e = max(spans[k][0], at) - at, min(spans[k][1], end) - at
            if s < e:
                value = value[:s] + " " * (e - s) + value[e:]
            k += 1
        if "(" in value or "'" in value or '"' in value:
            value = _SKIP_RE.sub(lambda m: " " * len(m.group(0)), value)
        if "#" not in value and "(" not in value and names.isdisjoint(
                w.lower() for w in _WORD_RE.findall(value)):
            return
        for m in _LITERAL_RE.finditer(value):
            literal = m.group(0)
            if literal[0].isalpha() and "(" not in literal and literal.lower() not in names:
                continue
            out.append(finding("color-literal", str(spliced.locate(at + m.start())),
                               _message(literal, f"{name} {where}", spliced.brand),
                               spliced.name, subject=literal.lower()))

    def css(source: str, at: int, where: str) -> None:
        for name, start, value in _colour_declarations(source):
            judge(value, at + start, name, where)

    host = ""
    for tok in tokenize(text):
        if tok.kind == "start":
            host = tok.name if tok.name in _CSS_HOSTS and not tok.self_closing else ""
            for attr in tok.attrs:
                if attr.name == "style":
                    css(attr.value, attr.start, f"in the style of <{tok.name}>")
                elif takes_colour(attr.name):
                    judge(attr.value, attr.start, attr.name, f"on <{tok.name}>")
        elif tok.kind == "text" and host:
            css(tok.text, tok.start, f"in <{host}>")
            host = ""
        else:
            host = ""
    return out


@lru_cache(maxsize=64)
def _colour_declarations(source: str) -> tuple[tuple[str, int, str], ...]:
    """(property, value offset, value) of each colour declaration in CSS text.

    Cached by text: every template splices the same head partial, so its style
    blocks are read once per build.
    """
    if "/*" in source:  # a comment is no declaration: blank it, offsets kept
        source = _COMMENT_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), source)
    return tuple((d.group(1).lower(), d.start(2), d.group(2))
                 for d in _DECLARATION_RE.finditer(source) if takes_colour(d.group(1)))


@lru_cache(maxsize=1)
def _names() -> frozenset[str]:
    """The CSS colour names that are colours of their own (not transparent, currentColor)."""
    return frozenset(named_colors()) - KEYWORDS


def _message(literal: str, what: str, brand: dict[str, str]) -> str:
    same = [name for name, value in brand.items() if _same_colour(value, literal)]
    tokens = " or ".join(f"${{brand.{name}}}" for name in same)
    fix = (f"write {tokens} (brand.toml's token{'s' if len(same) > 1 else ''} of this "
           "colour)" if same
           else "add it to brand.toml as a token (NAME = \"...\") and write ${brand.NAME}")
    return (f"{what}: the colour {literal} is written by hand; colours come from brand.toml "
            f"so one file re-colours every template: {fix}, or accept it in check-allow.toml "
            "with a reason")


def normalised(value: str) -> str:
    """``#rrggbb`` (``#rrggbbaa`` when not opaque) for a hex, rgb() or named colour, else ""."""
    v = value.strip().lower()
    if v in named_colors():
        return named_colors()[v]
    m = re.fullmatch(r"#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})", v)
    if m:
        digits = m.group(1)
        if len(digits) <= 4:
            digits = "".join(c * 2 for c in digits)
    else:
        m = re.fullmatch(r"rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*([\d.]+)\s*)?\)", v)
        if not m or any(int(c) > 255 for c in m.groups()[:3]):
            return ""
        alpha = float(m.group(4)) if m.group(4) else 1.0
        digits = "".join(f"{int(c):02x}" for c in m.groups()[:3])
        if alpha < 1:
            digits += f"{round(alpha * 255):02x}"
    return "#" + (digits[:6] if digits[6:] == "ff" else digits)


def _same_colour(a: str, b: str) -> bool:
    first = normalised(a)
    return bool(first) and first == normalised(b)
