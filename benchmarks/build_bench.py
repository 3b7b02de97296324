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
from pathlib import Path

from benchmarks.common import RUNS, cpu_seconds, interleaved, median, reference, table

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
      const t = process.cpuUsage();        // CPU time, as the Python side is timed
      await mjml2html(f.src);
      const d = process.cpuUsage(t);
      times.push((d.user + d.system) / 1e3);
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


def run(root: Path, *, node: bool = True) -> None:
    from mjml import mjml2html

    from bbws_mail import config
    from bbws_mail.pipeline import STAGES, build, build_all, discover, splice
    from bbws_mail.pipeline.compile import compile_mjml, lift_inline_styles

    cfg = config.load(root)
    sources = discover(cfg.templates_dir)
    print(f"\n== build: {len(sources)} templates from {cfg.templates_dir} "
          f"(CPU time, median of {RUNS} interleaved runs)")
    first = cpu_seconds(lambda: build_all(cfg))  # lazy imports and caches cold: a CLI's build
    spliced = [splice.splice(p, cfg.templates_dir, cfg.company.facts()) for p in sources]
    mrml_srcs = [lift_inline_styles(s.text)[0] for s in spliced]
    stage_runs: list[dict[str, float]] = []

    def whole() -> None:
        timings: dict[str, float] = {}
        build_all(cfg, timings)
        stage_runs.append(timings)

    samples = interleaved({
        "whole": whole,
        # the compile stage in a loop of its own, as node and MRML are timed (inside
        # the whole build, other stages evict its caches and it reads slower)
        "compile": lambda: [compile_mjml(s) for s in spliced],
        "mrml": lambda: [mjml2html(s, disable_comments=False, fonts={}) for s in mrml_srcs],
        "reference": reference,
    }, number={"compile": 5, "mrml": 5})
    stage_runs = stage_runs[1:]  # the warm-up call
    total = median(samples["whole"])
    stages = [s for s in STAGES if s in stage_runs[0]]
    medians = {s: median([r[s] for r in stage_runs]) for s in stages}
    with tempfile.TemporaryDirectory() as tmp:
        with_write = cpu_seconds(lambda: build(cfg, Path(tmp) / "build"))
    rows = [[s, f"{medians[s] * 1000:.2f}", f"{medians[s] / total * 100:.0f}%"] for s in stages]
    rows.append(["all stages (in memory)", f"{total * 1000:.2f}", "100%"])
    rows.append(["first build in this process", f"{first * 1000:.2f}", ""])
    rows.append(["full build incl. write", f"{with_write * 1000:.2f}", ""])
    print(table(["stage", "ms CPU (12 templates)", "share"], rows))
    print(f"runs: {', '.join(f'{t * 1000:.1f}' for t in samples['whole'])} ms; the machine's "
          f"pace, a fixed pure-Python workload in the same runs (benchmarks.common.reference): "
          f"{', '.join(f'{t * 1000:.1f}' for t in samples['reference'])} ms")
    print(f"goal: whole build <= 100 ms in memory: {total * 1000:.1f} ms -> "
          f"{'met' if total <= 0.1 else 'NOT met'}")
    engine = median(samples["mrml"]) * 1000
    alone = median(samples["compile"]) * 1000
    ours_compile = medians.get("compile", 0.0) * 1000

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
    node_total = sum(node_ms.values())
    print(table(
        ["compiler", "ms CPU (12 templates)", "ratio"],
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
