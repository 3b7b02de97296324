"""The plain-text part: links, rows, preheader, section tags."""

from __future__ import annotations

from bbws_mail.pipeline.text import html_to_text


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
    """The walker over html5lib's tree: the HTML5 algorithm, the reference parser."""
    import html5lib

    from bbws_mail.pipeline.text import text_of_tree

    return text_of_tree(html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False))


def test_lxml_parse_gives_the_html5_parsers_text_for_every_template() -> None:
    """lxml is used for speed; its tree must give exactly html5lib's text part."""
    from bbws_mail import config
    from bbws_mail.pipeline import compile as compile_stage
    from bbws_mail.pipeline import discover, inline, splice
    from tests.conftest import ROOT

    cfg = config.load(ROOT)
    sources = discover(cfg.templates_dir)
    assert len(sources) == 12
    for path in sources:
        compiled = compile_stage.compile_mjml(splice.splice(path, cfg.templates_dir))
        html = inline.inline_css(compiled.html, compiled.inline_css)
        ours = html_to_text(html)
        assert ours == _text_via_html5lib(html), path.stem
        assert "{{#" in ours or "{{" in ours, path.stem


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
    ]
    for html in cases:
        assert html_to_text(html) == _text_via_html5lib(html), html
