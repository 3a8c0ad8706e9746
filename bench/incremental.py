"""Re-indexing an unchanged corpus versus `qa index --rebuild`, each in a fresh process.

    .venv/bin/python bench/incremental.py [CORPUS]     (default: seeds/)

Builds an index once, then alternates 5 timed runs of `qa index --rebuild` and
of `qa index` with nothing changed (after one warm-up each), and prints the
medians and their ratio. Target: the unchanged re-index at least 5x faster.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QA = [sys.executable, "-m", "qa", "index"]
RUNS = 5


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    corpus = sys.argv[1] if len(sys.argv) > 1 else "seeds"
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "QA_INDEX": str(Path(folder) / "index")}
        subprocess.run([*QA, corpus], cwd=ROOT, env=env, check=True, capture_output=True)
        rebuild, unchanged = [], []
        for run in range(RUNS + 1):
            r = timed([*QA, "--rebuild", corpus], env)
            u = timed([*QA, corpus], env)
            if run:  # the first pair is the warm-up
                rebuild.append(r)
                unchanged.append(u)
    r, u = statistics.median(rebuild), statistics.median(unchanged)
    print(f"corpus {corpus}: median of {RUNS} fresh processes each, after a warm-up")
    print(f"  qa index --rebuild        {r:6.2f} s")
    print(f"  qa index (nothing changed) {u:6.2f} s")
    print(f"  ratio {r / u:.1f}x (target >= 5x): {'PASS' if r / u >= 5 else 'FAIL'}")


if __name__ == "__main__":
    main()
