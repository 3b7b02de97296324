"""An HTML report: baseline, actual and highlighted diff side by side for each failing shot.

Failing shots are grouped by template behind a table of contents, so a change to a
shared partial (every template, every viewport) stays navigable.

Written to a git-ignored folder (``reports/visual`` by default) with the PNGs next
to it, so a designer can open it from a CI artifact without any tooling.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import NamedTuple

from bbws_mail.visual.baselines import split_shot
from bbws_mail.visual.compare import Comparison


class Failure(NamedTuple):
    shot: str
    result: Comparison
    actual: bytes
    baseline: bytes | None


def _figure(caption: str, src: str) -> str:
    return (f'<figure><figcaption>{caption}</figcaption><a href="{src}">'
            f'<img src="{src}" alt="{caption}"></a></figure>')


def write_report(folder: Path, failures: list[Failure], notes: list[str],
                 layout: list[str] | None = None, shots: int = 0) -> Path:
    """Write ``index.html`` and the failing shots' PNGs into ``folder``; return its path.

    Only this report's own files from an earlier run are removed (never the folder:
    ``--report-dir`` may point anywhere).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("*.actual.png"), *folder.glob("*.baseline.png"),
                *folder.glob("*.diff.png")]:
        old.unlink()
    rows: dict[str, list[str]] = {}  # template -> its failing shots' sections
    for f in failures:
        (folder / f"{f.shot}.actual.png").write_bytes(f.actual)
        cells = []
        if f.baseline is not None:
            (folder / f"{f.shot}.baseline.png").write_bytes(f.baseline)
            cells.append(_figure("baseline", f"{f.shot}.baseline.png"))
        cells.append(_figure("actual", f"{f.shot}.actual.png"))
        if f.result.diff_png:
            (folder / f"{f.shot}.diff.png").write_bytes(f.result.diff_png)
            cells.append(_figure("diff: changed pixels red, bounding box blue",
                                 f"{f.shot}.diff.png"))
        what = "no baseline yet" if f.baseline is None else f.result.describe()
        if f.result.size_changed and f.result.differing:
            what += (f"; padded to the larger size, {f.result.differing} pixel(s) differ in "
                     f"box {f.result.bbox}")
        template, variant = split_shot(f.shot)
        rows.setdefault(template, []).append(
            f'<section id="{html.escape(f.shot)}"><h3>{html.escape(variant or f.shot)}</h3>'
            f'<p class=what>{html.escape(what)}</p>'
            f"<div class=row>{''.join(cells)}</div></section>")
    contents = "".join(
        f'<li><a href="#tpl-{html.escape(t)}">{html.escape(t)}</a>: '
        + ", ".join(f'<a href="#{html.escape(f.shot)}">{html.escape(split_shot(f.shot)[1])}'
                    "</a>" for f in failures if split_shot(f.shot)[0] == t) + "</li>"
        for t in rows)
    toc = f"<nav><h2>Contents</h2><ul>{contents}</ul></nav>" if rows else ""
    body = "".join(f'<section id="tpl-{html.escape(t)}"><h2>{html.escape(t)}</h2>'
                   f"{''.join(sections)}</section>" for t, sections in rows.items())
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in layout or [])
    layout_html = f"<h2>Layout problems</h2><ul class=bad>{problems}</ul>" if problems else ""
    summary = (f"{shots} shot(s), {len(failures)} differ from their baselines, "
               f"{len(layout or [])} layout problem(s)")
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>bbws-mail visual report</title><style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2937}}
.row{{display:flex;gap:16px;align-items:flex-start}}figure{{margin:0}}
img{{max-width:420px;border:1px solid #d1d5db}}h2{{margin-top:32px}}.bad{{color:#b91c1c}}
.what{{font-family:ui-monospace,monospace}}
</style></head><body><h1>bbws-mail visual regression</h1><p>{html.escape(summary)}</p>
<ul>{items}</ul>{toc}{layout_html}
{body or '<p>All shots match their baselines.</p>'}
<p>Approve intended changes with <code>nox -s visual -- --update</code> and commit the PNGs.</p>
</body></html>"""
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
