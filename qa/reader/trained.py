"""The trained reader: a fine-tuned MiniLM that finds the short answer in a window of text and
says how likely the window is to answer at all. Runs the shipped ONNX file with onnxruntime.

    >>> from qa.reader.trained import TrainedReader
    >>> reader = TrainedReader.load()                                               # doctest: +SKIP
    >>> reader.read("who will launch the lunar vehicle?", ["NASA will launch it in 2031."])[0].text
    'NASA'

The model lives in ``qa/models/reader/`` with its model card; ``training/`` made it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelMissing
from qa.reader.spans import best_span, snap_to_words

MAX_TOKENS = 192  # question + window; windows are ~100 word pieces (qa.reader.spans.WINDOW_CHARS)
MAX_QUESTION_CHARS = 300
MAX_ANSWER_TOKENS = 30


@dataclass(frozen=True)
class Encoded:
    """A batch of (question, window) pairs as the model takes them, with what is needed to map
    token spans back to characters of each window."""

    feeds: dict[str, np.ndarray]
    offsets: list[list[tuple[int, int]]]  # per pair, per token: characters of the window
    context: np.ndarray  # bool (pairs, tokens): the token is part of the window


def encode(tokenizer: Any, question: str, windows: Sequence[str]) -> Encoded:
    """Tokenize ``question`` against each window, padded to the longest pair.

    Args:
        tokenizer: a `tokenizers.Tokenizer` (no truncation or padding configured: set here).
    """
    tokenizer.enable_truncation(max_length=MAX_TOKENS, strategy="only_second")
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    question = question[:MAX_QUESTION_CHARS]
    encodings = tokenizer.encode_batch([(question, text) for text in windows])
    context = np.array([[sid == 1 for sid in e.sequence_ids] for e in encodings], dtype=bool)
    feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
             "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
             "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
    return Encoded(feeds, [list(e.offsets) for e in encodings], context)


def answer_tokens(encoded: Encoded, row: int, start: int, end: int) -> tuple[int, int] | None:
    """The first and last token of the character span ``[start, end)`` of window ``row``, or None
    when truncation cut it off."""
    tokens = [t for t, inside in enumerate(encoded.context[row]) if inside]
    offsets = encoded.offsets[row]
    first = next((t for t in tokens if offsets[t][1] > start), None)
    last = next((t for t in reversed(tokens) if offsets[t][0] < end), None)
    if first is None or last is None or last < first or offsets[last][1] < end:
        return None
    return first, last


MODEL_FILE = "reader.onnx"
# What an answer's probability can be computed from (`evidence`); the model card names the ones
# its calibration chose.
FEATURES = ("logit", "span_score", "heuristic", "margin", "agreement")
CARD_FILE = "reader.json"


def default_folder() -> Path:
    """Where the shipped reader lives: ``qa/models/reader`` inside the installed package."""
    return Path(__file__).resolve().parents[1] / "models" / "reader"


def default_threshold(folder: Path | None = None) -> float:
    """The abstention threshold chosen for the shipped model on held-out data (its card's), read
    without loading the model; 0.5 for a model not yet calibrated."""
    folder = folder or default_folder()
    try:
        card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ModelMissing(f"the reader model's card {folder / CARD_FILE} cannot be read; reinstall qa "
                           "(./setup.sh), or answer with --reader heuristic") from None
    return float((card.get("calibration") or {}).get("threshold", 0.5))


@dataclass(frozen=True)
class Reading:
    """What the reader found in one window.

    Attributes:
        window: position of the window in the list given to `TrainedReader.read`.
        start: first character of the short answer in the window.
        end: one past its last character.
        logit: the model's answerability logit (before calibration).
        span_score: start + end logit of the span (how sure the model is of this span).
        text: the short answer, ``window[start:end]``.
    """

    window: int
    start: int
    end: int
    logit: float
    span_score: float
    text: str = ""


def evidence(readings: Sequence[Reading], heuristic: Sequence[float]) -> list[dict[str, float]]:
    """What each window's answer has for it (`FEATURES`), from the reader's readings of all the
    windows of one question and the cheap scorer's confidence in each window's sentence.

    - ``logit``: the window's answerability logit; ``span_score``: its span's start + end logit;
    - ``heuristic``: the cheap scorer's confidence in the sentence the window is built around;
    - ``margin``: how far its logit is above the best other window's (clipped to +-10: a
      window that stands out answers more often than the best of several close ones);
    - ``agreement``: the share of the other windows whose answer is the same text (case folded),
      as when three windows around one sentence all read out the same name.
    """
    texts = [r.text.casefold() for r in readings]
    out = []
    for i, reading in enumerate(readings):
        others = [r.logit for j, r in enumerate(readings) if j != i]
        margin = reading.logit - max(others) if others else 10.0
        same = sum(1 for j, t in enumerate(texts) if j != i and t == texts[i])
        out.append({"logit": reading.logit, "span_score": reading.span_score, "heuristic": heuristic[i],
                    "margin": max(-10.0, min(10.0, margin)), "agreement": same / len(others) if others else 0.0})
    return out


def _source(model: Path) -> dict[str, Any]:
    """What identifies the model file a cached graph was optimised from: its path, size and
    modification time (rewriting or replacing it changes them)."""
    stat = model.stat()
    return {"path": str(model.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _cache_files(card: dict, source: dict) -> tuple[Path, Path]:
    """The optimised graph of the card's model, installed at ``source``, for this onnxruntime,
    and its record."""
    import onnxruntime

    from qa.settings import cache_dir

    place = hashlib.sha256(source["path"].encode()).hexdigest()[:8]
    stem = f"{str(card.get('sha256'))[:16]}-{place}-onnxruntime-{onnxruntime.__version__}"
    return cache_dir() / "reader" / f"{stem}.onnx", cache_dir() / "reader" / f"{stem}.json"


def _options(level):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = READ_THREADS
    options.graph_optimization_level = level
    return options


def _cached_session(graph: Path, record: Path, source: dict):
    """A session on the optimised graph kept by `_optimized_session`, or None: when there is
    none, it was made from another file than ``source``, or its bytes differ from its record."""
    import onnxruntime

    try:
        kept = json.loads(record.read_text(encoding="utf-8"))
        if kept.get("source") != source:
            return None
        data = graph.read_bytes()
    except (OSError, ValueError):
        return None
    if hashlib.sha256(data).hexdigest() != kept.get("sha256"):
        return None
    options = _options(onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL)  # done already
    return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _optimized_session(model: bytes, graph: Path, record: Path, source: dict):
    """A session on ``model`` (checked already) with extended graph optimisations, as in the
    export's measurements and the calibration (with basic ones only, the int8 kernels differ and
    logits move by up to 1.3; the layout ones, which are specific to a CPU, do not change this
    model's graph). The optimised graph is kept in the cache (``graph``, with its ``record``), so
    that the next process skips the optimising (a session then starts in 20-30 ms, not about
    70); if the cache cannot be written, nothing is kept."""
    import onnxruntime

    from qa.storage.manifest import replace_text

    partial = graph.with_name(f"{graph.name}.{os.getpid()}.partial")
    options = _options(onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED)
    try:
        graph.parent.mkdir(parents=True, exist_ok=True)
        options.optimized_model_filepath = str(partial)
        session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        digest = hashlib.sha256(partial.read_bytes()).hexdigest()
        os.replace(partial, graph)
        replace_text(record, json.dumps({"source": source, "sha256": digest}))
        _forget_others(record, source)
        return session
    except Exception:  # an unwritable cache: start the session without keeping its graph
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        options = _options(onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED)
        return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _forget_others(record: Path, source: dict) -> None:
    """Remove the graphs kept for the same model file before (an older model there, or another
    onnxruntime) and for model files that are gone (a removed checkout or environment), so that
    the cache holds one per place a model is installed."""
    for other in record.parent.glob("*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            path = json.loads(other.read_text(encoding="utf-8"))["source"]["path"]
            if other != record and (path == source["path"] or not Path(path).exists()):
                other.with_suffix(".onnx").unlink(missing_ok=True)
                other.unlink()


class TrainedReader:
    """The shipped reader model, checked against its card's SHA-256 when loaded. Its optimised
    graph is kept in the cache (``reader/``) with its own SHA-256 and the model file's size and
    time, and later loads start from it while that file is unchanged.

    Args:
        folder: holds ``reader.onnx``, ``tokenizer.json`` and ``reader.json`` (the card's data).

    Raises:
        ModelMissing: a file is missing, or the model's bytes are not the ones its card names.
    """

    def __init__(self, folder: Path | None = None):
        from tokenizers import Tokenizer

        folder = folder or default_folder()
        self.folder = folder
        try:
            self.card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
            source = _source(folder / MODEL_FILE)
            kept = _cache_files(self.card, source)
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self.session = _cached_session(*kept, source)
            model = None if self.session else (folder / MODEL_FILE).read_bytes()
        except (OSError, ValueError, Exception) as exc:  # tokenizers raises its own Exception type
            raise ModelMissing(f"the reader model in {folder} cannot be loaded ({_reason(exc)}); "
                               f"reinstall qa (./setup.sh), or answer with --reader heuristic") from None
        if model is not None:
            if hashlib.sha256(model).hexdigest() != self.card.get("sha256"):
                raise ModelMissing(f"the reader model {folder / MODEL_FILE} is damaged (its SHA-256 differs from "
                                   f"{CARD_FILE}); reinstall qa (./setup.sh), or answer with --reader heuristic")
            self.session = _optimized_session(model, *kept, source)
        calibration = self.card.get("calibration") or {}
        self.weights = dict(zip(calibration.get("features", ["logit"]), calibration.get("weights", [1.0])))
        self.intercept = float(calibration.get("intercept", 0.0))
        self.threshold = float(calibration.get("threshold", 0.5))  # as `default_threshold` reads it

    def probability(self, evidence: dict[str, float]) -> float:
        """The calibrated probability that an answer is right, from its evidence (`FEATURES`):
        a logistic regression fitted on held-out articles (see the model card); an uncalibrated
        model gives ``sigmoid(logit)``."""
        z = self.intercept + sum(w * evidence[name] for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def read(self, question: str, windows: Sequence[str]) -> list[Reading]:
        """The best short answer in each window, and how likely the window is to answer.

        Each window is read on its own: the int8 model scales its activations by the whole batch
        (padding included), so read together a window's answer moved with the windows beside it
        ("400 Tomahawk Cruise Missiles" lost its "400"). Alone is also faster: nothing is padded
        (15 ms for four windows against 19 ms batched).
        """
        readings = []
        for row, window in enumerate(windows):
            encoded = encode(self.tokenizer, question, [window])
            start, end, answerable = self.session.run(None, encoded.feeds)
            first, last, score = best_span(start[0], end[0], encoded.context[0], MAX_ANSWER_TOKENS)
            offsets = encoded.offsets[0]
            begin, finish = snap_to_words(window, offsets[first][0], offsets[last][1])
            if finish <= begin:  # a span of punctuation alone: quote the tokens as they are
                begin, finish = offsets[first][0], offsets[last][1]
            readings.append(Reading(row, begin, finish, float(answerable[0]), score, window[begin:finish]))
        return readings


READ_THREADS = 2


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
