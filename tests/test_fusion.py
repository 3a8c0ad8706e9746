from __future__ import annotations

import pytest

from qa.fusion import best_per_group, reciprocal_rank


def test_reciprocal_rank_sums_reciprocal_ranks():
    fused = dict(reciprocal_rank([[(1, 0.9), (2, 0.1)], [(2, 5.0), (3, 1.0)]], k=1))
    assert fused == pytest.approx({1: 1 / 2, 2: 1 / 3 + 1 / 2, 3: 1 / 3})


def test_reciprocal_rank_orders_best_first_and_honours_weights():
    rankings = [[(1, 0.0), (2, 0.0)], [(2, 0.0), (1, 0.0)]]
    assert [i for i, _ in reciprocal_rank(rankings, weights=[2.0, 1.0])] == [1, 2]
    assert [i for i, _ in reciprocal_rank(rankings, weights=[1.0, 2.0])] == [2, 1]


def test_reciprocal_rank_needs_one_weight_per_ranking():
    with pytest.raises(ValueError):
        reciprocal_rank([[(1, 0.0)]], weights=[1.0, 2.0])


def test_best_per_group_keeps_each_groups_first_appearance():
    ranking = [(7, 0.9), (8, 0.8), (5, 0.7), (9, 0.1)]
    assert best_per_group(ranking, {7: 1, 8: 1, 5: 2, 9: 3}) == [(1, 0.9), (2, 0.7), (3, 0.1)]


def test_score_sum_scales_each_ranking_and_keeps_margins():
    from qa.fusion import score_sum

    dense = [(1, 0.9), (2, 0.5), (3, 0.1)]     # scaled 1, 0.5, 0
    lexical = [(3, 20.0), (2, 19.0), (4, 0.0)]  # scaled 1, 0.95, 0
    assert dict(score_sum([dense, lexical])) == pytest.approx({1: 1.0, 2: 1.45, 3: 1.0, 4: 0.0})
    assert [i for i, _ in score_sum([dense, lexical])][0] == 2
    assert dict(score_sum([[(7, 3.0)], []])) == {7: 1.0}
    assert dict(score_sum([dense], weights=[2.0]))[1] == 2.0


def test_lead_puts_items_with_evidence_first_by_evidence_and_keeps_every_score():
    from qa.fusion import lead

    ranked = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6)]
    assert lead(ranked, {3: 0.6, 2: 0.1}) == [(3, 0.7), (2, 0.8), (1, 0.9), (4, 0.6)]
    assert lead(ranked, {}) == ranked
