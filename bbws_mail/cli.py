"""``bbws-mail``: a thin command line over the library modules."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bbws_mail.layout import CATEGORIES


def _eprint(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def cmd_build(args: argparse.Namespace) -> int:
    from bbws_mail import config as config_mod
    from bbws_mail.errors import BuildError
    from bbws_mail.pipeline import build

    cfg = config_mod.load(Path(args.root) if args.root else None)
    out = Path(args.out) if args.out else None
    start = time.perf_counter()
    try:
        report = build(cfg, out, progress=None if args.quiet else _eprint)
    except BuildError as exc:
        # a problem in a partial or in bbws-mail.toml repeats in every template: print it once
        seen: dict[str, int] = {}
        for e in exc.errors:
            seen[str(e)] = seen.get(str(e), 0) + 1
        for line, times in seen.items():
            _eprint(f"error: {line}" + (f"  (in {times} templates)" if times > 1 else ""))
        _eprint(f"build failed: {len(seen)} error(s); {out or cfg.build_dir} left unchanged")
        return 1
    elapsed = (time.perf_counter() - start) * 1000
    changed = ", ".join(report.changed) if report.changed else "nothing changed"
    _eprint(f"built {len(report.templates)} templates into {report.out_dir} "
            f"in {elapsed:.0f} ms ({changed})")
    if args.timings:
        for stage, seconds in report.timings.items():
            _eprint(f"  {stage:<13} {seconds * 1000:8.2f} ms CPU")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from bbws_mail import config as config_mod
    from bbws_mail.pipeline.scaffold import ScaffoldError, scaffold

    cfg = config_mod.load(Path(args.root) if args.root else None)
    try:
        written = scaffold(cfg, args.name, args.category)
    except ScaffoldError as exc:
        _eprint(f"error: {exc}")
        return 2
    for path in written:
        print(f"wrote {path.relative_to(cfg.root)}")
    print(f"next: edit templates_src/{args.name}.mjml, then `nox -s build`, `bbws-mail check "
          f"--only {args.name}` and `nox -s visual -- --update --only {args.name}`")
    return 0


def _render_source(kind: str | None) -> Any:
    """The source a render from the command line reads. S3 (``--source s3`` or
    ``BBWS_TEMPLATE_SOURCE=s3``) never falls back to the packaged build: a person
    checking a bucket must see that it cannot be read."""
    from bbws_mail.render import configured_source_kind, default_source

    if kind is None and configured_source_kind() == "s3":
        kind = "s3"
    if kind == "s3":
        from bbws_mail.s3source import S3Source

        return S3Source(fallback=False)
    if kind == "packaged":
        from bbws_mail.sources import PackagedSource

        return PackagedSource()
    return default_source()


def cmd_render(args: argparse.Namespace) -> int:
    from bbws_mail import render
    from bbws_mail.errors import BBWSMailError

    try:
        data = json.loads(Path(args.data).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _eprint(f"error: cannot read {args.data}: {exc}")
        return 2
    try:
        source = _render_source(args.source)
        email = render(args.name, data, source=source)
        origin = source.snapshot().origin
    except BBWSMailError as exc:
        _eprint(f"error: {exc}")
        return 1
    if args.html_out:
        out = Path(args.html_out)
    else:  # beside the visual report, in the project's git-ignored reports/ folder
        from bbws_mail.config import Config, find_root

        # the name is a valid template name (render checked it): no path can come of it
        out = Config(find_root()).reports_dir / "render" / f"{args.name}.html"
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(email.html, encoding="utf-8")
    print(f"Subject: {email.subject}")
    print(f"Build:   {email.build_version}")
    print(f"From:    {origin}")
    print(f"HTML:    {out} ({len(email.html.encode())} bytes)")
    print()
    print(email.text, end="")
    if args.open:
        import webbrowser

        webbrowser.open(out.resolve().as_uri())
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bbws-mail", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="compile templates_src/ into build/")
    p.add_argument("--root", help="project root (default: found from the current folder)")
    p.add_argument("--out", help="output folder (default: build/)")
    p.add_argument("--timings", action="store_true", help="print CPU time per stage")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("new", help="scaffold a template: source, schema, example, category")
    p.add_argument("name", help="template name, e.g. password_reset")
    p.add_argument("--category", required=True, choices=CATEGORIES,
                   help="the S3 category it is published under")
    p.add_argument("--root", help="project root (default: found from the current folder)")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("render", help="render a template with data from a JSON file")
    p.add_argument("name")
    p.add_argument("data", help="JSON file with the template's data")
    p.add_argument("--html-out", help="where to write the HTML (default reports/render/NAME.html "
                   "in the project, a git-ignored folder)")
    p.add_argument("--source", choices=["packaged", "s3"], default=None)
    p.add_argument("--open", action="store_true", help="open the HTML in a browser")
    p.set_defaults(func=cmd_render)

    # Optional tool packages register their own subcommands (each needs its extra).
    import importlib

    for tool in ("check", "publish", "visual", "preview"):
        try:
            module = importlib.import_module(f"bbws_mail.{tool}.cli")
        except ImportError:
            continue
        module.add_subcommands(sub)
    return parser


# the top-level module a command may miss -> the extra that installs it
EXTRAS = {
    "mjml": "build", "css_inline": "build", "html5lib": "build", "selectolax": "build",
    "webcolors": "build", "boto3": "publish", "botocore": "publish", "playwright": "visual",
    "PIL": "visual", "numpy": "visual", "aiosmtpd": "preview",
}


def main(argv: list[str] | None = None) -> int:
    from bbws_mail.errors import ConfigError

    args = make_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:  # every command reads bbws-mail.toml first
        _eprint(f"error: {exc}")
        return 2
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        _eprint(f"error: `bbws-mail {args.command}` needs the {extra!r} extra, which is not "
                f"installed (missing module {exc.name!r}):\n  pip install 'bbws-mail[{extra}]'")
        return 2


if __name__ == "__main__":
    sys.exit(main())
