from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import snapshot

from qa.errors import BadInput
from qa.evaluate import (
    GoldQuestion,
    Result,
    below_floors,
    calibrate,
    calibration_error,
    contains_answer,
    exact_match,
    f1,
    is_squad,
    load_gold,
    normalize_answer,
    parse_floors,
    reliability,
    roc_auc,
    squad_corpus,
    subset,
    summarize,
)


def gold(id_: str, answers=("Tomahawk missiles",), citations=(("a.txt", 5),)) -> GoldQuestion:
    return GoldQuestion(id_, f"question {id_}?", tuple(answers), frozenset(citations))


def result(g: GoldQuestion, text: str | None, confidence: float, passages=(("a.txt", 5),),
           context: str | None = None) -> Result:
    span = None if text is None else {"text": text, "score": confidence, "file": "a.txt", "paragraph": 5,
                                      "line": 5, "start": 0, "end": len(text),
                                      "context": {"text": context or text, "start": 0, "end": 0, "line": 5}}
    answer = {"question": g.question, "abstained": span is None, "answer": span,
              "passages": [{"file": f, "paragraph": p} for f, p in passages]}
    return Result(g, answer, span, 0.01)


def test_normalize_answer_follows_squad_and_folds_quotes():
    assert normalize_answer("The  “Tomahawk” Missiles!") == "tomahawk missiles"


def test_exact_match_and_f1():
    assert exact_match("the Tomahawk missiles", ["Tomahawk missiles"]) == 1.0
    assert exact_match("400 Tomahawk missiles", ["Tomahawk missiles"]) == 0.0
    assert f1("400 Tomahawk missiles", ["Tomahawk missiles"]) == pytest.approx(0.8)
    assert f1("nothing alike", ["Tomahawk"]) == 0.0


def test_contains_answer_needs_whole_words():
    assert contains_answer("Japan bought 400 Tomahawk Cruise Missiles.", ["tomahawk cruise missiles"])
    assert contains_answer("a counterweight to China’s influence", ["China"])
    assert not contains_answer("Chinatown grew.", ["China"])


def test_load_gold_reads_json_lines(tmp_path: Path):
    path = tmp_path / "gold.jsonl"
    path.write_text(
        '{"id": "q1", "question": "What did Japan buy?", "answers": ["missiles"], '
        '"citations": [{"file": "a.txt", "paragraph": 5}]}\n\n'
        '{"id": "q2", "question": "Capital of France?", "answers": [], "citations": []}\n')
    questions = load_gold(path)
    assert [q.id for q in questions] == ["q1", "q2"]
    assert questions[0].citations == frozenset({("a.txt", 5)})
    assert not questions[1].answerable


@pytest.mark.parametrize(("line", "message"), [
    ("not json", "gold.jsonl:2"),
    ('{"id": "x", "answers": []}', "missing question"),
    ('{"question": "q?", "answers": "missiles"}', "'answers' must be a list"),
    ('{"question": "q?", "answers": ["a"], "citations": [{"file": "a.txt"}]}', "'citations'"),
    ('["q?"]', "expected a JSON object"),
])
def test_malformed_lines_are_named(tmp_path: Path, line: str, message: str):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"question": "ok?", "answers": []}\n' + line + "\n")
    with pytest.raises(BadInput, match=message):
        load_gold(path)


def test_duplicate_ids_and_empty_files_are_rejected(tmp_path: Path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"id": "a", "question": "x?", "answers": []}\n' * 2)
    with pytest.raises(BadInput, match="duplicate id"):
        load_gold(path)
    path.write_text("\n")
    with pytest.raises(BadInput, match="no questions"):
        load_gold(path)


def test_summarize_reports_retrieval_answers_and_abstention():
    answerable = [gold("a"), gold("b"), gold("c")]
    unanswerable = [gold("n", answers=(), citations=())]
    results = [
        result(answerable[0], "Japan bought Tomahawk missiles.", 0.9),                     # right, rank 1
        result(answerable[1], "Something else entirely.", 0.8, passages=(("b.txt", 1), ("a.txt", 5))),
        result(answerable[2], None, 0.1, passages=(("b.txt", 1),)),                      # wrongly abstained
        result(unanswerable[0], None, 0.2),                                               # rightly abstained
    ]
    s = summarize(results)
    assert (s["hit1"], s["hit3"], s["mrr10"]) == (0.3333, 0.6667, 0.5)
    assert s["answer_accuracy"] == 0.3333
    assert s["citation_accuracy"] == 0.6667
    assert s["hasans_abstained"] == 0.3333 and s["noans_abstained"] == 1.0
    assert s["overall_accuracy"] == 0.5
    assert s["answer_words"] == 3.5


def test_questions_without_citations_are_graded_by_content(tmp_path: Path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"question": "What did Japan buy?", "answers": ["Tomahawk missiles"]}\n')
    asked, = load_gold(path)
    assert asked.answerable and not asked.citations
    def passage(text: str) -> dict:
        return {"file": "b.txt", "paragraph": 2, "text": text}

    found = result(asked, "The deal covers the missiles.", 0.9,
                   context="Japan bought 400 Tomahawk missiles. The deal covers the missiles.")
    found.answer["passages"] = [passage("Nothing here."), passage("Japan bought 400 Tomahawk missiles.")]
    missed = result(gold("m", citations=()), "Cruise ships.", 0.9)
    missed.answer["passages"] = [passage("Cruise ships sail.")]
    s = summarize([found, missed])
    assert s["graded_by_content"] == 2
    assert (s["hit1"], s["hit3"]) == (0.0, 0.5)                  # a passage is found when it holds a gold answer
    assert s["citation_accuracy"] == 0.5                         # the answer's sentence holds one
    assert (s["answer_accuracy"], s["context_accuracy"]) == (0.0, 0.5)


def test_short_answers_are_scored_on_the_span_and_on_their_sentence():
    g = gold("a", answers=("400 Tomahawk missiles",))
    s = summarize([result(g, "Tomahawk", 0.9, context="Japan bought 400 Tomahawk missiles.")])
    assert s["answer_accuracy"] == 0.0 and s["context_accuracy"] == 1.0
    assert s["f1"] == 0.5 and s["exact_match"] == 0.0


def test_roc_auc_counts_ties_half():
    assert roc_auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5
    assert roc_auc([0.2, 0.9, 0.4, 0.6], [True, False, False, True]) == 0.25
    assert roc_auc([0.1, 0.2], [True, True]) is None


def test_calibration_error_weighs_each_bin_by_its_answers():
    # Two answers at 0.95, both right; two at 0.25, one right: gaps 0.05 and 0.25, half the answers each.
    confidences, outcomes = [0.95, 0.95, 0.25, 0.25], [True, True, True, False]
    assert calibration_error(confidences, outcomes) == pytest.approx(0.15)
    assert [(r["low"], r["answers"], r["right"]) for r in reliability(confidences, outcomes)] == [
        (0.2, 2, 0.5), (0.9, 2, 1.0)]
    assert calibration_error([1.0], [True]) == 0.0  # 1.0 falls in the top bin
    assert calibration_error([], []) is None


def test_summarize_reports_confidence_quality():
    results = [result(gold("a"), "Tomahawk missiles.", 0.9), result(gold("b"), "Something else.", 0.3),
               result(gold("n", answers=(), citations=()), "Something.", 0.2)]
    s = summarize(results)
    assert s["confidence_auc"] == 1.0
    assert s["calibration_error"] == pytest.approx((0.1 + 0.3 + 0.2) / 3, abs=1e-4)


def test_calibrate_finds_the_threshold_between_right_answers_and_abstentions():
    results = [result(gold("a"), "Tomahawk missiles.", 0.8), result(gold("b"), "Tomahawk missiles.", 0.6),
               result(gold("n", answers=(), citations=()), "Something.", 0.4)]
    threshold, accuracy = calibrate(results)
    assert 0.4 < threshold < 0.6 and accuracy == 1.0
    assert summarize(results, threshold)["overall_accuracy"] == 1.0


def test_floors():
    floors = parse_floors(["hit1=0.9", "answer_accuracy=0.5"])
    assert below_floors({"hit1": 0.8, "answer_accuracy": 0.6}, floors) == ["hit1 0.8 < 0.9"]
    with pytest.raises(BadInput, match="unknown metric"):
        parse_floors(["latency_p50_ms=3"])
    with pytest.raises(BadInput, match="not a number"):
        parse_floors(["hit1=high"])


def test_subset_is_deterministic():
    questions = [gold(str(i)) for i in range(100)]
    assert [q.id for q in subset(questions, every=10)][:3] == ["0", "10", "20"]
    assert len(subset(questions, every=10)) == 10
    assert [q.id for q in subset(questions, sample=4)] == ["0", "25", "50", "75"]


def test_squad_contexts_become_numbered_paragraphs(tmp_path: Path):
    squad = {"version": "1.1", "data": [{"title": "Super_Bowl_50", "paragraphs": [
        {"context": "First context.\n\nWith a blank line.", "qas": [
            {"id": "x1", "question": "Q1?", "answers": [{"text": "First", "answer_start": 0},
                                                        {"text": "First", "answer_start": 0}]}]},
        {"context": "Second context.", "qas": [
            {"id": "x2", "question": "Q2?", "answers": [{"text": "Second", "answer_start": 0}]}]},
    ]}]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(squad))
    assert is_squad(path)
    questions = squad_corpus(path, tmp_path / "corpus")
    assert [(q.id, q.answers, sorted(q.citations)) for q in questions] == [
        ("x1", ("First",), [("01_Super_Bowl_50.txt", 1)]), ("x2", ("Second",), [("01_Super_Bowl_50.txt", 2)])]
    text = (tmp_path / "corpus" / "01_Super_Bowl_50.txt").read_text()
    assert text == "First context. With a blank line.\n\nSecond context.\n"


def test_squad_2_unanswerable_questions_must_be_abstained_and_articles_can_be_chosen(tmp_path: Path):
    def article(title: str, question: str, impossible: bool) -> dict:
        answers = [] if impossible else [{"text": "Denver", "answer_start": 0}]
        return {"title": title, "paragraphs": [{"context": "Denver won.", "qas": [
            {"id": title, "question": question, "answers": answers, "is_impossible": impossible}]}]}

    path = tmp_path / "squad2.json"
    path.write_text(json.dumps({"version": "v2.0", "data": [article("A", "Who won?", False),
                                                             article("B", "Who lost?", True)]}))
    questions = squad_corpus(path, tmp_path / "corpus")
    assert [(q.id, q.answerable) for q in questions] == [("A", True), ("B", False)]
    assert [q.id for q in squad_corpus(path, tmp_path / "corpus", "odd")] == ["B"]
    assert [q.id for q in squad_corpus(path, tmp_path / "corpus", "even")] == ["A"]
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == ["01_A.txt", "02_B.txt"]


@pytest.mark.parametrize("intruder", ["file", "link"])
def test_a_squad_corpus_folder_is_written_only_when_it_holds_nothing_but_its_own_files(tmp_path, intruder):
    squad = {"version": "1.1", "data": [{"title": "Normans", "paragraphs": [
        {"context": "The Normans lived in Normandy.", "qas": []}]}]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(squad))
    corpus = tmp_path / "corpus"
    squad_corpus(path, corpus)
    (corpus / "01_Normans.txt").write_text("changed since\n")
    squad_corpus(path, corpus)  # its own file: written again
    assert (corpus / "01_Normans.txt").read_text() == "The Normans lived in Normandy.\n"

    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("someone's notes\n")
    if intruder == "file":
        (corpus / "01_Normans.txt").write_text("changed since\n")
        (corpus / "notes.txt").write_text("mine\n")
    else:
        (corpus / "01_Normans.txt").unlink()
        (corpus / "01_Normans.txt").symlink_to(elsewhere)
    before = snapshot(tmp_path)
    with pytest.raises(BadInput, match="which qa did not write there; move it away or set QA_CACHE"):
        squad_corpus(path, corpus)
    assert snapshot(tmp_path) == before


def test_the_fewest_silenced_are_those_at_or_below_the_unanswerable_score_the_threshold_must_clear():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_reader", Path(__file__).parents[1] / "bench/reader.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    unanswerable = [result(gold(f"u{i}", answers=()), "x", p) for i, p in enumerate((0.1, 0.2, 0.3, 0.9))]
    answerable = [result(gold(f"a{i}"), "Tomahawk missiles", p) for i, p in enumerate((0.05, 0.25, 0.3, 0.5, 0.8))]
    # Declining 3 of 4 needs a threshold above 0.3: the answers at 0.05, 0.25 and 0.3 are silenced.
    assert bench.fewest_silenced(unanswerable + answerable, 3 / 4) == 3
    # Declining all 4 needs one above 0.9: every answer is silenced.
    assert bench.fewest_silenced(unanswerable + answerable, 1.0) == 5
    assert bench.fewest_silenced(answerable, 3 / 4) == 0
