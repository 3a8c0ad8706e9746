"""On-topic abstention on an open corpus: does `qa` answer when it can and stay silent when it cannot?

    .venv/bin/python bench/abstention.py [--reader trained|heuristic] [--every 2] [--json]

The corpus is every paragraph of SQuAD v1.1 dev (2,067). The questions are those of the
benchmark articles (odd positions in the file; the trained reader never saw them), every
``--every``-th one; every second of those is asked with its gold paragraph removed from every
ranking (`qa.evaluate.run_gold_removed`): the rest of its article stays, on topic but without
the answer, and the right response is to abstain. Prints overall accuracy (answered right, or
abstained right) at the reader's default threshold, the share of each side abstained, the
confidence's ROC AUC (right answers against everything else) and expected calibration error,
and the reliability table. Needs the SQuAD index that `qa eval` builds in the cache (about
6 minutes the first time).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa import evaluate  # noqa: E402
from qa.settings import Reader, Settings  # noqa: E402

SUMMARY = ["questions", "overall_accuracy", "answer_accuracy", "exact_match", "f1", "noans_abstained",
           "hasans_abstained", "confidence_auc", "calibration_error", "min_score", "latency_p50_ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared/benchmarks/squad-dev-v1.1.json")
    parser.add_argument("--reader", type=Reader, default=Reader.trained)
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()

    from qa.cli import _squad_engine

    engine, questions = _squad_engine(args.squad, Settings.from_env(), None, "odd")
    questions = evaluate.subset(questions, every=args.every)
    started = time.time()
    results = evaluate.run_gold_removed(engine, questions, reader=args.reader)
    summary = {**evaluate.summarize(results), "min_score": engine.threshold(args.reader),
               "reader": args.reader.value}
    table = evaluate.reliability(*evaluate.confidence_outcomes(results))
    if args.json:
        print(json.dumps({**summary, "reliability": table}))
        return
    print(f"{len(results)} questions of the odd-position SQuAD dev articles (every {args.every}th), half with "
          f"their gold paragraph removed, reader {args.reader.value}, in {time.time() - started:.0f} s")
    print("\n| " + " | ".join(SUMMARY) + " |\n|" + "---:|" * len(SUMMARY))
    print("| " + " | ".join(str(summary.get(k)) for k in SUMMARY) + " |")
    print("\n| confidence | answers | mean confidence | share right |\n|---|---:|---:|---:|")
    for row in table:
        print(f"| {row['low']:.1f}–{row['high']:.1f} | {row['answers']} | {row['confidence']:.3f} | "
              f"{row['right']:.3f} |")


if __name__ == "__main__":
    main()
