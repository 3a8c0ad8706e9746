"""How much the trained reader should read, measured on the calibration sources (never the benchmark).

    .venv/bin/python -m training.reading [--model qa/models/reader] [--questions 300] [--save reads.json]
    .venv/bin/python -m training.reading --reuse reads.json

Asks the held-out questions of `training.calibrate_reader` (each as it is and with its gold
paragraph removed) and reads a window around *every* sentence the cheap scorer scored (all the
sentences of the best `qa.pipeline.READ_PARAGRAPHS` passages). Then it compares, without reading
again, what `qa` would answer when it reads

- ``best k``: the windows around the cheap scorer's best k sentences (`qa.pipeline.READ_WINDOWS`);
- ``passages p``: every window of the best p passages: the whole passage, read as windows (the
  model's input holds a window and its question, `qa.reader.trained.MAX_TOKENS`, not a passage).

Each is calibrated as `training.calibrate_reader` does (all evidence features, each article fold
scored by a fit on the other folds) and reported per source, with SelQA's paraphrased questions
on their own: log loss and ROC AUC of the picked answer's probability, overall accuracy at the
threshold that maximises it, the share of answerable questions whose picked answer is right when
every question is answered, and the windows read per question (the cost: about 4 ms each on one
core). It also measures passage reranking by what was read: how often the gold passage comes
first in retrieval's order, as the passage of the cheap scorer's best sentence, and as the passage
of the best window by its cross-validated probability (what `qa` does with the trained reader).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from qa import evaluate
from qa.reader.trained import FEATURES, Reading, default_folder, evidence
from training import calibrate_reader as calibration

BEST = (1, 2, 3, 4, 6, 8)
PASSAGES = (1, 2, 3)


def collect(engine, questions: list[evaluate.GoldQuestion], source: str, paraphrased: frozenset[str]) -> list[dict]:
    """Per question and removal: the retrieval rank of the gold passage, and every window the
    cheap scorer's sentences give, with its candidate rank, its passage's rank and what the
    reader read in it."""
    from qa.reader import heuristic

    out = []
    for gold, removed, record, gone in calibration.asked(engine, questions, source, paraphrased):
        ranked, sentences, candidates = engine._read(gold.question, engine.settings.retriever)
        windows, _ = engine._windows(candidates, sentences, count=len(candidates))
        readings = engine.reader.read(gold.question, [w.text for w in windows]) if windows else []
        right = calibration.judge(source, gold, removed, windows, readings)
        passage = {pid: rank for rank, (pid, _) in enumerate(ranked)}
        answers = () if removed else gold.answers
        read = [{"rank": w.rank, "passage": passage[w.candidate.paragraph], "logit": r.logit,
                 "span_score": r.span_score, "heuristic": heuristic.confidence(gold.question, w.candidate),
                 "text": r.text, "right": ok, "f1": evaluate.f1(r.text, answers) if answers else 0.0}
                for w, r, ok in zip(windows, readings, right)]
        out.append({**record, "gold_rank": None if removed else passage.get(gone), "windows": read})
    return out


def variants() -> dict[str, Callable[[dict], bool]]:
    """Which windows each way of reading keeps."""
    out: dict[str, Callable[[dict], bool]] = {f"best {k}": partial(_below, "rank", k) for k in BEST}
    out.update({f"passages {p}": partial(_below, "passage", p) for p in PASSAGES})
    return out


def _below(key: str, limit: int, window: dict) -> bool:
    return window[key] < limit


def restrict(records: list[dict], keep: Callable[[dict], bool]) -> list[dict]:
    """The records as `qa` would have read them: only the kept windows, with the evidence that
    depends on the others (margin, agreement) computed again among them."""
    out = []
    for record in records:
        kept = [w for w in record["windows"] if keep(w)]
        readings = [Reading(i, 0, 0, w["logit"], w["span_score"], w["text"]) for i, w in enumerate(kept)]
        facts = evidence(readings, [w["heuristic"] for w in kept])
        out.append({**record, "windows": [{**w, **f} for w, f in zip(kept, facts)]})
    return out


def scored(records: list[dict]) -> list[tuple[dict, float, int, np.ndarray]]:
    """Per record with a window: the record, the picked answer's probability, its window, and
    every window's probability, each article fold scored by a fit on the other folds."""
    out = []
    for fold in sorted({r["article"] for r in records}):
        weights, intercept = calibration.fit([r for r in records if r["article"] != fold], FEATURES)
        for record in records:
            if record["article"] != fold or not record["windows"]:
                continue
            z = intercept + np.array([[w[n] for n in FEATURES] for w in record["windows"]]) @ weights
            p = 1 / (1 + np.exp(-z))
            best = int(np.argmax(p))
            out.append((record, float(p[best]), best, p))
    return out


def figures(results: list[tuple[dict, float, int, np.ndarray]], cut: float) -> dict[str, float]:
    """One group's figures at ``cut`` (the threshold chosen over all sources)."""
    from sklearn.metrics import log_loss

    outcomes = _outcomes(results)
    answerable = [o for o in outcomes if o[2]]
    probability, right = [o[0] for o in outcomes], [o[1] for o in outcomes]
    return {"questions": len(answerable),
            "log_loss": round(float(log_loss(right, probability, labels=[False, True])), 4),
            "auc": round(evaluate.roc_auc(probability, right) or 0.0, 4),
            "overall_accuracy": round(calibration.overall_accuracy(outcomes, cut), 4),
            "right_answering_all": round(sum(o[1] for o in answerable) / len(answerable), 4),
            "windows_per_question": round(float(np.mean([len(r["windows"]) for r, *_ in results])), 2)}


def _outcomes(results: list[tuple[dict, float, int, np.ndarray]]) -> list[tuple[float, bool, bool, float]]:
    """Per record, as `training.calibrate_reader.outcomes` gives them: the picked answer's
    probability, whether it is right, whether the question is answerable, and its F1."""
    return [(p, bool(r["windows"][i]["right"]), r["answerable"], r["windows"][i]["f1"]) for r, p, i, _ in results]


def rerank(results: list[tuple[dict, float, int, np.ndarray]]) -> dict[str, float]:
    """The share of answerable questions whose gold passage comes first: in retrieval's order,
    as the passage of the cheap scorer's best sentence read (what `qa`'s reranking puts first,
    nearly always), and as the passage of the window with the best answer (reranking by what
    the trained reader read). A question without windows keeps retrieval's order."""
    answerable = [(r, p) for r, _, _, p in results if r["answerable"]]
    if not answerable:
        return {}

    def first(record: dict, order: np.ndarray | None) -> int:
        if not record["windows"] or order is None:
            return 0
        return record["windows"][int(np.argmax(order))]["passage"]

    hits = {"retrieval_hit1": [first(r, None) == r["gold_rank"] for r, _ in answerable],
            "sentence_hit1": [first(r, -np.array([w["rank"] for w in r["windows"]])) == r["gold_rank"]
                              for r, _ in answerable],
            "reader_hit1": [first(r, p) == r["gold_rank"] for r, p in answerable]}
    return {"questions": len(answerable), **{k: round(float(np.mean(v)), 4) for k, v in hits.items()}}


def groups(results: list) -> dict[str, list]:
    """All questions, each source, and SelQA's paraphrased questions."""
    out = {"all": results}
    for source in calibration.SOURCES:
        out[source] = [x for x in results if x[0]["source"] == source]
    out["selqa (paraphrased)"] = [x for x in results if x[0].get("paraphrase")]
    return {name: group for name, group in out.items() if group}


def compare(records: list[dict]) -> dict[str, dict]:
    """Every way of reading (`variants`), its figures per group and its reranking."""
    report = {}
    for name, keep in variants().items():
        results = scored(restrict(records, keep))
        cut, _ = calibration.threshold(_outcomes(results))
        report[name] = {"threshold": cut, **{g: figures(rs, cut) for g, rs in groups(results).items()},
                        "rerank": {g: rerank(rs) for g, rs in groups(results).items()}}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_folder())
    parser.add_argument("--squad", type=Path, default=calibration.SQUAD)
    parser.add_argument("--training-data", type=Path, default=calibration.SHARED / "training-data")
    parser.add_argument("--questions", type=int, default=400, help="held-out questions of each source but squad-dev")
    parser.add_argument("--reuse", type=Path, help="readings collected before (JSON), instead of reading again")
    parser.add_argument("--save", type=Path, help="write the readings collected here (JSON)")
    args = parser.parse_args()

    if args.reuse:
        records = json.loads(args.reuse.read_text(encoding="utf-8"))
    else:
        from qa.reader.trained import TrainedReader

        reader = TrainedReader(args.model)
        rephrased = calibration.paraphrased(args.training_data)
        records, started = [], time.perf_counter()
        for source, (engine, gold) in calibration.engines(args.squad, args.training_data, args.questions).items():
            engine._reader = reader
            records += collect(engine, gold, source, rephrased)
        print(f"read {sum(len(r['windows']) for r in records):,} windows for {len(records):,} questions "
              f"in {time.perf_counter() - started:.0f} s")
        if args.save:
            args.save.write_text(json.dumps(records) + "\n", encoding="utf-8")
    report = compare(records)
    print(json.dumps(report, indent=2))
    print("| reading | windows | log loss | AUC | overall accuracy | right answering all | "
          "SelQA paraphrased: accuracy / AUC | gold passage first: retrieval / best sentence / reader |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in report.items():
        a, para, rr = r["all"], r.get("selqa (paraphrased)", {}), r["rerank"]["all"]
        print(f"| {name} | {a['windows_per_question']} | {a['log_loss']} | {a['auc']} | {a['overall_accuracy']} | "
              f"{a['right_answering_all']} | {para.get('overall_accuracy', '–')} / {para.get('auc', '–')} | "
              f"{rr.get('retrieval_hit1', '–')} / {rr.get('sentence_hit1', '–')} / {rr.get('reader_hit1', '–')} |")


if __name__ == "__main__":
    main()
