"""Lexical stage: BM25 over paragraphs and sentences with SQLite FTS5.

    >>> import sqlite3
    >>> from qa import lexical
    >>> db = sqlite3.connect(":memory:")
    >>> lexical.create(db, "para_fts")
    >>> lexical.add(db, "para_fts", [(0, "Japan bought missiles"), (1, "Korea sold ships")])
    >>> [rowid for rowid, _ in lexical.search(db, "para_fts", "What did Japan buy?", 5)]
    [0]

FTS5's built-in ``bm25()`` ranks; text is normalised (NFKC, straight quotes, lower
case, dotted acronyms closed up) before it is indexed and before it is queried,
so "US" meets "U.S.", and the Porter stemmer makes "buy"/"buying" and
"missile"/"missiles" meet.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence

from qa.corpus import fold

TOKENIZER = "porter unicode61 remove_diacritics 2"
_WORD = re.compile(r"\w+")
_ACRONYM = re.compile(r"\b[^\W\d_](?:\.[^\W\d_])+\.?(?![^\W\d_])")  # U.S., U.S, U.K., e.g.
_PRONOUN_US = re.compile(r"\bus\b")  # lower case in a document: the pronoun, not the country
# Function words carry no evidence; leaving them out also keeps OR queries small.
STOPWORDS = frozenset(
    """
    a an and are as at be been being but by can could did do does doing for from had has have how i
    if in into is it its of on or s so than that the their them then there these they this those to
    was we were what when where which while who whom whose why will with would you your about after
    before any also
    """.split()
)


def normalize(text: str) -> str:
    """A question as the lexical index sees it: folded, dotted acronyms closed up ("U.S." becomes "us")."""
    return _ACRONYM.sub(lambda m: m.group().replace(".", ""), fold(text))


def document_text(text: str) -> str:
    """A document as the lexical index stores it: `normalize`, without the pronoun "us", so that
    "US" and "U.S." in a question (however it is cased) meet the country and not "tell us"."""
    return normalize(_PRONOUN_US.sub(" ", text))


def create(db: sqlite3.Connection, table: str) -> None:
    """Create an FTS5 table whose rowids are the caller's ids."""
    db.execute(f"CREATE VIRTUAL TABLE {table} USING fts5(text, tokenize='{TOKENIZER}')")


def add(db: sqlite3.Connection, table: str, rows: Iterable[tuple[int, str]]) -> None:
    """Index ``(rowid, text)`` rows (the text is normalised first, see `document_text`)."""
    db.executemany(f"INSERT INTO {table}(rowid, text) VALUES (?, ?)",
                   ((rowid, document_text(text)) for rowid, text in rows))


def terms(question: str) -> list[str]:
    """The content words of a question, normalised, de-duplicated, in order."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(normalize(question)):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def match_expression(question: str) -> str | None:
    """An FTS5 query matching any content word of the question, or None if it has none."""
    words = terms(question)
    if not words:
        return None
    return " OR ".join(_phrase(word) for word in words)


def search(db: sqlite3.Connection, table: str, question: str, k: int,
           within: Sequence[int] | None = None) -> list[tuple[int, float]]:
    """Rank rows by BM25 against the question's content words.

    Args:
        within: if given, only these rowids are ranked.

    Returns:
        ``(rowid, score)`` best first; higher scores are better.
    """
    expression = match_expression(question)
    if expression is None or k <= 0:
        return []
    sql = f"SELECT rowid, bm25({table}) FROM {table} WHERE {table} MATCH ?"
    params: list[object] = [expression]
    if within is not None:
        if not within:
            return []
        sql += f" AND rowid IN ({','.join('?' * len(within))})"
        params.extend(within)
    sql += f" ORDER BY bm25({table}) LIMIT {int(k)}"
    return [(rowid, -score) for rowid, score in db.execute(sql, params)]


def term_matches(db: sqlite3.Connection, table: str, question: str,
                 within: Sequence[int]) -> tuple[dict[str, float], dict[str, set[int]]]:
    """For each content word of the question: its IDF over the table, and which of ``within`` hold it.

    Matching goes through FTS5, so it uses the same folding and stemming as search.

    Returns:
        ``(idf, holders)``: BM25's IDF per word, and per word the rowids in ``within`` containing it.
    """
    return idf(db, table, question), holders(db, table, question, within)


def idf(db: sqlite3.Connection, table: str, question: str) -> dict[str, float]:
    """BM25's IDF over the table of each content word of the question."""
    import math

    total = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    weights = {}
    for word in terms(question):
        df = db.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", [_phrase(word)]).fetchone()[0]
        weights[word] = math.log((total - df + 0.5) / (df + 0.5) + 1.0)
    return weights


def holders(db: sqlite3.Connection, table: str, question: str, within: Sequence[int]) -> dict[str, set[int]]:
    """For each content word of the question, the rowids among ``within`` that contain it."""
    marks = ",".join("?" * len(within))
    found: dict[str, set[int]] = {}
    for word in terms(question):
        rows = db.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH ? AND rowid IN ({marks})",
                          [_phrase(word), *within]) if within else []
        found[word] = {row[0] for row in rows}
    return found


def _phrase(word: str) -> str:
    """A word as an FTS5 string literal, so its characters are never read as query syntax."""
    return '"' + word.replace('"', '""') + '"'
