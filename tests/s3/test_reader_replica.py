"""The DR drill: a reader in the failover region while the replica lags and the primary is down.

Two S3 servers on 127.0.0.1 (the primary's, behind a fault proxy, and the
replica's), a test replicator that copies objects one by one, out of order and
pointer first (real replication keeps no order and a test one cannot keep
VersionIds), and a primary outage in the middle. The reader in "eu-west-1" must
render a complete build at every step, never a mix, and end on the newest one.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import render
from bbws_mail.s3source import S3Source, forget_readers
from bbws_mail.sources import PackagedSource, forget_packaged
from tests.conftest import ROOT, TEMPLATES
from tests.s3.conftest import make_bucket, make_test_client
from tests.s3.faultproxy import FaultProxy
from tests.s3.project import changed_copy, publish_build

pytestmark = pytest.mark.s3
CHANGED = (TEMPLATES[0], TEMPLATES[-1])  # any two templates


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return data


@pytest.fixture(scope="module")
def replica_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Replicator:
    """Copies what the replica lacks, one object per step, in a shuffled order."""

    def __init__(self, src: Any, src_bucket: str, dst: Any, dst_bucket: str, seed: int) -> None:
        self.src, self.src_bucket, self.dst, self.dst_bucket = src, src_bucket, dst, dst_bucket
        self.rng = random.Random(seed)

    def _keys(self, client: Any, bucket: str) -> dict[str, str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {o["Key"]: o["ETag"] for p in pages for o in p.get("Contents", [])}

    def pending(self) -> list[str]:
        """Keys to copy: the pointer first (it often arrives first), the rest shuffled."""
        have = self._keys(self.dst, self.dst_bucket)
        todo = [k for k, etag in self._keys(self.src, self.src_bucket).items()
                if have.get(k) != etag]
        self.rng.shuffle(todo)
        todo.sort(key=lambda k: k != "manifest.json")
        return todo

    def copy(self, key: str) -> None:
        body = self.src.get_object(Bucket=self.src_bucket, Key=key)["Body"].read()
        self.dst.put_object(Bucket=self.dst_bucket, Key=key, Body=body)

    def sync(self) -> None:
        for key in self.pending():
            self.copy(key)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("BBWS_TEMPLATE_BUCKET", raising=False)
    forget_readers()
    yield
    forget_readers()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dr_drill_the_failover_reader_renders_only_complete_builds(
        moto_endpoint: str, replica_endpoint: str, project_build: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    primary = FaultProxy(moto_endpoint).start()
    try:
        _drill(primary, replica_endpoint, project_build, tmp_path, monkeypatch, seed)
    finally:
        primary.stop()


def _drill(primary: FaultProxy, replica_endpoint: str, project_build: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    src_client = make_test_client(primary.endpoint)
    dst_client = make_test_client(replica_endpoint)
    p_bucket, r_bucket = make_bucket(src_client), make_bucket(dst_client)
    envs = {"prod": {"bucket": p_bucket, "region": "af-south-1", "replica_bucket": r_bucket,
                     "replica_region": "eu-west-1"}}
    monkeypatch.setattr("bbws_mail.s3source.packaged_environments", lambda: envs)

    build_b = project_build.parent / f"drill-b-{seed}"
    if not build_b.exists():
        changed_copy(project_build, build_b, CHANGED, "drill-build-b")
    expected: dict[str, dict[str, str]] = {}
    for folder in (project_build, build_b):
        version = json.loads((folder / "manifest.json").read_text())["buildVersion"]
        forget_packaged(folder)
        expected[version] = {n: render(n, example(n), source=PackagedSource(folder)).html
                             for n in CHANGED}
    a, b = list(expected)

    replicator = Replicator(src_client, p_bucket, dst_client, r_bucket, seed)
    publish_build(src_client, p_bucket, project_build, env="prod")
    replicator.sync()
    reader = S3Source("prod", region="eu-west-1", endpoint_url=replica_endpoint,
                      refresh_seconds=0, fallback=False)
    assert reader.status()["bucket"] == r_bucket and reader.status()["replica"]

    def check_renders(want: set[str]) -> str:
        seen = set()
        for name in CHANGED:
            email = render(name, example(name), source=reader)
            assert email.build_version in want
            assert email.html == expected[email.build_version][name], "a mixed build"
            seen.add(email.build_version)
        assert len(seen) == 1
        return seen.pop()

    assert check_renders({a}) == a
    pointer_b = publish_build(src_client, p_bucket, build_b, env="prod")
    needed = {e["key"] for e in pointer_b["manifest"]["templates"].values()}
    todo = replicator.pending()
    needed &= set(todo)  # the unchanged templates' bundles are on the replica already
    assert todo[0] == "manifest.json" and len(needed) == len(CHANGED)
    outage_at = len(todo) // 2
    for i, key in enumerate(todo):
        if i == outage_at:
            primary.mode = "503"  # the primary region goes down mid-replication
            for _ in range(3):
                assert check_renders({a}) == a
            forget_readers()  # a cold Lambda in the failover region meets the lagging replica
            reader = S3Source("prod", region="eu-west-1", endpoint_url=replica_endpoint,
                              refresh_seconds=0, fallback=False)
            assert check_renders({a}) == a
            primary.mode = "pass"  # the primary returns; replication resumes
        replicator.copy(key)
        needed.discard(key)
        served = check_renders({a, b} if "manifest.json" not in todo[i + 1:] else {a})
        assert served == (a if needed else b)  # B exactly once all its bundles have arrived
    assert check_renders({b}) == b
