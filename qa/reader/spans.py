"""What the trained reader reads, and how its token spans become exact character offsets.

    >>> window([(0, 10), (11, 30), (31, 50)], 1, max_chars=100)
    (0, 50)
    >>> snap_to_words("the Rand Corp. said", 5, 8)
    (4, 8)

A candidate is a sentence with the sentences around it as context (the previous one first,
since that is where a pronoun's antecedent is), cut to a character budget so that a question
and its window stay short enough to read quickly. Training (``training/``) and inference
(`qa.reader.trained`) build windows with this one function, so the model reads at question
time exactly what it learned from. All pure functions over strings and offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

WINDOW_CHARS = 450  # about 100 word pieces: a sentence and usually both neighbours


def window(sentences: Sequence[tuple[int, int]], i: int, max_chars: int = WINDOW_CHARS) -> tuple[int, int]:
    """The ``(start, end)`` window around sentence ``i``: the sentence, then the previous one
    and the next one, each only while the window stays within ``max_chars``.

    Args:
        sentences: sentence spans of one paragraph, in order, as offsets into one text.
        i: the sentence the window is built around; it is always whole, however long.
        max_chars: the budget for the window, from the first character to the last.
    """
    start, end = sentences[i]
    if i > 0 and end - sentences[i - 1][0] <= max_chars:
        start = sentences[i - 1][0]
    if i + 1 < len(sentences) and sentences[i + 1][1] - start <= max_chars:
        end = sentences[i + 1][1]
    return start, end


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``text[start:end]`` to whole words, and trim white space and stray punctuation
    at its edges, so that a span cut inside a word ("Corp" of "Corp.") quotes the word.

    Word pieces can start or end inside a word; a quoted answer should not.
    """
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    while start < end and (text[start].isspace() or text[start] in _LEADING_JUNK):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _TRAILING_JUNK):
        end -= 1
    return start, end


_LEADING_JUNK = ",;:.!?)]}"
_TRAILING_JUNK = ",;:([{"


def best_span(start_logits: np.ndarray, end_logits: np.ndarray, allowed: np.ndarray,
              max_tokens: int = 30) -> tuple[int, int, float]:
    """The token span ``(first, last, score)`` with the highest start + end logit, where both
    tokens are ``allowed`` (inside the context), ``first <= last`` and it spans at most
    ``max_tokens`` tokens.

    Raises:
        ValueError: no token is allowed.
    """
    import numpy as np

    if not allowed.any():
        raise ValueError("no context token to answer from")
    n = len(allowed)
    scores = start_logits[:, None] + end_logits[None, :]
    offset = np.arange(n)[None, :] - np.arange(n)[:, None]
    valid = (offset >= 0) & (offset < max_tokens) & allowed[:, None] & allowed[None, :]
    scores = np.where(valid, scores, -np.inf)
    first, last = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return int(first), int(last), float(scores[first, last])
