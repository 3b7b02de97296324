"""One preflight per environment: what ``bucket check --env E`` prints and every write obeys.

The union of everything an environment's guarantees rest on, as report sections:

1. the bucket's own preflight (publish/preflight.py: versioning, public access,
   encryption, lifecycle by effect, access logging, Object Lock), who its policy lets
   write, and its tags (warnings);
2. for an environment with a replica: the replication rules judged by effect and the
   replica bucket's own preflight and tags (publish/replication.py);
3. for an environment with ``ses_identity``: SES readiness in every sending region
   (publish/ses.py).

``publish`` and ``promote`` refuse on any REFUSE line and write nothing. ``rollback``,
``publish --repair`` and ``gc`` are incident response: they refuse on section 1 only and
record everything else as warnings in the history, so a rollback never waits on
eu-west-1 or SES. A refusal outside section 1 can be overridden on purpose
(``--override-preflight REASON``), which the history records; a refusal of the bucket
itself cannot: the layout's safety rests on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bbws_mail.config import Config
from bbws_mail.publish import preflight, replication, ses
from bbws_mail.publish.preflight import BucketReport

ClientFor = Callable[..., Any]  # (env, service="s3", region=None) -> boto3 client


@dataclass
class EnvReport:
    """An environment's preflight: ``bucket`` (section 1) and ``others`` (2 and 3)."""

    env: str
    bucket: BucketReport
    others: list[BucketReport] = field(default_factory=list)

    @property
    def sections(self) -> list[BucketReport]:
        return [self.bucket, *self.others]

    def refusals(self, *, bucket_only: bool = False) -> list[str]:
        """Each refusal with the section it is in and its fix."""
        sections = [self.bucket] if bucket_only else self.sections
        return [f"{s.bucket}: {f}" for s in sections for f in s.findings
                if f.verdict == "refuse"]

    def warnings(self, *, bucket_only: bool = False) -> list[str]:
        """Warnings; with ``bucket_only``, the other sections' refusals count as warnings."""
        out = [f"{s.bucket}: {f}" for s in self.sections for f in s.findings
               if f.verdict == "warn"]
        if bucket_only:
            out += [f"{s.bucket}: {f}" for s in self.others for f in s.findings
                    if f.verdict == "refuse"]
        return out

    @property
    def ok(self) -> bool:
        return not self.refusals()

    def lines(self) -> list[str]:
        """Every section, refusals first within each, each fix printed once."""
        shown: set[str] = set()
        return [line for section in self.sections for line in section.lines(shown)]


def check_environment(config: Config, client_for: ClientFor, env_name: str, *,
                      client: Any = None, bucket_only: bool = False) -> EnvReport:
    """The preflight of ``env_name`` (reads only). ``client``: the bucket's S3 client when
    the caller already has one. ``bucket_only``: section 1 alone (what a rollback waits
    for); the caller checks the rest afterwards with :func:`check_others`."""
    env = config.env(env_name)
    client = client if client is not None else client_for(env)
    primary = preflight.check_bucket(client, env.bucket, config)
    if _readable(primary):
        replication.check_bucket_policy(client, env, primary)
        preflight.check_tags(client, env.bucket, config.tags_for(env_name), primary)
    report = EnvReport(env_name, primary)
    if not bucket_only:
        report.others = check_others(config, client_for, env_name)
    return report


def _readable(report: BucketReport) -> bool:
    """False when the bucket's preflight stopped at its first read (missing, denied)."""
    return not any(f.message.startswith(preflight.UNREADABLE) for f in report.findings)


def check_others(config: Config, client_for: ClientFor, env_name: str) -> list[BucketReport]:
    """Sections 2 and 3: the replica and SES. Any failure to reach them is a finding."""
    env = config.env(env_name)
    out: list[BucketReport] = []
    if env.has_replica:
        try:
            sections = replication.check_replication(config, client_for, env_name)
        except Exception as exc:  # credentials or endpoint of the replica's region
            unreachable = preflight.Section(
                f"replication {env.bucket} -> {env.replica_bucket} ({env.replica_region})")
            unreachable.add("refuse", f"cannot check the replica ({type(exc).__name__})")
            sections = [unreachable]
        if len(sections) == 2 and _readable(sections[1]):
            preflight.check_tags(client_for(env, "s3", env.replica_region),
                                 env.replica_bucket, config.tags_for(env_name), sections[1])
        out += sections
    if env.ses_identity:
        out.append(ses.check_ses(env, client_for))
    return out


def check_others_within(config: Config, client_for: ClientFor, env_name: str,
                        seconds: float | None) -> list[BucketReport]:
    """:func:`check_others`, given at most ``seconds`` (None: as long as it takes).

    The check runs in a daemon thread, so an unanswered request neither holds the
    caller nor keeps the process alive; a check that does not finish in time is one
    refusing finding (a warning for the incident commands that use this)."""
    env = config.env(env_name)
    if not env.has_replica and not env.ses_identity:
        return []
    done: list[list[BucketReport]] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(check_others(config, client_for, env_name))
        except Exception as exc:  # credentials or endpoints of another region or service
            failed.append(exc)

    worker = threading.Thread(target=run, name=f"bbws-preflight-{env_name}", daemon=True)
    worker.start()
    worker.join(seconds)
    if done:
        return done[0]
    section = preflight.Section("replica and SES")
    if failed:
        section.add("refuse", f"cannot be checked ({type(failed[0]).__name__})")
    else:
        section.add("refuse", f"not checked: no answer within {seconds:g} s (eu-west-1 or "
                    "SES unreachable?); not waited for")
    return [section]
