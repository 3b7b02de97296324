"""Build time per stage for all templates, against the official MJML compiler (node API).

The baseline compiles the very same spliced sources with `mjml` from npm, in one
warm node process (so node's start-up is not counted against it): the fairest
comparison for the compile stage, and the one the "50x" goal is stated against.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import median_seconds, table

NODE_DIR = Path(__file__).resolve().parent / ".node"
NODE_SCRIPT = r"""
const mjml2html = require('mjml');
const fs = require('fs');
const files = JSON.parse(fs.readFileSync(0, 'utf8'));
const rounds = 7, out = {};
(async () => {
  for (const f of files) {           // warm-up: JIT and caches
    await mjml2html(f.src);
  }
  for (const f of files) {
    const times = [];
    for (let i = 0; i < rounds; i++) {
      const t = process.hrtime.bigint();
      await mjml2html(f.src);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    out[f.name] = times[Math.floor(rounds / 2)];
  }
  process.stdout.write(JSON.stringify(out));
})();
"""


def _ensure_node_mjml() -> bool:
    if not shutil.which("node") or not shutil.which("npm"):
        return False
    if (NODE_DIR / "node_modules" / "mjml").is_dir():
        return True
    print("  installing official mjml from npm for the baseline (once)...", flush=True)
    NODE_DIR.mkdir(exist_ok=True)
    result = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund",
                             "--prefix", str(NODE_DIR), "mjml@5"], capture_output=True, text=True)
    return result.returncode == 0


def _mrml_alone(cfg: Any, sources: list[Path]) -> float:
    """Median seconds for MRML alone on the 12 spliced sources: the engine's own share."""
    from mjml import mjml2html

    from bbws_mail.pipeline import splice
    from bbws_mail.pipeline.compile import lift_inline_styles

    company = cfg.company.facts()
    srcs = [lift_inline_styles(splice.splice(p, cfg.templates_dir, company).text)[0]
            for p in sources]
    return median_seconds(lambda: [mjml2html(s, disable_comments=False, fonts={}) for s in srcs],
                          repeat=15)


def _compile_stage_alone(cfg: Any, sources: list[Path]) -> float:
    """Median seconds for our compile stage in a loop of its own, as node and MRML are
    timed (inside the whole build, other stages evict its caches and it reads slower)."""
    from bbws_mail.pipeline import splice
    from bbws_mail.pipeline.compile import compile_mjml

    spliced = [splice.splice(p, cfg.templates_dir, cfg.company.facts()) for p in sources]
    return median_seconds(lambda: [compile_mjml(s) for s in spliced], repeat=15)


def run(root: Path, *, node: bool = True) -> None:
    from bbws_mail import config
    from bbws_mail.pipeline import build, build_one, discover, splice

    cfg = config.load(root)
    sources = discover(cfg.templates_dir)
    print(f"\n== build: {len(sources)} templates from {cfg.templates_dir}")
    build_one(sources[0], cfg)  # imports and caches warm

    def whole() -> None:
        for path in sources:
            build_one(path, cfg)

    rounds = 9
    stage_rounds: list[dict[str, float]] = []
    for _ in range(rounds):
        timings: dict[str, float] = {}
        for path in sources:
            build_one(path, cfg, timings)
        stage_rounds.append(timings)
    stages = list(stage_rounds[0])
    medians = {s: sorted(r[s] for r in stage_rounds)[rounds // 2] for s in stages}
    total = median_seconds(whole, repeat=rounds)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        build(cfg, Path(tmp) / "build")
        with_write = time.perf_counter() - start
    rows = [[s, f"{medians[s] * 1000:.2f}", f"{medians[s] / total * 100:.0f}%"] for s in stages]
    rows.append(["all stages (in memory)", f"{total * 1000:.2f}", "100%"])
    rows.append(["full build incl. write", f"{with_write * 1000:.2f}", ""])
    print(table(["stage", "ms (12 templates)", "share"], rows))
    print(f"goal: whole build < 250 ms in-process -> {'met' if total < 0.25 else 'NOT met'}")

    if not node:
        return
    if not _ensure_node_mjml():
        print("official MJML baseline skipped: node/npm or the mjml package unavailable")
        return
    company = cfg.company.facts()
    files = [{"name": p.stem, "src": splice.splice(p, cfg.templates_dir, company).text}
             for p in sources]
    result = subprocess.run(["node", "-e", NODE_SCRIPT], input=json.dumps(files),
                            capture_output=True, text=True, cwd=NODE_DIR)
    if result.returncode != 0:
        print(f"official MJML baseline failed: {result.stderr.strip()[:300]}")
        return
    node_ms = json.loads(result.stdout)
    ours_compile = medians.get("compile", 0.0) * 1000
    node_total = sum(node_ms.values())
    engine = _mrml_alone(cfg, sources) * 1000
    alone = _compile_stage_alone(cfg, sources) * 1000
    print(table(
        ["compiler", "ms (12 templates)", "ratio"],
        [["official mjml 5 node API (compile only, warm)", f"{node_total:.2f}", "1.0x"],
         ["MRML mjml2html alone (same sources)", f"{engine:.2f}",
          f"{node_total / engine:.0f}x faster"],
         ["bbws-mail compile stage, in a loop of its own", f"{alone:.2f}",
          f"{node_total / alone:.0f}x faster"],
         ["bbws-mail compile stage, inside the whole build", f"{ours_compile:.2f}",
          f"{node_total / ours_compile:.0f}x faster"],
         ["bbws-mail whole pipeline", f"{total * 1000:.2f}",
          f"{node_total / (total * 1000):.0f}x faster"]]))
    for label, ms in (("MRML alone (the ceiling for any pipeline on MRML)", engine),
                      ("compile stage (own loop)", alone), ("whole pipeline", total * 1000)):
        ratio = node_total / ms
        print(f"goal: >= 50x faster than the node API: {label}: {ratio:.0f}x -> "
              f"{'met' if ratio >= 50 else 'NOT met'}")
