"""Collection: remove what no kept build references, once it is safely old.

Kept builds are the live one, the ones in the live pointer's ``recent`` list, every
build a history record of the last ``RETENTION_DAYS`` names, and the newest
``KEEP_BUILDS`` distinct builds whatever their age. 90 days is the design's window
for old versions (what ``rollback`` must offer); 10 builds keep a quiet environment's
last weeks reachable too. An unreferenced object is collected only when older than
``GRACE`` (24 h), so the uploads of a publish still under way, which no pointer names
yet, are never touched. A collected object becomes a noncurrent version: the bucket's
lifecycle rule removes it for good 90 days later, which is the undo window. Keys
outside the layout are never touched; legacy (format-1) keys only once no kept
record is a format-1 one.

A publish that reuses an old unreferenced object can race a collection planned on the
previous pointer. Collection re-reads the pointer after each delete: when it moved, that
delete is undone (its delete marker removed) and collection stops; when it had not, the
delete happened before the pointer moved, so the publisher, which after moving the
pointer re-uploads whatever of its build vanished (it holds the bytes), sees it gone.
What remains is the moment between the publisher's pointer write and its re-upload.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bbws_mail import buildlayout, layout
from bbws_mail.errors import PublishError
from bbws_mail.publish.bucket import Bucket


class Publisher(Protocol):
    """What collection needs of ``publisher.Publisher`` (which calls it), so this module
    does not import the one that imports it."""

    env: str
    bucket: Bucket
    log: Callable[[str], None]
    clock: Callable[[], datetime]

    def records(self) -> list[tuple[str, dict[str, Any]]]: ...


RETENTION_DAYS = 90
KEEP_BUILDS = 10
GRACE = timedelta(hours=24)
# The format-1 layout stored build/'s files as they are: <category>/<build/ file name>.
LEGACY_SUFFIXES = tuple(suffix for suffix, _ in buildlayout.PART_FILES.values())


def _published(doc: dict[str, Any]) -> datetime | None:
    """When a record says it was published; one without a UTC offset (a format-1 or
    hand-written record) is read as UTC, as every publisher writes it."""
    try:
        when = datetime.fromisoformat(str(doc.get("publishedAt", "")).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _references(doc: dict[str, Any]) -> set[str]:
    manifest = doc["manifest"]
    return {doc["build"]["key"], *(e["key"] for e in manifest["templates"].values()),
            *manifest.get("assets", {}).values()}


def plan(pub: Publisher) -> list[str]:
    """Keys to collect now, oldest kinds of garbage first; reads only."""
    now = pub.clock()
    live = pub.bucket.read_pointer()
    records = pub.records()
    cutoff = now - timedelta(days=RETENTION_DAYS)
    kept_builds: set[str] = set()
    referenced: set[str] = set()
    legacy_kept = False
    if live is not None:
        if live.format == layout.LAYOUT_FORMAT:
            kept_builds.add(live.build_key)
            kept_builds.update(live.doc.get("recent", []))
            referenced |= _references(live.doc)
        else:
            legacy_kept = True
    newest: list[str] = []
    docs_by_build: dict[str, dict[str, Any]] = {}
    for _key, doc in records:
        when = _published(doc)
        recent_enough = when is None or when >= cutoff
        if layout.pointer_format(doc) == layout.LEGACY_FORMAT:
            if recent_enough or len(newest) < KEEP_BUILDS:
                legacy_kept = True
            continue
        build = doc["build"]["key"]
        docs_by_build.setdefault(build, doc)
        if build not in newest:
            newest.append(build)
        if recent_enough or newest.index(build) < KEEP_BUILDS:
            kept_builds.add(build)
    for build in kept_builds:
        if build in docs_by_build:
            referenced |= _references(docs_by_build[build])
        else:
            referenced.add(build)
    doomed: list[str] = []
    for key, modified in sorted(pub.bucket.list_keys().items()):
        if modified > now - GRACE:
            continue
        kind = layout.key_class(key)
        ours = kind in ("build", "bundle", "asset") and key not in referenced
        legacy = kind == "legacy" and key.endswith(LEGACY_SUFFIXES)
        if ours or (legacy and not legacy_kept):
            doomed.append(key)
    for key, doc in records:
        when = _published(doc)
        if when is None or when >= cutoff:
            continue
        build = (doc.get("build") or {}).get("key")
        if build not in kept_builds and not (layout.pointer_format(doc) == layout.LEGACY_FORMAT
                                             and legacy_kept):
            doomed.append(key)
    return doomed


def collect(pub: Publisher, *, dry_run: bool = False) -> list[str]:
    """Collect (delete-marker) every key :func:`plan` names; returns them."""
    planned_on = _live_build(pub)
    doomed = plan(pub)
    if not doomed:
        return doomed
    pub.log(f"{pub.env}: collecting {len(doomed)} object(s) no kept build references")
    for i, key in enumerate(doomed, 1):
        pub.log(f"[{i}/{len(doomed)}] {'would DELETE' if dry_run else 'DELETE'} "
                f"{pub.bucket.url(key)}")
        if dry_run:
            continue
        marker = pub.bucket.delete(key)
        try:
            moved = _live_build(pub) != planned_on
        except PublishError:
            moved = True  # cannot tell what is live now: keep what we just deleted
        if moved:
            pub.bucket.undelete(key, marker)
            pub.log(f"{pub.env}: manifest.json moved while collecting; {pub.bucket.url(key)} "
                    f"kept, stopped after {i - 1} object(s), the next run goes on")
            return doomed[: i - 1]
    return doomed


def _live_build(pub: Publisher) -> str:
    live = pub.bucket.read_pointer()
    return live.build_key or live.build_version if live else ""
