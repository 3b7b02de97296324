"""Collection and retention, and the move of a format-1 bucket to the layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import layout
from bbws_mail.publish import gc
from tests.s3.coldread import expire_noncurrent, render_cold
from tests.s3.conftest import make_bucket, make_test_client
from tests.s3.project import EXAMPLE, Project, _publisher
from tests.s3.test_weeks import Clock, Killed, _kill_after_puts

pytestmark = pytest.mark.s3


def _current(client: Any, bucket: str) -> set[str]:
    return {o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])}


def _killed_publish(project: Project, endpoint: str, *, puts: int
                    ) -> tuple[Any, str, Clock, Any, set[str], Path]:
    """v1 published, then a publish of an edited v2 killed after ``puts`` uploads:
    (client, bucket, clock, v1's publisher, the keys before v2, v2's build folder)."""
    client = make_test_client(endpoint)
    bucket = make_bucket(client)
    clock = Clock()
    pub = _publisher(project, client, bucket, clock=clock)
    pub.publish(project.build("v1"))
    before = _current(client, bucket)
    project.edit("View order", "Killed variant")
    v2 = project.build("v2")
    killed = make_test_client(endpoint)
    _kill_after_puts(killed, puts)
    with pytest.raises(Killed):
        _publisher(project, killed, bucket, clock=clock).publish(v2)
    return client, bucket, clock, pub, before, v2


def test_a_killed_publish_is_collected_only_after_the_grace_period(
        project: Project, moto_endpoint: str) -> None:
    client, bucket, clock, pub, before, _ = _killed_publish(project, moto_endpoint, puts=1)
    orphans = _current(client, bucket) - before
    assert len(orphans) == 1 and layout.key_class(orphans.pop()) == "bundle"

    clock.now += gc.GRACE / 2
    assert pub.collect() == [], "a publish may still be under way: nothing is collected"
    clock.now += gc.GRACE
    assert pub.collect() != [] and _current(client, bucket) == before
    assert "View order" in render_cold(client, bucket, "mini", EXAMPLE).html


def test_retention_keeps_90_days_and_the_newest_builds_and_never_foreign_keys(
        project: Project, moto_endpoint: str) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    foreign = ["notes/readme.txt", "receipts/README.md", "logs/2026-01-01.log"]
    for key in foreign:
        client.put_object(Bucket=bucket, Key=key, Body=b"not ours")
    clock = Clock()
    pub = _publisher(project, client, bucket, clock=clock)
    last = "View order"
    for i in range(gc.KEEP_BUILDS + 4):  # one build every 20 days
        project.edit(last, f"View order {i}")
        last = f"View order {i}"
        pub.publish(project.build(f"b{i}"))
        clock.days(20)
    history = pub.history(limit=100)
    kept = {h["build"] for h in history}
    assert len(kept) == gc.KEEP_BUILDS, "the newest builds are kept beyond 90 days"
    live = {h["build"] for h in history if h["isLive"]}
    assert live <= kept
    current = _current(client, bucket)
    assert {k for k in current if layout.key_class(k) == "build"} == kept
    assert set(foreign) <= current, "keys outside the layout are never touched"
    expire_noncurrent(client, bucket)
    for build in kept - live:
        pub.rollback(json.loads(client.get_object(Bucket=bucket, Key=build)["Body"].read())[
            "buildVersion"])
        assert render_cold(client, bucket, "mini", EXAMPLE).html


def _legacy_bucket(project: Project, client: Any, bucket: str, build_dir: Path) -> str:
    """A bucket as the first publisher left it: versioned keys pinned by a format-1 manifest."""
    manifest = json.loads((build_dir / "manifest.json").read_text())
    objects = {}
    for name, entry in manifest["templates"].items():
        for kind, info in entry["files"].items():
            key = f"{entry['category']}/{info['path']}"
            data = (build_dir / info["path"]).read_bytes()
            version = client.put_object(Bucket=bucket, Key=key, Body=data)["VersionId"]
            objects[key] = {"versionId": version, "sha256": info["sha256"],
                            "bytes": len(data), "template": name, "kind": kind}
    doc = {"format": 1, "env": "dev", "buildVersion": manifest["buildVersion"],
           "publishedAt": "2026-01-05T10:00:00Z", "publishedBy": "legacy",
           "gitCommit": "0" * 40, "assetBaseUrls": {
               n: e["asset_base_url"] for n, e in manifest["environments"].items()},
           "build": {"templates": manifest["templates"]}, "objects": objects}
    client.put_object(Bucket=bucket, Key="manifest.json",
                      Body=json.dumps(doc, indent=2, sort_keys=True).encode())
    return str(manifest["buildVersion"])


def test_a_format_1_bucket_moves_to_the_layout_on_the_next_publish(
        project: Project, moto_endpoint: str) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    legacy_version = _legacy_bucket(project, client, bucket, project.build("old"))
    legacy_keys = _current(client, bucket) - {"manifest.json"}
    clock = Clock()
    pub = _publisher(project, client, bucket, clock=clock)
    assert pub.status()["buildVersion"] == legacy_version and pub.status()["format"] == 1

    project.edit("View order", "Open your order")
    # the format-1 build predates the validator's semantics version: a reviewed break
    pub.publish(project.build("new"), allow_breaking=list(project.config.templates))
    assert "Open your order" in render_cold(client, bucket, "mini", EXAMPLE).html
    history = pub.history()
    assert [(h["buildVersion"], h["legacy"]) for h in history][1:] == [(legacy_version, True)]
    clock.days(100)
    pub.collect()
    assert legacy_keys <= _current(client, bucket), \
        "legacy keys stay while a kept record is a format-1 build"
    last = "Open your order"
    for i in range(gc.KEEP_BUILDS):
        project.edit(last, f"Build {i}")
        last = f"Build {i}"
        pub.publish(project.build(f"n{i}"))
    assert not legacy_keys & _current(client, bucket), \
        "collected once no kept record is a format-1 build"
    expire_noncurrent(client, bucket)
    assert last in render_cold(client, bucket, "mini", EXAMPLE).html


def test_a_collection_planned_before_the_pointer_moved_stops(
        project: Project, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    clock = Clock()
    pub = _publisher(project, client, bucket, clock=clock)
    pub.publish(project.build("v1"))
    before = _current(client, bucket)
    project.edit("View order", "Killed variant")
    killed = make_test_client(moto_endpoint)
    _kill_after_puts(killed, 1)
    with pytest.raises(Killed):
        _publisher(project, killed, bucket, clock=clock).publish(project.build("v2"))
    [orphan] = _current(client, bucket) - before
    clock.days(2)
    project.edit("Killed variant", "Other variant")
    other = project.build("v3")
    planned = gc.plan

    def plan_then_someone_publishes(p: Any) -> list[str]:
        doomed = planned(p)
        someone = _publisher(project, client, bucket, clock=clock)
        someone.collect = lambda **_: []  # type: ignore[method-assign]
        someone.execute(someone.plan(other))
        return doomed

    monkeypatch.setattr(gc, "plan", plan_then_someone_publishes)
    assert gc.collect(pub) == []
    assert orphan in _current(client, bucket)
    monkeypatch.setattr(gc, "plan", planned)
    assert orphan in pub.collect()


def test_an_object_that_vanishes_during_a_publish_is_restored(
        project: Project, moto_endpoint: str) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    pub = _publisher(project, client, bucket)
    v1 = project.build("v1")
    pub.publish(v1)
    project.edit("View order", "Open your order")
    pub.publish(project.build("v2"))
    reused = [k for k in _current(client, bucket)
              if k.startswith("receipts/mini2/")]  # mini2 is the same in v1 and v2
    assert len(reused) == 1
    deleted = []

    def racing_collection(request: Any, **_: Any) -> None:
        if request.method == "PUT" and request.url.split("?")[0].endswith("/manifest.json") \
                and not deleted:
            deleted.append(client.delete_object(Bucket=bucket, Key=reused[0]))
    client.meta.events.register("before-send.s3.PutObject", racing_collection)
    lines: list[str] = []
    _publisher(project, client, bucket, log=lines.append).rollback()
    assert any(line.startswith("warning: ") and "vanished during the rollback" in line
               for line in lines)
    assert deleted and reused[0] not in _current(client, bucket), \
        "a rollback holds no bytes: the way out is re-publishing the build"
    pub.publish(v1)
    assert reused[0] in _current(client, bucket)
    assert "View order" in render_cold(client, bucket, "mini2", EXAMPLE).html

    deleted.clear()
    project.edit("Open your order", "Third")
    pub.publish(project.build("v3"))
    assert deleted, "the racing delete happened"
    assert reused[0] in _current(client, bucket), "the publisher restored what vanished"
    assert "Third" in render_cold(client, bucket, "mini", EXAMPLE).html
    assert render_cold(client, bucket, "mini2", EXAMPLE).html


def test_a_format_1_bucket_whose_pinned_versions_expired_still_moves(
        project: Project, moto_endpoint: str) -> None:
    """The delayed outage already happened: the old manifest pins deleted versions. The
    publish that moves the bucket must not be blocked by what it cannot compare."""
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    _legacy_bucket(project, client, bucket, project.build("old"))
    legacy = json.loads(client.get_object(Bucket=bucket, Key="manifest.json")["Body"].read())
    for key, info in legacy["objects"].items():
        if key.startswith("notifications/mini."):
            client.delete_object(Bucket=bucket, Key=key, VersionId=info["versionId"])
    lines: list[str] = []
    pub = _publisher(project, client, bucket, log=lines.append)
    project.edit("View order", "Open your order")
    # the format-1 build predates the validator's semantics version: a reviewed break
    pub.publish(project.build("new"), allow_breaking=list(project.config.templates))
    assert any(line.startswith("warning: the live mini cannot be read") for line in lines)
    assert "Open your order" in render_cold(client, bucket, "mini", EXAMPLE).html


@pytest.mark.parametrize("server", ["moto", "seaweedfs"])
def test_a_re_run_publish_during_a_collection_keeps_every_object_it_reuses(
        project: Project, server: str, request: pytest.FixtureRequest) -> None:
    """A publish killed between its uploads and the pointer, re-run days later while a
    collection is deleting its (then unreferenced) objects: the collection must not go on
    deleting once the re-run made them live, after the re-run's own restore has looked."""
    endpoint = request.getfixturevalue(f"{server.replace('seaweedfs', 'seaweed')}_endpoint")
    # killed after the bundle and the build manifest, before the pointer
    client, bucket, clock, _, before, v2 = _killed_publish(project, endpoint, puts=2)
    orphans = _current(client, bucket) - before
    assert sorted(layout.key_class(k) for k in orphans) == ["build", "bundle"]
    clock.days(2)

    collector = make_test_client(endpoint)
    rerun: list[Any] = []

    def re_run_publish(request: Any, **_: Any) -> None:
        if request.method == "DELETE" and not rerun:
            rerun.append(_publisher(project, client, bucket, clock=clock).publish(v2))
    collector.meta.events.register("before-send.s3.DeleteObject", re_run_publish)
    _publisher(project, collector, bucket, clock=clock).collect()
    assert rerun and rerun[0].uploads == [], "the re-run reused both objects"
    assert orphans <= _current(client, bucket), "the live build lost an object"
    assert "Killed variant" in render_cold(client, bucket, "mini", EXAMPLE).html


def test_a_history_record_with_a_time_without_zone_is_read_as_utc(
        project: Project, moto_endpoint: str) -> None:
    """publishedAt is whatever the bucket holds (a format-1 publisher, a hand-written
    record): one without a UTC offset must not crash the collection that runs after each
    publish, once the pointer has already moved."""
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    clock = Clock()
    pub = _publisher(project, client, bucket, clock=clock)
    pub.publish(project.build("v1"))
    [(key, doc)] = pub.records()
    naive = {**doc, "publishedAt": "2020-01-01T00:00:00"}
    client.put_object(Bucket=bucket, Key=key.replace("history/", "history/2020"),
                      Body=layout.canonical_json(naive))
    project.edit("View order", "Open your order")
    pub.publish(project.build("v2"))
    assert pub.collect() == []
    clock.days(100)
    project.edit("Open your order", "See your order")
    pub.publish(project.build("v3"))
    assert "See your order" in render_cold(client, bucket, "mini", EXAMPLE).html
