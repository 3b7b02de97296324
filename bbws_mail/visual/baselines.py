"""The baseline folder (``tests/visual/baselines``): the one owner of its files.

- ``<template>__<variant>.png``: the approved shot.
- ``<template>__<variant>.json``: what that shot shows, as data (``content.py``).
- ``fingerprint.json``: the environments that took the shots, and for each shot the
  one that took it::

      {"format": 2,
       "environments": {"<id>": {"browser": "...", "font_packages": {...}, ...}},
       "shots": {"receipt__desktop": "<id>", ...}}

  ``<id>`` is the first 12 hex digits of the SHA-256 of the environment's canonical
  JSON. Stamping each shot, not the folder, is what lets a designer whose browser
  differs add one template's baselines without retaking (and re-stamping) the others.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from bbws_mail.errors import VisualError
from bbws_mail.visual import content

FINGERPRINT = "fingerprint.json"
FORMAT = 2
SEPARATOR = "__"  # template names never contain it (bbws_mail.names forbids "__")


def shot_name(template: str, variant: str) -> str:
    """The file stem of one shot."""
    return f"{template}{SEPARATOR}{variant}"


def split_shot(shot: str) -> tuple[str, str]:
    """``(template, variant)`` of a shot name (variant '' when it has none): the first
    separator splits it, as no template name holds one."""
    template, _, variant = shot.partition(SEPARATOR)
    return template, variant


def environment_id(environment: dict[str, Any]) -> str:
    """A short, stable name for an environment (same fingerprint, same id, any machine)."""
    canonical = json.dumps(environment, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


class Baselines:
    """Read and write one baseline folder; nothing is written before ``save()``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.environments: dict[str, dict[str, Any]] = {}
        self.stamps: dict[str, str] = {}
        path = folder / FINGERPRINT
        if not path.exists():
            return
        try:
            doc = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise VisualError(f"{path}: cannot be read ({type(exc).__name__}); "
                                      "restore it from git") from None
        if not (isinstance(doc, dict) and doc.get("format") == FORMAT
                and isinstance(doc.get("environments"), dict)
                and isinstance(doc.get("shots"), dict)
                and all(isinstance(v, str) and v in doc["environments"]
                        for v in doc["shots"].values())):
            raise VisualError(
                f"{path}: not a format-{FORMAT} fingerprint (environments, and shots naming "
                "one of them); restore it from git, or retake every baseline with "
                "--update --force")
        # ids are derived from the content, so an edited environment gets its own id
        ids = {old: environment_id(env) for old, env in doc["environments"].items()}
        self.environments = {ids[old]: env for old, env in doc["environments"].items()}
        self.stamps = {shot: ids[old] for shot, old in doc["shots"].items()}

    def environment(self, shot: str) -> dict[str, Any] | None:
        """The environment that took ``shot`` (None when it has no baseline stamp)."""
        stamp = self.stamps.get(shot)
        return self.environments.get(stamp) if stamp else None

    def png(self, shot: str) -> bytes | None:
        path = self.folder / f"{shot}.png"
        return path.read_bytes() if path.exists() else None

    def entries(self, shot: str) -> list[content.Entry] | None:
        path = self.folder / f"{shot}.json"
        if not path.exists():
            return None
        try:
            return content.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise VisualError(f"{path}: cannot be read ({exc}); restore it from git, "
                                      "or retake it with --update") from None

    def write(self, shot: str, png: bytes, entries: list[content.Entry],
              environment: dict[str, Any]) -> bool:
        """Store a shot taken in ``environment``; False when it was already the baseline.

        An unchanged shot keeps its stamp: the bytes it approved are still valid where
        they were taken, and re-stamping would churn the file on every designer's laptop.
        """
        text = content.dumps(entries)
        json_path = self.folder / f"{shot}.json"
        same = (self.png(shot) == png and json_path.exists()
                and json_path.read_text("utf-8") == text and shot in self.stamps)
        if same:
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{shot}.png").write_bytes(png)
        json_path.write_text(text, encoding="utf-8")
        stamp = environment_id(environment)
        self.environments[stamp] = environment
        self.stamps[shot] = stamp
        return True

    def remove_except(self, keep: set[str]) -> list[str]:
        """Delete the shots not in ``keep`` (templates that no longer exist); their names."""
        found = ({p.stem for p in self.folder.glob(f"*{SEPARATOR}*.png")}
                 | {p.stem for p in self.folder.glob(f"*{SEPARATOR}*.json")} | set(self.stamps))
        gone = sorted(found - keep)
        for shot in gone:
            for suffix in (".png", ".json"):
                (self.folder / f"{shot}{suffix}").unlink(missing_ok=True)
            self.stamps.pop(shot, None)
        return gone

    def save(self) -> None:
        """Write ``fingerprint.json``, keeping only the environments some shot names."""
        used = set(self.stamps.values())
        doc = {"format": FORMAT,
               "environments": {k: v for k, v in sorted(self.environments.items()) if k in used},
               "shots": dict(sorted(self.stamps.items()))}
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / FINGERPRINT).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n",
                                               encoding="utf-8")
