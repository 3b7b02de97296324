"""The S3 reader against moto's server on 127.0.0.1: requests and render time in a brownout.

Baseline in the same run: a warm reader whose refresh is not due. Compared with it:
the same reader after S3 started answering 503 to everything and its first refresh
failed (it must not touch S3 again until its back-off ends), and the first render of
a cold reader (pointer + one bundle). The bucket is written in the docs/s3-layout.md
layout by the real publisher.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from benchmarks.common import median_seconds, table

NAME = "order_confirmation_customer"


def run(root: Path) -> None:
    try:
        from moto.server import ThreadedMotoServer

        from tests.s3.conftest import make_bucket, make_test_client
        from tests.s3.faultproxy import FaultProxy
        from tests.s3.project import publish_build
    except ImportError as exc:
        print(f"\n(S3 reader bench skipped: {exc})")
        return
    import logging

    from bbws_mail import render
    from bbws_mail.s3source import S3Source, forget_readers

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    logging.getLogger("bbws_mail.s3source").setLevel(logging.CRITICAL)  # the expected 503
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    data = json.loads((root / "schemas/examples" / f"{NAME}.json").read_text())
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    proxy = FaultProxy(f"http://{host}:{port}").start()
    try:
        client = make_test_client(f"http://{host}:{port}")
        bucket = make_bucket(client)
        publish_build(client, bucket, root / "build")
        forget_readers()
        cold = S3Source("dev", bucket=bucket, endpoint_url=proxy.endpoint, fallback=False)
        start = time.perf_counter()
        render(NAME, data, source=cold)
        first = time.perf_counter() - start
        first_requests = sum(proxy.requests.values())

        forget_readers()
        warm = S3Source("dev", bucket=bucket, endpoint_url=proxy.endpoint, fallback=False,
                        refresh_seconds=3600, retry_seconds=3600)
        render(NAME, data, source=warm)
        normal = median_seconds(lambda: render(NAME, data, source=warm), repeat=21, number=50)
        proxy.mode = "503"
        warm.refresh()  # the first failed refresh
        seen = sum(proxy.requests.values())
        brownout = median_seconds(lambda: render(NAME, data, source=warm), repeat=21, number=50)
        during = sum(proxy.requests.values()) - seen
    finally:
        proxy.stop()
        server.stop()
        forget_readers()
    print(f"\n== S3 reader ({NAME}, moto on 127.0.0.1)")
    print(table(["case", "per render", "S3 requests", "vs warm"], [
        ["warm reader, refresh not due", f"{normal * 1e6:.0f} µs", "0", "1.00x"],
        ["warm reader, S3 503s (after its failed refresh)", f"{brownout * 1e6:.0f} µs",
         str(during), f"{brownout / normal:.2f}x"],
        ["cold reader, first render", f"{first * 1e3:.1f} ms", str(first_requests),
         f"{first / normal:.0f}x"],
    ]))
    within = (brownout - normal) * 1e3
    print(f"goal: brownout renders within 2 ms of normal with no S3 request: "
          f"{within:+.3f} ms, {during} request(s) -> "
          f"{'met' if within <= 2 and during == 0 else 'NOT met'}; first render <= 3 requests: "
          f"{first_requests} -> {'met' if first_requests <= 3 else 'NOT met'}")
