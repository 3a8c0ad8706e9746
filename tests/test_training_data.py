"""The reader's training data and calibration: pairs from mined windows, and the two-step fit."""

from __future__ import annotations

import random

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


def squad_file(path, articles: list[dict]) -> None:
    import gzip
    import json

    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump({"version": "test", "data": articles}, handle)


def item(qid: str, question: str, context: str, answer: str, **extra) -> dict:
    start = context.index(answer)
    return {"id": qid, "question": question, "answers": [{"text": answer, "answer_start": start}],
            "is_impossible": False, **extra}


AMBIGUOUS = ("Paris is large. Critics say Paris is old. The river Seine runs through Paris, "
             "which the Romans called Lutetia.")


def test_squad_train_holds_out_whole_articles_and_learns_no_span_from_a_guessed_offset(tmp_path):
    from training.corpora import SQUAD_FILE, SQUAD_HELD_OUT_AT, SQUAD_HELD_OUT_EVERY, squad_articles, squad_pairs

    articles = [{"title": f"A{i}", "paragraphs": [{"context": CONTEXT, "qas": [
        item(f"q{i}", "Who will launch the rover?", CONTEXT, "NASA", offset_ambiguous=False)]}]}
        for i in range(SQUAD_HELD_OUT_EVERY)]
    articles[3]["paragraphs"] = [{"context": AMBIGUOUS, "qas": [
        item("amb", "What did the Romans call Paris?", AMBIGUOUS, "Paris", offset_ambiguous=True)]}]
    squad_file(tmp_path / SQUAD_FILE, articles)
    train, held_out = squad_articles(tmp_path)
    assert [a["position"] for a in held_out] == [SQUAD_HELD_OUT_AT]
    assert SQUAD_HELD_OUT_AT not in [a["position"] for a in train] and len(train) == SQUAD_HELD_OUT_EVERY - 1
    pairs = squad_pairs(train, 0)
    positives = [p for p in pairs if p.answer is not None]
    assert {p.qid for p in positives} == {a["paragraphs"][0]["qas"][0]["id"] for a in train}
    for p in positives:
        s, e = p.answer
        assert p.context[s:e] == p.answers[0]
        assert p.span == (p.qid != "amb")
    assert all(p.answer is None for p in pairs if p.qid == "amb" and p.context != next(
        q.context for q in positives if q.qid == "amb"))


def test_selqa_whole_sentence_answers_teach_only_whether_a_window_answers(tmp_path):
    from training.corpora import sentence_pairs

    sentence = "NASA will launch the rover in 2031."
    articles = [{"title": "Rover", "paragraphs": [{"context": CONTEXT, "qas": [
        item("s1", "Which agency is sending the vehicle up?", CONTEXT, sentence, is_paraphrase=True)]}]}]
    positive, negative = sentence_pairs(articles, 0)
    s, e = positive.answer
    assert positive.context[s:e] == sentence and positive.span is False
    assert negative.answer is None and sentence not in negative.context


def test_qamr_short_questions_pair_a_sentence_with_a_similar_one_that_lacks_the_answer(tmp_path):
    from training.corpora import short_question_pairs

    sentences = ["The rover was built in Japan by a small team .", "The team built a second rover in Ohio .",
                 "NASA will launch the rover in 2031 ."]
    articles = [{"title": "Wiki:1", "paragraphs": [
        {"context": s, "qas": [item(f"m{i}-{k}", "Where was the rover built?", s, "Japan")
                               for k in range(20)]} for i, s in enumerate(sentences[:1])]
        + [{"context": s, "qas": []} for s in sentences[1:]]}]
    pairs = short_question_pairs(articles, 0)
    positives = [p for p in pairs if p.answer]
    negatives = [p for p in pairs if not p.answer]
    assert len(positives) == 20 and all(p.context[p.answer[0]:p.answer[1]] == "Japan" for p in positives)
    assert 0 < len(negatives) < 20
    assert {p.context for p in negatives} == {sentences[1]}  # shares "rover" and "built", lacks "Japan"


def test_calibration_compares_the_logit_with_every_subset_of_the_readers_other_evidence_simplest_first():
    from qa.reader.trained import FEATURES
    from training.calibrate_reader import CHOICES

    assert len(set(CHOICES)) == len(CHOICES) == 2 ** (len(FEATURES) - 2)
    assert all(names[0] == "logit" and set(names) <= set(FEATURES) - {"heuristic"} for names in CHOICES)
    assert [len(names) for names in CHOICES] == sorted(len(names) for names in CHOICES)


def test_calibration_reports_every_source_fitted_on_all_and_on_the_others():
    from training.calibrate_reader import per_source

    questions = []
    for source, seed, shift in (("squad-dev", 2, 0.0), ("selqa", 3, -1.5)):
        for q in synthetic_questions(400, seed):
            # On "selqa" the same evidence is right less often: a fit on the other source alone
            # is over-confident there, and the report must show it.
            for w in q["windows"]:
                w["logit"] += 0.0 if source == "squad-dev" else 1.5 * w["right"] - shift
            questions.append({**q, "source": source, "paraphrase": source == "selqa" and q["article"] < "02"})
    names = ("logit",)
    weights, intercept = fit(questions, names)
    figures = per_source(questions, names, weights, intercept, 0.5)
    assert set(figures) == {"squad-dev", "selqa", "selqa (paraphrased)"}
    assert figures["selqa (paraphrased)"]["questions"] == 100  # articles 00 and 01 of 4
    for name in ("squad-dev", "selqa"):
        assert figures[name]["questions"] == 200
        assert figures[name]["calibration_error_fitted_on_others"] > figures[name]["calibration_error"]


def reading_record(windows: list[tuple[int, int, float, str, bool]], gold_rank: int | None = 0) -> dict:
    """A question as `training.reading.collect` records it: per window (candidate rank, passage
    rank, answerability logit, answer text, right)."""
    return {"source": "squad-dev", "article": "squad-dev:0", "answerable": gold_rank is not None,
            "gold_rank": gold_rank,
            "windows": [{"rank": rank, "passage": passage, "logit": logit, "span_score": 5.0, "heuristic": 0.5,
                         "text": text, "right": right, "f1": float(right)}
                        for rank, passage, logit, text, right in windows]}


def test_each_way_of_reading_keeps_its_windows_and_recomputes_the_evidence_among_them():
    from training.reading import restrict, variants

    record = reading_record([(0, 1, 2.0, "Kishida", False), (1, 0, 1.0, "Kishida", True),
                             (2, 0, 3.0, "Biden", False), (5, 2, 0.0, "Tokyo", False)])
    ways = variants()
    best2, = restrict([record], ways["best 2"])
    assert [w["text"] for w in best2["windows"]] == ["Kishida", "Kishida"]
    assert [w["margin"] for w in best2["windows"]] == [1.0, -1.0]  # against each other only
    assert [w["agreement"] for w in best2["windows"]] == [1.0, 1.0]
    passage0, = restrict([record], ways["passages 1"])
    assert [w["text"] for w in passage0["windows"]] == ["Kishida", "Biden"]
    assert [w["agreement"] for w in passage0["windows"]] == [0.0, 0.0]
    best8, = restrict([record], ways["best 8"])
    assert len(best8["windows"]) == 4 and best8["windows"][2]["margin"] == 1.0


def test_reranking_by_what_was_read_counts_the_passage_of_the_best_window():
    from training.reading import rerank

    first_is_gold = reading_record([(0, 0, 2.0, "a", True), (1, 1, 1.0, "b", False)], gold_rank=0)
    second_is_gold = reading_record([(0, 0, 1.0, "a", False), (1, 1, 2.0, "b", True)], gold_rank=1)
    best_sentence_in_gold = reading_record([(0, 1, 2.0, "a", True), (1, 0, 1.0, "b", False)], gold_rank=1)
    gold_not_read = reading_record([(0, 0, 1.0, "a", False)], gold_rank=3)
    unanswerable = reading_record([(0, 0, 1.0, "a", False)], gold_rank=None)
    results = [(r, 0.0, 0, np.array([w["logit"] for w in r["windows"]]))
               for r in (first_is_gold, second_is_gold, best_sentence_in_gold, gold_not_read, unanswerable)]
    assert rerank(results) == {"questions": 4, "retrieval_hit1": 0.25, "sentence_hit1": 0.5, "reader_hit1": 0.75}


@pytest.mark.parametrize(("prediction", "expected"), [
    ("NASA", True), ("the rover in 2031", True), ("in 20", False), ("", False), ("ESA", False)])
def test_a_short_answer_counts_right_inside_a_whole_sentence_answer(prediction, expected):
    from training.calibrate_reader import within_sentence

    assert within_sentence(prediction, ("NASA will launch the rover in 2031.",)) is expected


def test_calibration_keeps_the_simplest_evidence_unless_more_is_better_beyond_noise():
    from training.calibrate_reader import choose

    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.6, 2000)
    noisy = {("logit",): {"losses": base},
             ("logit", "margin"): {"losses": base - 0.002 + rng.normal(0, 0.2, 2000)}}
    assert choose(noisy) == ("logit",)
    clearly = {("logit",): {"losses": base}, ("logit", "margin"): {"losses": base - 0.05}}
    assert choose(clearly) == ("logit", "margin")
    # Of as simple sets within noise of the best, the lower loss: not the noisier one listed first.
    swing = 0.3 * (-1.0) ** np.arange(2000)  # no mean, much noise
    both = {("logit",): {"losses": base}, ("logit", "span_score"): {"losses": base - 0.008 + swing},
            ("logit", "margin"): {"losses": base - 0.01}}
    assert choose(both) == ("logit", "margin")


def test_a_paraphrased_question_uses_other_words_than_its_window_and_keeps_its_pairs():
    pytest.importorskip("wn")
    from training.data import Pair
    from training.paraphrase import paraphrased, rewrite

    window = "Japan will buy 400 missiles from the United States."
    question = rewrite("What will Japan buy from the United States?", [window], random.Random(0))
    assert question is not None and "buy" not in question  # the only plain word it shares
    assert "Japan" in question and "United States" in question  # names are kept
    assert rewrite("Who wrote it?", [window], random.Random(0)) is None  # nothing shared to replace

    pairs = [Pair("What will Japan buy?", window, (15, 27), ("400 missiles",), "q1"),
             Pair("What will Japan buy?", "The talks ended on Friday.", None, (), "q1"),
             Pair("Who wrote it?", window, (0, 5), ("Japan",), "q2"),
             Pair("What will Japan buy?", "Nothing to buy here.", None, (), "q3")]
    out = paraphrased(pairs, seed=0)
    assert [(p.qid, p.context, p.answer) for p in out] == [("q1~p", window, (15, 27)),
                                                          ("q1~p", "The talks ended on Friday.", None)]
    assert len({p.question for p in out}) == 1 and out[0].question != pairs[0].question
