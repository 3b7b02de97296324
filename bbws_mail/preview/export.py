"""``bbws-mail preview --export DIR``: the preview as static files.

For reviewers without a Python setup (attach to a ticket, publish as a CI
artifact): the same pages as the live server, with relative links and no live
reload, rendered with the example data. Layout, all flat so every link is a
plain file name::

    index.html              every template, customer and internal side by side
    NAME.html               the template page (frames, subject, text, size, checks)
    NAME.email.html         the email as rendered (what a client receives)
    NAME.txt                its plain-text part
    assets/                 the logo and other assets the emails reference
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from bbws_mail.config import Config
from bbws_mail.preview import pages
from bbws_mail.preview.workspace import Workspace, no_links

ASSETS = "assets"


@dataclass
class ExportReport:
    out_dir: Path
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # build/data errors, one line each


def links() -> pages.Links:
    """Relative links between exported files (they open from disk, no server)."""
    return pages.Links(index="index.html", page=lambda n: f"{n}.html",
                       email=lambda n: f"{n}.email.html", text=lambda n: f"{n}.txt")


def export(config: Config, out_dir: Path, *, data_dir: Path | None = None) -> ExportReport:
    """Write the static preview into ``out_dir``; templates that fail are pages with errors."""
    ws = Workspace(config, asset_base_url=ASSETS, data_dir=data_dir)
    ws.build_all()
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ExportReport(out_dir)

    def write(name: str, text: str) -> None:
        (out_dir / name).write_text(text, encoding="utf-8")
        report.files.append(name)

    previews = [ws.preview(name) for name in ws.names()]
    for p in previews:
        write(f"{p.name}.html", pages.template_page(p, links(), live=False))
        if p.email is not None:
            write(f"{p.name}.email.html", p.email.html)
            write(f"{p.name}.txt", p.email.text)
        report.problems += p.build_errors
        report.problems += [f"{p.name}: {p.data.label}: {d}" for d in p.data_errors]
        if p.json_error:
            report.problems.append(f"{p.name}: {p.data.label}: {p.json_error}")
    write("index.html", pages.index_page(previews, links(), live=False))
    assets = config.root / ASSETS
    if assets.is_dir():
        for path in sorted(assets.rglob("*")):
            if (path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts
                    and no_links(path, config.root)):
                target = out_dir / ASSETS / path.relative_to(assets)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        for p in previews:  # the emails name assets as the build does: logo.<sha16>.png
            shown = ws.state(p.name)
            for name, hashed in (shown.shown.assets if shown and shown.shown else {}).items():
                if no_links(assets / name, config.root):
                    shutil.copy2(assets / name, out_dir / ASSETS / hashed)
        report.files += sorted(f"{ASSETS}/{p.relative_to(out_dir / ASSETS).as_posix()}"
                               for p in (out_dir / ASSETS).rglob("*") if p.is_file())
    return report
