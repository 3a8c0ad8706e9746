"""Windows, word snapping, span search, and token spans back to exact characters."""

from __future__ import annotations

import numpy as np
import pytest

from qa.reader.spans import best_span, snap_to_words, window
from qa.reader.trained import answer_tokens, encode


@pytest.mark.parametrize(("i", "budget", "expected"), [
    (1, 100, (0, 50)),     # both neighbours fit
    (1, 35, (0, 30)),      # the previous one first, then no room for the next
    (1, 10, (11, 30)),     # the sentence alone, even over budget
    (0, 100, (0, 30)),     # no previous sentence
    (2, 100, (11, 50)),    # no next sentence
])
def test_window_takes_neighbours_within_the_budget(i, budget, expected):
    assert window([(0, 10), (11, 30), (31, 50)], i, max_chars=budget) == expected


@pytest.mark.parametrize(("text", "start", "end", "expected"), [
    ("the Rand Corp. said", 5, 8, "Rand"),           # inside a word: widened to it
    ("paid $4 billion, he said", 5, 16, "$4 billion"),  # trailing comma trimmed
    ("in (1969) it", 3, 9, "(1969)"),
    ("“Quoted” words", 1, 7, "Quoted"),
])
def test_snap_to_words(text, start, end, expected):
    s, e = snap_to_words(text, start, end)
    assert text[s:e] == expected


def test_best_span_respects_order_length_and_context():
    start = np.array([9.0, 0.0, 5.0, 0.0, 0.0])
    end = np.array([9.0, 0.0, 0.0, 4.0, 6.0])
    allowed = np.array([False, True, True, True, True])  # token 0 is [CLS]: never an answer
    assert best_span(start, end, allowed)[:2] == (2, 4)
    assert best_span(start, end, allowed, max_tokens=2)[:2] == (2, 3)
    with pytest.raises(ValueError):
        best_span(start, end, np.zeros(5, dtype=bool))


@pytest.fixture(scope="module")
def tokenizer():
    from tokenizers import Tokenizer

    from qa.embedding import resolve_model

    return Tokenizer.from_file(resolve_model("all-MiniLM-L6-v2") + "/tokenizer.json")


@pytest.mark.parametrize(("window_text", "answer"), [
    ("Japan’s “new era” began with 400 Tomahawk missiles.", "400 Tomahawk missiles"),
    ("He said “yes”. Later he said “yes” again.", "Later he said “yes”"),   # repeated phrase, curly quotes
    ("Line one\r\nLine two has NASA in it.\r\n", "NASA"),                     # CRLF inside the window
    ("Déjà vu at Zürich in 1969, then more text after it.", "Zürich"),        # accents: offsets unchanged
])
def test_token_spans_map_back_to_the_exact_characters(tokenizer, window_text, answer):
    start = window_text.rindex(answer) if "again" in window_text else window_text.index(answer)
    end = start + len(answer)
    encoded = encode(tokenizer, "what is it?", ["text before", window_text])
    first, last = answer_tokens(encoded, 1, start, end)
    offsets = encoded.offsets[1]
    got = snap_to_words(window_text, offsets[first][0], offsets[last][1])
    assert window_text[got[0]:got[1]] == answer
    assert got == (start, end)


def test_a_span_cut_off_by_truncation_has_no_tokens(tokenizer):
    text = "word " * 400 + "NASA"
    encoded = encode(tokenizer, "who?", [text])
    assert answer_tokens(encoded, 0, len(text) - 4, len(text)) is None
