"""The reader's training data and calibration: pairs from mined windows, and the two-step fit."""

from __future__ import annotations

import numpy as np
import pytest

from training.calibrate_reader import fit, outcomes, pick, threshold
from training.data import MINED_NEGATIVES, _mined_pairs

CONTEXT = ("The rover was designed in Japan. NASA will launch the rover in 2031. "
           "The agency said the launch is on schedule. Critics doubt the date.")
ITEM = {"id": "q1", "question": "Who will launch the rover?",
        "answers": [{"text": "NASA", "answer_start": CONTEXT.index("NASA")}]}
CONTEXTS = {("dev", 4): [CONTEXT, "An unrelated paragraph about the weather in Paris.",
                         "NASA is mentioned here too, in another paragraph."]}


def window_of(text: str) -> list[int]:
    start = CONTEXT.index(text)
    return [start, start + len(text)]


def test_mined_windows_give_a_positive_at_the_gold_offsets_and_on_topic_negatives():
    holding = window_of("NASA will launch the rover in 2031. The agency said")
    rows = [[4, 1, *holding], [4, 1, *window_of("Critics doubt the date.")], [4, 2, 0, 20]]
    pairs = _mined_pairs(ITEM, (4, 1), [], rows, CONTEXTS, "dev")
    positive, *negatives = pairs
    s, e = positive.answer
    assert positive.context[s:e] == "NASA" and positive.answers == ("NASA",)
    assert [p.context for p in negatives] == ["Critics doubt the date.", "An unrelated paragra"]
    assert all(p.answer is None for p in negatives)


def test_a_window_that_holds_the_answer_text_elsewhere_is_never_a_negative():
    rows = [[4, 3, 0, 40], [4, 1, *window_of("Critics doubt the date.")]]
    pairs = _mined_pairs(ITEM, (4, 1), [], rows, CONTEXTS, "dev")
    assert [p.context for p in pairs] == ["Critics doubt the date."]


def test_mined_pairs_skip_windows_already_paired_unknown_articles_and_beyond_the_caps():
    from training.data import Pair

    own = [Pair(ITEM["question"], "Critics doubt the date.", None, (), "q1")]
    rows = ([[4, 1, *window_of("Critics doubt the date.")], [9, 1, 0, 10], [4, 9, 0, 10]]
            + [[4, 2, 0, n] for n in range(10, 20)])
    pairs = _mined_pairs(ITEM, (4, 1), own, rows, CONTEXTS, "dev")
    assert len(pairs) == MINED_NEGATIVES
    assert "Critics doubt the date." not in [p.context for p in pairs]


def test_an_unanswerable_question_gets_only_negatives():
    item = {**ITEM, "answers": [], "is_impossible": True}
    rows = [[4, 1, *window_of("NASA will launch the rover in 2031.")]]
    pairs = _mined_pairs(item, (4, 1), [], rows, CONTEXTS, "dev")
    assert [p.answer for p in pairs] == [None]


def synthetic_questions(n: int, seed: int) -> list[dict]:
    """Questions with three windows each; half answerable, where one window's answer is right
    and has the higher logit on average."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        answerable = i % 2 == 0
        windows = []
        for w in range(3):
            right = answerable and w == 0 and rng.random() < 0.8
            windows.append({"logit": rng.normal(2.0 if right else -1.0), "span_score": rng.normal(8.0, 2.0),
                            "right": right, "f1": float(right)})
        out.append({"article": f"{i % 4:02d}", "answerable": answerable, "windows": windows})
    return out


def test_the_two_step_fit_picks_the_right_window_and_is_calibrated():
    from qa.evaluate import calibration_error, roc_auc

    train, test = synthetic_questions(800, 0), synthetic_questions(800, 1)
    weights, intercept = fit(train, ("logit", "span_score"))
    assert weights[0] > 0 and abs(weights[1]) < weights[0]
    scored = outcomes(test, ("logit", "span_score"), weights, intercept)
    p, right = [s[0] for s in scored], [s[1] for s in scored]
    assert roc_auc(p, right) > 0.85
    assert calibration_error(p, right) < 0.06
    best, _ = pick(test[0], ("logit", "span_score"), weights, intercept)
    assert best == int(np.argmax([w["logit"] * weights[0] + w["span_score"] * weights[1] for w in test[0]["windows"]]))


@pytest.mark.parametrize(("scored", "expected"), [
    # answerable and right at 0.9 and 0.6, unanswerable at 0.2 and 0.5: any cut in (0.5, 0.6] is perfect
    ([(0.9, True, True, 1.0), (0.6, True, True, 1.0), (0.2, False, False, 0.0), (0.5, False, False, 0.0)],
     (0.55, 1.0)),
    # a wrong answer to an answerable question counts wrong whether answered or not
    ([(0.9, False, True, 0.0), (0.3, False, False, 0.0)], (0.775, 0.5)),
])
def test_threshold_maximises_overall_accuracy(scored, expected):
    assert threshold(scored) == expected
