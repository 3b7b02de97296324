"""The CI workflow encodes the designed pipeline; the CLI publishes through AWS_ENDPOINT_URL."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bbws_mail.cli import main
from tests.conftest import ROOT
from tests.s3.conftest import make_bucket, make_test_client


def write_buckets(root: Path, buckets: dict[str, str]) -> None:
    """Point the project's environments at these buckets, keeping the rest of its toml."""
    path = root / "bbws-mail.toml"
    text = path.read_text()
    for env, bucket in buckets.items():
        if f"[env.{env}]" in text:
            text = text.replace(f"[env.{env}]\n", f'[env.{env}]\nbucket = "{bucket}"\n')
        else:
            text += f'\n[env.{env}]\nbucket = "{bucket}"\n'
    path.write_text(text)

WORKFLOW = ROOT / ".github/workflows/templates.yml"


def test_workflow_job_graph_and_environments() -> None:
    doc = yaml.safe_load(WORKFLOW.read_text())
    jobs = doc["jobs"]
    assert list(jobs) == ["validate", "publish-dev", "promote-sit", "promote-prod"]
    assert "needs" not in jobs["validate"]
    assert jobs["publish-dev"]["needs"] == "validate"
    assert jobs["promote-sit"]["needs"] == "publish-dev"
    assert jobs["promote-prod"]["needs"] == "promote-sit"
    assert [jobs[j].get("environment") for j in list(jobs)[1:]] == ["dev", "sit", "prod"]
    assert "refs/heads/main" in jobs["publish-dev"]["if"]
    steps = {j: " ".join(s.get("run", "") for s in jobs[j]["steps"]) for j in jobs}
    assert "nox -s tests" in steps["validate"] and "nox -s build" in steps["validate"]
    assert "--env dev" in steps["publish-dev"]
    assert "--from dev --to sit" in steps["promote-sit"]
    assert "--from sit --to prod --confirm-prod" in steps["promote-prod"]
    assert "--confirm-prod" not in steps["promote-sit"]
    assert doc["concurrency"]["cancel-in-progress"] is False
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert "push" in on


def test_runtime_import_never_pulls_in_boto3() -> None:
    code = ("import sys, bbws_mail, bbws_mail.render, bbws_mail.sources; "
            "print('boto3' in sys.modules, 'mjml' in sys.modules, 'playwright' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    """The CLI's cached clients carry this test's endpoint and keys: none may outlive it."""
    from bbws_mail.publish import credentials

    credentials.clear_cache()
    yield
    credentials.clear_cache()


@pytest.mark.s3
@pytest.mark.usefixtures("fresh_clients")
def test_cli_publish_status_history_and_prod_guard(mini: Path, moto_endpoint: str,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    client = make_test_client(moto_endpoint)
    buckets = {env: make_bucket(client) for env in ("dev", "sit", "prod")}
    write_buckets(mini, buckets)
    for var, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "BBWS_PUBLISHED_BY": "ci-test"}.items():
        monkeypatch.setenv(var, value)
    root = ["--root", str(mini)]
    assert main(["build", *root, "-q"]) == 0

    assert main(["publish", "--env", "dev", *root]) == 0
    err = capsys.readouterr().err
    assert "PUT s3://" in err and "manifest.json -> build" in err

    assert main(["status", "--env", "dev", "--json", *root]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["publishedBy"] == "ci-test" and row["templates"] == 1

    (mini / "build" / "mini.txt").write_text("hand-edited\n")
    assert main(["publish", "--env", "dev", *root]) == 1
    assert "mini.txt is stale" in capsys.readouterr().err

    assert main(["promote", "--from", "dev", "--to", "sit", *root]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a TTY: no prompt possible
    assert main(["promote", "--from", "sit", "--to", "prod", *root]) == 1
    assert "needs explicit approval" in capsys.readouterr().err
    assert main(["status", "--json", *root]) == 0
    rows = {r["env"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["sit"]["buildVersion"] == rows["dev"]["buildVersion"]
    assert rows["prod"]["buildVersion"] is None

    assert main(["history", "--env", "dev", *root]) == 0
    assert "publish  build" in capsys.readouterr().out
    assert main(["bucket", "check", "--env", "dev", *root]) == 0
    assert "versioning enabled" in capsys.readouterr().out
