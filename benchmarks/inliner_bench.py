"""Why css-inline and not premailer: speed and placeholder safety, measured on our templates.

Both inliners get the same MRML output and the same inline CSS, with the options
each needs to work offline and keep media queries. Reported: median time per
template, and whether the Mustache tags survive (the multiset must not change).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import median_seconds, table


def run(root: Path) -> None:
    import premailer

    from bbws_mail import config
    from bbws_mail.pipeline import compile as compile_stage
    from bbws_mail.pipeline import discover, inline, placeholders, splice

    cfg = config.load(root)
    rows = []
    total_ours = total_theirs = 0.0
    for path in discover(cfg.templates_dir):
        spliced = splice.splice(path, cfg.templates_dir, cfg.company.facts())
        compiled = compile_stage.compile_mjml(spliced)
        before = placeholders.tag_keys(compiled.html)

        def ours(c: compile_stage.Compiled = compiled) -> str:
            return inline.inline_css(c.html, c.inline_css)

        def theirs(c: compile_stage.Compiled = compiled) -> str:
            html = c.html.replace("</head>", f"<style>{c.inline_css}</style></head>", 1)
            return str(premailer.Premailer(html, allow_network=False, strip_important=False,
                                           keep_style_tags=True, disable_validation=True,
                                           cssutils_logging_level=50).transform())

        t_ours, t_theirs = median_seconds(ours, repeat=7), median_seconds(theirs, repeat=3)
        total_ours += t_ours
        total_theirs += t_theirs
        kept_ours = placeholders.tag_keys(ours()) == before
        kept_theirs = placeholders.tag_keys(theirs()) == before
        rows.append([path.stem, f"{t_ours * 1000:.2f}", f"{t_theirs * 1000:.2f}",
                     f"{t_theirs / t_ours:.0f}x", "yes" if kept_ours else "NO",
                     "yes" if kept_theirs else "NO"])
    print("\n== inliner: css-inline vs premailer on the compiled templates")
    print(table(["template", "css-inline ms", "premailer ms", "ratio", "tags kept (css-inline)",
                 "tags kept (premailer)"], rows))
    print(f"all templates: css-inline {total_ours * 1000:.1f} ms, premailer "
          f"{total_theirs * 1000:.1f} ms ({total_theirs / total_ours:.0f}x slower)")
    probe = '<a href="{{ url }}">x</a><a href="https://x.co/?a=1&amp;b={{id}}">y</a>'
    page = f"<html><head></head><body>{probe}</body></html>"
    mangled = premailer.Premailer(page, allow_network=False, preserve_handlebar_syntax=True
                                  ).transform()
    print(f"premailer on {probe!r}:\n  -> {mangled[mangled.find('<body>') + 6:][:160]!r}")
