"""What a Lambda starting cold renders from a bucket: the real ``S3Source``, a fresh one
per check, reading the environment and bucket the publisher wrote."""

from __future__ import annotations

from typing import Any

from bbws_mail import render
from bbws_mail.render import RenderedEmail
from bbws_mail.s3source import S3Source, forget_readers
from bbws_mail.sources import Snapshot


def cold_reader(client: Any, bucket: str, env: str = "dev") -> S3Source:
    """A reader with nothing cached and no packaged build to fall back to."""
    forget_readers()
    return S3Source(env, bucket=bucket, client=client, fallback=False, refresh_seconds=3600)


def cold_snapshot(client: Any, bucket: str, env: str = "dev") -> Snapshot:
    """The snapshot a cold reader serves, every template read (and verified) once."""
    snapshot = cold_reader(client, bucket, env).snapshot()
    return snapshot._replace(templates=dict(snapshot.templates))


def render_cold(client: Any, bucket: str, name: str, data: dict[str, Any],
                env: str = "dev") -> RenderedEmail:
    return render(name, data, source=cold_reader(client, bucket, env))


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
