"""Training and held-out data for the reader, built from the SQuAD files in ``../shared/benchmarks``.

    >>> from training.data import load_splits
    >>> train, held_out = load_splits(Path("../shared/benchmarks"))       # doctest: +SKIP

The split (see ``../shared/benchmarks/README.md``):

- SQuAD v1.1 dev: only articles at **even** positions of its ``data`` list are read; the odd
  ones are the benchmark and are skipped before anything looks at them. Even articles
  `HELD_OUT_DEV` are held out whole for validation and calibration.
- The first 10 articles of SQuAD 2.0 train, article `HELD_OUT_V2` held out whole (it has 188
  unanswerable questions, so the held-out data checks the "no answer" probability too).

Each question becomes (question, window) pairs, a window being a sentence with its neighbours
(`qa.reader.spans.window`), split with the same sentence breaker as the index:

- one **positive**: a window that holds the answer span (half the time the one built around the
  answer's sentence, else any window that holds it, so the answer is not always in the middle);
- on-topic **negatives**: the window of the same paragraph that shares the most words with the
  question without holding the answer (or, half the time, a random such window), and the most
  similar window of another paragraph of the same article;
- SQuAD 2.0's unanswerable questions: the two most similar windows of their paragraph.

With the windows that `qa`'s own question path reads for the question (``training/mine.py``),
each question also gets up to `MINED_NEGATIVES` of those that do not hold its answer (the
reader's hard negatives at question time) and one more positive when that path reads another
window around the answer.

A negative window that contains a gold answer's text anywhere is dropped: it may well answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from qa.corpus import split_sentences
from qa.reader.spans import window
from qa.types import Paragraph

DEV_FILE = "squad-dev-v1.1.json"
V2_FILE = "squad-train-v2.0-first10.json"
# Even positions only: Prime_number, Scottish_Parliament, Imperialism, French_and_Indian_War.
HELD_OUT_DEV = (40, 42, 44, 46)
HELD_OUT_V2 = (5,)  # Spectre_(2015_film)
MINED_NEGATIVES = 2  # the question path's windows per question, besides the two picked by word overlap
MINED_POSITIVES = 1
_WORD = re.compile(r"\w+")
_STOP = frozenset("the a an of in on at to for by with from and or is was are were be been what which who whom "
                  "whose when where why how did do does that this it its as".split())


@dataclass(frozen=True)
class Pair:
    """One training or evaluation example.

    Attributes:
        question: the question text.
        context: the window's text, verbatim from the paragraph.
        answer: ``(start, end)`` of the answer in ``context``, or None for a negative.
        answers: every gold answer text (for span metrics; empty for a negative).
        qid: the SQuAD question id.
        span: whether ``answer`` is a short span to learn the boundaries of; False when it only
            says that the window answers (a whole-sentence answer, or an offset that is a guess).
    """

    question: str
    context: str
    answer: tuple[int, int] | None
    answers: tuple[str, ...]
    qid: str
    span: bool = True


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_articles(folder: Path) -> tuple[list[dict], list[dict]]:
    """``(train, held_out)`` articles, each tagged with its ``source`` and ``position``."""
    dev = json.loads((folder / DEV_FILE).read_text(encoding="utf-8"))["data"]
    v2 = json.loads((folder / V2_FILE).read_text(encoding="utf-8"))["data"]
    train, held_out = [], []
    for position, article in enumerate(dev):
        if position % 2:
            continue  # the benchmark: never trained or tuned on
        (held_out if position in HELD_OUT_DEV else train).append({**article, "source": "dev", "position": position})
    for position, article in enumerate(v2):
        (held_out if position in HELD_OUT_V2 else train).append({**article, "source": "v2", "position": position})
    return train, held_out


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _windows(context: str) -> list[tuple[int, int]]:
    """One window per sentence, in sentence order."""
    sentences = split_sentences(Paragraph("squad", 1, 0, len(context), 1, context))
    return [window(sentences, i) for i in range(len(sentences))]


def _sentence_of(context: str, offset: int) -> int:
    """The index of the sentence holding ``offset`` (the last one, if it falls between two)."""
    sentences = split_sentences(Paragraph("squad", 1, 0, len(context), 1, context))
    return max([0] + [i for i, (s, _) in enumerate(sentences) if s <= offset])


def pairs(articles: list[dict], seed: int, mined: dict[str, dict[str, list[list[int]]]] | None = None) -> list[Pair]:
    """The (question, window) pairs of ``articles``, in a deterministic order for ``seed``.

    Args:
        mined: per source (``dev``, ``v2``) and question id, the windows `qa`'s question path
            reads, as ``[article position, paragraph (from 1), start, end]`` (``training/mine.py``).
    """
    rng = random.Random(seed)
    contexts = {(a["source"], a["position"]): [p["context"] for p in a["paragraphs"]] for a in articles}
    out: list[Pair] = []
    for article in articles:
        paragraphs = [(p, _windows(p["context"])) for p in article["paragraphs"]]
        spans = [(pi, w, _words(p["context"][w[0]:w[1]])) for pi, (p, ws) in enumerate(paragraphs) for w in ws]
        read = (mined or {}).get(article["source"], {})
        for pi, (paragraph, windows) in enumerate(paragraphs):
            context = paragraph["context"]
            for item in paragraph["qas"]:
                own = _question_pairs(item, pi, context, windows, paragraphs, spans, rng)
                rows = read.get(item["id"], [])
                out += own + _mined_pairs(item, (article["position"], pi + 1), own, rows, contexts, article["source"])
    return out


def _mined_pairs(item: dict, place: tuple[int, int], own: list[Pair], rows: list[list[int]],
                 contexts: dict[tuple[str, int], list[str]], source: str) -> list[Pair]:
    """Pairs from the windows the question path reads for ``item`` (see `pairs`), besides ``own``."""
    question, qid = item["question"].strip(), item["id"]
    answers = tuple(dict.fromkeys(a["text"] for a in item["answers"]))
    folded = [a.lower() for a in answers if a.strip()]
    seen = {p.context for p in own}
    first = item["answers"][0] if answers and not item.get("is_impossible") else None
    positives, negatives = [], []
    for position, number, s, e in rows:
        paragraphs = contexts.get((source, position))
        if paragraphs is None or number > len(paragraphs):
            continue
        text = paragraphs[number - 1][s:e]
        if not text or text in seen:
            continue
        seen.add(text)
        if first is not None and (position, number) == place:
            start = int(first["answer_start"]) - s
            if start >= 0 and start + len(first["text"]) <= len(text):
                if len(positives) < MINED_POSITIVES:
                    positives.append(Pair(question, text, (start, start + len(first["text"])), answers, qid))
                continue
        if any(a in text.lower() for a in folded):
            continue  # it may well answer
        if len(negatives) < MINED_NEGATIVES:
            negatives.append(Pair(question, text, None, (), qid))
    return positives + negatives


def _question_pairs(item: dict, pi: int, context: str, windows: list[tuple[int, int]], paragraphs: list,
                    spans: list, rng: random.Random) -> list[Pair]:
    question, qid = item["question"].strip(), item["id"]
    words = _words(question)
    answers = tuple(dict.fromkeys(a["text"] for a in item["answers"]))
    folded = [a.lower() for a in answers if a.strip()]

    def holds(text: str) -> bool:
        lower = text.lower()
        return any(a in lower for a in folded)

    def overlap(text_words: set[str]) -> int:
        return len(words & text_words)

    if item.get("is_impossible") or not answers:
        ranked = sorted(windows, key=lambda w: -overlap(_words(context[w[0]:w[1]])))
        return [Pair(question, context[s:e], None, (), qid) for s, e in ranked[:2]]

    first = item["answers"][0]
    start = int(first["answer_start"])
    end = start + len(first["text"])
    holding = [w for w in windows if w[0] <= start and end <= w[1]]
    result = []
    if holding:
        centred = windows[_sentence_of(context, start)]
        if rng.random() < 0.5 or centred not in holding:
            centred = rng.choice(holding)
        s, e = centred
        result.append(Pair(question, context[s:e], (start - s, end - s), answers, qid))
    free = [w for w in windows if (w[1] <= start or w[0] >= end) and not holds(context[w[0]:w[1]])]
    if free:
        if rng.random() < 0.5:
            s, e = max(free, key=lambda w: overlap(_words(context[w[0]:w[1]])))
        else:
            s, e = rng.choice(free)
        result.append(Pair(question, context[s:e], None, (), qid))
    others = [(overlap(ws), p, w) for p, w, ws in spans if p != pi]
    for _, p, (s, e) in sorted(others, key=lambda t: -t[0]):
        text = paragraphs[p][0]["context"][s:e]
        if not holds(text):
            result.append(Pair(question, text, None, (), qid))
            break
    return result


def load_splits(folder: Path, seed: int = 0,
                mined: dict[str, dict[str, list[list[int]]]] | None = None) -> tuple[list[Pair], list[Pair]]:
    """Training pairs (with the mined windows, if given) and held-out pairs (built the same way
    every run, without mined windows, so that every run scores the same set)."""
    train, held_out = load_articles(folder)
    return pairs(train, seed, mined), pairs(held_out, 12345)
