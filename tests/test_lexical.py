from __future__ import annotations

import sqlite3

import pytest

from qa import lexical


@pytest.fixture
def db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    lexical.create(db, "t")
    lexical.add(db, "t", [
        (10, "Japan’s acquisition of 400 Tomahawk missiles."),
        (11, "Korea sold ships to Canada."),
        (12, "The missile was tested by Japan and Korea."),
    ])
    return db


def test_search_ranks_by_bm25_with_stemming(db):
    ranked = lexical.search(db, "t", "Which missiles did Japan acquire?", 5)
    assert [rowid for rowid, _ in ranked][:2] == [10, 12]
    assert ranked[0][1] > ranked[1][1] > 0


def test_search_folds_curly_quotes(db):
    assert lexical.search(db, "t", "japan's tomahawk", 5)[0][0] == 10


def test_us_meets_the_country_not_the_pronoun():
    db = sqlite3.connect(":memory:")
    lexical.create(db, "t")
    lexical.add(db, "t", [(1, "The U.S. alliance is strong."), (2, "The Japanese alliance is strong."),
                          (3, "Send us a letter and tell us more.")])
    for question in ("US alliance", "the u.s. alliance", "us alliance"):
        ranked = [rowid for rowid, _ in lexical.search(db, "t", question, 5)]
        assert ranked[0] == 1 and 3 not in ranked


@pytest.mark.parametrize(("text", "normal"), [
    ("in the U.K., e.g. at 3 p.m. on 1.2.3", "in the uk, eg at 3 pm on 1.2.3"),
    ("U.S trade", "us trade"),
    ("Washington D.C.The president", "washington dc.the president"),  # no word is glued on
    ("J.K.Rowling", "jk.rowling"),
])
def test_dotted_acronyms_are_closed_up(text, normal):
    assert lexical.normalize(text) == normal


def test_search_within_restricts_rows(db):
    assert [r for r, _ in lexical.search(db, "t", "Japan", 5, within=[11, 12])] == [12]
    assert lexical.search(db, "t", "Japan", 5, within=[]) == []


@pytest.mark.parametrize("question", ["", "what is it?", "???", '"'])
def test_questions_without_content_words_match_nothing(db, question):
    assert lexical.search(db, "t", question, 5) == []


def test_fts_syntax_in_questions_is_quoted_not_parsed(db):
    assert lexical.search(db, "t", 'Korea AND NOT "ships" NEAR(x', 5)


def test_term_matches_gives_idf_and_holders(db):
    idf, holders = lexical.term_matches(db, "t", "Japan tomahawk", [10, 11, 12])
    assert holders == {"japan": {10, 12}, "tomahawk": {10}}
    assert idf["tomahawk"] > idf["japan"] > 0
