"""Poll file modification times: stdlib only, no watchdog.

Why polling: a project has a few dozen source files, so stat()-ing all of them
every 100 ms costs well under a millisecond, works the same on every OS, editor
and file system (network mounts and containers included), and adds no dependency.
A file's signature is (mtime_ns, size), so an editor that rewrites a file within
the same mtime tick still shows up when the size changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

Signature = tuple[int, int]
# (folder, glob pattern) pairs; a folder that does not exist yet is watched for appearing.
WatchSpec = tuple[Path, str]


def scan(specs: Iterable[WatchSpec]) -> dict[Path, Signature]:
    """Every watched file and its (mtime_ns, size)."""
    found: dict[Path, Signature] = {}
    for folder, pattern in specs:
        if not folder.is_dir():
            continue
        for path in folder.glob(pattern):
            try:
                st = path.stat()
            except OSError:  # deleted between glob and stat
                continue
            if path.is_file():
                found[path] = (st.st_mtime_ns, st.st_size)
    return found


def diff(old: dict[Path, Signature], new: dict[Path, Signature]) -> list[Path]:
    """Paths added, removed or modified between two scans, sorted."""
    return sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))


class Watcher:
    """A daemon thread that calls ``on_change(paths)`` when watched files change.

    After a change is seen the watcher rescans once more after ``settle`` seconds
    and merges what it finds, so an editor that saves in two writes (truncate,
    then write) usually triggers one rebuild with the final content, not two.
    """

    def __init__(self, specs: list[WatchSpec], on_change: Callable[[list[Path]], object], *,
                 interval: float = 0.1, settle: float = 0.03) -> None:
        self.specs = specs
        self.on_change = on_change
        self.interval = interval
        self.settle = settle
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = scan(specs)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bbws-preview-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def poll(self) -> list[Path]:
        """One scan; calls ``on_change`` and returns the changed paths (for tests and the loop)."""
        new = scan(self.specs)
        changed = set(diff(self._state, new))
        if changed and self.settle:
            self._stop.wait(self.settle)
            newer = scan(self.specs)
            changed |= set(diff(new, newer))
            new = newer
        self._state = new
        if changed:
            self.on_change(sorted(changed))
        return sorted(changed)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception as exc:  # a crash here would silently end live reload
                import sys

                print(f"preview: watcher error: {exc!r}", file=sys.stderr, flush=True)
