"""The preview's HTML: index, template page, panels and the framed email.

Plain functions returning strings (no template engine, no CDN): every page is one
self-contained file, so the live server and the static export share this code,
and an exported page opens from disk with no server and no network. The live
page differs only by the data editor, the send form and the reload script.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from bbws_mail.preview.workspace import Preview, audience, family

_HEAD_RE = re.compile(r"<head\b[^>]*>", re.I)
_DARK_Q = re.compile(r"\(\s*prefers-color-scheme\s*:\s*dark\s*\)", re.I)
_LIGHT_Q = re.compile(r"\(\s*prefers-color-scheme\s*:\s*light\s*\)", re.I)
_SCHEME_META = re.compile(r"<meta\s+name=[\"'](?:supported-)?color-schemes?[\"'][^>]*>", re.I)
_ALWAYS, _NEVER = "(min-width:0px)", "(max-width:0px)"
# The email is shown, never run: mail clients run no script, and markup from a pull
# request must not act in the preview's origin (it could send mail as the designer).
# Same origin without scripts lets the page read the frame's height; links open tabs.
FRAME_SANDBOX = "allow-same-origin allow-popups allow-popups-to-escape-sandbox"


@dataclass
class Links:
    """URLs between pages: absolute on the server, relative files in an export."""

    index: str
    page: Callable[[str], str]
    email: Callable[[str], str]
    text: Callable[[str], str]


def frame_document(html: str, *, dark: bool) -> str:
    """The email as a preview frame shows it, in a forced colour scheme.

    An iframe's ``prefers-color-scheme`` follows the designer's OS, so the
    template's own dark rules are rewritten to always (dark) or never (light)
    apply, and ``color-scheme`` is pinned: the toggle shows exactly the styles a
    dark-mode client applies, whatever the OS setting. Links open in a new tab.
    """
    html = _DARK_Q.sub(_ALWAYS if dark else _NEVER, html)
    html = _LIGHT_Q.sub(_NEVER if dark else _ALWAYS, html)
    scheme = "dark" if dark else "light"
    html = _SCHEME_META.sub("", html)
    extra = (f'<base target="_blank"><meta name="color-scheme" content="{scheme}">'
             f"<style>:root{{color-scheme:{scheme}}}</style>")
    m = _HEAD_RE.search(html)
    if m:
        return html[: m.end()] + extra + html[m.end():]
    return extra + html


def size_bar(size: int, budget: int) -> str:
    """Bytes of HTML against the project's budget (``[check] size_fail_kb``), as a bar."""
    pct = size / budget * 100
    level = "ok" if pct < 75 else "warn" if pct < 100 else "bad"
    limit = f"the {budget / 1024:g} KB budget (size_fail_kb)"
    note = f"over {limit}!" if pct >= 100 else f"{pct:.0f}% of {limit}"
    return (f'<div class="size {level}" title="{size:,} bytes of HTML">'
            f'<div class="bar"><span style="width:{min(pct, 100):.1f}%"></span></div>'
            f"<span><b>{size / 1024:.1f} KB</b> ({size:,} bytes) · {note}</span></div>")


def meta_panel(p: Preview) -> str:
    """Subject, preheader, size and build version."""
    if p.email is None:
        return '<p class="muted">Nothing rendered yet: see the problems below.</p>'
    rows = [("Subject", f'<b id="subject">{escape(p.email.subject)}</b>'),
            ("Preheader", f'<span id="preheader">{escape(p.preheader) or "<i>none</i>"}</span>'),
            ("HTML size", size_bar(p.size, p.budget)),
            ("Build", f"<code>{escape(p.email.build_version)}</code>"
                      + (' <span class="chip bad">last good build: the sources do not build'
                         "</span>" if p.stale else ""))]
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def problems_panel(p: Preview) -> str:
    """Why there is no email: invalid JSON or data that does not match the schema."""
    if p.json_error.startswith("no data"):
        return (f'<div class="problems"><h2>No data to render with</h2>'
                f'<p class="json-error">{escape(p.json_error)}</p></div>')
    if p.json_error:
        return (f'<div class="problems"><h2>The data is not valid JSON</h2>'
                f'<p class="json-error">{escape(p.json_error)}</p></div>')
    if p.data_errors:
        rows = "".join(f"<tr><td><code>{escape(d.path)}</code></td><td>{escape(d.message)}</td>"
                       "</tr>" for d in p.data_errors)
        n = len(p.data_errors)
        return (f'<div class="problems"><h2>The data does not match the schema of {escape(p.name)}'
                f" ({n} problem{'s' if n != 1 else ''})</h2>"
                f'<table class="data-errors"><thead><tr><th>JSON path</th><th>Problem</th></tr>'
                f"</thead><tbody>{rows}</tbody></table>"
                '<p class="muted">Fix the data in the editor below; the email renders again '
                "as soon as it is valid.</p></div>")
    return ""


def overlay_panel(p: Preview) -> str:
    """The build errors, each with its file:line, shown over the page."""
    if not p.build_errors:
        return ""
    items = "".join(f"<li>{_error_html(e)}</li>" for e in p.build_errors)
    n = len(p.build_errors)
    under = ("Underneath is the last build that worked." if p.stale
             else "There is no earlier build of it to show.")
    return (f'<div class="overlay-box" role="alert"><h2>{escape(p.name)} does not build '
            f"({n} error{'s' if n != 1 else ''})</h2><ul>{items}</ul>"
            f'<p class="muted">Fix it and save: this page recovers by itself. {under}</p>'
            '<button type="button" id="overlay-hide">Hide until the next change</button></div>')


def _error_html(message: str) -> str:
    """An error line with its leading file:line:col set apart."""
    m = re.match(r"([^\s:]+(?::\d+){1,2}|[^\s:]+\.(?:mjml|json)): (.*)", message, re.DOTALL)
    if not m:
        return escape(message)
    return f'<code class="loc">{escape(m.group(1))}</code> {escape(m.group(2))}'


def checks_panel(p: Preview) -> str:
    """The lint findings of the build as a table (or why there are none)."""
    c = p.checks
    if c.crashed:
        return f'<p class="chip bad">{escape(c.crashed)}</p>'
    if c.unavailable:
        return f'<p class="muted">{escape(c.unavailable)}</p>'
    open_ = [f for f in c.findings if not f.accepted]
    note = f" ({c.accepted} accepted in check-allow.toml)" if c.accepted else ""
    if not open_:
        return f'<p class="chip ok">All checks passed{escape(note)}</p>'

    def row(f: Any) -> str:
        chip = ("warn", "accepted") if f.accepted else (
            ("bad" if f.severity == "error" else "warn"), f.severity)
        reason = f' title="{escape(f.accepted)}"' if f.accepted else ""
        return (f'<tr class="{escape(chip[1])}"{reason}><td><span class="chip {chip[0]}">'
                f"{escape(chip[1])}</span></td><td><code>{escape(f.rule)}</code></td>"
                f"<td><code>{escape(f.location)}</code></td><td>{escape(f.message)}</td></tr>")

    rows = "".join(row(f) for f in open_)
    return ("<table><thead><tr><th></th><th>Rule</th><th>Where</th><th>Message</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            + (f'<p class="muted">{escape(note.strip(" ()"))}</p>' if note else ""))


def text_panel(p: Preview) -> str:
    return escape(p.email.text) if p.email else ""


def panels(p: Preview) -> dict[str, str]:
    """Every part of a template page that changes with a rebuild or new data."""
    return {"meta": meta_panel(p), "problems": problems_panel(p), "overlay": overlay_panel(p),
            "text": text_panel(p), "checks": checks_panel(p)}


def payload(p: Preview) -> dict[str, Any]:
    """What the page's script needs after a (re)render, as JSON."""
    email = ({"light": frame_document(p.email.html, dark=False),
              "dark": frame_document(p.email.html, dark=True)} if p.email else None)
    return {"name": p.name, "generation": p.generation, "panels": panels(p), "email": email,
            "buildErrors": p.build_errors, "dataText": p.data.text, "dataLabel": p.data.label,
            "ok": p.ok}


def _json_script(data: Any) -> str:
    """JSON safe inside <script> (no '</script>' or '<!--' can end it early)."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")


def _page(title: str, body: str, *, body_class: str = "") -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f'<body class="{body_class}">{body}</body></html>')


def index_page(previews: list[Preview], links: Links, *, live: bool, title: str = "") -> str:
    """All templates, customer and internal side by side per family, subjects shown."""
    families: dict[str, dict[str, Preview]] = {}
    for p in previews:
        families.setdefault(family(p.name), {})[audience(p.name)] = p
    rows = []
    for fam in sorted(families):
        cells = "".join(_index_cell(families[fam].get(side), links)
                        for side in ("customer", "internal"))
        rows.append(f'<div class="fam"><h3>{escape(fam.replace("_", " "))}</h3>{cells}</div>')
    broken = sum(bool(p.build_errors) for p in previews)
    summary = f"{len(previews)} templates" + (f" · <b class='bad-text'>{broken} do not build</b>"
                                              if broken else "")
    body = (f'<header class="top"><h1>{escape(title or "bbws-mail preview")}</h1>'
            f'<span class="muted">{summary}</span>'
            + ('<span id="live" class="live">● live</span>' if live else
               '<span class="chip">static export</span>')
            + '</header><main class="index"><div class="cols"><div></div>'
              '<h2>Customer</h2><h2>Internal (operations)</h2></div>'
            + "".join(rows) + "</main>"
            + (f"<script>{INDEX_JS}</script>" if live else ""))
    return _page(title or "bbws-mail preview", body)


def _index_cell(p: Preview | None, links: Links) -> str:
    if p is None:
        return '<div class="cell empty">—</div>'
    chips = []
    if p.build_errors:
        chips.append(f'<span class="chip bad">{len(p.build_errors)} build error(s)</span>')
    if p.json_error or p.data_errors:
        chips.append(f'<span class="chip bad">{len(p.data_errors) or 1} data problem(s)</span>')
    if p.email is not None:
        pct = p.size / p.budget * 100
        level = "ok" if pct < 75 else "warn" if pct < 100 else "bad"
        chips.append(f'<span class="chip {level}">{p.size / 1024:.1f} KB</span>')
    c = p.checks
    if c.errors:
        chips.append(f'<span class="chip bad">{c.errors} check error(s)</span>')
    if c.warnings:
        chips.append(f'<span class="chip warn">{c.warnings} warning(s)</span>')
    if c.crashed:
        chips.append('<span class="chip warn">checks did not run</span>')
    elif p.email is not None and not (c.unavailable or c.errors or c.warnings):
        # accepted findings are a passing result, said with how many were accepted
        accepted = f" ({c.accepted} accepted)" if c.accepted else ""
        chips.append(f'<span class="chip ok">checks ok{accepted}</span>')
    subject = escape(p.email.subject) if p.email else '<i class="muted">no subject</i>'
    return (f'<div class="cell {audience(p.name)}"><a class="tpl-link" href="'
            f'{escape(links.page(p.name))}">{escape(p.name)}</a>'
            f'<div class="subject">{subject}</div><div class="chips">{"".join(chips)}</div></div>')


def template_page(p: Preview, links: Links, *, live: bool, dark: bool = False,
                  data_files: list[str] | None = None, send_to: str = "",
                  send_via: str = "") -> str:
    """One template: desktop and mobile frames, subject, text, size, checks, data."""
    name = escape(p.name)
    if live:
        options = "".join(
            f'<option value="{escape(f)}"{" selected" if f == p.data.file else ""}>'
            f"{escape(f)}</option>" for f in (data_files or []))
        data_ctl = f'<label>Data <select id="data-file">{options}</select></label>'
        send = (f'<form id="send-form" class="send"><input type="email" id="send-to" '
                f'placeholder="you@example.com" value="{escape(send_to)}" required>'
                f'<button type="submit" id="send-button">Send test</button>'
                f'<span id="send-status" class="muted">{escape(send_via)}</span></form>')
        editor = (f'<textarea id="data-editor" spellcheck="false">{escape(p.data.text)}</textarea>'
                  '<div class="row"><button type="button" id="data-apply">Apply (Ctrl+Enter)'
                  '</button><button type="button" id="data-reset">Reset to file</button>'
                  '<span class="muted">Edits re-render as you type; files stay untouched.</span>'
                  "</div>")
    else:
        data_ctl = f'<span class="muted">Data: <code>{escape(p.data.label)}</code></span>'
        send = ""
        editor = f'<pre class="data">{escape(p.data.text)}</pre>'
    initial = payload(p) | {"live": live, "dark": dark}
    body = f"""
<header class="top"><a class="back" href="{escape(links.index)}">← All templates</a>
<h1>{name}</h1><span class="chip {audience(p.name)}">{audience(p.name)}</span>
{'<span id="live" class="live">● live</span>' if live else '<span class="chip">static</span>'}
</header>
<section class="meta card" id="panel-meta">{meta_panel(p)}</section>
<div class="toolbar">{data_ctl}
<label class="switch"><input type="checkbox" id="dark"{" checked" if dark else ""}>
 Dark mode</label>
<a id="open-email" href="{escape(links.email(p.name))}" target="_blank">Open email ↗</a>
<a id="open-text" href="{escape(links.text(p.name))}" target="_blank">Text part ↗</a>
{send}</div>
<main class="stage">
<div id="panel-problems">{problems_panel(p)}</div>
<div class="frames" id="frames"{"" if p.email else " hidden"}>
<figure class="device desktop"><figcaption>Desktop · 800 px</figcaption>
<iframe id="frame-desktop" title="{name} on desktop" width="800"
 sandbox="{FRAME_SANDBOX}"></iframe></figure>
<figure class="device mobile"><figcaption>Mobile · 375 px</figcaption>
<iframe id="frame-mobile" title="{name} on mobile" width="375"
 sandbox="{FRAME_SANDBOX}"></iframe></figure>
</div>
</main>
<section class="lower">
<div class="card"><h2>Plain-text part</h2><pre id="panel-text">{text_panel(p)}</pre></div>
<div class="card"><h2>Data</h2>{editor}</div>
<div class="card checks"><h2>Checks</h2><div id="panel-checks">{checks_panel(p)}</div></div>
</section>
<div id="overlay"{"" if p.build_errors else " hidden"}>
<div id="panel-overlay">{overlay_panel(p)}</div></div>
<script type="application/json" id="initial">{_json_script(initial)}</script>
<script>{PAGE_JS}{PAGE_JS_LIVE if live else ""}}})();</script>"""
    return _page(f"{p.name} · bbws-mail preview", body, body_class="dark" if dark else "")


def error_page(title: str, message: str) -> str:
    return _page(title, f'<header class="top"><a class="back" href="/">← All templates</a>'
                        f"<h1>{escape(title)}</h1></header><main class='index'>"
                        f"<p>{escape(message)}</p></main>")


CSS = """
:root{--bg:#f4f4f7;--card:#fff;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--brand:#4c1d95;
--ok:#047857;--okbg:#d1fae5;--warn:#92400e;--warnbg:#fef3c7;--bad:#b91c1c;--badbg:#fee2e2}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Helvetica,Arial,"Liberation Sans","DejaVu Sans",sans-serif}
body.dark{--bg:#0b0f19}
body.dark .device figcaption,body.dark .toolbar{color:#cbd5e1}
body.dark .toolbar a{color:#c4b5fd}body.dark .toolbar .muted{color:#94a3b8}
a{color:var(--brand)}
code,pre,textarea{font-family:ui-monospace,"DejaVu Sans Mono","Liberation Mono",monospace;
font-size:12.5px}
.top{display:flex;align-items:center;gap:14px;padding:12px 24px;background:var(--brand);
color:#fff;position:sticky;top:0;z-index:5}
.top h1{font-size:18px;margin:0}.top a{color:#ede9fe;text-decoration:none}
.top .muted{color:#ddd6fe}
.live{margin-left:auto;font-size:12px;color:#a7f3d0}.live.off{color:#fecaca}
.chip{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;
background:#ede9fe;color:var(--brand);white-space:nowrap}
.chip.ok{background:var(--okbg);color:var(--ok)}.chip.warn{background:var(--warnbg);
color:var(--warn)}.chip.bad{background:var(--badbg);color:var(--bad)}
.chip.customer{background:#dbeafe;color:#1e40af}.chip.internal{background:#fde68a;color:#78350f}
.muted{color:var(--muted)}.bad-text{color:#fecaca}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 18px}
.card h2{font-size:13px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);
margin:0 0 10px}
.meta{margin:16px 24px 0}
.meta dl{display:grid;grid-template-columns:90px 1fr;gap:6px 14px;margin:0}
.meta dt{color:var(--muted)}.meta dd{margin:0}
.size{display:flex;align-items:center;gap:10px}
.size .bar{width:220px;height:8px;border-radius:4px;background:var(--line);overflow:hidden}
.size .bar span{display:block;height:100%;background:var(--ok)}
.size.warn .bar span{background:#d97706}.size.bad .bar span{background:var(--bad)}
.toolbar{display:flex;flex-wrap:wrap;align-items:center;gap:10px 18px;margin:12px 24px}
.toolbar select,.toolbar input[type=email]{font:inherit;padding:5px 8px;border:1px solid
var(--line);border-radius:6px;background:#fff}
button{font:inherit;padding:5px 12px;border-radius:6px;border:1px solid var(--brand);
background:var(--brand);color:#fff;cursor:pointer}
button[type=button]{background:#fff;color:var(--brand)}
.send{display:flex;gap:8px;align-items:center;margin-left:auto}
.send .ok{color:var(--ok)}.send .bad{color:var(--bad)}
.stage{padding:0 24px}
.frames{display:flex;gap:28px;align-items:flex-start;flex-wrap:wrap}
.device{margin:0}.device figcaption{font-size:12px;color:var(--muted);margin:0 0 6px}
.device iframe{display:block;border:1px solid var(--line);border-radius:8px;background:#fff;
height:900px;box-shadow:0 6px 24px rgba(15,23,42,.08)}
.device.mobile iframe{border-radius:22px;border:8px solid #111827}
.problems{background:var(--card);border:1px solid var(--bad);border-left-width:6px;
border-radius:10px;padding:14px 18px;margin-bottom:16px}
.problems h2{font-size:15px;margin:0 0 8px;color:var(--bad)}
.json-error{font-family:ui-monospace,monospace}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
.lower{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:16px;
margin:20px 24px 40px}
.lower>.card{min-width:0}.lower>.checks{grid-column:1/-1}
.lower pre{white-space:pre-wrap;margin:0;max-height:520px;overflow:auto}
td{overflow-wrap:anywhere}
textarea{width:100%;min-height:360px;border:1px solid var(--line);border-radius:6px;
padding:8px;resize:vertical}
.row{display:flex;gap:8px;align-items:center;margin-top:8px;flex-wrap:wrap}
#overlay{position:fixed;inset:0;background:rgba(17,24,39,.55);z-index:20;display:flex;
align-items:flex-start;justify-content:center;padding:8vh 24px}
#overlay[hidden]{display:none}
.overlay-box{background:#fff;border-top:6px solid var(--bad);border-radius:10px;
max-width:900px;width:100%;padding:18px 24px;box-shadow:0 20px 60px rgba(0,0,0,.35)}
.overlay-box h2{margin:0 0 10px;color:var(--bad);font-size:18px}
.overlay-box li{margin:6px 0}.overlay-box .loc{background:var(--badbg);color:var(--bad);
padding:1px 5px;border-radius:4px}
.index{padding:18px 24px;max-width:1200px}
.cols,.fam{display:grid;grid-template-columns:170px 1fr 1fr;gap:12px;align-items:stretch}
.cols h2{font-size:13px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:0}
.fam{margin-top:12px}.fam h3{margin:10px 0 0;font-size:14px;text-transform:capitalize}
.cell{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 14px}
.cell.customer{border-left:4px solid #3b82f6}.cell.internal{border-left:4px solid #f59e0b}
.cell.empty{color:var(--muted);text-align:center}
.tpl-link{font-weight:600;font-size:15px}
.subject{margin:4px 0 6px}.chips{display:flex;gap:6px;flex-wrap:wrap}
"""

INDEX_JS = """
(() => {
  const live = document.getElementById('live');
  let seen = null;
  const es = new EventSource('/events');
  es.onopen = () => { live.classList.remove('off'); live.textContent = '● live'; };
  es.onerror = () => { live.classList.add('off'); live.textContent = '● reconnecting'; };
  es.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (seen !== null && m.generation !== seen) location.reload();
    seen = m.generation;
  };
})();
"""

PAGE_JS = """
(() => {
  const $ = (id) => document.getElementById(id);
  const init = JSON.parse($('initial').textContent);
  const S = {name: init.name, generation: init.generation, dark: init.dark, email: init.email,
             edited: false, hiddenAt: null};
  const frames = [$('frame-desktop'), $('frame-mobile')];

  function fit(f) {
    try {
      const d = f.contentDocument;
      if (d && d.documentElement) {
        f.style.height = Math.max(300, d.documentElement.scrollHeight) + 'px';
      }
    } catch (e) { /* a file:// export may forbid access: keep the CSS height */ }
  }
  frames.forEach((f) => f.addEventListener('load', () => fit(f)));

  function showEmail() {
    document.body.classList.toggle('dark', S.dark);
    const html = S.email ? (S.dark ? S.email.dark : S.email.light) : null;
    $('frames').hidden = html === null;
    if (html !== null) frames.forEach((f) => { if (f.srcdoc !== html) f.srcdoc = html; });
    if (init.live && html !== null) {
      // a blob: document has the page's origin, so the email goes in a sandboxed frame
      const attr = html.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
      const doc = '<!doctype html><meta charset="utf-8"><style>html,body{margin:0;'
        + 'height:100%}iframe{display:block;border:0;width:100%;height:100%}</style>'
        + '<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="'
        + attr + '"></iframe>';
      const url = URL.createObjectURL(new Blob([doc], {type: 'text/html'}));
      const a = $('open-email'); if (a.dataset.blob) URL.revokeObjectURL(a.dataset.blob);
      a.dataset.blob = url; a.href = url;
    }
  }

  function showOverlay(errors) {
    $('overlay').hidden = !(errors && errors.length) || S.hiddenAt === S.generation;
    const b = $('overlay-hide');
    if (b) b.onclick = () => { S.hiddenAt = S.generation; $('overlay').hidden = true; };
  }

  $('dark').addEventListener('change', (e) => {
    S.dark = e.target.checked;
    const u = new URL(location.href);
    if (S.dark) u.searchParams.set('dark', '1'); else u.searchParams.delete('dark');
    history.replaceState(null, '', u);
    showEmail();
  });
  showEmail();
  showOverlay(init.buildErrors);
"""

# The live half: data editor, send form and the event stream (left out of an export).
PAGE_JS_LIVE = """

  const editor = $('data-editor'), select = $('data-file');
  let busy = false, again = false, timer = null;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const body = {file: select.value, text: S.edited ? editor.value : null};
      const r = await fetch('/api/preview/' + encodeURIComponent(S.name), {
        method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
      const j = await r.json();
      if (j.generation !== S.generation) S.hiddenAt = null;
      S.generation = j.generation;
      for (const [k, v] of Object.entries(j.panels)) {
        const el = $('panel-' + k); if (el) el.innerHTML = v;
      }
      if (!S.edited) editor.value = j.dataText;
      S.email = j.email;
      $('open-text').href = '/text/' + encodeURIComponent(S.name) + '.txt?data='
        + encodeURIComponent(select.value);
      showEmail();
      showOverlay(j.buildErrors);
      document.body.dataset.generation = S.generation;
    } catch (e) {
      $('live').classList.add('off'); $('live').textContent = '● server unreachable';
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }
  editor.addEventListener('input', () => {
    S.edited = true; clearTimeout(timer); timer = setTimeout(refresh, 300);
  });
  editor.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault(); clearTimeout(timer); refresh();
    }
  });
  $('data-apply').addEventListener('click', () => { S.edited = true; refresh(); });
  $('data-reset').addEventListener('click', () => { S.edited = false; refresh(); });
  select.addEventListener('change', () => {
    S.edited = false;
    const u = new URL(location.href); u.searchParams.set('data', select.value);
    history.replaceState(null, '', u);
    refresh();
  });

  const to = $('send-to');
  if (!to.value) to.value = localStorage.getItem('bbws-send-to') || '';
  $('send-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const status = $('send-status');
    status.className = 'muted'; status.textContent = 'Sending…';
    localStorage.setItem('bbws-send-to', to.value);
    try {
      const r = await fetch('/api/send/' + encodeURIComponent(S.name), {
        method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({to: to.value, file: select.value,
                              text: S.edited ? editor.value : null})});
      const j = await r.json();
      status.className = j.ok ? 'ok' : 'bad'; status.textContent = j.message;
    } catch (err) { status.className = 'bad'; status.textContent = 'send failed: ' + err; }
  });

  const live = $('live');
  const es = new EventSource('/events');
  es.onopen = () => { live.classList.remove('off'); live.textContent = '● live'; };
  es.onerror = () => { live.classList.add('off'); live.textContent = '● reconnecting'; };
  es.onmessage = (ev) => {
    const m = JSON.parse(ev.data); if (m.generation !== S.generation) refresh();
  };
  document.body.dataset.generation = S.generation;
"""
