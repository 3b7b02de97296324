"""Where a build came from, decided at publish time (never written into ``build/``, which
is committed: a commit hash inside it would be circular).

The build's manifest states, per template, the source files it was built from and their
hash (``sources``, ``sourceHash``; the pipeline's ``make_manifest`` owns that hash). This
module computes the same hash from the files as committed at HEAD (``git cat-file``), so
a build made from a tree with uncommitted changes, or with a template HEAD lacks, is
recorded as not matching its commit. The record travels in the pointer and its history
record (docs/s3-layout.md); promote carries it from one environment to the next.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

TEMPLATES_DIR = "templates_src"


def _git(root: Path, *args: str, data: bytes | None = None) -> bytes:
    out = subprocess.run(["git", "-C", str(root), *args], input=data, capture_output=True,
                         timeout=30, check=True)
    return out.stdout


def _blobs(root: Path, prefix: str, paths: list[str]) -> dict[str, bytes | None]:
    """``path`` -> its bytes at HEAD (None when HEAD has no such file), in one git call."""
    request = "".join(f"HEAD:{prefix}{p}\n" for p in paths).encode()
    out = _git(root, "cat-file", "--batch", data=request)
    found: dict[str, bytes | None] = {}
    pos = 0
    for path in paths:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[path] = out[pos:pos + size]
            pos += size + 1
        else:
            found[path] = None  # "<object> missing"
    return found


def _source_hash(rels: list[str], blobs: dict[str, bytes | None]) -> str | None:
    """The pipeline's per-template source hash, over the committed files."""
    src = hashlib.sha256()
    for rel in sorted(set(rels)):
        data = blobs.get(rel)
        if data is None:
            return None
        src.update(rel.encode() + b"\0" + data + b"\0")
    return src.hexdigest()


def of_build(root: Path, templates: dict[str, Any], source_hash: str) -> dict[str, Any]:
    """``{"commit", "sourceHash", "matchesCommit", "differs"}`` for a build whose source
    manifest lists ``templates`` (name -> {"sources": [...], "sourceHash": ...}).

    ``matchesCommit`` is None when there is no commit to compare with (not a git
    checkout, git missing); ``differs`` names the templates whose sources differ from
    HEAD's, and those HEAD has that the build lacks."""
    record: dict[str, Any] = {"commit": "", "sourceHash": source_hash, "matchesCommit": None,
                              "differs": []}
    try:
        commit = _git(root, "rev-parse", "HEAD").decode().strip()
        prefix = _git(root, "rev-parse", "--show-prefix").decode().strip()
        listed = _git(root, "ls-tree", "--name-only", "HEAD", f"{prefix}{TEMPLATES_DIR}/")
    except (OSError, subprocess.SubprocessError, ValueError):
        return record
    record["commit"] = commit
    committed = {Path(line).stem for line in listed.decode().splitlines()
                 if line.endswith(".mjml")}
    wanted = sorted({rel for entry in templates.values() for rel in entry.get("sources", [])})
    try:
        blobs = _blobs(root, prefix, wanted)
    except (OSError, subprocess.SubprocessError, ValueError):
        return {**record, "commit": commit}
    at_head: dict[str, str] = {}
    differs = set(committed - set(templates))
    for name, entry in templates.items():
        digest = _source_hash(list(entry.get("sources", [])), blobs)
        if digest is None or digest != entry.get("sourceHash") or name not in committed:
            differs.add(name)
        if digest is not None:
            at_head[name] = digest
    overall = hashlib.sha256(json.dumps(at_head, sort_keys=True).encode()).hexdigest()
    record["differs"] = sorted(differs)
    record["matchesCommit"] = not differs and overall == source_hash
    return record


def describe(record: dict[str, Any] | None) -> str:
    """A few words for ``history`` and ``status``: does the build match its commit?"""
    if not record:
        return "provenance not recorded"
    if record.get("matchesCommit") is True:
        return "sources match"
    if record.get("matchesCommit") is False:
        differs = record.get("differs") or []
        text = "sources differ from the commit" + (
            f" ({', '.join(differs[:3])}{', ...' if len(differs) > 3 else ''})" if differs
            else "")
        accepted = record.get("acceptedUnmatched")
        return text + ("; accepted: " + str(accepted.get("reason", "")) if accepted else "")
    return "no commit to compare with"
