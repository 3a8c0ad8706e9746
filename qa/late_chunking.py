"""Paragraph and sentence vectors for an index build, from the model's token vectors.

    >>> from qa.late_chunking import Passage, embed
    >>> passage = Passage("Super Bowl 50", "The game was played in 2016. Denver won.", ((0, 28), (29, 40)))
    >>> vectors = embed(tokenizer, run, [passage], one_pass=True)   # doctest: +SKIP
    >>> vectors.sentences.shape                                     # doctest: +SKIP
    (2, 384)

Each paragraph is read once under its titles and heading; its vector is the mean of all its token
vectors, special tokens included, which is what sentence-transformers gives for the same text.
Each sentence is read alone for its own vector, the same mean. Its vector in context is either a
pass of its own under the titles and heading (the default: what sentence-transformers gives), or,
with ``one_pass``, pooled from the paragraph's pass (late chunking, Günther et al., 2024): the mean
of the token vectors of its word pieces and the titles' and heading's, as the model read them in
the paragraph, so it is never run through the model again.

Pooling the sentence alone from the paragraph's pass too was measured and rejected: the reader's
choice of sentence needs the sentence read on its own (seeds answer accuracy 0.861 and 0.879
fell to 0.814 and 0.818).

With ``one_pass``, a paragraph longer than the model's window is cut there, as
sentence-transformers cuts it; a sentence not wholly inside the window, or one with no word pieces
of its own in it, gets a pass of its own under the context instead, never a vector of nothing.

Texts are tokenized a few hundred paragraphs' worth at a time (`chunks` yields their vectors in
turn) and run sorted by length, as `Batching` says: by default in batches of at most
`BATCH_TOKENS` padded tokens, so that padding and the model's working memory stay small; an
onnxruntime build runs one text at a time on a thread per core (`qa.onnx_encoder`). Each batch's
token vectors are pooled as they come and dropped. Mean pooling only: `embed` is for models whose
sentence vector is the mean of their token vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

# Paragraphs tokenized at once and sorted by length, so that each batch pads little.
CHUNK = 256
BATCH_SIZE = 32
# The default `Batching` (torch, on a GPU): the model's working memory grows with the padded
# batch (its attention with the square of the length). With the first ONNX export a batch of 32
# texts of 256 word pieces took 640 MB on top of the model, 16 of them 320 MB; 2,048 padded tokens
# kept a build of 8 SQuAD articles at 0.82 GB (1.0-1.3 GB with 4,096) and cost no speed.
BATCH_TOKENS = 2048

Run = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``run(input_ids, attention_mask, token_type_ids)`` -> token vectors, (batch, tokens, dimension)."""


@dataclass(frozen=True)
class Batching:
    """How texts go to the model: batches of at most ``size`` texts and ``tokens`` padded tokens
    (one text alone may be longer), run by ``workers`` threads at once (``run`` must then be
    safe to call from several threads, as an onnxruntime session is)."""

    size: int = BATCH_SIZE
    tokens: int = BATCH_TOKENS
    workers: int = 1


@dataclass(frozen=True)
class Passage:
    """A paragraph to embed.

    Attributes:
        context: its titles and heading ("" for none); read before the text, after a line break.
        text: the paragraph as embedded.
        sentences: each sentence as ``(start, end)`` in ``text``, or None for one that could not
            be placed in it (it then gets passes of its own).
        sentence_texts: each sentence as embedded.
    """

    context: str
    text: str
    sentences: tuple[tuple[int, int] | None, ...]
    sentence_texts: tuple[str, ...] = ()

    @property
    def embedded(self) -> str:
        return f"{self.context}\n{self.text}" if self.context else self.text


@dataclass
class Vectors:
    """L2-normalised float32 rows: one per passage, and one per sentence in passage order."""

    paragraphs: np.ndarray
    sentences: np.ndarray
    sentences_in_context: np.ndarray


def unpadded(tokenizer: Any, window: int) -> Any:
    """A copy of a `tokenizers.Tokenizer` that cuts texts at ``window`` pieces and pads nothing,
    as `embed` takes it (the padding is its own, batch by batch)."""
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.no_padding()
    copy.enable_truncation(max_length=window)
    return copy


def token_ranges(offsets: Sequence[tuple[int, int]], special: Sequence[int], spans: Sequence[tuple[int, int] | None],
                 ) -> list[list[int] | None]:
    """The positions of each span's word pieces in one tokenized text.

    Args:
        offsets: each token's ``(start, end)`` characters in the text.
        special: 1 for the tokenizer's own tokens ([CLS], [SEP]), else 0.
        spans: character ranges of the text; None for a span not in it.

    Returns:
        Per span, the positions of the tokens that overlap it; None when the span is None,
        reaches past the last token kept (the text was cut at the model's window), or has no
        token of its own.
    """
    pieces = [(i, start, end) for i, ((start, end), s) in enumerate(zip(offsets, special)) if not s]
    covered = max((end for _, _, end in pieces), default=0)
    ranges: list[list[int] | None] = []
    for span in spans:
        if span is None or span[1] > covered:
            ranges.append(None)
            continue
        a, b = span
        inside = [i for i, start, end in pieces if start < b and end > a]
        ranges.append(inside or None)
    return ranges


def embed(tokenizer: Any, run: Run, passages: Sequence[Passage], progress: Callable[[int], None] | None = None,
          pad_id: int = 0, one_pass: bool = False, batching: Batching = Batching()) -> Vectors:
    """All of `chunks` at once (see the module docstring)."""
    return joined(chunks(tokenizer, run, passages, progress, pad_id, one_pass, batching))


def joined(parts: Iterable[Vectors]) -> Vectors:
    """Chunks of vectors (`chunks`) as one."""
    parts = list(parts)
    if not parts:
        empty = np.zeros((0, 0), np.float32)
        return Vectors(empty, empty, empty)
    return Vectors(*(np.vstack([getattr(p, kind) for p in parts])
                     for kind in ("paragraphs", "sentences", "sentences_in_context")))


def chunks(tokenizer: Any, run: Run, passages: Sequence[Passage], progress: Callable[[int], None] | None = None,
           pad_id: int = 0, one_pass: bool = False, batching: Batching = Batching()) -> Iterator[Vectors]:
    """Embed paragraphs and their sentences (see the module docstring), a few hundred
    paragraphs at a time: the vectors of `CHUNK` passages, then of the next, in order.

    Args:
        tokenizer: a `tokenizers.Tokenizer` that truncates at the model's window and does not pad.
        run: the model (see `Run`).
        passages: the paragraphs.
        progress: advanced by the number of passages done.
        pad_id: the padding token's id.
        one_pass: pool the sentences' vectors in context from their paragraph's pass.
        batching: how texts are grouped and run.
    """
    pool = ThreadPoolExecutor(batching.workers) if batching.workers > 1 else None
    model = _Model(run, pad_id, batching, pool)
    try:
        for begin in range(0, len(passages), CHUNK):
            chunk = passages[begin : begin + CHUNK]
            yield _embed_chunk(tokenizer, model, chunk, one_pass)
            if progress:
                progress(len(chunk))
    finally:
        if pool:  # also when the build stops taking vectors: texts not yet run never are
            pool.shutdown(cancel_futures=True)


@dataclass
class _Model:
    """A `Run` with what `_passes` needs to feed it."""

    run: Run
    pad_id: int
    batching: Batching
    pool: ThreadPoolExecutor | None


def _embed_chunk(tokenizer: Any, model: _Model, passages: Sequence[Passage], one_pass: bool) -> Vectors:
    """`chunks` for a few hundred passages."""
    encodings = tokenizer.encode_batch([p.embedded for p in passages])
    texts = [text for p in passages for text in p.sentence_texts]
    first = np.cumsum([0] + [len(p.sentence_texts) for p in passages])  # each passage's first sentence
    paragraphs: list[np.ndarray] = [np.empty(0)] * len(passages)
    in_context: list[np.ndarray | None] = [None] * len(texts)
    for i, hidden in _passes(model, encodings):
        paragraphs[i] = hidden.mean(axis=0)
        if not one_pass:
            continue
        passage, encoding = passages[i], encodings[i]
        shift = len(passage.context) + 1 if passage.context else 0
        spans = [(0, len(passage.context)) if passage.context else None] + \
                [(s[0] + shift, s[1] + shift) if s is not None else None for s in passage.sentences]
        context, *ranges = token_ranges(encoding.offsets, encoding.special_tokens_mask, spans)
        for n, positions in enumerate(ranges):
            if positions is not None:
                in_context[first[i] + n] = hidden[(context or []) + positions].mean(axis=0)
    dimension = paragraphs[0].shape[0]
    alone = _mean_pooled(tokenizer, model, texts) if texts else np.zeros((0, dimension), np.float32)
    own = [n for n, vector in enumerate(in_context) if vector is None]  # each needs a pass under its context
    if own:
        contexts = [p.context for p in passages for _ in p.sentence_texts]
        redone = _mean_pooled(tokenizer, model, [f"{contexts[n]}\n{texts[n]}" if contexts[n] else texts[n]
                                                 for n in own])
        for n, vector in zip(own, redone):
            in_context[n] = vector
    return Vectors(_normalised(np.vstack(paragraphs)), _normalised(alone),
                   _normalised(np.vstack(cast("list[np.ndarray]", in_context)) if in_context
                               else np.zeros((0, dimension), np.float32)))


def _passes(model: _Model, encodings: Sequence[Any]) -> Iterator[tuple[int, np.ndarray]]:
    """Each encoding's position and token vectors, run in batches of similar length (`batches`).
    A batch's vectors are dropped once the next ones are taken: pool them as they come."""
    groups = batches([len(e.ids) for e in encodings], model.batching)

    def run(batch: list[int]) -> np.ndarray:
        return _run(model.run, [encodings[i] for i in batch], model.pad_id)

    done = model.pool.map(run, groups) if model.pool else map(run, groups)
    for batch, vectors in zip(groups, done):
        for row, i in enumerate(batch):
            yield i, vectors[row, : len(encodings[i].ids)]


def mean_pooled(tokenizer: Any, run: Run, texts: Sequence[str], pad_id: int = 0) -> np.ndarray:
    """Each text's mean token vector (not normalised), as sentence-transformers pools it."""
    return _mean_pooled(tokenizer, _Model(run, pad_id, Batching(), None), texts)


def _mean_pooled(tokenizer: Any, model: _Model, texts: Sequence[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, 0), np.float32)
    means: list[np.ndarray] = [np.empty(0)] * len(texts)
    for i, hidden in _passes(model, tokenizer.encode_batch(list(texts))):
        means[i] = hidden.mean(axis=0)
    return np.vstack(means)


def batches(lengths: Sequence[int], batching: Batching = Batching()) -> list[list[int]]:
    """Positions grouped for the model, shortest first: at most ``batching.size`` texts, and at
    most ``batching.tokens`` padded tokens unless one text alone is longer."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and len(groups[-1]) < batching.size and (len(groups[-1]) + 1) * lengths[i] <= batching.tokens:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _run(run: Run, encodings: Sequence[Any], pad_id: int) -> np.ndarray:
    """The token vectors of a batch of encodings, padded to the longest."""
    width = max(len(e.ids) for e in encodings)
    ids = np.full((len(encodings), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    types = np.zeros((len(encodings), width), dtype=np.int64)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
        types[row, : len(e.ids)] = e.type_ids
    return np.asarray(run(ids, mask, types), dtype=np.float32)


def _normalised(rows: np.ndarray) -> np.ndarray:
    norms = np.clip(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12, None)
    return np.ascontiguousarray(rows / norms, dtype=np.float32)
