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
