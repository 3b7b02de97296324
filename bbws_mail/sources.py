"""Where compiled templates come from at render time.

A *source* hands out immutable :class:`Snapshot` objects: one build version, all
templates of it. ``render()`` takes one snapshot per call, so a render can never
mix files of two versions, whatever a publisher is doing meanwhile.

A snapshot's templates are a :class:`LazyTemplates` mapping: the names are known
up front (from the manifest), but a template's files are read, checked and
compiled only when it is first rendered. A Lambda that sends one kind of email
reads one template, not all of them, on its cold start.

The packaged source (default) reads the ``build/`` folder shipped inside the wheel
or the checkout: no configuration, no network. The S3 source lives in
``bbws_mail.s3source`` and imports boto3 only when it is used.

``os.path`` rather than ``pathlib`` here: pathlib (with urllib.parse and ipaddress
behind it) costs ~3 ms of every cold start and this module only joins paths.
"""

from __future__ import annotations

import os
from _thread import allocate_lock
from collections.abc import Callable, Iterator, Mapping

from bbws_mail import buildlayout, names
from bbws_mail._namedtuple import NamedTuple
from bbws_mail.errors import SourceError

TYPE_CHECKING = False  # typing is not imported at run time: see bbws_mail._namedtuple
if TYPE_CHECKING:
    from typing import Any, Protocol
else:
    Protocol = object



class TemplateFiles(NamedTuple):
    """The four compiled files of one template, as text."""

    name: str
    html: str
    text: str
    subject: str
    schema: dict[str, Any]


class LazyTemplates(Mapping[str, TemplateFiles]):
    """Template name -> files, each loaded on first access (thread-safe) and kept.

    ``digests`` identifies each template's content (a bundle's SHA-256, or the
    hashes of its files) so that a newer snapshot can take over what an older one
    already loaded and compiled for the templates that did not change.
    The compiled form lives here too (:meth:`compiled`): it is dropped together
    with the snapshot, so a long-lived process never keeps templates of builds it
    no longer serves.
    """

    def __init__(self, digests: Mapping[str, str], load: Callable[[str], TemplateFiles], *,
                 code_dir: str | None = None) -> None:
        self.digests = dict(digests)
        # Only a packaged build (part of the deployed code) may bring generated code.
        self.code_dir = code_dir
        self._load = load
        self._files: dict[str, TemplateFiles] = {}
        self._compiled: dict[str, Any] = {}
        self._lock = allocate_lock()

    def __getitem__(self, name: str) -> TemplateFiles:
        found = self._files.get(name)
        if found is not None:
            return found
        if name not in self.digests:
            raise KeyError(name)
        with self._lock:
            found = self._files.get(name)
            if found is None:
                found = self._files[name] = self._load(name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.digests)

    def __len__(self) -> int:
        return len(self.digests)

    def __contains__(self, name: object) -> bool:
        return name in self.digests

    def loaded(self) -> list[str]:
        """Names whose files have been read so far."""
        return sorted(self._files)

    def ready(self, name: str) -> Any:
        """What :meth:`compiled` made for ``name`` so far, or None."""
        return self._compiled.get(name)

    def compiled(self, name: str, make: Callable[[TemplateFiles], Any]) -> Any:
        """``make(files)`` for ``name``, computed once per snapshot (thread-safe)."""
        found = self._compiled.get(name)
        if found is not None:
            return found
        files = self[name]
        with self._lock:
            found = self._compiled.get(name)
            if found is None:
                found = self._compiled[name] = make(files)
        return found

    def take_over(self, older: LazyTemplates) -> None:
        """Reuse what ``older`` loaded and compiled for templates whose content is unchanged."""
        with older._lock:
            files, compiled = dict(older._files), dict(older._compiled)
        with self._lock:
            for name, digest in self.digests.items():
                if older.digests.get(name) == digest:
                    if name in files:
                        self._files.setdefault(name, files[name])
                    if name in compiled:
                        self._compiled.setdefault(name, compiled[name])


class Snapshot(NamedTuple):
    """One consistent build: every template of one version."""

    build_version: str
    templates: Mapping[str, TemplateFiles]
    asset_base_url: str = buildlayout.DEFAULT_ASSET_BASE_URL
    origin: str = ""  # human-readable: where it was read from
    manifest: dict[str, Any] | None = None  # the manifest it was read from


class Source(Protocol):
    """Anything that can hand out the current snapshot."""

    def snapshot(self) -> Snapshot: ...


def packaged_dir() -> str | None:
    """The packaged build's folder (inside the installed package, or the checkout's build/)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "_build"), os.path.join(os.path.dirname(here), "build")):
        if os.path.isfile(os.path.join(candidate, buildlayout.MANIFEST)):
            return candidate
    return None


def _require_packaged_dir() -> str:
    found = packaged_dir()
    if found is None:
        raise SourceError(
            "no compiled templates found: looked for bbws_mail/_build/manifest.json (installed "
            "package) and build/manifest.json (checkout); run `nox -s build`")
    return found


_manifests: dict[str, dict[str, Any]] = {}


def read_manifest(directory: str) -> dict[str, Any]:
    """A packaged build's manifest (``buildlayout.read_manifest``), read once per process."""
    found = _manifests.get(directory)
    if found is None:
        found = _manifests[directory] = buildlayout.read_manifest(directory)
    return found


def packaged_environments() -> dict[str, Any]:
    """The reader settings per environment that the build carries ({} without a build)."""
    directory = packaged_dir()
    if directory is None:
        return {}
    try:
        return buildlayout.environments(read_manifest(directory))
    except SourceError:
        return {}


def template_files(name: str, parts: Mapping[str, bytes], where: str) -> TemplateFiles:
    """TemplateFiles from the four files of a template as bytes."""
    return TemplateFiles(name, *buildlayout.decode_parts(name, parts, where))


def lazy_from_files(manifest: Mapping[str, Any], read: Callable[[str], bytes], *,
                    origin: str) -> LazyTemplates:
    """Templates of a manifest whose entries name one file per part (``build/``'s, and the
    S3 layout's legacy one), read through ``read``.

    Each file is checked against its SHA-256 in the manifest when first read.
    """
    entries: dict[str, Any] = dict(manifest.get("templates", {}))
    for name in entries:  # names from a file or a bucket: the rule before any use
        problem = names.problem(name)
        if problem:
            raise SourceError(f"{origin}: templates: {problem}")

    def load(name: str) -> TemplateFiles:
        parts: dict[str, bytes] = {}
        for part in buildlayout.PARTS:
            info = entries[name]["files"][part]
            data = read(info["path"])
            if buildlayout.sha256_hex(data) != info["sha256"]:
                raise SourceError(f"{origin}: {info['path']} does not match its manifest hash")
            parts[part] = data
        return template_files(name, parts, origin)

    digests = {name: buildlayout.template_digest(entry) for name, entry in entries.items()}
    return LazyTemplates(digests, load)


class FixedSource:
    """A source that always returns one snapshot: templates built in memory
    (the quality gates, the designer preview) rendered through the same ``render``."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def snapshot(self) -> Snapshot:
        return self._snapshot


_packaged: dict[tuple[str, str], Snapshot] = {}
_packaged_lock = allocate_lock()


class PackagedSource:
    """Templates from the packaged ``build/`` folder.

    Snapshots are shared per (folder, env) across instances, so creating a
    ``PackagedSource()`` per call re-reads nothing; each template's files are read
    once, when it is first rendered.
    """

    def __init__(self, directory: os.PathLike[str] | str | None = None,
                 env: str | None = None) -> None:
        self.directory = os.fspath(directory) if directory else None
        self.env = env or os.environ.get("BBWS_ENV") or None
        self._key: tuple[str, str] | None = None

    def snapshot(self) -> Snapshot:
        # the folder is found and made absolute once: a render must not stat the package
        # or ask for the working directory on every call
        key = self._key
        if key is None:
            key = self._key = (os.path.abspath(self.directory or _require_packaged_dir()),
                               self.env or "")
        found = _packaged.get(key)
        if found is not None:
            return found
        directory = key[0]
        with _packaged_lock:
            found = _packaged.get(key)
            if found is None:
                manifest = read_manifest(directory)
                entries: dict[str, Any] = manifest["templates"]

                def load(name: str) -> TemplateFiles:
                    files = entries[name]["files"]
                    return template_files(name, {part: buildlayout.read_part(
                        directory, files[part]) for part in buildlayout.PARTS}, directory)

                templates = LazyTemplates({n: buildlayout.template_digest(e)
                                           for n, e in entries.items()}, load,
                                          code_dir=directory)
                urls = buildlayout.asset_base_urls(buildlayout.environments(manifest))
                asset = buildlayout.asset_base_url_for(urls, self.env)
                found = _packaged[key] = Snapshot(manifest["buildVersion"], templates, asset,
                                                  directory, manifest)
        return found


def forget_packaged(directory: os.PathLike[str] | str) -> None:
    """Drop the cached snapshots of a build folder that was rewritten (tests, tools)."""
    directory = os.path.abspath(os.fspath(directory))
    with _packaged_lock:
        _manifests.pop(directory, None)
        for key in [k for k in _packaged if k[0] == directory]:
            _packaged.pop(key, None)
