"""Evaluation: run `ask` over a gold Q&A set and measure it the way the field does.

    >>> from qa.evaluate import f1, exact_match
    >>> exact_match("The Tomahawk missiles", ["tomahawk missiles"])
    1.0
    >>> round(f1("400 missiles", ["400 Tomahawk missiles"]), 2)
    0.8

A gold set is JSON Lines, one question per line::

    {"id": "q1", "question": "What did Japan buy?", "answers": ["400 Tomahawk Cruise Missiles"],
     "citations": [{"file": "000_9ccf596f5a5ca5a0.txt", "paragraph": 5}]}

An empty ``answers`` list means the right response is to abstain. ``citations`` may be left out
of an answerable question: it is then graded by content (`GRADED_BY_CONTENT`). A SQuAD v1.1 or 2.0
JSON file is accepted too: `squad_corpus` writes its contexts as a corpus (a SQuAD 2.0
question marked ``is_impossible`` must be abstained on).
"""

from __future__ import annotations

import json
import re
import string
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.corpus import fold
from qa.errors import BadInput

if TYPE_CHECKING:
    from qa.pipeline import QA
    from qa.types import Answer

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_PUNCTUATION_TO_SPACE = str.maketrans(string.punctuation, " " * len(string.punctuation))

# name → (label, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "hit1": ("retrieval hit@1", True),
    "hit3": ("retrieval hit@3", True),
    "hit5": ("retrieval hit@5", True),
    "mrr10": ("retrieval MRR@10", True),
    "citation_accuracy": ("citation accuracy", True),
    "answer_accuracy": ("answer accuracy (contains a gold answer)", True),
    "context_accuracy": ("sentence accuracy (the answer's sentence contains a gold answer)", True),
    "exact_match": ("SQuAD exact match", True),
    "f1": ("SQuAD token F1", True),
    "answer_words": ("mean answer length (words)", False),
    "noans_abstained": ("unanswerable: share abstained", True),
    "hasans_abstained": ("answerable: share wrongly abstained", False),
    "overall_accuracy": ("overall accuracy (answered right or abstained right)", True),
    "confidence_auc": ("confidence ROC AUC (right answers vs. the rest)", True),
    "calibration_error": ("expected calibration error of the confidence", False),
    "latency_p50_ms": ("latency p50 (ms)", False),
    "latency_p95_ms": ("latency p95 (ms)", False),
}


# What `qa eval` says of the questions that have answers but no citations.
GRADED_BY_CONTENT = ("graded by content: a passage counts as found, and an answer as rightly cited, when it "
                     "(or the answer's sentence) contains a gold answer after SQuAD normalisation")


@dataclass(frozen=True)
class GoldQuestion:
    """One gold question: acceptable answers (empty: abstain) and acceptable paragraphs."""

    id: str
    question: str
    answers: tuple[str, ...]
    citations: frozenset[tuple[str, int]]

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class Result:
    """What `ask` returned for one gold question, with its confidence before any threshold."""

    gold: GoldQuestion
    answer: dict[str, Any]  # the `qa ask --json` object, threshold applied
    candidate: dict[str, Any] | None  # best span regardless of threshold
    seconds: float
    evidence: dict[str, float] | None = None  # the best span's `Span.evidence`

    @property
    def confidence(self) -> float:
        return self.candidate["score"] if self.candidate else 0.0


# --- gold sets ---------------------------------------------------------------------------

def load_gold(path: Path) -> list[GoldQuestion]:
    """Read a JSON Lines gold set.

    Raises:
        BadInput: the file is missing, or a line is malformed (the message names the line).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read gold set {path}: {exc}") from None
    questions = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise BadInput(f"{path}:{number}: not valid JSON ({exc})") from None
        try:
            questions.append(_gold_question(data, number))
        except (ValueError, TypeError, KeyError) as exc:
            raise BadInput(f"{path}:{number}: {exc}") from None
        if questions[-1].id in seen:
            raise BadInput(f"{path}:{number}: duplicate id {questions[-1].id!r}")
        seen.add(questions[-1].id)
    if not questions:
        raise BadInput(f"gold set {path} has no questions")
    return questions


def _gold_question(data: Any, number: int) -> GoldQuestion:
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    missing = [key for key in ("question", "answers") if key not in data]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    question, answers = data["question"], data["answers"]
    if not isinstance(question, str) or not question.strip():
        raise ValueError("'question' must be a non-empty string")
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        raise ValueError("'answers' must be a list of non-empty strings")
    citations = data.get("citations", [])
    if not isinstance(citations, list) or not all(
            isinstance(c, dict) and isinstance(c.get("file"), str) and isinstance(c.get("paragraph"), int)
            for c in citations):
        raise ValueError("'citations' must be a list of {\"file\": str, \"paragraph\": int}")
    return GoldQuestion(str(data.get("id", f"line{number}")), question, tuple(answers),
                        frozenset((c["file"], c["paragraph"]) for c in citations))


def is_squad(path: Path) -> bool:
    """Whether ``path`` looks like a SQuAD JSON file rather than JSON Lines."""
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip()
    return head.startswith(b"{") and b'"data"' in head[:200] or head.startswith(b'{"version"')


def squad_corpus(path: Path, folder: Path, articles: str | None = None) -> list[GoldQuestion]:
    """Write a SQuAD file's contexts as a corpus and return its questions as gold.

    One file per article (``NN_Title.txt``), one paragraph per context in article
    order, separated by blank lines, so paragraph N of a file is context N. A SQuAD 2.0
    question marked ``is_impossible`` has no answers: the right response is to abstain.

    Args:
        articles: ``"odd"`` or ``"even"``: return only the questions of the articles at those
            positions of the file's ``data`` list, counting from 0 (the corpus is still every
            article). ``shared/benchmarks`` trains on the even ones and benchmarks the odd ones.

    Raises:
        BadInput: ``folder`` holds anything but these files (an earlier run's); nothing is written then.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"{path} is not a SQuAD JSON file: {exc}") from None
    files: dict[str, str] = {}
    questions = []
    for number, article in enumerate(data, start=1):
        name = f"{number:02d}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', article['title'])}.txt"
        contexts = [re.sub(r"\s*\n\s*", " ", p["context"]).strip() for p in article["paragraphs"]]
        files[name] = "\n\n".join(contexts) + "\n"
        if articles is not None and (number - 1) % 2 != (articles == "odd"):
            continue
        for paragraph, p in enumerate(article["paragraphs"], start=1):
            for qa_item in p["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa_item["answers"]))
                questions.append(GoldQuestion(qa_item["id"], qa_item["question"], answers,
                                              frozenset({(name, paragraph)})))
    folder.mkdir(parents=True, exist_ok=True)
    # The folder lies in the cache, but QA_CACHE may point anywhere: replace only our own files.
    foreign = sorted(p.name for p in folder.iterdir() if p.name not in files or p.is_symlink() or not p.is_file())
    if foreign:
        raise BadInput(f"{folder} holds {foreign[0]}, which qa did not write there; "
                       "move it away or set QA_CACHE to another folder")
    for name, text in files.items():
        target = folder / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return questions


def subset(questions: Sequence[GoldQuestion], sample: int | None = None,
           every: int | None = None) -> list[GoldQuestion]:
    """A deterministic subset: every ``every``-th question (from the first), then ``sample`` evenly spaced."""
    chosen = list(questions)
    if every:
        if every < 1:
            raise BadInput("--every must be at least 1")
        chosen = chosen[::every]
    if sample:
        if sample < 1:
            raise BadInput("--sample must be at least 1")
        step = max(len(chosen) / sample, 1.0)
        chosen = [chosen[int(i * step)] for i in range(min(sample, len(chosen)))]
    return chosen


# --- answer metrics (SQuAD's official normalisation, plus folded quotes) ---------------------

def normalize_answer(text: str) -> str:
    """Lower case, fold quotes, drop punctuation and articles, squeeze white space."""
    text = fold(text).translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def f1(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD token F1 against the best-matching gold answer."""
    predicted = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        expected = normalize_answer(gold).split()
        common = sum((Counter(predicted) & Counter(expected)).values())
        if common:
            precision, recall = common / len(predicted), common / len(expected)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def _words(text: str) -> str:
    """Like `normalize_answer`, but punctuation separates words ("China’s" holds "China")."""
    text = fold(text).translate(_PUNCTUATION_TO_SPACE)
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains_answer(prediction: str, golds: Sequence[str]) -> bool:
    """Whether the prediction contains a gold answer as whole words, after normalisation."""
    padded = f" {_words(prediction)} "
    return any(f" {_words(g)} " in padded for g in golds if _words(g))


# --- running and summarising -----------------------------------------------------------

def run(engine: QA, questions: Sequence[GoldQuestion], *, top_k: int = 10, retriever=None,
        min_score: float | None = None, rerank: bool = True, reader=None,
        progress: Callable[[int], None] | None = None) -> list[Result]:
    """Ask every question exactly as `qa ask` would, keeping each best span before the threshold."""
    threshold = engine.threshold(reader) if min_score is None else min_score
    copies = engine.index.copies()  # a passage the corpus holds twice is right as either copy
    results = []
    for gold in questions:
        if copies:
            gold = replace(gold, citations=gold.citations.union(*(copies.get(c, ()) for c in gold.citations)))
        started = time.perf_counter()
        raw = engine.ask(gold.question, top_k=top_k, retriever=retriever, min_score=0.0, rerank=rerank,
                         reader=reader)
        seconds = time.perf_counter() - started
        results.append(Result(gold, apply_threshold(raw, threshold).to_dict(),
                              raw.span.to_dict() if raw.span else None, seconds,
                              dict(raw.span.evidence) if raw.span else None))
        if progress:
            progress(1)
    return results


@contextmanager
def without_paragraph(engine: QA, paragraph_id: int) -> Iterator[None]:
    """Within the block, ``engine`` answers as if one paragraph had never been indexed: it is
    left out of every ranking. Its article's other paragraphs stay, on topic but without the
    answer: the kind of unanswerable question users ask."""
    index = engine.index
    gone = set(index.sentences([paragraph_id]))
    dense_search, lexical_search = index.dense_search, index.lexical_search

    def keep(kind: str, hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
        return [h for h in hits if (h[0] != paragraph_id if kind == "paragraphs" else h[0] not in gone)]

    index.dense_search = lambda kind, query, k: keep(kind, dense_search(kind, query, k))  # type: ignore[method-assign]
    index.lexical_search = lambda kind, q, k, **kw: keep(kind, lexical_search(kind, q, k, **kw))  # type: ignore[method-assign]
    try:
        yield
    finally:
        index.dense_search, index.lexical_search = dense_search, lexical_search  # type: ignore[method-assign]


def run_gold_removed(engine: QA, questions: Sequence[GoldQuestion], *, reader=None,
                     min_score: float | None = None) -> list[Result]:
    """The open-corpus abstention test: every second question (odd positions in ``questions``) is
    asked with its gold paragraph removed (`without_paragraph`) and must then be abstained on;
    the others are asked as they are. Questions need exactly one gold citation."""

    ids = engine.index.paragraph_ids()
    results = []
    for i, gold in enumerate(questions):
        if i % 2 == 0:
            results += run(engine, [gold], reader=reader, min_score=min_score)
            continue
        (file, number), = gold.citations
        with without_paragraph(engine, ids[(file, number)]):
            results += run(engine, [replace(gold, answers=())], reader=reader, min_score=min_score)
    return results


def apply_threshold(answer: Answer, threshold: float) -> Answer:
    """The answer `ask` gives with ``min_score=threshold``, from one asked with ``min_score=0``."""

    if answer.span is not None and answer.span.score < threshold:
        return replace(answer, span=None)
    return answer


def _right_passage(gold: GoldQuestion, passage: dict[str, Any]) -> bool:
    """Whether a passage is one the gold question cites; for a question without citations,
    whether it contains a gold answer (graded by content)."""
    if gold.citations:
        return (passage["file"], passage["paragraph"]) in gold.citations
    return contains_answer(passage["text"], gold.answers)


def _rank_of_gold(result: Result) -> int | None:
    for rank, passage in enumerate(result.answer["passages"], start=1):
        if _right_passage(result.gold, passage):
            return rank
    return None


def _cited_right(gold: GoldQuestion, span: dict[str, Any] | None) -> bool:
    """Whether the answer cites a paragraph the gold question cites; for a question without
    citations, whether the answer or its context contains a gold answer (graded by content)."""
    if span is None:
        return False
    if gold.citations:
        return (span["file"], span["paragraph"]) in gold.citations
    return contains_answer(span["text"], gold.answers) or contains_answer(span["context"]["text"], gold.answers)


def _answer_correct(gold: GoldQuestion, span: dict[str, Any] | None) -> bool:
    return span is not None and contains_answer(span["text"], gold.answers)


def summarize(results: Sequence[Result], threshold: float | None = None) -> dict[str, Any]:
    """Every metric in `METRICS` over the results (answers re-thresholded if ``threshold`` is given)."""
    def span(r: Result) -> dict[str, Any] | None:
        if threshold is None:
            return r.answer["answer"]
        return r.candidate if r.candidate and r.confidence >= threshold else None

    answerable = [r for r in results if r.gold.answerable]
    unanswerable = [r for r in results if not r.gold.answerable]
    ranks = [_rank_of_gold(r) for r in answerable]
    spans = [span(r) for r in answerable]
    answered = [s for s in spans if s is not None]

    def share(values: Sequence[float | bool]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    correct = [_answer_correct(r.gold, s) for r, s in zip(answerable, spans)]
    in_context = [s is not None and contains_answer(s["context"]["text"], r.gold.answers)
                  for r, s in zip(answerable, spans)]
    abstained_right = [span(r) is None for r in unanswerable]
    latencies = sorted(r.seconds * 1000 for r in results)
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "graded_by_content": sum(not r.gold.citations for r in answerable),
        "hit1": share([r is not None and r <= 1 for r in ranks]),
        "hit3": share([r is not None and r <= 3 for r in ranks]),
        "hit5": share([r is not None and r <= 5 for r in ranks]),
        "mrr10": share([1 / r if r is not None and r <= 10 else 0.0 for r in ranks]),
        "citation_accuracy": share([_cited_right(r.gold, s) for r, s in zip(answerable, spans)]),
        "answer_accuracy": share(correct),
        "context_accuracy": share(in_context),
        "exact_match": share([exact_match(s["text"], r.gold.answers) if s else 0.0
                              for r, s in zip(answerable, spans)]),
        "f1": share([f1(s["text"], r.gold.answers) if s else 0.0 for r, s in zip(answerable, spans)]),
        "answer_words": round(sum(len(s["text"].split()) for s in answered) / len(answered), 1)
        if answered else None,
        "noans_abstained": share(abstained_right),
        "hasans_abstained": share([s is None for s in spans]),
        "overall_accuracy": share(correct + abstained_right),
        "confidence_auc": _rounded(roc_auc(*confidence_outcomes(results))),
        "calibration_error": _rounded(calibration_error(*confidence_outcomes(results))),
        "latency_p50_ms": round(_percentile(latencies, 50), 1) if latencies else None,
        "latency_p95_ms": round(_percentile(latencies, 95), 1) if latencies else None,
    }


def confidence_outcomes(results: Sequence[Result]) -> tuple[list[float], list[bool]]:
    """Each best span's confidence (before the threshold) and whether that span is right; a
    question with no span at all has nothing to be confident about and is left out."""
    pairs = [(r.confidence, r.gold.answerable and _answer_correct(r.gold, r.candidate))
             for r in results if r.candidate is not None]
    return [p for p, _ in pairs], [ok for _, ok in pairs]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def roc_auc(scores: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """Probability that a right answer's score beats a wrong one's (ties count half); None
    without both kinds."""
    ordered = sorted(zip(scores, outcomes))
    right = sum(outcomes)
    wrong = len(outcomes) - right
    if not right or not wrong:
        return None
    below = 0.0  # wrong answers scored strictly below the current score
    wins = 0.0
    i = 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j][0] == ordered[i][0]:
            j += 1
        tied_right = sum(ok for _, ok in ordered[i:j])
        tied_wrong = (j - i) - tied_right
        wins += tied_right * (below + 0.5 * tied_wrong)
        below += tied_wrong
        i = j
    return wins / (right * wrong)


def calibration_error(confidences: Sequence[float], outcomes: Sequence[bool], bins: int = 10) -> float | None:
    """Expected calibration error: over equal-width confidence bins (`reliability`), the gap
    between mean confidence and the share right, weighted by the bin's share of answers."""
    if not confidences:
        return None
    return sum(row["answers"] / len(confidences) * abs(row["confidence"] - row["right"])
               for row in reliability(confidences, outcomes, bins))


def reliability(confidences: Sequence[float], outcomes: Sequence[bool], bins: int = 10) -> list[dict[str, float]]:
    """The reliability table behind `calibration_error`: per non-empty bin, its range, size,
    mean confidence and share right."""
    rows = []
    for b in range(bins):
        members = [(c, ok) for c, ok in zip(confidences, outcomes)
                   if b / bins <= c < (b + 1) / bins or (b == bins - 1 and c == 1.0)]
        if members:
            rows.append({"low": b / bins, "high": (b + 1) / bins, "answers": len(members),
                         "confidence": sum(c for c, _ in members) / len(members),
                         "right": sum(ok for _, ok in members) / len(members)})
    return rows


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    index = (len(sorted_values) - 1) * q / 100
    low, high = int(index), min(int(index) + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (index - low)


def calibrate(results: Sequence[Result], max_abstained: float = 0.025) -> tuple[float, float]:
    """The abstention threshold that maximises overall accuracy, and that accuracy.

    Only thresholds that leave at most ``max_abstained`` of the answerable
    questions unanswered are considered (SQuAD 2.0's HasAns side): a threshold
    that buys a few right abstentions with many silenced answers makes `qa`
    useless on paraphrased questions. Candidates are midpoints between
    neighbouring confidences; among equally good thresholds the middle of the
    best run is taken, to leave margin both ways.
    """
    scores = sorted({round(r.confidence, 6) for r in results} | {0.0, 1.0})
    cuts = [0.0] + [(a + b) / 2 for a, b in zip(scores, scores[1:])] + [1.0]
    answerable = [r for r in results if r.gold.answerable]

    def accuracy(cut: float) -> float:
        silenced = sum(r.candidate is None or r.confidence < cut for r in answerable)
        if answerable and silenced / len(answerable) > max_abstained:
            return -1.0
        right = 0
        for r in results:
            answers = r.candidate is not None and r.confidence >= cut
            right += (answers and _answer_correct(r.gold, r.candidate)) if r.gold.answerable else not answers
        return right / len(results)

    values = [accuracy(cut) for cut in cuts]
    best = max(values)
    run_start = values.index(best)
    run_end = run_start
    while run_end + 1 < len(values) and values[run_end + 1] == best:
        run_end += 1
    return round((cuts[run_start] + cuts[run_end]) / 2, 4), round(best, 4)


def failures(results: Sequence[Result]) -> list[dict[str, Any]]:
    """The questions answered wrongly: wrong or missing answer, or an answer that should not be."""
    missed = []
    for r in results:
        span = r.answer["answer"]
        ok = _answer_correct(r.gold, span) if r.gold.answerable else span is None
        if not ok:
            missed.append({"id": r.gold.id, "question": r.gold.question,
                           "expected": list(r.gold.answers) or "(abstain)",
                           "expected_at": sorted(f"{f} ¶{p}" for f, p in r.gold.citations),
                           "got": span["text"] if span else "(abstained)",
                           "got_at": f"{span['file']} ¶{span['paragraph']}" if span else "",
                           "confidence": round(r.confidence, 3)})
    return missed


def parse_floors(floors: Sequence[str]) -> dict[str, float]:
    """``["hit1=0.9", ...]`` → ``{"hit1": 0.9}``, for metrics where higher is better."""
    parsed = {}
    for item in floors:
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in METRICS or not METRICS[name][1]:
            allowed = ", ".join(n for n, (_, higher) in METRICS.items() if higher)
            raise BadInput(f"--fail-under {item!r}: unknown metric; use one of {allowed}")
        try:
            parsed[name] = float(value)
        except ValueError:
            raise BadInput(f"--fail-under {item!r}: {value!r} is not a number") from None
    return parsed


def below_floors(summary: dict[str, Any], floors: dict[str, float]) -> list[str]:
    """Each metric under its floor, as ``name value < floor``."""
    return [f"{name} {summary[name]} < {floor}" for name, floor in floors.items()
            if summary.get(name) is None or summary[name] < floor]
