from __future__ import annotations

import pytest

from qa.reader.heuristic import Candidate, confidence, expected_kind, holds_kind, rank, weighted_share


@pytest.mark.parametrize(("question", "kind"), [
    ("How many missiles did Japan buy?", "number"),
    ("how much did it cost", "money"),
    ("How much is Japan paying for the missiles?", "money"),
    ("How much territory does China claim?", "number"),
    ("How much land did the United States buy from France?", "number"),
    ("How much of the budget goes to defense?", "number"),
    ("What was the price of gold?", "money"),
    ("What is the price elasticity?", None),
    ("Who was president when the war ended?", "person"),  # the first question word decides
    ("When did the man who founded it die?", "when"),
    ("When did the leaders meet?", "when"),
    ("What year was the Gulf War?", "date"),
    ("In which year was the treaty signed?", "date"),
    ("Who is Jeffrey Hornung?", "person"),
    ("What did Japan buy?", None),
])
def test_expected_kind(question, kind):
    assert expected_kind(question) == kind


def test_holds_kind():
    assert holds_kind("It bought 400 missiles.", "number")
    assert holds_kind("They met on April 11, 2024.", "date")
    assert not holds_kind("They met at the White House.", "date")
    assert holds_kind("It opened on 4 May and closed in Sept. of that year.", "date")
    assert not holds_kind("The market may decide; a novel decision.", "date")
    assert holds_kind("It cost $4 billion.", "money") and holds_kind("It cost 30 million yen.", "money")
    assert holds_kind("It cost 4 billion.", "money") and holds_kind("2 trillion rubles", "money")
    assert not holds_kind("Japan is buying 400 Tomahawk missiles.", "money")
    assert holds_kind("Growth was fastest in the 1960s.", "date") and holds_kind("Rome fell in 476.", "date")
    assert holds_kind("Caesar died in 44 BC.", "when") and not holds_kind("It has 476 rooms.", "when")
    assert holds_kind("It was said by Jeffrey Hornung.", "person")
    assert not holds_kind("It was said.", "person")


def test_weighted_share_counts_rare_words_most():
    idf = {"japan": 0.1, "tomahawk": 0.9}
    assert weighted_share(idf, ["tomahawk"]) == pytest.approx(0.9)
    assert weighted_share(idf, []) == 0.0
    assert weighted_share({}, []) == 0.0


def test_rank_prefers_stronger_evidence():
    weak = Candidate(0, 0, "Japan is an island nation.", cosine=0.2, coverage=0.1)
    strong = Candidate(1, 0, "Japan bought 400 missiles.", cosine=0.6, coverage=0.9)
    assert [c.sentence for c in rank("What did Japan buy?", [weak, strong])] == [1, 0]


def test_a_sentence_that_introduces_a_list_loses_to_its_content():
    intro = Candidate(0, 0, "The statement outlined several areas of cooperation:", cosine=0.55)
    content = Candidate(1, 1, "This includes the purchase of 400 missiles.", cosine=0.50)
    assert rank("What was agreed?", [intro, content])[0].sentence == 1


def test_confidence_is_low_without_evidence_and_bounded():
    assert confidence("q?", Candidate(0, 0, "x", cosine=0.05)) < 0.1
    assert confidence("q?", Candidate(0, 0, "x", cosine=1.0, passage_cosine=1.0, coverage=1.0)) == 1.0
    assert confidence("q?", Candidate(0, 0, "x", cosine=-0.5, passage_cosine=-0.5)) == 0.0


def test_confidence_drops_when_the_sentence_lacks_the_asked_for_number_or_date():
    evidence = {"cosine": 0.6, "coverage": 0.6}
    with_year = confidence("When was the treaty signed?", Candidate(0, 0, "It was signed in 1960.", **evidence))
    without = confidence("When was the treaty signed?", Candidate(0, 0, "The treaty is strong.", **evidence))
    assert without < with_year
    assert confidence("What is the treaty?", Candidate(0, 0, "The treaty is strong.", **evidence)) == with_year
    # "what year" names what it wants; "when" may be answered by an event, so it counts less.
    named = confidence("In what year was the treaty signed?", Candidate(0, 0, "The treaty is strong.", **evidence))
    assert named < without
    assert confidence("How much did Japan pay for the missiles?",
                      Candidate(0, 0, "Japan bought 400 missiles.", **evidence)) < with_year


@pytest.mark.parametrize(("sentence", "expected"), [
    ("This includes integrating the command structures of their armed forces.", True),
    ("These include radar systems.", True),
    ("“This means more drills,” he said.", True),
    ("Including Japan as a partner.", True),
    ("This summit was historic.", False),
    ("The leaders met in April.", False),
])
def test_elaborates(sentence, expected):
    from qa.reader.heuristic import elaborates

    assert elaborates(sentence) is expected
