"""Faults at every request of a publish: readers see the complete old or complete new build.

Faults are injected with botocore's ``before-send`` hook, right where the HTTP
request would leave the client: a 500 or 503 SlowDown answer, a connection reset
mid-upload, or a response lost after the server applied the write.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError

from bbws_mail import render
from bbws_mail.publish import PublishError
from bbws_mail.s3source import S3Source
from tests.s3.coldread import cold_snapshot
from tests.s3.conftest import CREDS, REGION, make_bucket, make_test_client
from tests.s3.project import EXAMPLE, Project, _publisher

pytestmark = pytest.mark.s3


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def _error(url: str, status: int, code: str) -> AWSResponse:
    body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
    return AWSResponse(url, status, {"Content-Type": "application/xml"}, _Raw(body))


class Faults:
    """Counts requests and applies ``decide(n, request) -> action`` to each."""

    def __init__(self, client: Any, decide: Callable[[int, Any], str | None]) -> None:
        self.n = 0
        self.decide = decide
        self.log: list[str] = []
        client.meta.events.register("before-send.s3.*", self)

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.n += 1
        action = self.decide(self.n, request)
        self.log.append(f"{self.n} {request.method} {request.url.split('?')[0]} {action or ''}")
        if action == "500":
            return _error(request.url, 500, "InternalError")
        if action == "503":
            return _error(request.url, 503, "SlowDown")
        if action == "reset":
            raise ConnectionClosedError(endpoint_url=request.url)
        if action == "lost":  # the server applies the write; the answer never arrives
            body = request.body if isinstance(request.body, bytes) else request.body.read()
            replay = urllib.request.Request(request.url, data=body, method=request.method,
                                            headers=dict(request.headers.items()))
            urllib.request.urlopen(replay).read()
            raise ConnectionClosedError(endpoint_url=request.url)
        return None


def _no_retry_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **CREDS,
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1},
                                      request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required"))


def _versions_seen(endpoint: str, bucket: str, builds: dict[str, Path]) -> str:
    """Which build a fresh reader sees; fails if templates come from different builds."""
    snapshot = cold_snapshot(make_test_client(endpoint), bucket)
    seen = set()
    for name, files in snapshot.templates.items():
        matches = [label for label, folder in builds.items()
                   if (folder / f"{name}.html").read_text() == files.html
                   and (folder / f"{name}.txt").read_text() == files.text]
        assert matches, f"{name} matches no build"
        seen.add(matches[0])
    assert len(seen) == 1, f"a reader sees a mix of builds: {seen}"
    return seen.pop()


@pytest.fixture
def builds(project: Project) -> dict[str, Path]:
    v1 = project.build("build-v1")
    project.edit("View order", "Open your order")
    project.edit("View order", "Open your order", name="mini2")
    return {"old": v1, "new": project.build("build-v2")}


@pytest.mark.parametrize("fault", ["500", "reset"])
def test_a_fault_at_each_request_never_mixes_versions(project: Project, builds: dict[str, Path],
                                                      moto_endpoint: str, fault: str) -> None:
    """Faults from request k on: before the pointer lands readers keep the old build,
    after it the new one; never a mix, and never an error once the pointer has moved."""
    clean = make_test_client(moto_endpoint)
    probe_bucket = make_bucket(clean)
    _publisher(project, clean, probe_bucket).publish(builds["old"])
    probe = _no_retry_client(moto_endpoint)
    counter = Faults(probe, lambda n, r: None)
    _publisher(project, probe, probe_bucket).publish(builds["new"])
    total = counter.n
    assert total >= 8, counter.log
    [pointer_put] = [i for i, line in enumerate(counter.log, 1)
                     if " PUT " in line and line.split()[2].endswith("/manifest.json")]

    outcomes = []
    for k in range(1, total + 1):
        bucket = make_bucket(clean)
        _publisher(project, clean, bucket).publish(builds["old"])
        client = _no_retry_client(moto_endpoint)
        Faults(client, lambda n, r, k=k: fault if n >= k else None)
        if k <= pointer_put:
            with pytest.raises(PublishError):
                _publisher(project, client, bucket).publish(builds["new"])
        else:
            _publisher(project, client, bucket).publish(builds["new"])
        outcomes.append(_versions_seen(moto_endpoint, bucket, builds))
    assert outcomes == ["old"] * pointer_put + ["new"] * (total - pointer_put), outcomes


@pytest.mark.parametrize("fault", ["500", "503", "reset"])
def test_transient_faults_are_retried(project: Project, builds: dict[str, Path],
                                      moto_endpoint: str, fault: str) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    _publisher(project, client, bucket).publish(builds["old"])
    failed: set[str] = set()

    def once_per_put(n: int, request: Any) -> str | None:
        key = request.url.split("?")[0]
        if request.method == "PUT" and key not in failed:
            failed.add(key)
            return fault
        return None

    faults = Faults(client, once_per_put)
    _publisher(project, client, bucket).publish(builds["new"])
    assert any(fault in line for line in faults.log)
    assert _versions_seen(moto_endpoint, bucket, builds) == "new"


def test_lost_manifest_response_is_recognised_as_our_own_write(
        project: Project, builds: dict[str, Path], moto_endpoint: str) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    pub = _publisher(project, client, bucket)
    pub.publish(builds["old"])
    lost = []

    def lose_manifest_answer(n: int, request: Any) -> str | None:
        if request.method == "PUT" and request.url.split("?")[0].endswith("/manifest.json") \
                and not lost:
            lost.append(n)
            return "lost"
        return None

    faults = Faults(client, lose_manifest_answer)
    pub.publish(builds["new"])  # the retry gets 412 but must not report a conflict
    assert lost, faults.log
    assert _versions_seen(moto_endpoint, bucket, builds) == "new"
    history = pub.history()
    assert [h["buildVersion"] for h in history][:1] == [
        json.loads((builds["new"] / "manifest.json").read_text())["buildVersion"]]
    assert len(history) == 2, "the lost-response retry must not write a second record"
    versions = client.list_object_versions(Bucket=bucket, Prefix="manifest.json")["Versions"]
    assert len(versions) == 2, "the lost-response retry must not write a second pointer"


def test_reader_keeps_last_good_snapshot_when_s3_fails(project: Project,
                                                       builds: dict[str, Path],
                                                       moto_endpoint: str) -> None:
    client = make_test_client(moto_endpoint)
    bucket = make_bucket(client)
    _publisher(project, client, bucket).publish(builds["old"])
    reader_client = _no_retry_client(moto_endpoint)
    reader = S3Source("dev", bucket=bucket, client=reader_client, refresh_seconds=0)
    before = render("mini", EXAMPLE, source=reader)
    faults = Faults(reader_client, lambda n, r: "500")
    assert render("mini", EXAMPLE, source=reader).html == before.html
    assert faults.n >= 1, "the refresh did not ask S3"
    assert reader.status()["failures"] == 1
