"""Reader training pairs from the corpora in ``../shared/training-data`` (SQuAD v2 JSON, gzipped).

    >>> from training.corpora import load_corpora
    >>> train, held_out = load_corpora(Path("../shared/training-data"))        # doctest: +SKIP

Three sources, each split into training and held-out parts that never share an article:

- **SQuAD v1.1 train** (``squad``): 432 Wikipedia articles, questions written while reading the
  paragraph. Articles at positions ``p % SQUAD_HELD_OUT_EVERY == SQUAD_HELD_OUT_AT`` are held out
  (for validation and calibration); the rest become pairs exactly as the dev articles do
  (`training.data.pairs`: a window that holds the answer, the most similar window of its
  paragraph that does not, the most similar window of another paragraph of its article).
  ``offset_ambiguous`` answers (the text occurs more than once and the offset is a guess) still
  teach "this window answers", but not where: their span is not learned.
- **SelQA** (``selqa``): the answer is a whole sentence, so it teaches only whether a window
  answers, never span boundaries; half its questions are crowd paraphrases, which do not echo
  the paragraph. ``selqa-dev`` is trained on, ``selqa-test`` held out.
- **QAMR** (``qamr``): short questions about the words of one sentence. Each becomes a
  positive (the sentence) and a negative (the most similar other sentence of its article that
  does not hold the answer). ``qamr-dev`` is trained on, ``qamr-test`` held out.

A negative never contains a gold answer's text: it may well answer.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

from training.data import Pair, _windows, _words, pairs

SQUAD_FILE = "squad-train-v1.1-minus-first10.json.gz"
SELQA_FILES = ("selqa-dev.json.gz", "selqa-test.json.gz")  # (trained, held out)
QAMR_FILES = ("qamr-dev.json.gz", "qamr-test.json.gz")
SQUAD_HELD_OUT_EVERY, SQUAD_HELD_OUT_AT = 24, 11  # 18 of the 432 articles
FILES = (SQUAD_FILE, *SELQA_FILES, *QAMR_FILES)


def read(path: Path) -> list[dict]:
    """The articles of one gzipped SQuAD-format file."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)["data"]


def squad_articles(folder: Path) -> tuple[list[dict], list[dict]]:
    """``(train, held_out)`` SQuAD train articles, tagged with ``source`` and ``position``, their
    ambiguous answers' spans dropped (see the module docstring)."""
    train, held_out = [], []
    for position, article in enumerate(read(folder / SQUAD_FILE)):
        tagged = {**article, "source": "squad", "position": position}
        is_held = position % SQUAD_HELD_OUT_EVERY == SQUAD_HELD_OUT_AT
        (held_out if is_held else train).append(tagged)
    return train, held_out


def squad_pairs(articles: list[dict], seed: int) -> list[Pair]:
    """`training.data.pairs` over SQuAD train articles; an ``offset_ambiguous`` question's
    positive teaches answerability only."""
    ambiguous = {q["id"] for a in articles for p in a["paragraphs"] for q in p["qas"] if q.get("offset_ambiguous")}
    return [Pair(p.question, p.context, p.answer, p.answers, p.qid, span=False)
            if p.qid in ambiguous and p.answer is not None else p for p in pairs(articles, seed)]


def sentence_pairs(articles: list[dict], seed: int) -> list[Pair]:
    """SelQA: per question, a window around its answer sentence (answerability only: the
    answer is the whole sentence) and the most similar window of its paragraph without it."""
    rng = random.Random(seed)
    out = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            windows = _windows(context)
            for item in paragraph["qas"]:
                answer = item["answers"][0]
                start, end = answer["answer_start"], answer["answer_start"] + len(answer["text"])
                holding = [w for w in windows if w[0] <= start and end <= w[1]]
                words = _words(item["question"])
                if holding:
                    s, e = rng.choice(holding)
                    out.append(Pair(item["question"].strip(), context[s:e], (start - s, end - s),
                                    (answer["text"],), item["id"], span=False))
                free = [w for w in windows if w[1] <= start or w[0] >= end]
                if free:
                    s, e = max(free, key=lambda w: len(words & _words(context[w[0]:w[1]])))
                    out.append(Pair(item["question"].strip(), context[s:e], None, (), item["id"]))
    return out


def short_question_pairs(articles: list[dict], seed: int) -> list[Pair]:
    """QAMR: per question, its sentence with the answer span, and (half the time, so that short
    questions do not mostly teach "no") the most similar other sentence of its article that
    does not hold the answer."""
    rng = random.Random(seed)
    out = []
    for article in articles:
        sentences = [p["context"] for p in article["paragraphs"]]
        for index, paragraph in enumerate(article["paragraphs"]):
            context = paragraph["context"]
            for item in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in item["answers"]))
                first = item["answers"][0]
                start = first["answer_start"]
                question = item["question"].strip()
                out.append(Pair(question, context, (start, start + len(first["text"])), answers, item["id"]))
                if rng.random() < 0.5:
                    continue
                words = _words(question)
                folded = [a.lower() for a in answers if a.strip()]
                others = [s for j, s in enumerate(sentences)
                          if j != index and not any(a in s.lower() for a in folded)]
                if others:
                    best = max(others, key=lambda s: len(words & _words(s)))
                    out.append(Pair(question, best, None, (), item["id"]))
    return out


def load_corpora(folder: Path, seed: int = 0, paraphrase: bool = False) -> dict[str, tuple[list[Pair], list[Pair]]]:
    """Per source (``squad``, ``selqa``, ``qamr``, and with ``paraphrase`` ``paraphrased``: the
    SQuAD train questions rewritten by `training.paraphrase`), ``(training pairs, held-out
    pairs)``; the held-out pairs are built with a fixed seed, the same for every run."""
    squad_train, squad_held = squad_articles(folder)
    selqa_train, selqa_held = (read(folder / name) for name in SELQA_FILES)
    qamr_train, qamr_held = (read(folder / name) for name in QAMR_FILES)
    corpora = {
        "squad": (squad_pairs(squad_train, seed), squad_pairs(squad_held, 12345)),
        "selqa": (sentence_pairs(selqa_train, seed), sentence_pairs(selqa_held, 12345)),
        "qamr": (short_question_pairs(qamr_train, seed), short_question_pairs(qamr_held, 12345)),
    }
    if paraphrase:
        from training.paraphrase import paraphrased

        train, held = corpora["squad"]
        corpora["paraphrased"] = (paraphrased(train, seed), paraphrased(held, 12345))
    return corpora
