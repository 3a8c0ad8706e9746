"""Fusion stage: combine several rankings of the same items into one (CombSUM or RRF),
and rerank a ranking with later evidence.

    >>> from qa.fusion import reciprocal_rank
    >>> reciprocal_rank([[(1, 9.0), (2, 5.0)], [(2, 0.8), (3, 0.7)]], k=60)[0][0]
    2

Pure functions: rankings in, ranking out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Ranking = Sequence[tuple[int, float]]


def reciprocal_rank(rankings: Sequence[Ranking], k: float = 60.0,
                    weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Reciprocal rank fusion (Cormack et al., 2009): ``sum_i w_i / (k + rank_i)``.

    Args:
        rankings: lists of ``(id, score)``, each best first; scores are ignored.
        k: damping constant; larger values flatten the head of each list.
        weights: one weight per ranking (default 1 each).

    Returns:
        ``(id, fused score)`` best first; ties keep first-seen order.
    """
    return _fuse(rankings, weights, lambda ranking: [(item, 1 / (k + rank))
                                                     for rank, (item, _) in enumerate(ranking, start=1)])


def _fuse(rankings: Sequence[Ranking], weights: Sequence[float] | None,
          values: Callable[[Ranking], list[tuple[int, float]]]) -> list[tuple[int, float]]:
    """Sum ``weight * value`` per item over the rankings; best first, ties in first-seen order."""
    weights = weights or [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("need one weight per ranking")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for item, value in values(ranking):
            fused[item] = fused.get(item, 0.0) + weight * value
    return sorted(fused.items(), key=lambda pair: -pair[1])


def best_per_group(ranking: Ranking, group: dict[int, int]) -> list[tuple[int, float]]:
    """Collapse a ranking of parts (sentences) onto their groups (paragraphs), keeping each best."""
    seen: dict[int, float] = {}
    for item, score in ranking:
        owner = group[item]
        if owner not in seen:
            seen[owner] = score
    return list(seen.items())


def rerank(ranked: Ranking, evidence: dict[int, float], weight: float) -> list[tuple[int, float]]:
    """Blend a ranking with later evidence about some of its items (the reader's best sentence).

    Each score becomes ``(1 - weight) * score / top score + weight * evidence`` (evidence
    clipped to 0..1, 0 where missing), and items are re-sorted by it. When the
    evidence covers the head of the ranking, the head stays ahead of the rest.
    """
    if not ranked:
        return []
    top = ranked[0][1] or 1.0
    blended = [(item, (1 - weight) * score / top + weight * min(max(evidence.get(item, 0.0), 0.0), 1.0))
               for item, score in ranked]
    return sorted(blended, key=lambda pair: -pair[1])


def lead(ranked: Ranking, evidence: dict[int, float]) -> list[tuple[int, float]]:
    """Put the items with evidence first, best evidence first (the passages the trained reader
    read, by the probability of its best answer in each); the rest follow in their order. Each
    item keeps its score: the evidence decides the order, not the number shown."""
    first = sorted((pair for pair in ranked if pair[0] in evidence), key=lambda pair: -evidence[pair[0]])
    return first + [pair for pair in ranked if pair[0] not in evidence]


def score_sum(rankings: Sequence[Ranking], weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """CombSUM of min-max normalised scores (Fox & Shaw, 1994).

    Unlike reciprocal rank fusion it keeps how far apart the scores are: a
    passage far ahead in one ranking stays ahead. Each ranking's scores are
    scaled to 0..1 (its best is 1, its worst 0; a single-item or flat ranking
    counts 1), weighted, and summed; items missing from a ranking get 0 there.

    Returns:
        ``(id, fused score)`` best first; ties keep first-seen order.
    """
    def scaled(ranking: Ranking) -> list[tuple[int, float]]:
        if not ranking:
            return []
        scores = [score for _, score in ranking]
        high, low = max(scores), min(scores)
        return [(item, (score - low) / (high - low) if high > low else 1.0) for item, score in ranking]

    return _fuse(rankings, weights, scaled)
