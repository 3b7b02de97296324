"""``bbws-mail publish|promote|rollback|history|status|bucket check``."""

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
        p.add_argument("--bucket", help="override the bucket name from bbws-mail.toml")

    p = sub.add_parser("publish", help="upload build/ to an environment's bucket")
    p.add_argument("--env", required=True, choices=ENVIRONMENTS)
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    p.add_argument("--build-dir", help="publish this folder instead of build/")
    p.add_argument("--skip-fresh-check", action="store_true",
                   help="do not rebuild to prove build/ is fresh (tests only)")
    common(p)
    p.set_defaults(func=run_publish)

    p = sub.add_parser("promote", help="copy the live bytes of one environment to the next")
    p.add_argument("--from", dest="source", required=True, choices=ENVIRONMENTS)
    p.add_argument("--to", dest="target", required=True, choices=ENVIRONMENTS)
    p.add_argument("--confirm-prod", action="store_true", help="approve a change to prod")
    p.add_argument("--dry-run", action="store_true")
    common(p)
    p.set_defaults(func=run_promote)

    p = sub.add_parser("rollback", help="re-point an environment to an earlier published version")
    p.add_argument("--env", required=True, choices=ENVIRONMENTS)
    p.add_argument("--to", help="build version or manifest VersionId (default: the previous)")
    p.add_argument("--confirm-prod", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    common(p)
    p.set_defaults(func=run_rollback)

    p = sub.add_parser("history", help="published versions of an environment, newest first")
    p.add_argument("--env", required=True, choices=ENVIRONMENTS)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    common(p)
    p.set_defaults(func=run_history)

    p = sub.add_parser("status", help="what is live in each environment")
    p.add_argument("--env", action="append", choices=ENVIRONMENTS)
    p.add_argument("--json", action="store_true")
    common(p)
    p.set_defaults(func=run_status)

    p = sub.add_parser("bucket", help="bucket administration")
    bucket_sub = p.add_subparsers(dest="bucket_command", required=True)
    q = bucket_sub.add_parser("check", help="versioning, encryption, public access, lifecycle")
    q.add_argument("--env", required=True, choices=ENVIRONMENTS)
    common(q)
    q.set_defaults(func=run_bucket_check)


def _config(args: argparse.Namespace) -> Any:
    from bbws_mail import config

    return config.load(Path(args.root) if args.root else None)


def _guard(fn: Any) -> Any:
    def wrapper(args: argparse.Namespace) -> int:
        from bbws_mail.errors import BBWSMailError

        try:
            return int(fn(args))
        except BBWSMailError as exc:
            _eprint(f"error: {exc}")
            return 1
    return wrapper


def _approved(args: argparse.Namespace, env: str, cfg: Any) -> bool:
    if not cfg.env(env).requires_approval or args.confirm_prod or args.dry_run:
        return True
    if sys.stdin.isatty():
        answer = input(f"This changes {env}. Type '{env}' to confirm: ")
        return answer.strip() == env
    _eprint(f"error: {env} needs explicit approval: pass --confirm-prod "
            "(refusing a non-interactive run without it)")
    return False


@_guard
def run_publish(args: argparse.Namespace) -> int:
    from bbws_mail.publish.publisher import Publisher

    cfg = _config(args)
    if cfg.env(args.env).requires_approval and not args.dry_run:
        _eprint(f"error: publish straight to {args.env} is not allowed: publish to dev and "
                f"promote (bbws-mail promote --from sit --to {args.env} --confirm-prod)")
        return 1
    build_dir = Path(args.build_dir) if args.build_dir else cfg.build_dir
    if not args.skip_fresh_check:
        from bbws_mail.pipeline import verify_fresh

        problems = verify_fresh(cfg, build_dir)
        if problems:
            for problem in problems:
                _eprint(f"error: {problem}")
            _eprint("refusing to publish a build that does not match its sources")
            return 1
    Publisher(cfg, args.env, bucket=args.bucket).publish(build_dir, dry_run=args.dry_run)
    return 0


@_guard
def run_promote(args: argparse.Namespace) -> int:
    from bbws_mail.publish.publisher import promote

    cfg = _config(args)
    order = list(ENVIRONMENTS)
    if order.index(args.target) != order.index(args.source) + 1:
        _eprint(f"error: promote goes one step at a time: {' -> '.join(order)}")
        return 2
    if not _approved(args, args.target, cfg):
        return 1
    promote(cfg, args.source, args.target, confirm_prod=True, dry_run=args.dry_run)
    return 0


@_guard
def run_rollback(args: argparse.Namespace) -> int:
    from bbws_mail.publish.publisher import Publisher

    cfg = _config(args)
    if not _approved(args, args.env, cfg):
        return 1
    Publisher(cfg, args.env, bucket=args.bucket).rollback(args.to, dry_run=args.dry_run)
    return 0


@_guard
def run_history(args: argparse.Namespace) -> int:
    from bbws_mail.publish.publisher import Publisher

    entries = Publisher(_config(args), args.env, bucket=args.bucket).history(args.limit)
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    for e in entries:
        mark = "*" if e["isLatest"] else " "
        extra = f" (rollback from {e['rolledBackFrom']})" if e.get("rolledBackFrom") else ""
        extra += f" (promoted from {e['promotedFrom']})" if e.get("promotedFrom") else ""
        print(f"{mark} {e['publishedAt']}  build {e['buildVersion']}  commit "
              f"{(e['gitCommit'] or '')[:12]}  by {e['publishedBy']}  "
              f"[{e['versionId']}]{extra}")
    if not entries:
        print("nothing published yet")
    return 0


@_guard
def run_status(args: argparse.Namespace) -> int:
    from bbws_mail.publish.publisher import Publisher

    cfg = _config(args)
    rows = [Publisher(cfg, env, bucket=args.bucket).status() for env in args.env or ENVIRONMENTS]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        if row.get("error"):
            print(f"{row['env']:<5} {row['bucket']}: {row['error']}")
        elif not row.get("buildVersion"):
            print(f"{row['env']:<5} {row['bucket']}: nothing published")
        else:
            print(f"{row['env']:<5} {row['bucket']}: build {row['buildVersion']} "
                  f"({row['templates']} templates) published {row['publishedAt']} by "
                  f"{row['publishedBy']}, commit {(row['gitCommit'] or '')[:12]}")
    return 0


@_guard
def run_bucket_check(args: argparse.Namespace) -> int:
    from bbws_mail.publish.client import make_client
    from bbws_mail.publish.preflight import check_bucket

    cfg = _config(args)
    env = cfg.env(args.env)
    report = check_bucket(make_client(region=env.region), args.bucket or env.bucket)
    print("\n".join(report.lines()))
    return 1 if report.errors else 0
