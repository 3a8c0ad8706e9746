"""How well the confidence tells answers from on-topic non-answers, measured on SQuAD.

    .venv/bin/python bench/abstention.py [--squad ../shared/benchmarks/squad-dev-v1.1.json] [--split 5]

SQuAD v1.1 has no unanswerable questions, so this makes them: each question is
asked twice, once as is and once with its gold paragraph removed from every
ranking. Without it, the best sentence comes from the same article, on topic but
not the answer: the kind of unanswerable question users ask. The script prints
the confidence's ROC AUC (answered right vs. gold removed) and, per kind of
question (`qa.reader.expected_kind`), how often each side's best sentence holds
what the question asks for: the evidence behind `qa.reader.KIND_MISMATCH`.

It uses the questions whose index is ``split`` mod 10 (default 5), which the
quality benchmark (every 10th, from the first) never asks. Needs the SQuAD index
that `qa eval` builds in the cache (bench/quality.py builds it).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import qa  # noqa: E402
from qa import evaluate, reader  # noqa: E402


def best_sentence(engine: qa.QA, question: str, removed: int | None) -> reader.Candidate | None:
    """The reader's best sentence, as `ask` finds it, with paragraph ``removed`` left out of every ranking."""
    index = engine.index
    gone = set(index.sentences([removed])) if removed is not None else set()
    dense_search, lexical_search = index.dense_search, index.lexical_search

    def keep(kind: str, hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
        return [h for h in hits if (h[0] != removed if kind == "paragraphs" else h[0] not in gone)]

    index.dense_search = lambda kind, vector, k: keep(kind, dense_search(kind, vector, k))  # type: ignore[method-assign]
    index.lexical_search = lambda kind, q, k, **kw: keep(kind, lexical_search(kind, q, k, **kw))  # type: ignore[method-assign]
    try:
        _, _, candidates = engine._read(question, engine.settings.retriever)
    finally:
        index.dense_search, index.lexical_search = dense_search, lexical_search  # type: ignore[method-assign]
    return candidates[0] if candidates else None


def auc(positives: list[float], negatives: list[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=ROOT.parent / "shared/benchmarks/squad-dev-v1.1.json")
    parser.add_argument("--split", type=int, default=5)
    args = parser.parse_args()

    from qa.cli import _squad_engine
    from qa.settings import Settings

    engine, questions = _squad_engine(args.squad, Settings.from_env(), None)
    questions = [q for i, q in enumerate(questions) if i % 10 == args.split]
    pids = dict(engine.index.db.execute(
        "SELECT f.name || '#' || p.number, p.id FROM paragraphs p JOIN files f ON f.id = p.file_id"))
    right, removed = [], []  # (question, best sentence)
    for gold in questions:
        (file, number), = gold.citations
        pid = pids[f"{file}#{number}"]
        best = best_sentence(engine, gold.question, None)
        if best is not None and evaluate.contains_answer(best.text, gold.answers):
            right.append((gold.question, best))
        best = best_sentence(engine, gold.question, pid)
        if best is not None and not evaluate.contains_answer(best.text, gold.answers):
            removed.append((gold.question, best))

    print(f"{len(questions)} questions (index = {args.split} mod 10): {len(right)} answered right, "
          f"{len(removed)} with the gold paragraph removed")
    separation = auc([reader.confidence(q, c) for q, c in right], [reader.confidence(q, c) for q, c in removed])
    print(f"confidence ROC AUC: {separation:.3f}")
    print("\n| kind | right answers | hold the kind | gold removed | hold the kind |\n|---|---:|---:|---:|---:|")
    for kind in ("money", "number", "date", "when", "person"):
        counts: dict[str, list[bool]] = defaultdict(list)
        for side, pairs in (("right", right), ("removed", removed)):
            counts[side] = [reader.holds_kind(c.text, kind) for q, c in pairs if reader.expected_kind(q) == kind]
        cells = []
        for side in ("right", "removed"):
            held = counts[side]
            cells += [str(len(held)), f"{sum(held) / len(held):.2f}" if held else "–"]
        print(f"| {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
