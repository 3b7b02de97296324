"""An HTML report: baseline, actual and highlighted diff side by side for each failing shot."""

from __future__ import annotations

import html
from pathlib import Path

from bbws_mail.visual.compare import Comparison


def write_report(folder: Path, failures: list[tuple[str, Comparison, bytes, bytes | None]],
                 notes: list[str]) -> Path:
    """Write ``folder/index.html`` (+ PNGs) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for shot, result, actual, baseline in failures:
        (folder / f"{shot}.actual.png").write_bytes(actual)
        cells = []
        if baseline is not None:
            (folder / f"{shot}.baseline.png").write_bytes(baseline)
            cells.append(f'<figure><figcaption>baseline</figcaption>'
                         f'<img src="{shot}.baseline.png"></figure>')
        cells.append(f'<figure><figcaption>actual</figcaption><img src="{shot}.actual.png">'
                     f'</figure>')
        if result.diff_png:
            (folder / f"{shot}.diff.png").write_bytes(result.diff_png)
            cells.append(f'<figure><figcaption>diff (red)</figcaption>'
                         f'<img src="{shot}.diff.png"></figure>')
        rows.append(f"<section><h2>{html.escape(shot)}</h2><p>{html.escape(result.describe())}"
                    f"</p><div class=row>{''.join(cells)}</div></section>")
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>bbws-mail visual report</title><style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2937}}
.row{{display:flex;gap:16px;align-items:flex-start}}figure{{margin:0}}
img{{max-width:420px;border:1px solid #d1d5db}}h2{{margin-top:32px}}
</style></head><body><h1>Visual regression: {len(failures)} failing shot(s)</h1>
<ul>{notes_html}</ul>{''.join(rows) or '<p>All shots match their baselines.</p>'}
</body></html>"""
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
