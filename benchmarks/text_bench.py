"""Why the text stage parses with lxml: the same walker over html5lib's tree, same run.

Both sides get the very same inlined HTML of every template and must produce the
same text part (checked here too); only the parser differs.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import median_seconds, table


def run(root: Path) -> None:
    import html5lib

    from bbws_mail import config
    from bbws_mail.pipeline import compile as compile_stage
    from bbws_mail.pipeline import discover, inline, splice
    from bbws_mail.pipeline import text as stage

    def via_html5lib(html: str) -> str:
        return stage.text_of_tree(
            html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False))

    cfg = config.load(root)
    htmls = []
    for path in discover(cfg.templates_dir):
        compiled = compile_stage.compile_mjml(splice.splice(path, cfg.templates_dir))
        htmls.append(inline.inline_css(compiled.html, compiled.inline_css))
    same = all(stage.html_to_text(h) == via_html5lib(h) for h in htmls)
    ours = median_seconds(lambda: [stage.html_to_text(h) for h in htmls], repeat=9)
    theirs = median_seconds(lambda: [via_html5lib(h) for h in htmls], repeat=5)
    print(f"\n== text part: lxml vs html5lib tree, same walker, {len(htmls)} templates")
    print(table(["parser", "ms (12 templates)", "ratio"],
                [["html5lib (pure Python, HTML5 algorithm)", f"{theirs * 1000:.2f}", "1.0x"],
                 ["lxml (libxml2)", f"{ours * 1000:.2f}", f"{theirs / ours:.1f}x faster"]]))
    print(f"identical text parts: {'yes' if same else 'NO'}")
