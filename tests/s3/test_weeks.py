"""Weeks of operation replayed, then the lifecycle rule's deletions, then cold renders.

The invariant under test (docs/s3-layout.md#the-invariant): every object the live build
uses, and every build ``history``/``rollback`` offer, survives the bucket's lifecycle
rule deleting every noncurrent version. A fake clock moves the publisher through
the weeks; the servers keep their own time, which only ever makes objects look
younger to the collector, never older than they are.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import layout
from bbws_mail.publish import PublishConflictError
from tests.s3.coldread import cold_snapshot, expire_noncurrent, render_cold
from tests.s3.conftest import make_bucket, make_test_client
from tests.s3.project import EXAMPLE, Project, _publisher

pytestmark = pytest.mark.s3


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def days(self, n: float) -> None:
        self.now += timedelta(days=n)


class Killed(BaseException):
    """The process dies: nothing after this point runs, no cleanup, no handler."""


def _kill_after_puts(client: Any, puts: int) -> None:
    seen = []

    def hook(request: Any, **_: Any) -> None:
        if request.method == "PUT":
            seen.append(request.url)
            if len(seen) > puts:
                raise Killed
    client.meta.events.register("before-send.s3.PutObject", hook)


def _render_all(client: Any, bucket: str) -> dict[str, str]:
    snapshot = cold_snapshot(client, bucket)
    return {name: render_cold(client, bucket, name, EXAMPLE).html for name in snapshot.templates}


def test_weeks_of_operation_survive_the_lifecycle_rule(project: Project, s3_endpoint: str,
                                                       tmp_path: Path) -> None:
    client = make_test_client(s3_endpoint)
    bucket = make_bucket(client)
    clock = Clock()
    pub = _publisher(project, client, bucket, clock=clock)
    builds = {}

    builds["v1"] = project.build("v1")
    pub.publish(builds["v1"])
    html_v1 = _render_all(client, bucket)
    clock.days(7)
    project.edit("View order", "Open your order")
    project.edit("View order", "See your order", name="mini2")
    builds["v2"] = project.build("v2")
    pub.publish(builds["v2"])
    html_v2 = _render_all(client, bucket)
    assert html_v2 != html_v1
    clock.days(7)
    pub.rollback()
    assert _render_all(client, bucket) == html_v1
    clock.days(7)

    # a publish killed half-way: some bundles written, no pointer
    project.edit("Open your order", "Killed variant")
    killed_client = make_test_client(s3_endpoint)
    _kill_after_puts(killed_client, 1)
    with pytest.raises(Killed):
        _publisher(project, killed_client, bucket, clock=clock).publish(project.build("v3"))
    assert _render_all(client, bucket) == html_v1
    clock.days(7)

    # a lost race: both planned against v1, A lands first, B's uploads are orphans
    project.edit("Killed variant", "Variant A")
    a_dir = project.build("va")
    project.edit("Variant A", "Variant B")
    b_dir = project.build("vb")
    a = _publisher(project, client, bucket, clock=clock)
    b = _publisher(project, client, bucket, clock=clock)
    plan_a, plan_b = a.plan(a_dir), b.plan(b_dir)
    a.execute(plan_a)
    with pytest.raises(PublishConflictError):
        b.execute(plan_b)
    html_a = _render_all(client, bucket)
    assert "Variant A" in html_a["mini"]

    # weeks later the collector runs, then the lifecycle rule deletes every noncurrent version
    clock.days(30)
    collected = pub.collect()
    orphans = [k for k in collected if layout.key_class(k) in ("bundle", "build")]
    assert orphans, "the killed publish's and the loser's uploads are collected"
    kept = {h["build"] for h in pub.history()}
    assert not kept & set(collected), "no build the history offers is collected"
    assert expire_noncurrent(client, bucket) > 0

    assert _render_all(client, bucket) == html_a, "the live build renders cold"
    versions = [h["buildVersion"] for h in pub.history()]
    build_v1, build_v2 = (layout.parse_json_object((builds[v] / "manifest.json").read_bytes(),
                                                   v)["buildVersion"] for v in ("v1", "v2"))
    assert build_v1 in versions and build_v2 in versions
    assert pub.publish(builds["v2"]).uploads == [], "re-publishing v2 finds every object"
    assert _render_all(client, bucket) == html_v2
    for target, html in ((build_v1, html_v1), (build_v2, html_v2), (build_v1, html_v1)):
        clock.days(1)
        if cold_snapshot(client, bucket).build_version != target:
            pub.rollback(target)
        assert _render_all(client, bucket) == html, f"rollback to {target} renders cold"
    expire_noncurrent(client, bucket)
    assert _render_all(client, bucket) == html_v1
