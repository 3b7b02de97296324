"""The S3 reader against moto's server: requests counted, formats, refusals, caching."""

from __future__ import annotations

import gc
import json
import logging
import weakref
from pathlib import Path
from typing import Any

import pytest

from bbws_mail import BBWSMailError, SourceError, render
from bbws_mail.s3source import ManifestRefused, S3Source, forget_readers, resolve_bucket
from bbws_mail.sources import LazyTemplates, PackagedSource
from tests.conftest import ROOT, TEMPLATES
from tests.s3.conftest import make_bucket, make_test_client
from tests.s3.project import changed_copy, publish_build

pytestmark = pytest.mark.s3
ORDER, OTHER = TEMPLATES[0], TEMPLATES[-1]  # any two templates (names kept short)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return data


class Counter:
    """Every HTTP request the client sends (retries included), by operation."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-send.s3", self._seen)

    def _seen(self, request: Any, **_: Any) -> None:
        self.calls.append(f"{request.method} {request.url.split('?')[0].rsplit('/', 1)[-1]}")

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


@pytest.fixture(autouse=True)
def _fresh_readers(monkeypatch: pytest.MonkeyPatch) -> Any:
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(var, value)
    forget_readers()
    yield
    forget_readers()


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    return make_bucket(make_test_client(moto_endpoint))


def reader(endpoint: str, bucket: str, **kw: Any) -> S3Source:
    kw.setdefault("refresh_seconds", 0)
    kw.setdefault("fallback", False)
    return S3Source("dev", bucket=bucket, endpoint_url=endpoint, **kw)


def test_first_render_then_a_one_template_publish_cost_two_requests_each(
        moto_endpoint: str, bucket: str, project_build: Path, tmp_path: Path) -> None:
    client = make_test_client(moto_endpoint)
    publish_build(client, bucket, project_build)
    src = reader(moto_endpoint, bucket)
    counter = Counter(src.client)
    first = render(ORDER, example(ORDER), source=src)
    assert len(counter.take()) <= 3
    render(OTHER, example(OTHER), source=src)
    assert len(counter.take()) == 2  # pointer (304) + the other template's bundle
    render(ORDER, example(ORDER), source=src)
    assert counter.take() == ["GET manifest.json"]  # 304: nothing else re-read

    publish_build(client, bucket, changed_copy(project_build, tmp_path / "b2", ORDER,
                                                         "changed-in-b2"))
    after = render(ORDER, example(ORDER), source=src)
    assert len(counter.take()) <= 3
    assert "changed-in-b2" in after.html and "changed-in-b2" not in first.html
    assert after.build_version != first.build_version
    render(OTHER, example(OTHER), source=src)  # unchanged: taken over, not fetched again
    assert counter.take() == ["GET manifest.json"]


def test_sources_are_shared_so_no_call_pattern_rereads(
        moto_endpoint: str, bucket: str, project_build: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    publish_build(make_test_client(moto_endpoint), bucket, project_build)
    first = S3Source("dev", bucket=bucket, endpoint_url=moto_endpoint, fallback=False)
    counter = Counter(first.client)
    for _ in range(3):  # docs/lambda.md#reading-templates-from-s3: a new S3Source per call
        render(ORDER, example(ORDER), source=S3Source("dev", bucket=bucket,
                                                      endpoint_url=moto_endpoint))
    assert len(counter.take()) == 2

    monkeypatch.setenv("BBWS_ENV", "dev")
    monkeypatch.setenv("BBWS_TEMPLATE_BUCKET", bucket)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    import importlib

    from bbws_mail import render as render_module_fn  # noqa: F401

    mod = importlib.import_module("bbws_mail.render")
    monkeypatch.setattr(mod, "_sources", {})
    assert mod._make_source("s3") is mod._make_source("s3")
    assert mod._make_source("packaged") is mod._make_source("packaged")


def test_misspelt_source_names_are_project_errors() -> None:
    for bad, why in (("S3", "lower case"), ("packaged ", "spaces"), ("disk", "unknown")):
        with pytest.raises(SourceError, match=why) as info:
            render(ORDER, example(ORDER), source=bad)
        assert isinstance(info.value, BBWSMailError)
        assert repr(bad) not in str(info.value)


def test_pointer_of_another_env_is_refused_and_logged_once(
        moto_endpoint: str, bucket: str, project_build: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    publish_build(make_test_client(moto_endpoint), bucket, project_build, env="prod")
    src = reader(moto_endpoint, bucket)
    with pytest.raises(ManifestRefused, match="another environment"):
        src.snapshot()
    forget_readers()
    caplog.clear()
    caplog.set_level(logging.WARNING, "bbws_mail.s3source")
    fallback = reader(moto_endpoint, bucket, fallback=True)
    for _ in range(3):
        snap = fallback.snapshot()
        fallback.refresh()
    assert snap.origin == PackagedSource().snapshot().origin
    lines = [r.getMessage() for r in caplog.records if r.name == "bbws_mail.s3source"]
    assert len(lines) == 1, lines  # refused three times, logged once
    assert "falling back to the packaged build" in lines[0]
    assert all("another environment" in line for line in lines)


def test_a_tampered_bundle_is_refused_and_the_render_fails_cleanly(
        moto_endpoint: str, bucket: str, project_build: Path) -> None:
    """The bundle is overwritten by hand: the publisher never writes bytes that do not
    match their key."""
    client = make_test_client(moto_endpoint)
    pointer = publish_build(client, bucket, project_build)
    key = pointer["manifest"]["templates"][ORDER]["key"]
    client.put_object(Bucket=bucket, Key=key, Body=b'{"format": 1}')
    with pytest.raises(SourceError, match="does not match its SHA-256"):
        render(ORDER, example(ORDER), source=reader(moto_endpoint, bucket))


def test_legacy_format_1_manifest_is_still_read(moto_endpoint: str, bucket: str,
                                                project_build: Path) -> None:
    """Written by hand: today's Publisher writes only format 2 (it moves a format-1 bucket
    on its next publish), so no publish can leave a bucket in this state."""
    client = make_test_client(moto_endpoint)
    build = json.loads((project_build / "manifest.json").read_text())
    objects = {}
    for entry in build["templates"].values():
        for info in entry["files"].values():
            key = f"{entry['category']}/{info['path']}"
            put = client.put_object(Bucket=bucket, Key=key,
                                    Body=(project_build / info["path"]).read_bytes())
            objects[key] = {"versionId": put["VersionId"], "sha256": info["sha256"]}
    client.put_object(Bucket=bucket, Key="manifest.json", Body=json.dumps({
        "format": 1, "env": "dev", "buildVersion": build["buildVersion"],
        "assetBaseUrls": {n: e["asset_base_url"] for n, e in build["environments"].items()},
        "build": {"templates": build["templates"]},
        "objects": objects}).encode())
    src = reader(moto_endpoint, bucket)
    counter = Counter(src.client)
    email = render(ORDER, example(ORDER), source=src)
    assert email.build_version == build["buildVersion"]
    assert len(counter.take()) == 5  # the manifest + the template's four pinned files


def test_compiled_templates_go_with_the_snapshot(moto_endpoint: str, bucket: str,
                                                 project_build: Path, tmp_path: Path) -> None:
    import importlib

    mod = importlib.import_module("bbws_mail.render")
    client = make_test_client(moto_endpoint)
    publish_build(client, bucket, project_build)
    src = reader(moto_endpoint, bucket)
    render(ORDER, example(ORDER), source=src)
    old = src.snapshot().templates
    assert isinstance(old, LazyTemplates)
    gone = weakref.ref(old)
    shared_cache = len(mod._cache)
    del old
    for i in range(3):
        publish_build(client, bucket, changed_copy(
            project_build, tmp_path / f"b{i}", ORDER, f"publish-{i}"))
        render(ORDER, example(ORDER), source=src)
    gc.collect()
    assert gone() is None, "the first snapshot (and what it compiled) is still referenced"
    assert len(mod._cache) == shared_cache


def test_bucket_for_the_region_and_the_packaged_reader_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    envs = {"prod": {"bucket": "acme-prod", "region": "af-south-1",
                     "replica_bucket": "acme-prod-dr", "replica_region": "eu-west-1"},
            "dev": {"bucket": "acme-mail-templates-dev", "region": "af-south-1"}}
    monkeypatch.delenv("BBWS_TEMPLATE_BUCKET", raising=False)
    assert resolve_bucket("dev", region="af-south-1", environments=envs) == (
        "acme-mail-templates-dev", "af-south-1", False)
    assert resolve_bucket("prod", region="af-south-1", environments=envs) == (
        "acme-prod", "af-south-1", False)
    assert resolve_bucket("prod", region="eu-west-1", environments=envs) == (
        "acme-prod-dr", "eu-west-1", True)
    assert resolve_bucket("sit", region="af-south-1", environments=envs)[0] == "bbws-templates-sit"
    monkeypatch.setenv("BBWS_TEMPLATE_BUCKET", "explicit")
    assert resolve_bucket("prod", region="eu-west-1", environments=envs) == (
        "explicit", "eu-west-1", True)


def test_concurrent_first_renders_fetch_each_bundle_once(moto_endpoint: str, bucket: str,
                                                         project_build: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    publish_build(make_test_client(moto_endpoint), bucket, project_build)
    src = reader(moto_endpoint, bucket)
    counter = Counter(src.client)
    names = [ORDER, OTHER] * 8
    with ThreadPoolExecutor(8) as pool:
        emails = list(pool.map(lambda n: render(n, example(n), source=src), names))
    assert {e.template for e in emails} == {ORDER, OTHER}
    bundles = [c for c in counter.take() if not c.endswith("manifest.json")]
    assert len(bundles) == 2, bundles


@pytest.mark.parametrize("doc", [
    {"format": 1, "env": "dev", "objects": {}, "build": {"templates": {"x": {}}}},
    {"format": 1, "env": "dev", "objects": {}, "build": {"templates": {"x": {"files": []}}}},
    {"format": 2, "kind": "bbws-mail/pointer", "env": "dev", "build": {}, "manifest": {}},
])
def test_a_malformed_manifest_is_refused_not_a_traceback(moto_endpoint: str, bucket: str,
                                                         doc: dict[str, Any]) -> None:
    make_test_client(moto_endpoint).put_object(Bucket=bucket, Key="manifest.json",
                                               Body=json.dumps(doc).encode())
    with pytest.raises(ManifestRefused):
        reader(moto_endpoint, bucket).snapshot()


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000,
                                  b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
                                  b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b""])
def test_a_pointer_that_is_not_json_the_reader_can_take_is_refused(
        moto_endpoint: str, bucket: str, body: bytes) -> None:
    """Anyone who can write the bucket can write the pointer: nesting deep enough to
    exhaust the parser's recursion, or odd encodings, are refusals like any other."""
    make_test_client(moto_endpoint).put_object(Bucket=bucket, Key="manifest.json", Body=body)
    with pytest.raises(ManifestRefused, match=r"manifest\.json"):
        reader(moto_endpoint, bucket).snapshot()


def test_a_warm_reader_keeps_its_build_when_the_pointer_turns_hostile(
        moto_endpoint: str, bucket: str, project_build: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    client = make_test_client(moto_endpoint)
    pointer = publish_build(client, bucket, project_build)
    src = reader(moto_endpoint, bucket, retry_seconds=60)
    render(ORDER, example(ORDER), source=src)
    client.put_object(Bucket=bucket, Key="manifest.json", Body=b"[" * 100_000 + b"]" * 100_000)
    counter = Counter(src.client)
    with caplog.at_level(logging.ERROR, logger="bbws_mail.s3source"):
        for _ in range(3):
            email = render(ORDER, example(ORDER), source=src)
            assert email.build_version == pointer["manifest"]["buildVersion"]
    assert len(counter.take()) == 1, "a refused pointer must back off, not be re-read per render"
    assert "refused the manifest" in caplog.text and "nested" in caplog.text


@pytest.mark.parametrize("chosen_by", ["--source s3", "BBWS_TEMPLATE_SOURCE=s3"])
def test_cli_render_from_s3_names_the_bucket_and_never_serves_the_packaged_build(
        moto_endpoint: str, bucket: str, project_build: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        chosen_by: str) -> None:
    from bbws_mail.cli import main

    assert PackagedSource().snapshot().templates  # a packaged build it could fall back to
    for var, value in (("BBWS_ENV", "dev"), ("BBWS_TEMPLATE_BUCKET", bucket),
                       ("AWS_ENDPOINT_URL", moto_endpoint)):
        monkeypatch.setenv(var, value)
    argv = ["render", ORDER, str(ROOT / "schemas/examples" / f"{ORDER}.json"),
            "--html-out", str(tmp_path / "out.html")]
    if chosen_by.startswith("--"):
        argv += chosen_by.split()
    else:
        monkeypatch.setenv(*chosen_by.split("="))
    assert main(argv) == 1  # nothing published yet
    assert "NoSuchKey" in capsys.readouterr().err

    forget_readers()
    pointer = publish_build(make_test_client(moto_endpoint), bucket, project_build)
    assert main(argv) == 0
    assert f"From:    s3://{bucket}/{pointer['build']['key']}" in capsys.readouterr().out


def test_a_bundle_of_valid_json_but_no_usable_schema_fails_its_renders_cleanly(
        moto_endpoint: str, bucket: str, project_build: Path) -> None:
    """Written by hand, hashes and all, as anyone who can write the bucket could: the bundle
    passes every layout check but its schema is no schema. Its renders are project errors;
    the build's other templates still render."""
    from bbws_mail import layout
    from bbws_mail.errors import BrokenTemplateError

    client = make_test_client(moto_endpoint)
    pointer = publish_build(client, bucket, project_build)
    entry = pointer["manifest"]["templates"][ORDER]
    body = layout.encode_bundle(ORDER, "<p>{{x}}</p>", "{{x}}", "Hi", {"type": 5})
    digest = layout.sha256_hex(body)
    entry.update(sha256=digest, key=layout.bundle_key(entry["category"], ORDER, digest))
    client.put_object(Bucket=bucket, Key=entry["key"], Body=body)
    manifest = layout.canonical_json(pointer["manifest"])
    pointer["build"] = {**pointer["build"], "sha256": layout.sha256_hex(manifest),
                        "key": layout.build_key(layout.sha256_hex(manifest))}
    client.put_object(Bucket=bucket, Key=pointer["build"]["key"], Body=manifest)
    client.put_object(Bucket=bucket, Key="manifest.json", Body=json.dumps(pointer).encode())
    src = reader(moto_endpoint, bucket)
    for _ in range(2):
        with pytest.raises(BrokenTemplateError, match=f"'{ORDER}'.*TypeError"):
            render(ORDER, example(ORDER), source=src)
    assert render(OTHER, example(OTHER), source=src).build_version == \
        pointer["manifest"]["buildVersion"]
