"""Why the text stage parses with Lexbor (selectolax): the same walker, three parsers.

Every parser gets the very same inlined HTML of every template; only the tree
builder differs. html5lib was the stage's parser before; lxml (libxml2) is
shown because it is the obvious fast alternative, and is not an HTML5 parser.
The ElementTree parsers pay a small conversion into the walker's node shape.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchmarks.common import median_seconds, table


def run(root: Path) -> None:
    import html5lib

    from bbws_mail import config
    from bbws_mail.pipeline import compile as compile_stage
    from bbws_mail.pipeline import discover, inline, splice
    from bbws_mail.pipeline import text as stage

    parsers: dict[str, Callable[[str], str]] = {
        "html5lib (pure Python, HTML5)": lambda h: stage.text_of_etree(
            html5lib.parse(h, treebuilder="etree", namespaceHTMLElements=False)),
        "selectolax Lexbor (C, HTML5): the stage": stage.html_to_text,
    }
    try:
        from lxml import etree

        parsers["lxml (libxml2, not HTML5)"] = lambda h: stage.text_of_etree(etree.HTML(h))
    except ImportError:
        pass

    cfg = config.load(root)
    htmls = []
    for path in discover(cfg.templates_dir):
        spliced = splice.splice(path, cfg.templates_dir, cfg.company.facts())
        compiled = compile_stage.compile_mjml(spliced)
        htmls.append(inline.inline_css(compiled.html, compiled.inline_css))
    reference = [parsers["html5lib (pure Python, HTML5)"](h) for h in htmls]
    rows = []
    base = 0.0
    for label, parse in parsers.items():
        def each(p: Callable[[str], str] = parse) -> list[str]:
            return [p(h) for h in htmls]

        seconds = median_seconds(each, repeat=5 if "html5lib" in label else 11)
        base = base or seconds
        same = [parse(h) for h in htmls] == reference
        rows.append([label, f"{seconds * 1000:.2f}", f"{base / seconds:.1f}x",
                     "yes" if same else "NO"])
    print(f"\n== text part: the same walker over three parsers, {len(htmls)} templates")
    print(table(["parser", "ms (12 templates)", "speed-up", "same text as html5lib"], rows))
