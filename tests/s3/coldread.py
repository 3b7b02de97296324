"""What a Lambda starting cold would render from a bucket, read with layout.py only.

A stand-in for the S3 reader (another change moves ``S3Source`` to this layout):
the pointer, then one bundle per template, each checked against its SHA-256 by
``layout.decode_bundle``, rendered through the real ``bbws_mail.render``.
"""

from __future__ import annotations

from typing import Any

from bbws_mail import layout, render
from bbws_mail.render import RenderedEmail
from bbws_mail.sources import FixedSource, Snapshot, TemplateFiles, asset_base_url_for


def cold_snapshot(client: Any, bucket: str, env: str = "dev") -> Snapshot:
    body = client.get_object(Bucket=bucket, Key=layout.POINTER_KEY)["Body"].read()
    doc = layout.check_pointer(layout.parse_json_object(body, layout.POINTER_KEY))
    assert doc["env"] == env, "a reader refuses another environment's pointer"
    manifest = doc["manifest"]
    templates = {}
    for name, entry in manifest["templates"].items():
        data = client.get_object(Bucket=bucket, Key=entry["key"])["Body"].read()
        parts = layout.decode_bundle(data, key=entry["key"], sha256=entry["sha256"], name=name)
        templates[name] = TemplateFiles(name, parts["html"], parts["text"], parts["subject"],
                                        parts["schema"])
    return Snapshot(manifest["buildVersion"], templates, asset_base_url_for(manifest, env),
                    f"s3://{bucket}/{doc['build']['key']}", manifest)


def render_cold(client: Any, bucket: str, name: str, data: dict[str, Any],
                env: str = "dev") -> RenderedEmail:
    return render(name, data, source=FixedSource(cold_snapshot(client, bucket, env)))


def expire_noncurrent(client: Any, bucket: str) -> int:
    """Do what a NoncurrentVersionExpiration rule does, for every version at once:
    delete each version (and delete marker) that is not the current one."""
    doomed = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            if not item.get("IsLatest"):
                doomed.append((item["Key"], item["VersionId"]))
    for key, version in doomed:
        client.delete_object(Bucket=bucket, Key=key, VersionId=version)
    return len(doomed)
