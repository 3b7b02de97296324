"""``bbws-mail publish|promote|rollback|history|status|gc|bucket check``.

The bucket always comes from ``--env`` and ``bbws-mail.toml``; there is no flag to
name another one. Every command that writes goes through :func:`_approval`, and the
Publisher checks it again before each write, so an environment that requires
approval (prod) is never changed without ``--confirm-prod`` or a typed confirmation.
Each environment is reached with its own credentials (``credentials.client_for``): promote
reads the source as the source and writes the target as the target, status and bucket
check act in each environment's account (and its replica's region).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bbws_mail.config import ENVIRONMENTS


def _eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def add_subcommands(sub: Any) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--root", help="project root (default: found from the current folder)")

    def writes(p: argparse.ArgumentParser) -> None:
        p.add_argument("--confirm-prod", action="store_true",
                       help="approve a change to an environment that requires approval (prod)")
        p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")

    def override(p: argparse.ArgumentParser) -> None:
        p.add_argument("--override-preflight", metavar="REASON",
                       type=_reason, help="write although the replica or SES checks refuse "
                       "(never the bucket's own); REASON is recorded in history")

    def breaking(p: argparse.ArgumentParser) -> None:
        p.add_argument("--allow-breaking", action="append", default=[], metavar="TEMPLATE",
                       help="accept a schema change of TEMPLATE that rejects data the live "
                            "build accepts (reviewed; recorded in the manifest and history)")

    p = sub.add_parser("publish", help="upload build/ to an environment's bucket")
    p.add_argument("--env", required=True, choices=ENVIRONMENTS)
    p.add_argument("--build-dir", help="publish this folder instead of build/")
    p.add_argument("--repair", action="store_true",
                   help="re-point a corrupt or incomplete manifest.json to the newest complete "
                        "build in the bucket's history (uploads nothing)")
    writes(p)
    breaking(p)
    override(p)
    common(p)
    p.set_defaults(func=run_publish)

    p = sub.add_parser("promote", help="copy the live bytes of one environment to the next")
    p.add_argument("--from", dest="source", required=True, choices=ENVIRONMENTS)
    p.add_argument("--to", dest="target", required=True, choices=ENVIRONMENTS)
    p.add_argument("--accept-unmatched-source", metavar="REASON", type=_reason,
                   help="promote to an environment that requires approval a build whose "
                        "sources differ from its commit; REASON is recorded in history")
    writes(p)
    breaking(p)
    override(p)
    common(p)
    p.set_defaults(func=run_promote)

    p = sub.add_parser("rollback", help="re-point an environment to an earlier build")
    p.add_argument("--env", required=True, choices=ENVIRONMENTS)
    p.add_argument("--to", help="build version or build SHA-256 prefix (default: the previous)")
    writes(p)
    breaking(p)
    common(p)
    p.set_defaults(func=run_rollback)

    p = sub.add_parser("gc", help="collect objects no kept build references (also run after "
                                  "each publish)")
    p.add_argument("--env", required=True, choices=ENVIRONMENTS)
    writes(p)
    common(p)
    p.set_defaults(func=run_gc)

    p = sub.add_parser("history", help="pointer changes of an environment, newest first")
    p.add_argument("--env", required=True, choices=ENVIRONMENTS)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    common(p)
    p.set_defaults(func=run_history)

    p = sub.add_parser("status", help="what is live in each environment (and its replica)")
    p.add_argument("--env", action="append", choices=ENVIRONMENTS)
    p.add_argument("--json", action="store_true")
    common(p)
    p.set_defaults(func=run_status)

    p = sub.add_parser("bucket", help="bucket administration")
    bucket_sub = p.add_subparsers(dest="bucket_command", required=True)
    q = bucket_sub.add_parser("check", help="the environment's preflight, as every write "
                                            "obeys it: versioning, public access, encryption, "
                                            "lifecycle by effect, access logging, Object Lock, "
                                            "policy writers, tags; with a replica: replication "
                                            "rules and the replica bucket; with ses_identity: "
                                            "SES readiness in each sending region")
    q.add_argument("--env", required=True, choices=ENVIRONMENTS)
    common(q)
    q.set_defaults(func=run_bucket_check)


def _reason(text: str) -> str:
    """An operator's reason, as history records it: one short printable line."""
    text = text.strip()
    if not text or len(text) > 200 or not text.isprintable():
        raise argparse.ArgumentTypeError("a reason is 1-200 printable characters on one line")
    return text


def _config(args: argparse.Namespace) -> Any:
    from bbws_mail import config

    return config.load(Path(args.root) if args.root else None)


def _guard(fn: Any) -> Any:
    def wrapper(args: argparse.Namespace) -> int:
        from bbws_mail.errors import BBWSMailError, ConfigError

        try:
            return int(fn(args))
        except ConfigError as exc:  # the project's settings, as every command reports them
            _eprint(f"error: {exc}")
            return 2
        except BBWSMailError as exc:
            _eprint(f"error: {exc}")
            return 1
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _approval(args: argparse.Namespace, env: str, cfg: Any) -> bool:
    """Approval for a write to ``env``: not needed, given by flag, or typed at a terminal."""
    if not cfg.env(env).requires_approval or args.confirm_prod or args.dry_run:
        return True
    if sys.stdin.isatty():
        answer = input(f"This changes {env}. Type '{env}' to confirm: ")
        if answer.strip() == env:
            return True
    _eprint(f"error: {env} needs explicit approval: pass --confirm-prod "
            "(refusing a non-interactive or unconfirmed run; nothing was written)")
    return False


@_guard
def run_publish(args: argparse.Namespace) -> int:
    from bbws_mail.publish.publisher import Publisher

    cfg = _config(args)
    if cfg.env(args.env).requires_approval and not args.repair:
        _eprint(f"error: publish straight to {args.env} is not allowed: publish to dev and "
                f"promote (bbws-mail promote --from sit --to {args.env} --confirm-prod)")
        return 1
    if not _approval(args, args.env, cfg):
        return 1
    pub = Publisher(cfg, args.env, approved=True)
    if args.repair:
        pub.preflight(incident=True)
        pub.repair(dry_run=args.dry_run)
        return 0
    build_dir = Path(args.build_dir) if args.build_dir else cfg.build_dir
    from bbws_mail.pipeline import verify_fresh

    problems = verify_fresh(cfg, build_dir)
    if problems:
        for problem in problems:
            _eprint(f"error: {problem}")
        _eprint("refusing to publish a build that does not match its sources")
        return 1
    pub.publish(build_dir, dry_run=args.dry_run, allow_breaking=args.allow_breaking,
                override=args.override_preflight or "")
    return 0


@_guard
def run_promote(args: argparse.Namespace) -> int:
    from bbws_mail.publish.publisher import promote

    cfg = _config(args)
    order = list(ENVIRONMENTS)
    if order.index(args.target) != order.index(args.source) + 1:
        _eprint(f"error: promote goes one step at a time: {' -> '.join(order)}")
        return 2
    if not _approval(args, args.target, cfg):
        return 1
    promote(cfg, args.source, args.target, approved=True, dry_run=args.dry_run,
            allow_breaking=args.allow_breaking, override=args.override_preflight or "",
            accept_unmatched=args.accept_unmatched_source or "")
    return 0


@_guard
def run_rollback(args: argparse.Namespace) -> int:
    from bbws_mail.publish.publisher import Publisher

    cfg = _config(args)
    if not _approval(args, args.env, cfg):
        return 1
    Publisher(cfg, args.env, approved=True).rollback(args.to, dry_run=args.dry_run,
                                                     allow_breaking=args.allow_breaking)
    return 0


@_guard
def run_gc(args: argparse.Namespace) -> int:
    from bbws_mail.publish.publisher import Publisher

    cfg = _config(args)
    if not _approval(args, args.env, cfg):
        return 1
    pub = Publisher(cfg, args.env, approved=True)
    pub.preflight(incident=True)
    doomed = pub.collect(dry_run=args.dry_run)
    if not doomed:
        print(f"{args.env}: nothing to collect")
    return 0


@_guard
def run_history(args: argparse.Namespace) -> int:
    from bbws_mail.publish.provenance import describe
    from bbws_mail.publish.publisher import Publisher

    entries = Publisher(_config(args), args.env).history(args.limit)
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    for e in entries:
        mark = "*" if e["isLive"] else " "
        checks = e.get("preflight") or {}
        extra = ""
        if checks.get("override"):
            extra += f" (preflight overridden: {checks['override'].get('reason', '')})"
        if checks.get("warnings"):
            extra += f" ({len(checks['warnings'])} preflight warning(s); --json lists them)"
        if e.get("promotedFrom"):
            extra += f" (promoted from {e['promotedFrom']})"
        if e.get("allowBreaking"):
            extra += f" (breaking change allowed: {', '.join(e['allowBreaking'])})"
        if e.get("legacy"):
            extra += " (format 1, not offered by rollback)"
        print(f"{mark} {e['publishedAt']}  {e['action']:<8} build {e['buildVersion']}  commit "
              f"{(e['gitCommit'] or '')[:12]} ({describe(e.get('provenance'))})  by "
              f"{e['publishedBy']}{extra}")
    if not entries:
        print("nothing published yet")
    return 0


@_guard
def run_status(args: argparse.Namespace) -> int:
    from bbws_mail.publish import replication
    from bbws_mail.publish.credentials import client_for
    from bbws_mail.publish.provenance import describe
    from bbws_mail.publish.publisher import Publisher

    cfg = _config(args)
    names = args.env or list(ENVIRONMENTS)
    sides = {name: replication.replica_status(cfg, client_for, name)
             for name in names if cfg.env(name).has_replica}
    if args.json:
        rows = [Publisher(cfg, name).status() for name in names]
        for row in rows:
            if row["env"] in sides:
                side = sides[row["env"]]
                row.update({k: side[k] for k in ("replica", "inSync", "lagSeconds")})
        print(json.dumps(rows, indent=2))
        return 1 if any(_failed(row) for row in rows) else 0
    failed = False
    for name in names:
        if name in sides:
            print("\n".join(replication.status_lines(sides[name])))
            failed |= _failed(sides[name])
            continue
        row = Publisher(cfg, name).status()
        failed |= _failed(row)
        if row.get("error"):
            print(f"{row['env']:<5} {row['bucket']}: error: {row['error']}")
        elif not row.get("buildVersion"):
            print(f"{row['env']:<5} {row['bucket']}: nothing published")
        else:
            print(f"{row['env']:<5} {row['bucket']}: build {row['buildVersion']} "
                  f"({row['templates']} templates, {row['action']}) published "
                  f"{row['publishedAt']} by {row['publishedBy']}, commit "
                  f"{(row['gitCommit'] or '')[:12]} ({describe(row.get('provenance'))})")
    return 1 if failed else 0


def _failed(row: dict[str, Any]) -> bool:
    """A status row (or a primary/replica pair) with a side that could not be read."""
    return bool(row.get("error") or (row.get("primary") or {}).get("error")
                or (row.get("replica") or {}).get("error"))


@_guard
def run_bucket_check(args: argparse.Namespace) -> int:
    from bbws_mail.publish import envcheck
    from bbws_mail.publish.credentials import client_for

    report = envcheck.check_environment(_config(args), client_for, args.env)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1
