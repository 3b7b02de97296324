"""Where compiled templates come from at render time.

A *source* hands out immutable :class:`Snapshot` objects: one build version, all
templates of it. ``render()`` takes one snapshot per call, so a render can never
mix files of two versions, whatever a publisher is doing meanwhile.

The packaged source (default) reads the ``build/`` folder shipped inside the wheel
or the checkout: no configuration, no network. The S3 source lives in
``bbws_mail.s3source`` and imports boto3 only when it is used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from bbws_mail.errors import SourceError

DEFAULT_ASSET_BASE_URL = "https://assets.bbws.co.za/email"


class TemplateFiles(NamedTuple):
    """The four compiled files of one template, as text."""

    name: str
    html: str
    text: str
    subject: str
    schema: dict[str, Any]


class Snapshot(NamedTuple):
    """One consistent build: every template of one version."""

    build_version: str
    templates: dict[str, TemplateFiles]
    asset_base_url: str = DEFAULT_ASSET_BASE_URL
    origin: str = ""  # human-readable: where it was read from
    manifest: dict[str, Any] | None = None  # the manifest it was read from


class Source(Protocol):
    """Anything that can hand out the current snapshot."""

    def snapshot(self) -> Snapshot: ...


def _packaged_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_build", here.parent / "build"):
        if (candidate / "manifest.json").is_file():
            return candidate
    raise SourceError(
        "no compiled templates found: looked for bbws_mail/_build/manifest.json (installed "
        "package) and build/manifest.json (checkout); run `nox -s build`"
    )


def asset_base_url_for(manifest: dict[str, Any], env: str | None) -> str:
    """The asset base URL for an environment, from the build manifest."""
    urls: dict[str, str] = manifest.get("assetBaseUrls", {})
    if env and env in urls:
        return urls[env]
    return urls.get("prod", DEFAULT_ASSET_BASE_URL)


def snapshot_from_files(manifest: dict[str, Any], read: Any, *, env: str | None,
                        origin: str) -> Snapshot:
    """Build a snapshot from a build manifest and a ``read(relative_path) -> bytes``."""
    import hashlib

    templates = {}
    for name, entry in manifest.get("templates", {}).items():
        texts: dict[str, str] = {}
        for kind in ("html", "text", "subject", "schema"):
            info = entry["files"][kind]
            data = read(info["path"])
            if hashlib.sha256(data).hexdigest() != info["sha256"]:
                raise SourceError(f"{origin}: {info['path']} does not match its manifest hash")
            texts[kind] = data.decode("utf-8")
        templates[name] = TemplateFiles(
            name=name,
            html=texts["html"],
            text=texts["text"],
            subject=texts["subject"].rstrip("\n"),
            schema=json.loads(texts["schema"]),
        )
    return Snapshot(manifest.get("buildVersion", ""), templates,
                    asset_base_url_for(manifest, env), origin, manifest)


class FixedSource:
    """A source that always returns one snapshot: templates built in memory
    (the quality gates, the designer preview) rendered through the same ``render``."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def snapshot(self) -> Snapshot:
        return self._snapshot


class PackagedSource:
    """Templates from the packaged ``build/`` folder, read once and kept."""

    def __init__(self, directory: Path | str | None = None, env: str | None = None) -> None:
        self.directory = Path(directory) if directory else None
        self.env = env or os.environ.get("BBWS_ENV") or None
        self._snapshot: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            directory = self.directory or _packaged_dir()
            try:
                manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise SourceError(f"cannot read {directory / 'manifest.json'}: {exc}") from None
            self._snapshot = snapshot_from_files(
                manifest, lambda rel: (directory / rel).read_bytes(), env=self.env,
                origin=str(directory))
        return self._snapshot
