"""``bbws-mail preview`` (live server or ``--export DIR``) and ``bbws-mail send``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _eprint(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def add_subcommands(sub: Any) -> None:
    """Register ``preview`` and ``send`` on the main CLI (called by bbws_mail.cli)."""
    p = sub.add_parser("preview", help="designer preview with live reload (or --export DIR)",
                       description="Serve every template live: desktop and mobile frames, dark "
                                   "mode, text part, data editor, checks and test sends.")
    p.add_argument("--root", help="project root (default: found from the current folder)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8025, help="port (default 8025; 0 = any free)")
    p.add_argument("--open", action="store_true", help="open the index in a browser")
    p.add_argument("--export", metavar="DIR", help="write static pages to DIR instead of serving")
    p.add_argument("--data-dir", help="extra data files (default: preview-data/ in the root)")
    p.add_argument("--to", default="", help="recipient pre-filled in the pages' send form "
                                            "(default $BBWS_SEND_TO)")
    add_send_arguments(p)
    p.set_defaults(func=cmd_preview)

    s = sub.add_parser("send", help="send a template rendered with data as a test email",
                       description="Build NAME from templates_src/, render it with its example "
                                   "(or --data) and send it as multipart/alternative.")
    s.add_argument("name", help="template name, e.g. receipt")
    s.add_argument("--to", required=True, action="append",
                   help="recipient address (repeatable)")
    s.add_argument("--data", help="JSON data file (default schemas/examples/NAME.json)")
    s.add_argument("--root", help="project root (default: found from the current folder)")
    add_send_arguments(s)
    s.set_defaults(func=cmd_send)


def add_send_arguments(p: Any) -> None:
    """Transport options shared by ``send`` and ``preview`` (its send button)."""
    g = p.add_argument_group("test sends (defaults from BBWS_SMTP_HOST, BBWS_SMTP_PORT, "
                             "BBWS_SMTP_USER, BBWS_SMTP_PASSWORD, BBWS_SMTP_STARTTLS, "
                             "BBWS_SEND_TRANSPORT, BBWS_SES_REGION, BBWS_MAIL_FROM)")
    g.add_argument("--smtp-host", help="SMTP server (default localhost)")
    g.add_argument("--smtp-port", type=int, help="SMTP port (default 1025, a local catcher)")
    g.add_argument("--smtp-user", help="SMTP login user (no login when empty)")
    g.add_argument("--smtp-password-env", default="BBWS_SMTP_PASSWORD", metavar="VAR",
                   help="environment variable holding the SMTP password "
                        "(default BBWS_SMTP_PASSWORD; never pass a password as an option)")
    g.add_argument("--starttls", action="store_true", default=None,
                   help="upgrade the SMTP connection with STARTTLS")
    g.add_argument("--ses", action="store_true", help="send through Amazon SES (sesv2) instead")
    g.add_argument("--region", help="SES region (default BBWS_SES_REGION or AWS_REGION)")
    g.add_argument("--from", dest="sender", help="From address")
    g.add_argument("--env", default="dev",
                   help="environment whose asset URL the sent email uses (default dev)")


def send_settings(args: argparse.Namespace) -> Any:
    from bbws_mail.preview.send import SendSettings

    return SendSettings.from_env(
        password_env=args.smtp_password_env,
        transport="ses" if args.ses else None,
        smtp_host=args.smtp_host, smtp_port=args.smtp_port, smtp_user=args.smtp_user,
        starttls=args.starttls, region=args.region, sender=args.sender)


def cmd_preview(args: argparse.Namespace) -> int:
    import os

    from bbws_mail import config as config_mod
    from bbws_mail.send import SendError

    try:
        cfg = config_mod.load(Path(args.root) if args.root else None)
    except ValueError as exc:
        _eprint(f"error: {exc}")
        return 2
    data_dir = Path(args.data_dir).resolve() if args.data_dir else None
    if args.export:
        from bbws_mail.preview.export import export

        report = export(cfg, Path(args.export), data_dir=data_dir)
        for problem in report.problems:
            _eprint(f"error: {problem}")
        _eprint(f"wrote {len(report.files)} files to {report.out_dir} "
                f"(open {report.out_dir / 'index.html'})")
        return 1 if report.problems else 0

    from bbws_mail.preview.server import PreviewServer

    try:
        settings = send_settings(args)
    except SendError as exc:
        _eprint(f"error: {exc}")
        return 2
    try:
        server = PreviewServer(cfg, host=args.host, port=args.port, send=settings,
                               send_env=args.env, data_dir=data_dir,
                               send_to=args.to or os.environ.get("BBWS_SEND_TO", ""))
    except OSError as exc:
        _eprint(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
                " (another preview running? try --port 0 or another port)")
        return 2
    warning = exposure_warning(args.host)
    if warning:
        _eprint(warning)
    ws = server.workspace
    broken = {n: s.errors for n, s in ws.templates.items() if s.errors}
    for errors in broken.values():
        for e in errors:
            _eprint(f"error: {e}")
    _eprint(f"bbws-mail preview: {len(ws.templates)} templates "
            f"({len(broken)} not building) at {server.url}/")
    _eprint(f"  watching {cfg.templates_dir.name}/, {cfg.schemas_dir.name}/ and "
            f"{ws.data_dir.name}/; test sends via {settings.describe()}; Ctrl+C stops")
    ws.listeners.append(_report_change(ws))
    if args.open:
        import webbrowser

        webbrowser.open(server.url + "/")
    server.serve_forever()
    return 0


def exposure_warning(host: str) -> str:
    """A warning for a listening address other machines can reach, else "".

    The preview has no login: it trusts its own address, so whoever reaches it can read
    the templates and data and send test mail with the designer's SMTP or SES settings.
    """
    import ipaddress

    if host == "localhost":
        return ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return ""
    except ValueError:
        pass  # a host name: it may resolve to anything
    return (f"warning: listening on {host}: anyone who can reach it can use this preview, "
            "including its test sends with your mail settings (there is no login); "
            "leave --host at 127.0.0.1 unless that is what you want")


def _report_change(ws: Any) -> Any:
    """A listener printing each rebuild and its errors to the terminal."""
    def listener(event: dict[str, Any]) -> None:
        rebuilt = event.get("rebuilt") or []
        if not rebuilt and not event.get("files"):
            return
        for name in rebuilt:
            state = ws.state(name)
            for e in state.errors if state else []:
                _eprint(f"error: {e}")
        what = ", ".join(rebuilt) if rebuilt else "data/assets only"
        _eprint(f"changed {', '.join(event.get('files') or []) or '-'}: rebuilt {what}")
    return listener


def cmd_send(args: argparse.Namespace) -> int:
    """Build one template from the sources, render it, send it; 1 on any failure."""
    from bbws_mail import config as config_mod
    from bbws_mail.errors import BBWSMailError, BuildError, TemplateDataError
    from bbws_mail.preview.send import send_email
    from bbws_mail.preview.workspace import Workspace, parse_data
    from bbws_mail.send import SendError

    try:
        cfg = config_mod.load(Path(args.root) if args.root else None)
        asset_base_url = cfg.env(args.env).asset_base_url
        settings = send_settings(args)
    except (ValueError, SendError) as exc:
        _eprint(f"error: {exc}")
        return 2
    source = cfg.templates_dir / f"{args.name}.mjml"
    if not source.is_file():
        from bbws_mail.pipeline import discover

        known = ", ".join(p.stem for p in discover(cfg.templates_dir))
        _eprint(f"error: unknown template {args.name!r}; known templates: {known}")
        return 2
    data_path = Path(args.data) if args.data else cfg.schemas_dir / "examples" / f"{args.name}.json"
    try:
        text = data_path.read_bytes().decode("utf-8")
    except OSError as exc:
        _eprint(f"error: cannot read {data_path}: {exc.strerror or exc}")
        return 2
    except UnicodeDecodeError as exc:
        _eprint(f"error: {data_path}: not UTF-8 (byte {exc.start + 1}); save it as UTF-8")
        return 2
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        _eprint(f"error: {data_path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}")
        return 2
    except (ValueError, RecursionError):  # JSON by syntax that json still refuses
        _eprint(f"error: {data_path}: {parse_data(text)[1]}")
        return 2
    ws = Workspace(cfg, asset_base_url=asset_base_url)
    from bbws_mail.preview.workspace import TemplateState

    ws.templates[args.name] = TemplateState(args.name, source)
    ws.rebuild([args.name])
    try:
        email = ws.render(args.name, data)
        message = send_email(email, args.to, settings)
    except BuildError as exc:
        for e in exc.errors:
            _eprint(f"error: {e}")
        _eprint(f"not sent: {args.name} does not build")
        return 1
    except TemplateDataError as exc:
        for p in exc.problems:
            _eprint(f"error: {data_path}: {p}")
        _eprint(f"not sent: the data does not match {args.name}'s schema")
        return 1
    except BBWSMailError as exc:
        _eprint(f"error: {exc}")
        return 1
    print(f"{args.name}: {email.subject!r} {message}")
    return 0
