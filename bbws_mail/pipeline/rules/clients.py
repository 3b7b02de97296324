"""Client support: CSS features that Gmail, Outlook, Apple Mail or Yahoo drop.

The rule set is data (``client_rules.json``), each rule citing its caniemail.com
page. Every use in the built HTML (style blocks and inline styles) is a finding;
the ones that are deliberate graceful degradation are accepted in the reviewed
allow-list (``check-allow.toml``), each with its reason.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from bbws_mail.pipeline.rules import finding
from bbws_mail.pipeline.rules.findings import Finding
from bbws_mail.pipeline.rules.locate import SourceMap

RULES_FILE = Path(__file__).with_name("client_rules.json")
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S | re.I)
_STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)


@lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    return data


def declarations(css: str) -> list[tuple[str, str]]:
    """(property, value) pairs of a stylesheet or style attribute, lower-cased names."""
    body = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out = []
    for m in re.finditer(r"(?<![\w-])([a-zA-Z-]+)\s*:\s*([^;{}]+)", body):
        out.append((m.group(1).lower(), m.group(2).strip()))
    return out


def selectors(css: str) -> list[str]:
    body = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return [s.strip() for s in re.findall(r"(?:^|[{};])\s*([^{};@]+?)\s*\{", body) if s.strip()]


def check(html: str, where: SourceMap, template: str) -> list[Finding]:
    """One finding per unsupported feature used in the built HTML (with its count)."""
    data = rules()
    names: dict[str, str] = data["clients"]
    blocks = _STYLE_BLOCK.findall(html)
    sheet = "\n".join(blocks)
    inline = [a or b for a, b in _STYLE_ATTR.findall(_STYLE_BLOCK.sub("", html))]
    decls = declarations(sheet) + [d for attr in inline for d in declarations(attr)]
    out: list[Finding] = []
    for rule in data["rules"]:
        kind, pattern = rule["kind"], re.compile(rule["match"], re.I)
        hits: list[str] = []
        if kind == "property":
            value_re = re.compile(rule["value"], re.I) if rule.get("value") else None
            hits = [f"{p}: {v}" for p, v in decls
                    if pattern.fullmatch(p) and (value_re is None or value_re.search(v))]
        elif kind in ("at-rule", "media-feature"):
            hits = [m.group(0) for m in pattern.finditer(sheet)]
        elif kind == "selector":
            hits = [s for s in selectors(sheet) if pattern.search(s)]
        elif kind == "function":
            hits = [f"{p}: {v}" for p, v in decls if pattern.search(v)]
        if not hits:
            continue
        support = "; ".join(
            f"{'not supported' if level == 'no' else 'partly supported'} in {names[client]}"
            for client, level in rule["clients"].items() if level in ("no", "partial"))
        first = hits[0]
        prop = first.split(":")[0]
        loc = where.find(first, f"{prop}:", f'{prop}="') if ":" in first else where.find(first)
        count = f" (used {len(hits)} times)" if len(hits) > 1 else ""
        note = f" {rule['note']}" if rule.get("note") else ""
        out.append(finding(
            "client-css", loc,
            f"{rule['id']}: {first[:60]!r}{count} is {support}.{note} ({rule['source']})",
            template, subject=rule["id"]))
    return out
