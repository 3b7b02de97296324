"""One bad object never blocks recovery: one `error:` line, and the way out works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from bbws_mail import layout
from bbws_mail.cli import main
from tests.s3.coldread import cold_snapshot, expire_noncurrent, render_cold
from tests.s3.conftest import make_bucket, make_test_client
from tests.s3.project import EXAMPLE
from tests.s3.test_workflow_and_cli import write_buckets

pytestmark = pytest.mark.s3


class Cli:
    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = ["--root", str(root)]
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main([*argv, *self.root])
        out = self.capsys.readouterr()
        return code, out.out, out.err


@pytest.fixture
def published(mini: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str]) -> tuple[Cli, Any, str]:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    write_buckets(mini, {"dev": bucket})
    for var, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(var, value)
    cli = Cli(mini, capsys)
    assert cli("build", "-q")[0] == 0
    assert cli("publish", "--env", "dev")[0] == 0
    source = mini / "templates_src/mini.mjml"
    source.write_text(source.read_text().replace("View order", "Open your order"))
    assert cli("build", "-q")[0] == 0
    assert cli("publish", "--env", "dev")[0] == 0
    return cli, client, bucket


def _one_error_line(err: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


BAD_POINTERS = {
    "not JSON": b"<html>oops, a manual upload</html>",
    "truncated": None,  # the live pointer cut in half
    "foreign": b'{"hello": "world"}',
    "another env": None,  # a valid pointer, but written for sit
}


@pytest.mark.parametrize("case", list(BAD_POINTERS))
def test_a_bad_pointer_gives_one_error_line_and_repair_re_points(
        published: tuple[Cli, Any, str], case: str) -> None:
    cli, client, bucket = published
    live = client.get_object(Bucket=bucket, Key="manifest.json")["Body"].read()
    bad = BAD_POINTERS[case]
    if case == "truncated":
        bad = live[: len(live) // 2]
    elif case == "another env":
        doc = layout.parse_json_object(live, "live")
        bad = layout.canonical_json({**doc, "env": "sit"})
    client.put_object(Bucket=bucket, Key="manifest.json", Body=bad)
    expire_noncurrent(client, bucket)  # the good pointer versions are gone too

    for argv in (["publish", "--env", "dev"], ["rollback", "--env", "dev"],
                 ["history", "--env", "dev"]):
        code, _out, err = cli(*argv)
        line = _one_error_line(err)
        assert code == 1 and "publish --env dev --repair" in line, line
    code, out, err = cli("status", "--env", "dev")
    assert code == 1 and "--repair" in out and "Traceback" not in out + err

    code, _out, err = cli("publish", "--env", "dev", "--repair")
    assert code == 0, err
    if case in ("not JSON", "truncated", "foreign", "another env"):
        assert "this repair will re-point it to the newest complete build" in err, err
    assert "run `bbws-mail publish --env dev --repair`" not in err  # it is running
    assert "Open your order" in render_cold(client, bucket, "mini", EXAMPLE).html
    code, out, _err = cli("history", "--env", "dev")
    assert code == 0 and out.splitlines()[0].startswith("* ") and " repair " in out
    assert cli("publish", "--env", "dev", "--repair")[2].count("nothing to repair") == 1


def test_an_interrupted_download_gives_one_error_line_and_a_retry_works(
        published: tuple[Cli, Any, str], monkeypatch: pytest.MonkeyPatch) -> None:
    cli, client, bucket = published
    body = client.get_object(Bucket=bucket, Key="manifest.json")["Body"].read()
    from bbws_mail.publish import credentials

    class Cut:
        """A response that promises the whole pointer and delivers half of it."""

        def stream(self, **_: Any) -> Any:
            yield body[: len(body) // 2]

        def read(self, *_: Any, **__: Any) -> bytes:
            return body[: len(body) // 2]

    real = credentials.client_for
    broken = {"on": True}

    def faulty(env: Any, service: str = "s3", region: str | None = None) -> Any:
        c = real(env, service, region)

        def cut(request: Any, **_: Any) -> AWSResponse | None:
            if broken["on"] and request.method == "GET" \
                    and request.url.split("?")[0].endswith("/manifest.json"):
                return AWSResponse(request.url, 200, {"Content-Length": str(len(body)),
                                                      "ETag": '"x"'}, Cut())
            return None
        c.meta.events.register("before-send.s3.GetObject", cut)
        return c

    monkeypatch.setattr("bbws_mail.publish.publisher.client_for", faulty)
    for argv in (["history", "--env", "dev"], ["rollback", "--env", "dev"]):
        code, _out, err = cli(*argv)
        line = _one_error_line(err)
        assert code == 1 and "broke off" in line and "retry" in line, line
    broken["on"] = False
    code, out, err = cli("history", "--env", "dev")
    assert code == 0 and out.startswith("* "), err


def test_a_missing_build_file_gives_one_error_line_and_a_rebuild_works(
        published: tuple[Cli, Any, str], mini: Path) -> None:
    cli, client, bucket = published
    live = cold_snapshot(client, bucket).build_version
    (mini / "build" / "mini.html").unlink()
    code, _out, err = cli("publish", "--env", "dev")
    assert code == 1 and "mini.html" in _one_error_line(err)
    assert cold_snapshot(client, bucket).build_version == live

    from bbws_mail import config as config_mod
    from bbws_mail.publish import Publisher, PublishError
    from tests.s3.project import with_buckets

    pub = Publisher(with_buckets(config_mod.load(mini), dev=bucket), "dev", client=client,
                    log=lambda _m: None)
    with pytest.raises(PublishError, match=r"mini\.html: cannot read it .*nox -s build"):
        pub.publish(mini / "build")
    assert cli("build", "-q")[0] == 0
    assert cli("publish", "--env", "dev")[0] == 0


def test_a_run_that_dies_before_its_history_record_is_still_listed_and_back_filled(
        project: Any, moto_endpoint: str) -> None:
    from tests.s3.project import _publisher

    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    lines: list[str] = []
    pub = _publisher(project, client, bucket, log=lines.append)
    pub.publish(project.build("v1"))
    failing = {"on": True}

    def no_records(request: Any, **_: Any) -> AWSResponse | None:
        if failing["on"] and request.method == "PUT" and "/history/" in request.url:
            body = b"<Error><Code>InternalError</Code><Message>injected</Message></Error>"

            class Raw:
                def stream(self, **_: Any) -> Any:
                    yield body
            return AWSResponse(request.url, 500, {}, Raw())
        return None

    client.meta.events.register("before-send.s3.PutObject", no_records)
    project.edit("View order", "Open your order")
    pub.publish(project.build("v2"))  # the pointer moved: the failure after it only warns
    assert any(line.startswith("warning: history record not written") for line in lines)
    history = pub.history()
    assert [(h["isLive"], h["record"] == "") for h in history] == [(True, True), (False, False)]
    live_version = history[0]["buildVersion"]

    failing["on"] = False
    project.edit("Open your order", "See your order")
    pub.publish(project.build("v3"))
    history = pub.history()
    assert [h["record"] != "" for h in history] == [True, True, True]
    assert history[1]["buildVersion"] == live_version


def test_re_publishing_the_live_build_restores_a_deleted_object(project: Any,
                                                               moto_endpoint: str) -> None:
    from tests.s3.project import _publisher

    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    pub = _publisher(project, client, bucket)
    v1 = project.build("v1")
    pub.publish(v1)
    [bundle] = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]
                if o["Key"].startswith("notifications/mini/")]
    client.delete_object(Bucket=bucket, Key=bundle)  # a manual mistake
    with pytest.raises(Exception, match="NoSuchKey"):
        render_cold(client, bucket, "mini", EXAMPLE)
    plan = pub.publish(v1)
    assert plan.noop and [b.key for b in plan.uploads] == [bundle]
    assert "View order" in render_cold(client, bucket, "mini", EXAMPLE).html
    assert pub.publish(v1).uploads == []


@pytest.mark.parametrize("server", ["moto", "seaweedfs"])
def test_a_repair_never_overwrites_a_publish_that_landed_while_it_looked(
        project: Any, server: str, request: pytest.FixtureRequest) -> None:
    """The pointer names a missing object; while repair searches the history for a complete
    build, a publish moves the pointer to a good new build. Exactly one of them wins:
    repair must write against the pointer it judged, not whatever is there when it writes."""
    from bbws_mail.publish import PublishConflictError
    from tests.s3.project import _publisher

    endpoint = request.getfixturevalue(f"{server.replace('seaweedfs', 'seaweed')}_endpoint")
    client = make_test_client(endpoint)
    bucket = make_bucket(client)
    pub = _publisher(project, client, bucket)
    pub.publish(project.build("v1"))
    project.edit("View order", "Open your order")
    pub.publish(project.build("v2"))
    [bundle] = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]
                if o["Key"].startswith("notifications/mini/")
                and o["Key"] in str(pub.read_live().doc)]  # type: ignore[union-attr]
    client.delete_object(Bucket=bucket, Key=bundle)  # the live build is incomplete
    project.edit("Open your order", "See your order")
    v3 = project.build("v3")

    repairer = make_test_client(endpoint)
    landed: list[Any] = []

    def publish_meanwhile(request: Any, **_: Any) -> None:
        if "prefix=history" in request.url and not landed:
            landed.append(_publisher(project, client, bucket).publish(v3))
    repairer.meta.events.register("before-send.s3.ListObjectsV2", publish_meanwhile)
    with pytest.raises(PublishConflictError, match="changed while we worked"):
        _publisher(project, repairer, bucket).repair()
    assert landed
    assert "See your order" in render_cold(client, bucket, "mini", EXAMPLE).html


def _tamper(doc: dict[str, Any], case: str) -> dict[str, Any]:
    """The live pointer as a bucket writer might leave it: still self-consistent (the
    inlined manifest matches build.sha256), one field of an unexpected shape."""
    doc = dict(doc)
    if case.startswith("recent"):
        doc["recent"] = {"recent=5": 5, "recent=null": None, "recent=[[]]": [[]]}[case]
    elif case == "validator":
        manifest = {**doc["manifest"], "validator": "strict"}
        digest = layout.sha256_hex(layout.canonical_json(manifest))
        doc.update(manifest=manifest, build={"key": layout.build_key(digest), "sha256": digest})
    elif case == "allowBreaking":
        doc["allowBreaking"] = 7
    elif case == "promotedFrom":
        doc["promotedFrom"] = "sit"
    return doc


@pytest.mark.parametrize("case", ["recent=5", "recent=null", "recent=[[]]", "validator",
                                  "allowBreaking", "promotedFrom"])
def test_a_pointer_field_of_the_wrong_shape_is_refused_and_repaired(
        published: tuple[Cli, Any, str], case: str) -> None:
    cli, client, bucket = published
    live = layout.parse_json_object(
        client.get_object(Bucket=bucket, Key="manifest.json")["Body"].read(), "live")
    client.put_object(Bucket=bucket, Key="manifest.json",
                      Body=layout.canonical_json(_tamper(live, case)))
    source = cli.root[1] + "/templates_src/mini.mjml"
    Path(source).write_text(Path(source).read_text().replace("Open your order", "See it"))
    assert cli("build", "-q")[0] == 0
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    for argv in (["publish", "--env", "dev"], ["gc", "--env", "dev"],
                 ["rollback", "--env", "dev"], ["history", "--env", "dev"]):
        code, _out, err = cli(*argv)
        assert code == 1, (argv, err)
        assert "manifest.json" in _one_error_line(err) and "--repair" in err
    assert keys == {o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    code, _out, err = cli("publish", "--env", "dev", "--repair")
    assert code == 0, err
    if case in ("not JSON", "truncated", "foreign", "another env"):
        assert "this repair will re-point it to the newest complete build" in err, err
    assert "run `bbws-mail publish --env dev --repair`" not in err  # it is running
    assert "Open your order" in render_cold(client, bucket, "mini", EXAMPLE).html
    assert cli("publish", "--env", "dev")[0] == 0
    assert "See it" in render_cold(client, bucket, "mini", EXAMPLE).html
