"""publish / re-publish / change / rollback / promote against real S3 servers on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import config as config_mod
from bbws_mail import render
from bbws_mail.pipeline import build
from bbws_mail.publish import PreflightError, PublishConflictError, Publisher, PublishError
from bbws_mail.publish.publisher import promote
from bbws_mail.s3source import S3Source
from tests.s3.conftest import make_bucket, make_test_client

pytestmark = pytest.mark.s3
EXAMPLE = json.loads((Path(__file__).parents[1] / "fixtures/mini/schemas/examples/mini.json")
                     .read_text())


class Project:
    """A two-template copy of the mini fixture that tests edit and rebuild."""

    def __init__(self, root: Path) -> None:
        self.root = root
        src = root / "templates_src"
        shutil.copy(src / "mini.mjml", src / "mini2.mjml")
        shutil.copy(root / "schemas/mini.schema.json", root / "schemas/mini2.schema.json")
        self.config = config_mod.load(root)

    def build(self, out: str) -> Path:
        target = self.root / out
        build(self.config, target)
        return target

    def edit(self, old: str, new: str, name: str = "mini") -> None:
        path = self.root / "templates_src" / f"{name}.mjml"
        path.write_text(path.read_text().replace(old, new))


@pytest.fixture
def project(mini: Path) -> Project:
    return Project(mini)


class PutCounter:
    def __init__(self, client: Any) -> None:
        self.keys: list[str] = []
        client.meta.events.register("before-parameter-build.s3.PutObject", self._count)
        client.meta.events.register("before-parameter-build.s3.CopyObject", self._count)

    def _count(self, params: dict[str, Any], **_: Any) -> None:
        self.keys.append(params["Key"])


def _publisher(project: Project, client: Any, bucket: str, env: str = "dev") -> Publisher:
    return Publisher(project.config, env, client=client, bucket=bucket, log=lambda _m: None)


def _reader(client: Any, bucket: str) -> S3Source:
    return S3Source("dev", bucket=bucket, client=client, refresh_seconds=0)


def test_publish_republish_change_rollback(project: Project, s3_endpoint: str) -> None:
    client = make_test_client(s3_endpoint)
    bucket = make_bucket(client)
    counter = PutCounter(client)
    pub = _publisher(project, client, bucket)
    v1 = project.build("build-v1")

    pub.publish(v1)
    assert sorted(counter.keys) == sorted(
        [f"notifications/{n}{s}" for n in ("mini", "mini2")
         for s in (".html", ".txt", ".subject.txt", ".schema.json")] + ["manifest.json"])
    reader = _reader(make_test_client(s3_endpoint), bucket)
    first = render("mini", EXAMPLE, source=reader)
    assert "View order" in first.html

    counter.keys.clear()
    pub.publish(v1)
    assert counter.keys == [], "re-publishing the same build must not PUT anything"

    project.edit("View order", "Open your order")
    v2 = project.build("build-v2")
    pub.publish(v2)
    assert sorted(counter.keys) == ["manifest.json", "notifications/mini.html",
                                    "notifications/mini.txt"]
    second = render("mini", EXAMPLE, source=reader)
    assert "Open your order" in second.html and "Open your order" in second.text
    assert second.build_version != first.build_version
    assert render("mini2", EXAMPLE, source=reader).html == \
        render("mini2", EXAMPLE, source=_reader(client, bucket)).html

    pub.rollback()
    back = render("mini", EXAMPLE, source=reader)
    assert back.html == first.html and back.build_version == first.build_version
    snapshot = reader.snapshot()
    assert snapshot.templates["mini"].html.encode() == (v1 / "mini.html").read_bytes()
    history = pub.history()
    assert [h["buildVersion"] for h in history] == [first.build_version, second.build_version,
                                                    first.build_version]
    assert history[0]["rolledBackFrom"] == second.build_version


def test_dry_run_prints_plan_and_text_diff(project: Project, moto_endpoint: str) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    _publisher(project, client, bucket).publish(project.build("b1"))
    project.edit("View order", "Open your order")
    lines: list[str] = []
    counter = PutCounter(client)
    pub = Publisher(project.config, "dev", client=client, bucket=bucket, log=lines.append)
    pub.publish(project.build("b2"), dry_run=True)
    assert counter.keys == []
    text = "\n".join(lines)
    assert "2 object(s) to upload" in text
    assert "~ notifications/mini.txt" in text
    assert "-View order (https://portal.bbws.co.za/orders/{{orderNumber}})" not in text
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


def test_two_racing_publishers_exactly_one_wins(project: Project, moto_endpoint: str) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    _publisher(project, client, bucket).publish(project.build("b1"))
    project.edit("View order", "Variant A")
    a_dir = project.build("ba")
    project.edit("Variant A", "Variant B")
    b_dir = project.build("bb")
    a, b = _publisher(project, client, bucket), _publisher(project, client, bucket)
    plan_a, plan_b = a.plan(a_dir), b.plan(b_dir)
    a.execute(plan_a)
    with pytest.raises(PublishConflictError, match="changed while publishing"):
        b.execute(plan_b)
    live = render("mini", EXAMPLE, source=_reader(client, bucket))
    assert "Variant A" in live.html and "Variant A" in live.text


def test_promote_copies_identical_bytes_and_prod_needs_approval(project: Project,
                                                                moto_endpoint: str) -> None:
    client = make_test_client(moto_endpoint)
    buckets = {env: make_bucket(client) for env in ("dev", "sit", "prod")}
    (project.root / "bbws-mail.toml").write_text("".join(
        f'[env.{env}]\nbucket = "{bucket}"\n' for env, bucket in buckets.items()))
    cfg = config_mod.load(project.root)
    Publisher(cfg, "dev", client=client, log=lambda _m: None).publish(project.build("b1"))
    promote(cfg, "dev", "sit", client=client, log=lambda _m: None)
    dev = Publisher(cfg, "dev", client=client).read_live()
    sit = Publisher(cfg, "sit", client=client).read_live()
    assert dev and sit and dev.doc["buildVersion"] == sit.doc["buildVersion"]
    for key, info in dev.doc["objects"].items():
        a = client.get_object(Bucket=buckets["dev"], Key=key, VersionId=info["versionId"])
        b = client.get_object(Bucket=buckets["sit"], Key=key,
                              VersionId=sit.doc["objects"][key]["versionId"])
        assert a["Body"].read() == b["Body"].read()
    with pytest.raises(PublishError, match="needs explicit approval"):
        promote(cfg, "sit", "prod", client=client, log=lambda _m: None)
    assert Publisher(cfg, "prod", client=client).read_live() is None
    promote(cfg, "sit", "prod", client=client, confirm_prod=True, log=lambda _m: None)
    assert Publisher(cfg, "prod", client=client).read_live() is not None


def test_checksum_mismatch_is_rejected_by_a_real_s3(project: Project, seaweed_endpoint: str
                                                   ) -> None:
    """SeaweedFS verifies x-amz-checksum-sha256 (moto does not): a corrupted upload fails."""
    client = make_test_client(seaweed_endpoint)
    bucket = make_bucket(client)
    pub = _publisher(project, client, bucket)
    pub.publish(project.build("b1"))
    project.edit("View order", "Open your order")

    def corrupt(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].endswith("mini.html"):
            params["ChecksumSHA256"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

    client.meta.events.register("before-parameter-build.s3.PutObject", corrupt)
    with pytest.raises(PublishError, match="BadDigest"):
        pub.publish(project.build("b2"))
    assert "View order" in render("mini", EXAMPLE, source=_reader(client, bucket)).html


def test_s3_source_needs_an_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from bbws_mail.errors import SourceError

    monkeypatch.delenv("BBWS_ENV", raising=False)
    with pytest.raises(SourceError, match="BBWS_ENV"):
        S3Source()
