"""Every ``$ bbws-mail ...`` command the runbooks in docs/runbooks/ show, run for real.

The runbooks are read in their order (setup, deploy, promote, troubleshoot, rollback) as
one story in one sandbox: a temporary copy of the project in a git repository, the
environments in their own local "accounts" on a moto server (tests/s3/accounts.py) with
cross-account access off, the base keys as the default AWS profile and a profile per
account (``bbws-<env>``, assuming that account's role). dev's and sit's buckets exist;
prod's account is empty until setup.md sets it up (bucket, replica, SES), so a command
run there with the wrong profile leaves prod's bucket missing and the preflight fails.
Once setup is done, the current build/ goes live in all three environments and one
template is edited: the change the deploy runbook ships, the promote runbook takes to
prod and the rollback runbook takes back.

Each command is a test: it must exit as the runbook says (0, or ``# exits N``) and print
every output line the runbook shows below it. In output, ``<anything>`` matches any text
and a line of ``...`` stands for lines left out. In commands, ``<previous-build>`` is the
build that was live before the change. ``$ aws ...`` commands that name a ``--profile``
(an account of the sandbox) run too (tests/s3/awscli.py) and must succeed; their output,
other ``aws`` commands and lines of other programs are documentation only. ``$ git ...``
commands run in the sandbox. The one step no command can do, publishing the SES
identity's DKIM records in DNS, is done by the sandbox (moto_accounts.py's stand-in)
before setup.md's ``bucket check``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.s3 import awscli
from tests.s3.accounts import (
    ACCOUNTS,
    accounts_server,
    base_environment,
    role_arn,
    role_client,
    verified_ses_identity,
)
from tests.s3.conftest import REGION, make_bucket

RUNBOOKS = ROOT / "docs" / "runbooks"
ORDER = ("setup.md", "deploy.md", "promote.md", "troubleshoot.md", "rollback.md")
SET_UP_BY_RUNBOOK = ("prod",)  # environments whose account setup.md fills
PROJECT_PARTS = ("templates_src", "schemas", "build", "assets", "bbws-mail.toml", "brand.toml",
                 "check-allow.toml")
# The change the story ships: one sentence of one template.
CHANGE = ("templates_src/receipt.mjml", "thank you for your payment.",
          "thank you for your payment, received in full.")

SEPARATE_ACCOUNTS = True  # one account's credentials cannot read another's bucket

# Commands that depend on something main does not have yet: each xfail(strict=False) with
# its reason. Remove an entry once main has it.
PENDING: dict[str, str] = {}


@dataclass
class Step:
    program: str  # bbws-mail, aws or git
    runbook: str
    line: int
    command: str
    env: dict[str, str]
    argv: list[str]
    exit_code: int
    expected: list[str]

    @property
    def id(self) -> str:
        return f"{self.runbook}:{self.line}:{' '.join(self.argv[:3])}"


_PROMPT = re.compile(r"\$ ((?:[A-Z_][A-Z0-9_]*=\S+ )*)(bbws-mail|aws|git)(\s.*)?\Z")


def parse(path: Path) -> list[Step]:
    """The ``$ bbws-mail`` commands of a runbook's console blocks, with their output."""
    steps: list[Step] = []
    in_block = False
    current: Step | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if raw.startswith("```"):
            in_block = raw.strip() == "```console"
            current = None
            continue
        if not in_block:
            continue
        if raw.startswith("$ "):
            current = None
            match = _PROMPT.match(raw)
            if not match:
                continue  # another program: documentation only
            command, _, comment = raw[2:].partition("  #")
            exits = re.search(r"exits (\d+)", comment)
            words = shlex.split(command)
            env = dict(w.split("=", 1) for w in words if re.match(r"[A-Z_][A-Z0-9_]*=", w))
            argv = words[len(env) + 1:]
            current = Step(match.group(2), path.name, number, command.strip(), env, argv,
                           int(exits.group(1)) if exits else 0, [])
            steps.append(current)
        elif current is not None and raw.strip():
            current.expected.append(raw.rstrip())
    return steps


def _all_steps() -> list[Any]:
    params = []
    for name in ORDER:
        for step in parse(RUNBOOKS / name):
            if step.program == "aws" and "--profile" not in step.argv:
                continue  # documentation only: acts on nothing the sandbox has
            marks = [pytest.mark.xfail(strict=False, reason=reason)
                     for pattern, reason in PENDING.items() if re.search(pattern, step.command)]
            params.append(pytest.param(step, id=step.id, marks=marks[:1]))
    return params


def _line_pattern(expected: str) -> re.Pattern[str]:
    parts = re.split(r"(<[^<>\s][^<>]*>)", expected.strip())
    return re.compile("".join(".+?" if p.startswith("<") and p.endswith(">") else re.escape(p)
                              for p in parts) + r"\Z")


def missing_lines(expected: list[str], output: str) -> list[str]:
    """Expected lines (``...`` skipped) that no line of ``output`` matches."""
    actual = [line.strip() for line in output.splitlines()]
    return [line for line in expected if line.strip() not in ("...", "…")
            and not any(_line_pattern(line).match(a) for a in actual)]


# -- the sandbox ------------------------------------------------------------------------------
class Sandbox:
    def __init__(self, root: Path, endpoint: str) -> None:
        self.root, self.endpoint = root, endpoint
        self.placeholders: dict[str, str] = {}

    def run_other(self, program: str, argv: list[str]) -> tuple[int, str]:
        """An ``aws`` command with the profile it names (tests/s3/awscli.py), or ``git``."""
        if program == "git":
            done = subprocess.run(["git", *argv], cwd=self.root, capture_output=True,
                                  text=True, env={**os.environ, **GIT_IDENTITY})
            return done.returncode, done.stdout + done.stderr
        import boto3

        args = list(argv)
        profile = None
        if "--profile" in args:
            at = args.index("--profile")
            profile = args[at + 1]
            del args[at:at + 2]
        session = boto3.session.Session(profile_name=profile)
        awscli.run_one(["aws", *args], lambda service, region: session.client(
            service, region_name=region or REGION))
        return 0, ""

    def publish_dns(self) -> None:
        """The DKIM records of every SES identity in prod's account are published: SES
        (moto_accounts.py's stand-in) now counts them verified."""
        for region in (REGION, "eu-west-1"):
            ses = role_client(self.endpoint, "prod", "sesv2", region)
            for identity in ses.list_email_identities()["EmailIdentities"]:
                name = identity["IdentityName"]
                ses.delete_email_identity(EmailIdentity=name)
                verified_ses_identity(self.endpoint, "prod", name, [region])

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
        from bbws_mail.cli import main

        out = io.StringIO()
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(self.root)
            for var, value in (env or {}).items():
                mp.setenv(var, value)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                try:
                    code = main(argv)
                except SystemExit as exc:  # argparse
                    code = int(exc.code or 0)
        return code, out.getvalue()

    def replicate(self) -> None:
        """What S3 replication would have done by now: prod's objects copied to the replica."""
        from bbws_mail import config

        prod = config.load(self.root).env("prod")
        src = role_client(self.endpoint, "prod")
        dst = role_client(self.endpoint, "prod", region=prod.replica_region)
        for page in src.get_paginator("list_objects_v2").paginate(Bucket=prod.bucket):
            for obj in page.get("Contents", []):
                body = src.get_object(Bucket=prod.bucket, Key=obj["Key"])["Body"].read()
                dst.put_object(Bucket=prod.replica_bucket, Key=obj["Key"], Body=body)


GIT_IDENTITY = {"GIT_AUTHOR_NAME": "runbook", "GIT_AUTHOR_EMAIL": "runbook@example.com",
                "GIT_COMMITTER_NAME": "runbook", "GIT_COMMITTER_EMAIL": "runbook@example.com"}


def _setup(root: Path, endpoint: str) -> Sandbox:
    from bbws_mail import config

    root.mkdir(parents=True)
    for part in PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, root / part)
        elif source.is_file():
            shutil.copy2(source, root / part)
    cfg = config.load(root)
    for name, env in cfg.envs.items():
        if name not in SET_UP_BY_RUNBOOK:
            make_bucket(role_client(endpoint, name), name=env.bucket)
    box = Sandbox(root, endpoint)
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the project as it is"]):
        code, out = box.run_other("git", argv)
        assert code == 0, out
    box.placeholders["<previous-build>"] = json.loads(
        (root / "build" / "manifest.json").read_text())["buildVersion"]
    return box


def _start_story(box: Sandbox) -> None:
    """Once every environment is set up: build/ live everywhere, then the story's edit."""
    for argv in (["publish", "--env", "dev"], ["promote", "--from", "dev", "--to", "sit"],
                 ["promote", "--from", "sit", "--to", "prod", "--confirm-prod"]):
        code, out = box.run(argv)
        assert code == 0, f"sandbox set-up: bbws-mail {' '.join(argv)} failed:\n{out}"
    box.replicate()
    path, old, new = CHANGE
    text = (box.root / path).read_text(encoding="utf-8")
    assert old in text, f"{path} no longer holds the sentence the runbook story changes"
    (box.root / path).write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from bbws_mail.publish import credentials

    with accounts_server(separate=SEPARATE_ACCOUNTS) as endpoint, \
            pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith("AWS_")]:
            mp.delenv(var)
        for var, value in {**base_environment(endpoint), "BBWS_PUBLISHED_BY": "runbook",
                           "GITHUB_RUN_ID": "1"}.items():
            mp.setenv(var, value)
        base = {var.lower(): os.environ[var]
                for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        for var in base:
            mp.delenv(var.upper())
        profiles = tmp_path_factory.mktemp("aws") / "config"
        profiles.write_text("[default]\n" + "".join(f"{k} = {v}\n" for k, v in base.items())
                            + "".join(f"\n[profile bbws-{env}]\nrole_arn = {role_arn(env)}\n"
                                      "source_profile = default\n" for env in ACCOUNTS))
        mp.setenv("AWS_CONFIG_FILE", str(profiles))
        credentials.clear_cache()
        yield _setup(tmp_path_factory.mktemp("runbooks") / "project", endpoint)
        credentials.clear_cache()


_done: set[str] = set()


@pytest.mark.s3
@pytest.mark.slow
@pytest.mark.parametrize("step", _all_steps())
def test_runbook_command(sandbox: Sandbox, step: Step) -> None:
    if step.runbook != "setup.md" and "story" not in _done:
        _done.add("story")
        _start_story(sandbox)
    if step.runbook == "rollback.md" and "rollback.md" not in _done:
        sandbox.replicate()  # the replica has caught up by the time anyone rolls back
    if step.runbook == "setup.md" and step.argv[:2] == ["bucket", "check"]:
        sandbox.publish_dns()  # the one manual step: DKIM records in DNS
    _done.add(step.runbook)
    argv = [sandbox.placeholders.get(a, a) for a in step.argv]
    if step.program != "bbws-mail":
        code, out = sandbox.run_other(step.program, argv)
        assert code == 0, f"{step.runbook}:{step.line}: `{step.command}` failed:\n{out}"
        return
    code, out = sandbox.run(argv, step.env)
    assert code == step.exit_code, (
        f"{step.runbook}:{step.line}: `{step.command}` exited {code}, the runbook says "
        f"{step.exit_code}; it printed:\n{out}")
    missing = missing_lines(step.expected, out)
    assert not missing, (f"{step.runbook}:{step.line}: `{step.command}` did not print these "
                         "lines the runbook shows:\n" + "\n".join(missing)
                         + f"\n--- it printed:\n{out}")
