"""publish / re-publish / change / rollback / promote against real S3 servers on 127.0.0.1."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import BBWSMailError, layout
from bbws_mail import config as config_mod
from bbws_mail.publish import (
    ApprovalError,
    PreflightError,
    PublishConflictError,
    Publisher,
    PublishError,
    promote,
)
from bbws_mail.s3source import S3Source
from tests.conftest import ROOT
from tests.s3.coldread import cold_snapshot, render_cold
from tests.s3.conftest import make_bucket, make_test_client
from tests.s3.project import EXAMPLE, Project, _publisher, with_buckets

pytestmark = pytest.mark.s3
class PutCounter:
    def __init__(self, client: Any) -> None:
        self.keys: list[str] = []
        self.copies: list[str] = []
        client.meta.events.register("before-parameter-build.s3.PutObject", self._count)
        client.meta.events.register("before-parameter-build.s3.CopyObject", self._copy)

    def _count(self, params: dict[str, Any], **_: Any) -> None:
        self.keys.append(params["Key"])

    def _copy(self, params: dict[str, Any], **_: Any) -> None:
        self.copies.append(params["Key"])

    def classes(self) -> list[str]:
        return sorted(layout.key_class(k) for k in self.keys)


def test_publish_republish_change_rollback(project: Project, s3_endpoint: str) -> None:
    client = make_test_client(s3_endpoint)
    bucket = make_bucket(client)
    counter = PutCounter(client)
    pub = _publisher(project, client, bucket)
    v1 = project.build("build-v1")

    pub.publish(v1)
    by_class = {layout.key_class(k) for k in counter.keys}
    assert by_class == {"bundle", "build", "pointer", "history"}
    assert sorted(k.rsplit("/", 1)[0] for k in counter.keys if layout.key_class(k) == "bundle") \
        == ["notifications/mini", "receipts/mini2"]
    assert counter.keys.index("manifest.json") > max(
        i for i, k in enumerate(counter.keys) if layout.key_class(k) in ("bundle", "build"))
    reader = make_test_client(s3_endpoint)
    first = render_cold(reader, bucket, "mini", EXAMPLE)
    assert "View order" in first.html

    counter.keys.clear()
    pub.publish(v1)
    assert counter.keys == [], "re-publishing the same build must not PUT anything"

    project.edit("View order", "Open your order")
    v2 = project.build("build-v2")
    pub.publish(v2)
    assert counter.classes() == ["build", "bundle", "history", "pointer"], \
        "only the changed template's bundle is new"
    second = render_cold(reader, bucket, "mini", EXAMPLE)
    assert "Open your order" in second.html and "Open your order" in second.text
    assert second.build_version != first.build_version

    pub.rollback()
    back = render_cold(reader, bucket, "mini", EXAMPLE)
    assert back.html == first.html and back.build_version == first.build_version
    snapshot = cold_snapshot(reader, bucket)
    assert snapshot.templates["mini"].text == (v1 / "mini.txt").read_text()
    history = pub.history()
    assert [(h["action"], h["buildVersion"]) for h in history] == [
        ("rollback", first.build_version), ("publish", second.build_version),
        ("publish", first.build_version)]
    assert history[0]["isLive"] and not history[1]["isLive"]


def test_dry_run_prints_plan_and_text_diff(project: Project, moto_endpoint: str) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    _publisher(project, client, bucket).publish(project.build("b1"))
    project.edit("View order", "Open your order")
    lines: list[str] = []
    counter = PutCounter(client)
    _publisher(project, client, bucket, log=lines.append).publish(project.build("b2"),
                                                                  dry_run=True)
    assert counter.keys == []
    text = "\n".join(lines)
    assert "2 object(s) to upload, 1 template(s) changed" in text
    assert "~ mini\n" in text + "\n" and "~ mini2" not in text
    assert "+Open your order" in text and "-View order" in text


@pytest.mark.parametrize("broken", ["versioning", "public"])
def test_misconfigured_bucket_is_refused_before_any_write(project: Project, moto_endpoint: str,
                                                         broken: str) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client, versioning=broken != "versioning",
                         block_public=broken != "public")
    counter = PutCounter(client)
    with pytest.raises(PreflightError) as info:
        _publisher(project, client, bucket).publish(project.build("b1"))
    assert counter.keys == []
    assert ("versioning is off" if broken == "versioning" else "public access") in str(info.value)
    assert "aws s3api put-" in str(info.value)


@pytest.mark.parametrize("first", [False, True], ids=["on-a-live-build", "first-publish"])
def test_two_racing_publishers_exactly_one_wins(project: Project, s3_endpoint: str,
                                                first: bool) -> None:
    client = make_test_client(s3_endpoint)
    bucket = make_bucket(client)
    if not first:
        _publisher(project, client, bucket).publish(project.build("b1"))
    project.edit("View order", "Variant A")
    a_dir = project.build("ba")
    project.edit("Variant A", "Variant B")
    b_dir = project.build("bb")
    a, b = _publisher(project, client, bucket), _publisher(project, client, bucket)
    plan_a, plan_b = a.plan(a_dir), b.plan(b_dir)
    a.execute(plan_a)
    with pytest.raises(PublishConflictError, match="changed while we worked"):
        b.execute(plan_b)
    live = render_cold(client, bucket, "mini", EXAMPLE)
    assert "Variant A" in live.html and "Variant A" in live.text
    assert len(a.history()) == (1 if first else 2), "the loser leaves no history record"


def test_objects_land_under_the_design_categories(project_build: Path,
                                                  moto_endpoint: str) -> None:
    """Each template's bundle lands under the category bbws-mail.toml's [templates] states
    for it by name (read here with tomllib, not through the code under test)."""
    stated = tomllib.loads((ROOT / "bbws-mail.toml").read_text())["templates"]

    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    cfg = with_buckets(config_mod.load(ROOT), dev=bucket)
    Publisher(cfg, "dev", client=client, log=lambda _m: None).publish(project_build)
    names = sorted(p.stem for p in (ROOT / "templates_src").glob("*.mjml"))
    keys = {k["Key"] for k in client.list_objects_v2(Bucket=bucket)["Contents"]}
    bundles = {k.split("/")[1]: k.split("/")[0] for k in keys if layout.key_class(k) == "bundle"}
    assert bundles == {n: stated[n] for n in names}
    assert {layout.key_class(k) for k in keys} == {"bundle", "build", "pointer", "history",
                                                    "asset"}
    assert set(cold_snapshot(client, bucket).templates) == set(names)
    # every asset the build references is there under its content-hashed name
    built = json.loads((project_build / "manifest.json").read_text())
    html = "".join(p.read_text() for p in project_build.glob("*.html"))
    assert built["assets"]
    for name, info in built["assets"].items():
        key = layout.asset_key(name, info["sha256"])
        assert key.rpartition("/")[2] in html, f"the build does not reference {key}"
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert layout.sha256_hex(body) == info["sha256"]


def test_promote_reads_with_the_source_client_and_writes_with_the_target_client(
        project: Project, moto_endpoint: str) -> None:
    clients = {env: make_test_client(moto_endpoint) for env in ("dev", "sit", "prod")}
    counters = {env: PutCounter(c) for env, c in clients.items()}
    buckets = {env: make_bucket(clients[env]) for env in clients}
    cfg = with_buckets(project.config, **buckets)
    Publisher(cfg, "dev", client=clients["dev"], log=lambda _m: None).publish(
        project.build("b1"))
    counters["dev"].keys.clear()
    promote(cfg, "dev", "sit", clients=clients, log=lambda _m: None)
    assert counters["dev"].keys == [] and counters["sit"].copies == []
    assert {layout.key_class(k) for k in counters["sit"].keys} == {
        "bundle", "build", "pointer", "history"}
    dev = cold_snapshot(clients["dev"], buckets["dev"])
    sit = cold_snapshot(clients["sit"], buckets["sit"], env="sit")
    assert dev.manifest == sit.manifest and dev.templates == sit.templates

    with pytest.raises(ApprovalError, match="needs explicit approval"):
        promote(cfg, "sit", "prod", clients=clients, log=lambda _m: None)
    assert counters["prod"].keys == []
    promote(cfg, "sit", "prod", clients=clients, approved=True, log=lambda _m: None)
    status = Publisher(cfg, "prod", client=clients["prod"]).status()
    assert status["buildVersion"] == dev.build_version and status["action"] == "promote"


def test_assets_are_published_under_hashed_keys_and_promoted(project: Project,
                                                             moto_endpoint: str) -> None:
    out = project.build("b1")
    logo = (ROOT / "assets/logo.png").read_bytes()
    digest = layout.sha256_hex(logo)
    (out / "assets").mkdir()
    (out / "assets" / f"logo.{digest[:16]}.png").write_bytes(logo)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["assets"] = {"logo.png": {"path": f"assets/logo.{digest[:16]}.png",
                                       "sha256": digest, "bytes": len(logo)}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    client = make_test_client(moto_endpoint)
    buckets = {env: make_bucket(client) for env in ("dev", "sit")}
    cfg = with_buckets(project.config, **buckets)
    Publisher(cfg, "dev", client=client, log=lambda _m: None).publish(out)
    promote(cfg, "dev", "sit", clients={"dev": client, "sit": client}, log=lambda _m: None)
    for env, bucket in buckets.items():
        snapshot = cold_snapshot(client, bucket, env=env)
        key = layout.asset_key("logo.png", digest)
        assert snapshot.manifest and snapshot.manifest["assets"] == {"logo.png": key}
        got = client.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == logo and got["ContentType"] == "image/png"

    (out / "assets" / f"logo.{digest[:16]}.png").write_bytes(logo + b"x")
    with pytest.raises(PublishError, match="does not match its manifest hash"):
        Publisher(cfg, "dev", client=client, log=lambda _m: None).publish(out)


def test_checksum_mismatch_is_rejected_by_a_real_s3(project: Project, seaweed_endpoint: str
                                                   ) -> None:
    """SeaweedFS verifies x-amz-checksum-sha256 (moto does not): a corrupted upload fails."""
    client = make_test_client(seaweed_endpoint)
    bucket = make_bucket(client)
    pub = _publisher(project, client, bucket)
    pub.publish(project.build("b1"))
    project.edit("View order", "Open your order")

    def corrupt(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].startswith("notifications/mini/"):
            params["ChecksumSHA256"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

    client.meta.events.register("before-parameter-build.s3.PutObject", corrupt)
    with pytest.raises(PublishError, match="BadDigest"):
        pub.publish(project.build("b2"))
    assert "View order" in render_cold(client, bucket, "mini", EXAMPLE).html


def test_s3_source_needs_an_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from bbws_mail.errors import SourceError

    monkeypatch.delenv("BBWS_ENV", raising=False)
    with pytest.raises(SourceError, match="BBWS_ENV"):
        S3Source()


@pytest.mark.parametrize("pointer", [b"{not json", b"[" * 100_000 + b"]" * 100_000])
def test_an_unreadable_live_pointer_stops_a_publish_before_any_write(
        project: Project, moto_endpoint: str, pointer: bytes) -> None:
    """The live build cannot be compared with (or kept in history): nothing is written,
    and the error names the key, not its content."""
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    _publisher(project, client, bucket).publish(project.build("b1"))
    client.put_object(Bucket=bucket, Key=layout.POINTER_KEY, Body=pointer)
    counter = PutCounter(client)
    with pytest.raises(BBWSMailError, match=r"manifest\.json") as info:
        _publisher(project, client, bucket).publish(project.build("b2"))
    assert counter.keys == [] and counter.copies == []
    assert "not json" not in str(info.value)


def test_rollback_goes_to_the_build_live_before_whatever_the_clocks_said(
        project: Project, moto_endpoint: str) -> None:
    """History keys carry each publisher's own clock: one running a day ahead must not
    make `rollback` (no --to) skip the build that was live just before."""
    from datetime import UTC, datetime, timedelta

    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    now = datetime.now(UTC)
    ahead = _publisher(project, client, bucket, clock=lambda: now + timedelta(days=1))
    ahead.publish(project.build("a"))
    versions = []
    for i, marker in enumerate(("Variant B", "Variant C")):
        project.edit("View order" if i == 0 else "Variant B", marker)
        at = now + timedelta(minutes=i)
        pub = _publisher(project, client, bucket, clock=lambda at=at: at)
        versions.append(pub.publish(project.build(f"b{i}")).build_version)
    plan = pub.rollback()
    assert plan.build_version == versions[0]
    assert "Variant B" in render_cold(client, bucket, "mini", EXAMPLE).html


def test_a_first_publish_and_a_rollback_with_nothing_before_say_so_plainly(
        moto_endpoint: str, project: Project) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    lines: list[str] = []
    pub = _publisher(project, client, bucket, log=lines.append)
    pub.publish(project.build("b1"))
    [summary] = [line for line in lines if line.startswith("dev: publish build")]
    assert "build nothing" not in summary
    assert f"(the first in {bucket})" in summary
    with pytest.raises(PublishError) as err:
        pub.rollback()
    assert f"no earlier build to roll back to in s3://{bucket}/" in str(err.value)
