"""Fixtures of the runtime tests: moto's SES v2 server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.server import ThreadedMotoServer
    from moto.ses.models import ses_backends

    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(var, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        boto3.client("ses", region_name="af-south-1", endpoint_url=endpoint
                     ).verify_email_identity(EmailAddress="noreply@bbws.co.za")
        yield endpoint, ses_backends[DEFAULT_ACCOUNT_ID]["af-south-1"]
    finally:
        server.stop()
