"""One guard for every write: no command line reaches an approval-bound bucket without it."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bbws_mail.cli import main
from bbws_mail.publish import ApprovalError, Publisher
from tests.s3.conftest import make_bucket, make_test_client
from tests.s3.project import with_buckets
from tests.s3.test_workflow_and_cli import write_buckets

pytestmark = pytest.mark.s3
COMMANDS = ("publish", "promote", "rollback", "gc", "history", "status")


@pytest.mark.parametrize("command", [*COMMANDS, "bucket check"])
def test_no_flag_names_a_bucket_or_skips_the_fresh_check(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([*command.split(), "--help"])
    text = capsys.readouterr().out
    assert "--env" in text or "--from" in text
    assert "--bucket" not in text and "--skip-fresh-check" not in text


def _object_count(client: Any, bucket: str) -> int:
    listing = client.list_object_versions(Bucket=bucket)
    return len(listing.get("Versions", [])) + len(listing.get("DeleteMarkers", []))


@pytest.fixture
def three_envs(mini: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch,
               capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    """dev and sit published, prod in its state after one approved promote; returns a
    runner of `bbws-mail ...` against that project."""
    client = make_test_client(moto_endpoint)
    buckets = {env: make_bucket(client) for env in ("dev", "sit", "prod")}
    write_buckets(mini, buckets)
    for var, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(var, value)
    root = ["--root", str(mini)]
    assert main(["build", *root, "-q"]) == 0
    assert main(["publish", "--env", "dev", *root]) == 0
    assert main(["promote", "--from", "dev", "--to", "sit", *root]) == 0
    assert main(["promote", "--from", "sit", "--to", "prod", "--confirm-prod", *root]) == 0
    capsys.readouterr()

    def run(*argv: str) -> tuple[int, str]:
        code = main([*argv, *root])
        return code, capsys.readouterr().err

    run.client = client  # type: ignore[attr-defined]
    run.prod = buckets["prod"]  # type: ignore[attr-defined]
    return run


@pytest.mark.parametrize("argv", [
    ["publish", "--env", "prod"],
    ["publish", "--env", "prod", "--repair"],
    ["promote", "--from", "sit", "--to", "prod"],
    ["rollback", "--env", "prod"],
    ["gc", "--env", "prod"],
])
def test_every_write_to_prod_needs_the_confirmation(argv: list[str], three_envs: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    client, prod = three_envs.client, three_envs.prod
    before = _object_count(client, prod)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a TTY: no prompt possible
    # a plain publish to prod is refused before any approval is asked for: prod only
    # receives promoted builds
    refusal = ("publish straight to prod is not allowed" if argv == ["publish", "--env", "prod"]
               else "needs explicit approval")
    code, err = three_envs(*argv)
    assert code == 1 and refusal in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [err.strip()]

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty("dev\n"))  # typed the wrong name
    code, err = three_envs(*argv)
    assert code == 1 and refusal in err
    assert _object_count(client, prod) == before, "nothing was written to prod"


def test_a_typed_confirmation_approves(three_envs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("builtins.input", lambda _prompt: "prod")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    code, err = three_envs("gc", "--env", "prod")
    assert code == 0, err


def test_the_library_refuses_unapproved_writes_too(three_envs: Any, mini: Path) -> None:
    from bbws_mail import config as config_mod
    from bbws_mail.pipeline import build

    client, prod = three_envs.client, three_envs.prod
    source = mini / "templates_src/mini.mjml"
    source.write_text(source.read_text().replace("View order", "Open your order"))
    cfg = with_buckets(config_mod.load(mini), prod=prod)
    build(cfg, mini / "b2")
    before = _object_count(client, prod)
    pub = Publisher(cfg, "prod", client=client, log=lambda _m: None)
    with pytest.raises(ApprovalError):
        pub.publish(mini / "b2")
    with pytest.raises(ApprovalError):
        pub.bucket.delete("manifest.json")
    assert _object_count(client, prod) == before


def test_each_environment_is_reached_through_its_own_client(
        three_envs: Any, monkeypatch: pytest.MonkeyPatch, mini: Path) -> None:
    """Each environment is its own AWS account: promote reads with the source's client and
    writes with the target's; status asks each environment with its own."""
    import boto3

    from bbws_mail.publish.client import client_config

    made: dict[str, list[str]] = {}

    def recording(env: Any, service: str = "s3", region: str | None = None) -> Any:
        client = boto3.client(service, region_name=region or env.region,
                              config=client_config())  # endpoint from AWS_ENDPOINT_URL
        calls = made.setdefault(env.name, [])
        client.meta.events.register("before-call.s3.*",
                                    lambda model, **_: calls.append(model.name))
        return client

    monkeypatch.setattr("bbws_mail.publish.publisher.client_for", recording)
    code, err = three_envs("status")
    assert code == 0, err
    assert sorted(made) == ["dev", "prod", "sit"]
    source = mini / "templates_src/mini.mjml"
    source.write_text(source.read_text().replace("View order", "Open your order"))
    assert three_envs("build", "-q")[0] == 0
    assert three_envs("publish", "--env", "dev")[0] == 0
    made.clear()
    assert three_envs("promote", "--from", "dev", "--to", "sit")[0] == 0
    assert set(made) == {"dev", "sit"}
    assert not {"PutObject", "DeleteObject", "CopyObject"} & set(made["dev"])
    assert "PutObject" in made["sit"] and "CopyObject" not in made["sit"]


@pytest.mark.parametrize("setting", [
    "[env.prod]\nrequires_approval = false\n",
    "[defaults]\nrequires_approval = false\n",  # meant for dev and sit; only prod changes
])
def test_no_config_file_turns_prods_approval_off(setting: str, three_envs: Any, mini: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    client, prod = three_envs.client, three_envs.prod
    path = mini / "bbws-mail.toml"
    table = setting.split("\n", 1)[0] + "\n"
    text = path.read_text()
    path.write_text(text.replace(table, setting) if table in text else text + "\n" + setting)
    before = _object_count(client, prod)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    for argv in (["rollback", "--env", "prod"], ["gc", "--env", "prod"],
                 ["publish", "--env", "prod"]):
        code, err = three_envs(*argv)
        assert code == 2 and "requires_approval" in err and "bbws-mail.toml:" in err, err
        assert [line for line in err.splitlines() if line.startswith("error:")] == [err.strip()]
    assert _object_count(client, prod) == before, "nothing was written to prod"


@pytest.mark.parametrize("key", ["bucket", "role_arn"])
def test_no_other_environment_is_pointed_at_prods_bucket_or_account(
        key: str, mini: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """prod not yet published (its bucket empty, or holding a format-1 manifest that names
    no environment): dev configured with prod's bucket, or with prod's account, must not
    write there without prod's approval."""
    client = make_test_client(moto_endpoint)
    buckets = {env: make_bucket(client) for env in ("dev", "sit", "prod")}
    write_buckets(mini, buckets)
    path = mini / "bbws-mail.toml"
    prod_role = "arn:aws:iam::093646564004:role/bbws-templates-deploy"
    text = path.read_text().replace(f'[env.prod]\nbucket = "{buckets["prod"]}"\n',
                                    f'[env.prod]\nbucket = "{buckets["prod"]}"\n'
                                    f'role_arn = "{prod_role}"\n')
    if key == "bucket":
        text = text.replace(f'bucket = "{buckets["dev"]}"', f'bucket = "{buckets["prod"]}"')
    else:
        text = text.replace("[env.dev]\n", f'[env.dev]\nrole_arn = "{prod_role}"\n')
    for var, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(var, value)
    from bbws_mail import config as config_mod
    from bbws_mail.pipeline import build

    cfg = config_mod.load(mini)  # build/ carries the buckets: built as that file would
    build(with_buckets(cfg, dev=buckets["prod"]) if key == "bucket" else cfg, mini / "build")
    path.write_text(text)
    code = main(["publish", "--env", "dev", "--root", str(mini)])
    err = capsys.readouterr().err
    assert code == 2 and f"[env.dev] {key}" in err and "bbws-mail.toml:" in err, err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [err.strip()]
    assert _object_count(client, buckets["prod"]) == 0, "nothing was written to prod's bucket"
