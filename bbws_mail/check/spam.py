"""Spam score: each example rendering, as a real MIME message, scored by SpamAssassin.

Runs Debian's ``spamassassin`` with its shipped rules and local tests only (``-L``:
no DNS or network lookups, so scores are the same on every machine), on all
messages at once in mbox mode (1.8 s for 12 here, vs 1.1 s per message one by one).
"""

from __future__ import annotations

import mailbox
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

from bbws_mail.errors import ToolError

SENDER = "BBWS <noreply@bbws.co.za>"
RECIPIENT = "tenant@example.com"


class SpamResult(NamedTuple):
    score: float
    hits: list[tuple[str, float]]  # (rule, points), biggest first


def executable() -> str | None:
    """The spamassassin program, or None where it is not installed."""
    setting = os.environ.get("BBWS_SPAMASSASSIN")
    if setting:  # an explicit setting wins and is not silently replaced
        return setting if Path(setting).is_file() else None
    return shutil.which("spamassassin")


def score(messages: dict[str, bytes], program: str | None = None) -> dict[str, SpamResult]:
    """Score every message (name -> raw RFC 5322 bytes); raises ToolError on failure."""
    program = program or executable()
    if not program:
        raise ToolError("spamassassin is not installed")
    with tempfile.TemporaryDirectory(prefix="bbws-spam-") as tmp:
        box = Path(tmp) / "in.mbox"
        prefs = Path(tmp) / "user_prefs"
        prefs.write_text("", encoding="utf-8")
        chunks = []
        for name, raw in messages.items():
            body = raw.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
            chunks.append(b"From noreply@bbws.co.za Thu Jan  1 00:00:00 2026\n"
                          + f"X-BBWS-Check: {name}\n".encode() + body.rstrip(b"\n") + b"\n\n")
        box.write_bytes(b"".join(chunks))
        cmd = [program, "--mbox", "-L", "-p", str(prefs), "--cf=report_safe 0",
               "--cf=add_header all Tests _TESTSSCORES(,)_"]
        with box.open("rb") as stdin:
            proc = subprocess.run(cmd, stdin=stdin, capture_output=True, timeout=300,
                                  env={**os.environ, "HOME": tmp}, check=False)
        if proc.returncode != 0 or not proc.stdout:
            raise ToolError(f"spamassassin failed ({proc.returncode}): "
                               f"{proc.stderr.decode(errors='replace')[-300:]}")
        out = Path(tmp) / "out.mbox"
        out.write_bytes(proc.stdout)
        results: dict[str, SpamResult] = {}
        for msg in mailbox.mbox(str(out)):
            name = str(msg.get("X-BBWS-Check", "")).strip()
            status = " ".join(str(msg.get("X-Spam-Status", "")).split())
            m = re.search(r"score=(-?[\d.]+)", status)
            tests = " ".join(str(msg.get("X-Spam-Tests", "")).split())
            hits = []
            for item in tests.replace(" ", "").split(","):
                if "=" in item:
                    rule, pts = item.split("=", 1)
                    hits.append((rule, float(pts)))
            hits.sort(key=lambda kv: -kv[1])
            results[name] = SpamResult(float(m.group(1)) if m else 0.0, hits)
    return results
