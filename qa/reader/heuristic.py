"""Reader stage: pick the sentence that answers, and how sure we are.

    >>> from qa.reader.heuristic import Candidate, rank
    >>> c = [Candidate(0, 0, "Japan bought 400 Tomahawk missiles.", cosine=0.6, passage=1.0)]
    >>> rank("what did Japan buy?", c)[0].sentence
    0

Extractive only: a candidate is a sentence stored in the index, quoted as is.
Scores combine the sentence's own similarity to the question (dense cosine),
the strength of the paragraph it sits in, how much of the question's content
words it covers (IDF-weighted, matched through FTS5), and whether it holds the
kind of thing the question asks for (a number for "how many", a date for
"when"). All pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from qa.corpus import fold

_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|"
                     r"million|billion|dozen)\b", re.I)
_MONTH = (r"(?:january|february|march|april|june|july|august|september|october|november|december"
          r"|(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.)")
_YEAR_OR_DATE = re.compile(r"\b(?:1\d{3}|20\d{2})s?\b|\b" + _MONTH + r"(?!\w)|\bmay\s+\d|\d\s+may\b"
                           r"|\b\d{1,4}\s*(?:bc|bce|ad|ce)\b|\b(?:ad|a\.d\.)\s*\d{1,4}\b|\b\d0s\b"
                           r"|\b(?:century|decade|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
                           re.I)
_YEAR_LIKE = re.compile(r"\b\d{3,4}\b")  # for "what year": "Rome fell in 476"
_MONEY = re.compile(r"[$€£¥₹₩]|\b(?:dollars?|euros?|pounds?|sterling|yen|yuan|renminbi|won|rubles?|roubles?|rupees?"
                    r"|pesos?|francs?|marks|lira|cents?|pence|usd|eur|gbp|jpy|cny|krw)\b"
                    r"|\d\s*(?:million|billion|trillion|bn)\b", re.I)
# A question about a sum of money: "how much" with a verb of paying, or "what is the price of".
_MONEY_QUESTION = re.compile(r"\bhow much money\b|\bhow much (?:\w+ ){1,5}?(?:cost|costs|pay|pays|paid|paying|spend"
                             r"|spends|spent|spending|earn|earns|earned|charge|charges|charged|worth)\b"
                             r"|\bwhat (?:is|was|are|were|will be) the (?:price|cost|fee|salary)(?: of| for|\?|$)")
# Where each kind's question words are; the one that comes first decides ("Who was president
# when the war ended?" asks for a person).
_KIND_QUESTIONS = {
    "money": _MONEY_QUESTION,
    "number": re.compile(r"\bhow (?:many|much|long|old|far|large|big)\b|\bwhat (?:percentage|number|amount)\b"),
    "date": re.compile(r"\b(?:what|which) (?:year|date|month|day|century|decade)\b"),
    "when": re.compile(r"\bwhen\b|\bwhat time\b"),
    "person": re.compile(r"\bwho\b|\bwhose\b|\bwhom\b"),
}
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+")


@dataclass(frozen=True)
class Candidate:
    """A sentence that may answer, with its evidence (all in 0..1 unless noted).

    Attributes:
        sentence: sentence id in the index.
        paragraph: paragraph id in the index.
        text: the sentence, verbatim.
        cosine: dense similarity of sentence and question (-1..1): the better of the sentence
            embedded alone and under its heading context.
        passage: paragraph retrieval score, scaled by the best paragraph's.
        passage_cosine: dense similarity of paragraph (with heading context) and question.
        coverage: IDF-weighted share of the question's content words in the sentence.
        passage_coverage: the same share in the paragraph and its heading context.
        score: the combined ranking score (set by `rank`).
    """

    sentence: int
    paragraph: int
    text: str
    cosine: float = 0.0
    passage: float = 0.0
    passage_cosine: float = 0.0
    coverage: float = 0.0
    passage_coverage: float = 0.0
    score: float = 0.0


@dataclass(frozen=True)
class Weights:
    """How much each piece of evidence counts; measured with `qa eval`."""

    cosine: float = 0.40
    passage: float = 0.10
    passage_cosine: float = 0.10
    coverage: float = 0.20
    passage_coverage: float = 0.10
    kind: float = 0.05
    introducer: float = 0.5  # multiplier for a sentence ending in ":" (its content follows it)


WEIGHTS = Weights()
# Confidence factor when the best sentence lacks what the question asks for. On SQuAD
# (bench/abstention.py), 99-100% of right answers to "how many", "how much did it cost" and
# "what year" questions hold a number, sum or year, against 60-87% of on-topic wrong
# sentences: missing one is strong evidence. Only 76% of right answers to "when" hold a date
# (against 69%; the answer is often an event: "when the war ended"), so there it is weak.
KIND_MISMATCH = {"money": 0.5, "number": 0.5, "date": 0.5, "when": 0.9}


def expected_kind(question: str) -> str | None:
    """What a question asks for: ``money``, ``number``, ``date`` (a year or date by name),
    ``when`` (a time, often a date), ``person`` or None."""
    q = fold(question)
    found = [(match.start(), order, kind) for order, (kind, pattern) in enumerate(_KIND_QUESTIONS.items())
             if (match := pattern.search(q))]
    return min(found)[2] if found else None  # the earliest; on a tie the first listed ("how much ... cost")


def holds_kind(text: str, kind: str | None) -> bool:
    """Whether ``text`` contains the kind of thing `expected_kind` named."""
    if kind == "money":
        return bool(_MONEY.search(text))
    if kind == "number":
        return bool(_NUMBER.search(text))
    if kind == "date" and _YEAR_LIKE.search(text):
        return True
    if kind in ("date", "when"):
        return bool(_YEAR_OR_DATE.search(text))
    if kind == "person":
        return bool(_NAME.search(text))
    return False


_ELABORATION = re.compile(r"^(?:this|these|that|those|which|such)\s+(?:includes?|included|means|meant|involves?|"
                          r"involved|consists?|covers?|covered)\b|^(?:including|namely|specifically)\b", re.I)


def elaborates(sentence: str) -> bool:
    """Whether a sentence only spells out the one before it ("This includes ...", "Namely ...")."""
    return bool(_ELABORATION.match(sentence.lstrip("“\"'(")))


def weighted_share(idf: dict[str, float], present: Sequence[str]) -> float:
    """IDF-weighted share of the question's words that are ``present``: rare words count most."""
    total = sum(idf.values())
    return sum(idf[w] for w in present) / total if total else 0.0


def rank(question: str, candidates: Sequence[Candidate], weights: Weights = WEIGHTS) -> list[Candidate]:
    """Score candidates and return them best first."""
    kind = expected_kind(question)
    scored = []
    for c in candidates:
        score = (weights.cosine * c.cosine + weights.passage * c.passage
                 + weights.passage_cosine * c.passage_cosine + weights.coverage * c.coverage
                 + weights.passage_coverage * c.passage_coverage
                 + weights.kind * holds_kind(c.text, kind))
        if c.text.rstrip().endswith(":"):
            score *= weights.introducer
        scored.append(replace(c, score=score))
    return sorted(scored, key=lambda c: -c.score)


def confidence(question: str, best: Candidate) -> float:
    """How sure the answer is, from absolute evidence only (not ranks), clipped to 0..1.

    Rank-based scores are high for the top candidate even when nothing matches;
    cosine and word coverage are not, which is what abstention needs. A sentence
    without the kind of thing the question asks for (no number for "how many",
    no year for "what year", no sum of money for "how much did it cost") is
    unlikely to answer it, however on-topic it is.
    """
    value = 0.6 * max(best.cosine, best.passage_cosine) + 0.4 * max(best.coverage, best.passage_coverage)
    kind = expected_kind(question)
    if kind in KIND_MISMATCH and not holds_kind(best.text, kind):
        value *= KIND_MISMATCH[kind]
    return max(0.0, min(1.0, value))
