"""S3 brownouts through a fault-injecting proxy: 503 to everything, hanging, resets.

The claims: after the first failed refresh a warm reader makes no S3 request until
its next attempt is due (so its renders cost what renders cost), other threads never
queue behind a refresh, and a cold reader with a packaged build answers within its
configured timeouts. Each cause is logged once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import SourceError, render
from bbws_mail.s3source import S3Source, forget_readers
from bbws_mail.sources import PackagedSource
from tests.conftest import ROOT, TEMPLATES
from tests.s3.conftest import make_bucket, make_test_client
from tests.s3.faultproxy import FaultProxy
from tests.s3.project import publish_build

pytestmark = pytest.mark.s3
ORDER = TEMPLATES[0]  # any template
DATA: dict[str, Any] = json.loads((ROOT / "schemas/examples" / f"{ORDER}.json").read_text())
TIMEOUTS = {"connect_timeout": 0.5, "read_timeout": 0.5, "attempts": 2}
CAUSES = {"503": "SlowDown", "hang": "ReadTimeoutError", "reset": "Connection"}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(var, value)
    forget_readers()
    yield
    forget_readers()


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    p = FaultProxy(moto_endpoint).start()
    yield p
    p.stop()


@pytest.fixture
def bucket(moto_endpoint: str, project_build: Path) -> str:
    client = make_test_client(moto_endpoint)
    name = make_bucket(client)
    publish_build(client, name, project_build)
    return name


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bbws_mail.s3source"]


@pytest.mark.parametrize("fault", ["503", "hang", "reset"])
def test_warm_reader_leaves_s3_alone_after_the_first_failed_refresh(
        proxy: FaultProxy, bucket: str, fault: str, caplog: pytest.LogCaptureFixture) -> None:
    src = S3Source("dev", bucket=bucket, endpoint_url=proxy.endpoint, refresh_seconds=0,
                   retry_seconds=600, fallback=False, **TIMEOUTS)
    good = render(ORDER, DATA, source=src)
    proxy.mode = fault
    assert render(ORDER, DATA, source=src).html == good.html  # the failed refresh
    assert proxy.requests[fault] >= 1
    seen = sum(proxy.requests.values())
    for _ in range(50):
        assert render(ORDER, DATA, source=src).html == good.html
    assert sum(proxy.requests.values()) == seen, "a render asked S3 while backing off"
    lines = _messages(caplog)
    assert len(lines) == 1 and CAUSES[fault] in lines[0], lines
    assert "NoneType" not in lines[0]
    assert f"keeping build {good.build_version}" in lines[0]


def test_other_threads_never_wait_behind_a_hanging_refresh(proxy: FaultProxy,
                                                           bucket: str) -> None:
    src = S3Source("dev", bucket=bucket, endpoint_url=proxy.endpoint, refresh_seconds=0,
                   retry_seconds=600, fallback=False, **TIMEOUTS)
    good = render(ORDER, DATA, source=src)
    proxy.mode = "hang"
    refresher = threading.Thread(target=render, args=(ORDER, DATA), kwargs={"source": src})
    refresher.start()
    while not proxy.requests["hang"]:
        time.sleep(0.01)
    for _ in range(20):
        assert render(ORDER, DATA, source=src).html == good.html
    assert refresher.is_alive(), "the renders above should have finished during the refresh"
    refresher.join()


def test_cold_reader_falls_back_to_the_packaged_build_within_its_timeouts(
        proxy: FaultProxy, bucket: str, caplog: pytest.LogCaptureFixture) -> None:
    proxy.mode = "hang"
    src = S3Source("dev", bucket=bucket, endpoint_url=proxy.endpoint, fallback=True, **TIMEOUTS)
    start = time.monotonic()
    email = render(ORDER, DATA, source=src)
    elapsed = time.monotonic() - start
    budget = TIMEOUTS["attempts"] * (TIMEOUTS["connect_timeout"] + TIMEOUTS["read_timeout"])
    assert elapsed < budget + 2.0, f"{elapsed:.1f} s against a configured {budget:.1f} s"
    assert email.build_version == PackagedSource().snapshot().build_version
    for _ in range(5):
        render(ORDER, DATA, source=src)
    lines = _messages(caplog)
    assert len(lines) == 1 and "falling back to the packaged build" in lines[0], lines
    assert "ReadTimeoutError" in lines[0]

    proxy.mode = "pass"  # S3 is back: the next due refresh serves the bucket's build
    assert src.refresh().origin.startswith(f"s3://{bucket}/builds/")


def test_cold_reader_without_fallback_gives_the_cause_and_backs_off(
        proxy: FaultProxy, bucket: str) -> None:
    proxy.mode = "reset"
    src = S3Source("dev", bucket=bucket, endpoint_url=proxy.endpoint, fallback=False,
                   retry_seconds=600, **TIMEOUTS)
    with pytest.raises(SourceError) as info:
        render(ORDER, DATA, source=src)
    assert "Connection" in str(info.value) and "NoneType" not in str(info.value)
    seen = sum(proxy.requests.values())
    with pytest.raises(SourceError):
        render(ORDER, DATA, source=src)
    assert sum(proxy.requests.values()) == seen
