"""The readers side by side on every figure the trained reader is held to, in one run.

    .venv/bin/python bench/reader.py [--every 1] [--reader trained] [--model qa/models/reader] [--json]

For each reader (``heuristic``, ``trained``), at its default threshold and answering every
question (``--min-score 0``):

- **SQuAD v1.1 dev open corpus**: all 2,067 paragraphs, the questions of the odd-position
  articles (the benchmark: never trained, tuned or calibrated on), every ``--every``-th:
  span F1 and EM, the share abstained, passage hit@1;
- **removed evidence** (`qa.evaluate.run_gold_removed`, as ``bench/abstention.py``): every second
  of those questions asked with its gold paragraph removed: overall accuracy at the threshold,
  confidence ROC AUC and expected calibration error;
- **both seeds sets** over the shipped seeds: unanswerable questions abstained on, answerable
  ones silenced, and how often the answer contains the gold answer; also the fewest answerable
  ones any threshold would silence while declining the target share of unanswerable ones (11 of
  12): what the confidence's ranking allows, whatever the threshold;
- ``qa ask "what did Japan buy?"``: the answer and its confidence;
- **latency**: a cold ``qa ask`` (a fresh process, median of ``--runs``, the two readers
  alternated) and the warm median over the seeds questions.

``--model DIR`` scores another trained reader folder (a candidate before it ships) in place of
the shipped one. SQuAD's contexts are indexed once into the qa cache; the seeds index is built
in ``bench/out/reader-index`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa import evaluate  # noqa: E402
from qa.settings import Reader, Settings  # noqa: E402

QUESTION = "what did Japan buy?"
SEEDS = ("eval/seeds_gold.jsonl", "eval/seeds_dev.jsonl")
DECLINED = 11 / 12  # the share of unanswerable seeds questions the reader is held to decline


def fewest_silenced(results: list[evaluate.Result], declined: float = DECLINED) -> int:
    """The fewest answerable questions silenced by any threshold that declines at least
    ``declined`` of the unanswerable ones (the lowest such threshold)."""
    unanswerable = sorted(r.confidence for r in results if not r.gold.answers)
    if not unanswerable:
        return 0
    must = unanswerable[max(0, math.ceil(declined * len(unanswerable)) - 1)]  # the threshold lies above it
    return sum(r.confidence <= must for r in results if r.gold.answers)



def use_model(engine, reader: Reader, folder: Path | None) -> None:
    """Answer with the trained reader in ``folder`` (its own card's threshold) instead of the shipped one."""
    if reader == Reader.trained and folder is not None:
        from qa.reader.trained import TrainedReader

        engine._reader = TrainedReader(folder)


def squad(squad_file: Path, every: int, reader: Reader, folder: Path | None) -> dict:
    from qa.cli import _squad_engine

    engine, questions = _squad_engine(squad_file, Settings.from_env(), None, "odd")
    use_model(engine, reader, folder)
    questions = evaluate.subset(questions, every=every)
    results = evaluate.run(engine, questions, reader=reader)
    removed = evaluate.run_gold_removed(engine, evaluate.subset(questions, every=2), reader=reader)
    at, everything, gone = evaluate.summarize(results), evaluate.summarize(results, 0.0), evaluate.summarize(removed)
    return {"questions": len(results), "threshold": engine.threshold(reader),
            "f1": at["f1"], "exact_match": at["exact_match"], "abstained": at["hasans_abstained"],
            "f1_all": everything["f1"], "exact_match_all": everything["exact_match"],
            "contains_gold_all": everything["answer_accuracy"], "hit1": at["hit1"],
            "removed_questions": len(removed), "removed_overall_accuracy": gone["overall_accuracy"],
            "removed_auc": gone["confidence_auc"], "removed_calibration_error": gone["calibration_error"]}


def seeds(index: Path, reader: Reader, folder: Path | None) -> dict:
    from qa.pipeline import open_index

    engine = open_index(index, replace(Settings.from_env(), index=index))
    use_model(engine, reader, folder)
    out = {}
    for gold in SEEDS:
        results = evaluate.run(engine, evaluate.load_gold(ROOT / gold), reader=reader)
        at, everything = evaluate.summarize(results), evaluate.summarize(results, 0.0)
        name = Path(gold).stem
        out[name] = {"unanswerable_abstained": f"{round(at['noans_abstained'] * at['unanswerable'])} of "
                                               f"{at['unanswerable']}",
                     "answerable_silenced": f"{round(at['hasans_abstained'] * at['answerable'])} of "
                                            f"{at['answerable']}",
                     "silenced_at_best_threshold": f"{fewest_silenced(results)} of {at['answerable']}",
                     "contains_gold": at["answer_accuracy"], "contains_gold_all": everything["answer_accuracy"],
                     "confidence_auc": at["confidence_auc"], "warm_p50_ms": at["latency_p50_ms"]}
    answer = engine.ask(QUESTION, reader=reader, min_score=0.0)
    best = answer.span
    out["japan"] = {"answer": best.text if best else None, "confidence": round(best.score, 3) if best else None,
                    "threshold": engine.threshold(reader)}
    return out


def cold(index: Path, runs: int) -> dict[str, float]:
    """Median wall time of a fresh ``qa ask`` per reader, the two alternated."""
    times: dict[str, list[float]] = {r.value: [] for r in Reader}
    env = {**os.environ, "QA_INDEX": str(index)}
    for run in range(runs + 1):
        for reader in Reader:
            started = time.perf_counter()
            subprocess.run([str(ROOT / ".venv/bin/qa"), "ask", QUESTION, "--reader", reader.value],
                           cwd=ROOT, env=env, check=True, capture_output=True)
            if run:  # the first round warms the page cache
                times[reader.value].append(time.perf_counter() - started)
    return {reader: round(statistics.median(values) * 1000, 1) for reader, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared/benchmarks/squad-dev-v1.1.json")
    parser.add_argument("--every", type=int, default=1, help="ask every K-th benchmark question of SQuAD")
    parser.add_argument("--model", type=Path, help="a trained reader folder to score instead of the shipped one")
    parser.add_argument("--runs", type=int, default=7, help="cold runs of `qa ask` per reader")
    parser.add_argument("--reader", type=Reader, action="append", help="score only this reader (repeatable)")
    parser.add_argument("--skip-squad", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    index = ROOT / "bench/out/reader-index"
    subprocess.run([str(ROOT / ".venv/bin/qa"), "index", "seeds", "--index", str(index)], cwd=ROOT, check=True,
                   capture_output=True)
    report: dict = {"cold_ask_ms": cold(index, args.runs)}
    readers = args.reader or list(Reader)
    for reader in readers:
        started = time.time()
        report[reader.value] = seeds(index, reader, args.model)
        if not args.skip_squad:
            report[reader.value]["squad"] = squad(args.squad, args.every, reader, args.model)
        print(f"{reader.value}: {time.time() - started:.0f} s", file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    rows = []
    for reader in readers:
        r = report[reader.value]
        for key, value in (("japan", r["japan"]), *((k, r[k]) for k in ("seeds_gold", "seeds_dev")),
                           ("squad", r.get("squad", {}))):
            rows += [f"| {reader.value} | {key} | {name} | {v} |" for name, v in value.items()]
    print("| reader | set | figure | value |\n|---|---|---|---:|")
    print("\n".join(rows))
    print(f"| both | cold `qa ask` median ms | | {report['cold_ask_ms']} |")


if __name__ == "__main__":
    main()
