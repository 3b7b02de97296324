"""The plain-text part: links, rows, preheader, section tags, and the parser under it."""

from __future__ import annotations

import random

import pytest

from bbws_mail.pipeline.text import html_to_text, text_of_etree
from bbws_mail.visual.browser import find_chromium


def test_links_rows_and_preheader() -> None:
    html = """<html><head><title>T {{x}}</title><style>p{}</style></head><body>
    <div style="display:none;font-size:1px">Preheader {{pre}}</div>
    <p>Hello <b>{{name}}</b>,</p>
    <table><tr><th>Item</th><th>Total</th></tr>
    <!--{{#items}}--><tr><td>{{label}}</td><td>{{amount}}</td></tr><!--{{/items}}-->
    </table>
    <p><a href="https://portal.bbws.co.za/o/{{id}}">View order</a>
    <a href="https://bbws.co.za">https://bbws.co.za</a></p>
    <a href="https://bbws.co.za"><img src="logo.png" alt="BBWS"></a>
    <!--[if mso]><p>Outlook only</p><![endif]-->
    <p>Acme &amp; Sons</p></body></html>"""
    text = html_to_text(html)
    lines = text.splitlines()
    assert "Preheader" not in text and "T {{x}}" not in text
    assert "Hello {{name}}," in lines
    assert lines[lines.index("{{#items}}") + 1] == "{{label}}  {{amount}}"
    assert lines[lines.index("{{#items}}") + 2] == "{{/items}}"
    assert "Item  Total" in lines
    assert "View order (https://portal.bbws.co.za/o/{{id}}) https://bbws.co.za" in lines
    assert "BBWS (https://bbws.co.za)" in lines
    assert "Outlook only" not in text
    assert "Acme & Sons" in lines  # entities decoded: the text part is not HTML
    assert text.endswith("\n") and "\n\n\n" not in text


def _text_via_html5lib(html: str) -> str:
    """The walker over html5lib's tree: the pure-Python HTML5 parser it used to use."""
    import html5lib

    return text_of_etree(html5lib.parse(html.replace("\x00", ""), treebuilder="etree",
                                        namespaceHTMLElements=False))


def test_every_template_has_the_text_part_html5lib_gives() -> None:
    from bbws_mail import config
    from bbws_mail.pipeline import compile as compile_stage
    from bbws_mail.pipeline import discover, inline, splice
    from tests.conftest import ROOT

    cfg = config.load(ROOT)
    sources = discover(cfg.templates_dir)
    assert sources
    for path in sources:
        spliced = splice.splice(path, cfg.templates_dir, cfg.company.facts())
        compiled = compile_stage.compile_mjml(spliced)
        html = inline.inline_css(compiled.html, compiled.inline_css)
        ours = html_to_text(html)
        assert ours == _text_via_html5lib(html), path.stem
        assert ours.count("\n") > 10, path.stem


def test_fragments_and_odd_markup_match_html5lib() -> None:
    cases = [
        "",
        "   ",
        "just text, no tags",
        "<p>Unclosed <b>bold<p>next",
        "<table><tr><td>a<td>b</table><p>after</p>",
        '<a href="https://x.co/?a=1&amp;b=2">x &amp; y</a>',
        "<ul><li>one<li>two</ul><hr><p>Caf&eacute; &nbsp;&zwnj;</p>",
        "<div>line<br>break</div><center>c</center>",
        "<p>a\x00b\x0bc\x0cd\x1fe\x7f \ufeff\u2028 &#0; &#x80; &bogus; &amp</p>",
        # a linked table: libxml2 (lxml) closes the <a> here, HTML5 parsers do not
        '<div><a href="https://x"><table><tr><td>cell {{x}}</td></tr></table></a></div>',
        '<a href="https://x"><div>Click {{x}}</div></a> after',
        "<frameset><frame></frameset>",
    ]
    for html in cases:
        assert html_to_text(html) == _text_via_html5lib(html), html
    assert html_to_text(cases[9]) == "cell {{x}} (https://x)\n"


PIECES = [
    "<p>", "</p>", "<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", "<th>",
    "<a href='https://x.co/{{u}}'>", "</a>", "<b>", "</b>", "<br>", "<div>", "</div>",
    "<!--{{#items}}-->", "<!--{{/items}}-->", "text ", "{{name}}", "&amp; ", "<ul>", "<li>",
    "</ul>", "<img alt='A' src='x'>", "<span>", "</span>", "<h1>", "</h1>", "<hr>",
    "<center>", "</center>", "<tbody>", "</tbody>", " ", "\n", "<font>", "<i>", "</i>",
    "<caption>c</caption>", "<select><option>o</select>", "<svg><text>s</text></svg>",
    "<pre> x\n y</pre>", "<!--[if mso]><p>o</p><![endif]-->", "<p", "</", "<!",
]


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")
def test_lexbor_builds_chromiums_tree_for_mis_nested_markup() -> None:
    """The text part follows what a browser builds, even from broken markup."""
    from playwright.sync_api import sync_playwright
    from selectolax.lexbor import LexborHTMLParser

    from bbws_mail.visual.browser import launch

    rnd = random.Random(20261201)
    docs = ["".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 30))) for _ in range(300)]
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(java_script_enabled=True)
            for body in docs:
                html = f"<!doctype html><html><head></head><body>{body}</body></html>"
                page.set_content(html)
                chromium = page.evaluate("document.body.innerHTML")
                assert LexborHTMLParser(html).body.inner_html == chromium, body
        finally:
            browser.close()
