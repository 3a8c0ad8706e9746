"""Answer quality, side by side: the seeds gold and dev sets and the SQuAD v1.1 dev benchmark.

    .venv/bin/python bench/quality.py [--every 1] [--retrieval] [--squad ../shared/benchmarks/squad-dev-v1.1.json]

Runs `qa eval --json` for the full pipeline with the heuristic reader (the default) and with the
trained reader, and with ``--retrieval`` also for lexical, dense and hybrid retrieval alone
with either fusion, and prints one Markdown table. On SQuAD the corpus is all 2,067 dev
paragraphs and the questions are those of the odd-position articles (the benchmark: never
trained or tuned on), every ``--every``-th of them (default 1: all 5,173). SQuAD's contexts are
indexed once into the qa cache (about 6 minutes on 2 cores); later runs reuse that index.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RETRIEVAL = [
    ("bm25", ["--retriever", "bm25", "--no-rerank"]),
    ("dense", ["--retriever", "dense", "--no-rerank"]),
    ("hybrid, RRF", ["--retriever", "hybrid", "--no-rerank", "--fusion", "rrf"]),
    ("hybrid, CombSUM", ["--retriever", "hybrid", "--no-rerank", "--fusion", "combsum"]),
    ("full pipeline with RRF", ["--fusion", "rrf"]),
]
READERS = [("heuristic reader (default)", ["--reader", "heuristic"]), ("trained reader", ["--reader", "trained"])]
COLUMNS = ["hit1", "hit5", "mrr10", "citation_accuracy", "answer_accuracy", "context_accuracy", "exact_match",
           "f1", "answer_words", "noans_abstained", "hasans_abstained", "confidence_auc", "calibration_error",
           "latency_p50_ms"]


def evaluate(gold: str, extra: list[str]) -> dict:
    command = [sys.executable, "-m", "qa", "eval", gold, "--json", *extra]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr.strip()}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="eval/seeds_gold.jsonl")
    parser.add_argument("--seeds-dev", default="eval/seeds_dev.jsonl")
    parser.add_argument("--squad", default=str(ROOT.parent / "shared/benchmarks/squad-dev-v1.1.json"))
    parser.add_argument("--every", type=int, default=1, help="ask every K-th benchmark question of SQuAD")
    parser.add_argument("--retrieval", action="store_true", help="add the retrieval-only configurations")
    args = parser.parse_args()
    configs = (RETRIEVAL if args.retrieval else []) + READERS

    subprocess.run([sys.executable, "-m", "qa", "index"], cwd=ROOT, check=True, capture_output=True)
    rows = []
    for dataset, gold, extra in (("seeds gold", args.seeds, []), ("seeds dev", args.seeds_dev, []),
                                 ("SQuAD dev, odd articles", args.squad,
                                  ["--articles", "odd", "--every", str(args.every)])):
        for name, flags in configs:
            started = time.time()
            summary = evaluate(gold, [*extra, *flags])
            rows.append((dataset, name, summary))
            print(f"{dataset} / {name}: {summary['questions']} questions in {time.time() - started:.0f} s",
                  file=sys.stderr)
    print("| set | configuration | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---:|" * len(COLUMNS))
    for dataset, name, summary in rows:
        cells = ["–" if summary.get(c) is None else str(summary[c]) for c in COLUMNS]
        print(f"| {dataset} | {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
