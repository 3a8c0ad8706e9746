"""The question path: retrieve passages, fuse rankings, read out an answer.

    >>> import qa
    >>> engine = qa.open_index("index")                      # doctest: +SKIP
    >>> answer = engine.ask("what did Japan buy?")           # doctest: +SKIP
    >>> answer.span.citation.paragraph                       # doctest: +SKIP
    5
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from qa import fusion
from qa.corpus import line_of
from qa.errors import BadInput, IndexMismatch
from qa.index import BuildReport, Index
from qa.reader import heuristic
from qa.reader import spans as windows
from qa.settings import DEFAULT_MIN_SCORE, MAX_QUESTION_CHARS, MIB, Fusion, Reader, Retriever, Settings
from qa.types import Answer, Citation, Context, Hit, Paragraph, Sentence, Span

if TYPE_CHECKING:
    from concurrent.futures import Future

    import numpy as np

    from qa.embedding import Encoder
    from qa.reader.trained import Reading, TrainedReader

DEPTH = 50           # how deep each ranking goes before fusion
READ_PARAGRAPHS = 5  # paragraphs whose sentences compete for the answer
SHORT_ANSWER_WORDS = 6  # a best sentence shorter than this takes its neighbour along
RRF_K = 60.0  # the damping constant of reciprocal rank fusion (with --fusion rrf)
# How much each ranking counts in the fusion, measured with `qa eval` (docs/quality.md).
FUSION_WEIGHTS = {"dense_paragraphs": 1.0, "dense_sentences": 1.0, "bm25_paragraphs": 1.0, "bm25_sentences": 1.0}
RERANK_WEIGHT = 0.8     # share of a passage's final score that comes from its best sentence
# Windows the trained reader reads: those around the cheap scorer's best sentences. On the
# calibration sources (`python -m training.reading`, docs/reader.md), 1 to 8 windows are answered
# or declined equally well (overall accuracy 0.739-0.747); 4 give the most right answers when
# every question is answered and put the gold passage first most often when passages are
# reranked by what was read (0.901, against 0.873 by the best sentence alone).
READ_WINDOWS = 4


def clean_question(question: str, what: str = "question") -> str:
    """The question (or query: ``what`` names it in errors) as it will be answered: stripped, and
    cut to `MAX_QUESTION_CHARS`.

    Raises:
        BadInput: it is empty, or has no word character to look for ("???", "...").
    """
    question = question.strip()
    if not question:
        raise BadInput(f"the {what} is empty")
    if not re.search(r"\w", question):
        raise BadInput(f"the {what} {question[:40]!r} has no words to look for")
    return question[:MAX_QUESTION_CHARS]


class QA:
    """Question answering over one built index.

    Args:
        index: the opened index.
        settings: defaults for ``top_k``, ``retriever``, ``fusion`` and ``min_score``.
        encoder: embeds questions; by default the index's own model (its ONNX export when
            there is one), loaded on first use.
        notice: called with one-line notices, such as a model that could not be exported.
    """

    def __init__(self, index: Index, settings: Settings | None = None, encoder: Encoder | None = None,
                 notice: Callable[[str], None] | None = None):
        self.index = index
        self.settings = settings or Settings.from_env()
        self.notice = notice
        if encoder is not None:
            _check_model(index, encoder)
        self._encoder = encoder
        self._reader: TrainedReader | None = None
        self._loading: Future[TrainedReader] | None = None

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            from qa.embedding import load_query_encoder

            model = self.index.manifest["model"]
            self._encoder = load_query_encoder(model["name"], model["fingerprint"], self.notice)
            _check_model(self.index, self._encoder)
        return self._encoder

    @property
    def reader(self) -> TrainedReader:
        """The trained reader model, loaded on first use."""
        if self._reader is None:
            self._load_reader()
            assert self._loading is not None
            loading, self._loading = self._loading, None
            self._reader = loading.result()  # raises what loading raised (ModelMissing)
        return self._reader

    def _load_reader(self) -> None:
        """Start loading the trained reader in a thread, if it is not loaded or loading: most of
        the work (hashing, building the onnxruntime session) runs outside the GIL, beside the
        question's embedding and retrieval."""
        if self._reader is None and self._loading is None:
            from concurrent.futures import ThreadPoolExecutor

            from qa.reader.trained import TrainedReader

            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-reader")
            self._loading = pool.submit(TrainedReader)
            pool.shutdown(wait=False)  # the thread ends when the reader is loaded

    def threshold(self, reader: Reader | None = None) -> float:
        """The abstention threshold: the setting, else the one calibrated and stored with the index
        for this reader, else the reader's own default (the trained one's is in its model card)."""
        reader = reader or self.settings.reader
        if self.settings.min_score is not None:
            return self.settings.min_score
        stored = self.index.manifest.get("calibration", {})
        if stored.get("reader", Reader.heuristic.value) == reader.value and "min_score" in stored:
            return float(stored["min_score"])
        if reader == Reader.heuristic:
            return DEFAULT_MIN_SCORE
        if self._reader is not None:
            return self._reader.threshold
        from qa.reader.trained import default_threshold

        return default_threshold()

    @property
    def min_score(self) -> float:
        """The abstention threshold of the default reader (see `threshold`)."""
        return self.threshold()

    def embed(self, question: str) -> np.ndarray:
        return self.encoder.encode([question])[0]

    def _ranked(self, question: str, vector: np.ndarray | None, retriever: Retriever) -> list[tuple[int, float]]:
        """Paragraphs fused from dense and/or lexical rankings of paragraphs and of sentences.

        A paragraph held by several files (the same article as .txt and .pdf, a copy in another
        folder) is ranked once, as its first copy: only that copy is searched (`Index.copies`)."""
        rankings, weights = [], []
        if retriever in (Retriever.dense, Retriever.hybrid):
            assert vector is not None
            sentences = self.index.dense_search("sentences_in_context", vector, DEPTH * 2)
            rankings += [self.index.dense_search("paragraphs", vector, DEPTH),
                         fusion.best_per_group(sentences, self._owners(sentences))]
            weights += [FUSION_WEIGHTS["dense_paragraphs"], FUSION_WEIGHTS["dense_sentences"]]
        if retriever in (Retriever.bm25, Retriever.hybrid):
            sentences = self.index.lexical_search("sentences", question, DEPTH * 2)
            rankings += [self.index.lexical_search("paragraphs", question, DEPTH),
                         fusion.best_per_group(sentences, self._owners(sentences))]
            weights += [FUSION_WEIGHTS["bm25_paragraphs"], FUSION_WEIGHTS["bm25_sentences"]]
        if self.settings.fusion == Fusion.rrf:
            return fusion.reciprocal_rank(rankings, k=RRF_K, weights=weights)
        return fusion.score_sum(rankings, weights=weights)

    def _owners(self, ranking: Sequence[tuple[int, float]]) -> dict[int, int]:
        """The paragraph of each ranked sentence."""
        return self.index.owners([i for i, _ in ranking])

    def search(self, query: str, top_k: int | None = None,
               retriever: Retriever | None = None) -> list[Hit]:
        """Rank passages for a query, best first, without extracting an answer."""
        query = clean_question(query, "query")
        top_k = self._top_k(top_k)
        retriever = retriever or self.settings.retriever
        vector = None if retriever == Retriever.bm25 else self.embed(query)  # BM25 needs no model
        return self._hits(self._ranked(query, vector, retriever)[:top_k])

    def _top_k(self, top_k: int | None) -> int:
        top_k = self.settings.top_k if top_k is None else top_k
        if top_k < 1:
            raise BadInput(f"top_k must be at least 1, got {top_k}")
        return top_k

    def _hits(self, ranked: Sequence[tuple[int, float]]) -> list[Hit]:
        paragraphs = self.index.paragraphs([pid for pid, _ in ranked])
        hits = []
        for pid, score in ranked:
            paragraph = paragraphs[pid][0]
            page = self.index.page_of(paragraph.file, paragraph.start)
            ocr = self.index.ocr_at(paragraph.file, paragraph.start)
            hits.append(Hit(_citation(paragraph, page, ocr), score, paragraph.text))
        return hits

    def ask(self, question: str, top_k: int | None = None, retriever: Retriever | None = None,
            min_score: float | None = None, rerank: bool = True, reader: Reader | None = None) -> Answer:
        """Answer a question with a verbatim span and its citation, or abstain.

        Args:
            question: free text; cut to 2,000 characters.
            top_k: supporting passages to return.
            retriever: ``hybrid`` (default), ``dense`` or ``bm25``.
            min_score: abstain below this confidence (default: see `threshold`).
            rerank: order passages by what was read in them, not by retrieval alone: by the cheap
                scorer's best sentence in each, and with the trained reader, the passages it read
                first, by the probability of the best answer it found in each.
            reader: ``heuristic`` (a whole sentence, with a hand-weighted score) or ``trained``
                (the short answer, with a calibrated probability); default: the settings'.

        Returns:
            The answer (or None below the threshold) and the passages, reranked by what was read
            in them.
        """
        question = clean_question(question)
        top_k = self._top_k(top_k)
        reader = reader or self.settings.reader
        threshold = self.threshold(reader) if min_score is None else min_score
        if reader == Reader.trained:
            self._load_reader()
        ranked, sentences, candidates = self._read(question, retriever or self.settings.retriever)
        span, read = None, {}
        if candidates and reader == Reader.trained:
            span, read = self._short_answer(question, candidates, sentences)
        elif candidates:
            span = self._span(candidates[0], heuristic.confidence(question, candidates[0]), sentences)
        if rerank:
            best_by_paragraph: dict[int, float] = {}
            for candidate in candidates:
                best_by_paragraph.setdefault(candidate.paragraph, candidate.score)
            ranked = fusion.lead(fusion.rerank(ranked, best_by_paragraph, RERANK_WEIGHT), read)
        if span is not None and span.score < threshold:
            span = None
        if span is not None:  # the page of the answer's own start: a paragraph may run over a page break
            file, start = span.citation.file, span.citation.start
            span = span.on_page(self.index.page_of(file, start), self.index.ocr_at(file, start))
        return Answer(question, span, self._hits(ranked[:top_k]))

    def _read(self, question: str, retriever: Retriever) -> tuple[list[tuple[int, float]], dict[int, Sentence],
                                                                   list[heuristic.Candidate]]:
        """Retrieve, then read: the fused paragraph ranking, the sentences of its first
        `READ_PARAGRAPHS` paragraphs, and those sentences scored by the reader, best first."""
        vector = self.embed(question)
        ranked = self._ranked(question, vector, retriever)
        head = ranked[:READ_PARAGRAPHS]
        sentences = self.index.sentences([pid for pid, _ in head])
        return ranked, sentences, self._candidates(question, vector, head, sentences)

    def _candidates(self, question: str, vector: np.ndarray, ranked: list[tuple[int, float]],
                    sentences: dict[int, Sentence]) -> list[heuristic.Candidate]:
        """The sentences of the given paragraphs, scored by the reader, best first."""
        import numpy as np

        pids = [pid for pid, _ in ranked]
        if not sentences:
            return []
        sids = list(sentences)
        # A sentence matches as itself or under its heading, whichever fits the question better:
        # the heading names what the sentence leaves implicit, but can also drown a short one.
        cosines = np.maximum(self.index.dense_vectors("sentences", sids) @ vector,
                             self.index.dense_vectors("sentences_in_context", sids) @ vector)
        paragraph_cosines = dict(zip(pids, self.index.dense_vectors("paragraphs", pids) @ vector))
        idf, in_sentence = self.index.term_matches("sentences", question, sids)
        in_paragraph = self.index.holders("paragraphs", question, pids)
        top_passage = ranked[0][1] or 1.0
        passage = dict(ranked)
        candidates = [
            heuristic.Candidate(
                sid, s.paragraph, s.text, cosine=float(cos),
                passage=passage[s.paragraph] / top_passage,
                passage_cosine=float(paragraph_cosines[s.paragraph]),
                coverage=heuristic.weighted_share(idf, [w for w in idf if sid in in_sentence[w]]),
                passage_coverage=heuristic.weighted_share(idf, [w for w in idf if s.paragraph in in_paragraph[w]]))
            for (sid, s), cos in zip(sentences.items(), cosines)
        ]
        return heuristic.rank(question, candidates)

    def _span(self, best: heuristic.Candidate, score: float, sentences: dict[int, Sentence]) -> Span:
        """The quoted span: the best sentence, with the next one when it alone is a fragment or
        the next one spells out what it announced ("... an upgrade. This includes ...")."""
        sentence = sentences[best.sentence]
        start, end = sentence.start, sentence.end
        following = sentences.get(best.sentence + 1)  # never from the next paragraph:
        if following is not None and following.paragraph == sentence.paragraph and (
                len(sentence.text.split()) < SHORT_ANSWER_WORDS or heuristic.elaborates(following.text)):
            end = following.end
        paragraph, _ = self.index.paragraphs([best.paragraph])[best.paragraph]
        text = paragraph.text[start - paragraph.start : end - paragraph.start]
        return Span(text, score, Citation(paragraph.file, paragraph.number, sentence.line, start, end),
                    Context(text, start, end, sentence.line))

    def _windows(self, candidates: list[heuristic.Candidate], sentences: dict[int, Sentence],
                 count: int = READ_WINDOWS) -> tuple[list[Window], dict[int, list[Sentence]]]:
        """The windows the trained reader reads: one around each of the cheap scorer's best
        ``count`` sentences (two sentences may share a window), best first, and each
        paragraph's sentences in order."""
        by_paragraph: dict[int, list[Sentence]] = {}
        position: dict[int, int] = {}  # a sentence's place in its paragraph (ids run in file order)
        for sid in sorted(sentences):
            own = by_paragraph.setdefault(sentences[sid].paragraph, [])
            position[sid] = len(own)
            own.append(sentences[sid])
        paragraphs = self.index.paragraphs(list(by_paragraph))
        chosen: dict[tuple[int, int, int], Window] = {}
        for rank, candidate in enumerate(candidates[:count]):
            own = by_paragraph[candidate.paragraph]
            start, end = windows.window([(s.start, s.end) for s in own], position[candidate.sentence])
            paragraph = paragraphs[candidate.paragraph][0]
            text = paragraph.text[start - paragraph.start : end - paragraph.start]
            chosen.setdefault((candidate.paragraph, start, end), Window(paragraph, start, end, text, candidate, rank))
        return list(chosen.values()), by_paragraph

    def _read_windows(self, question: str, candidates: list[heuristic.Candidate], sentences: dict[int, Sentence]
                      ) -> tuple[list[Window], list[Reading], list[dict[str, float]], dict[int, list[Sentence]]]:
        """The windows the trained reader reads (`_windows`), what it read in each, and each
        answer's evidence (`qa.reader.trained.evidence`)."""
        from qa.reader.trained import evidence

        read, by_paragraph = self._windows(candidates, sentences)
        readings = self.reader.read(question, [w.text for w in read])
        facts = evidence(readings, [heuristic.confidence(question, w.candidate) for w in read])
        return read, readings, facts, by_paragraph

    def _short_answer(self, question: str, candidates: list[heuristic.Candidate],
                      sentences: dict[int, Sentence]) -> tuple[Span, dict[int, float]]:
        """The trained reader's answer: it reads the windows around the cheap scorer's best
        sentences and quotes the short span that is most likely right. Also, per paragraph it
        read, the probability of the best answer it found there."""
        read, readings, facts, by_paragraph = self._read_windows(question, candidates, sentences)
        scores = [self.reader.probability(f) for f in facts]
        best = max(range(len(read)), key=lambda i: scores[i])
        by_passage: dict[int, float] = {}
        for window, score in zip(read, scores):
            by_passage[window.candidate.paragraph] = max(score, by_passage.get(window.candidate.paragraph, 0.0))
        window, reading = read[best], readings[best]
        paragraph = window.paragraph
        start, end = window.start + reading.start, window.start + reading.end
        around = [s for s in by_paragraph[window.candidate.paragraph] if s.end > start and s.start < end]
        context_start, context_end = (around[0].start, around[-1].end) if around else (start, end)
        text = paragraph.text[start - paragraph.start : end - paragraph.start]
        context = paragraph.text[context_start - paragraph.start : context_end - paragraph.start]
        line = paragraph.line + line_of(paragraph.text, start - paragraph.start) - 1
        span = Span(text, scores[best], Citation(paragraph.file, paragraph.number, line, start, end),
                    Context(context, context_start, context_end,
                            paragraph.line + line_of(paragraph.text, context_start - paragraph.start) - 1),
                    facts[best])
        return span, by_passage


@dataclass(frozen=True)
class Window:
    """A window the trained reader reads (`qa.reader.spans.window`).

    Attributes:
        paragraph: the paragraph it lies in.
        start: its first character in the file.
        end: one past its last.
        text: ``file_text[start:end]``.
        candidate: the cheap scorer's sentence it is built around.
        rank: that sentence's place in the cheap scorer's ranking, from 0.
    """

    paragraph: Paragraph
    start: int
    end: int
    text: str
    candidate: heuristic.Candidate
    rank: int = 0


def _citation(paragraph: Paragraph, page: int | None = None, ocr: bool = False) -> Citation:
    return Citation(paragraph.file, paragraph.number, paragraph.line, paragraph.start, paragraph.end, page, ocr)


def _check_model(index: Index, encoder: Encoder) -> None:
    """Questions must be embedded by the model that embedded the index, or the scores mean nothing."""
    model = index.manifest["model"]
    if (encoder.dimension, encoder.fingerprint) != (model["dimension"], model["fingerprint"]):
        raise IndexMismatch(f"index in {index.folder} was built with {model['name']} ({model['dimension']} "
                            f"dimensions), not {encoder.name} ({encoder.dimension}); rebuild it with "
                            f"`qa index --rebuild --model {encoder.name}`, or ask with its own model")


def open_index(folder: str | Path | None = None, settings: Settings | None = None,
               encoder: Encoder | None = None) -> QA:
    """Open a built index for questions (see `QA`)."""
    settings = settings or Settings.from_env()
    return QA(Index.open(Path(folder) if folder is not None else settings.index), settings, encoder)


def build_index(paths: Sequence[str | Path] | None = None, index_dir: str | Path | None = None,
                model: str | None = None, encoder: Encoder | None = None, *, rebuild: bool = False,
                device: str | None = None, one_pass: bool | None = None, float32: bool | None = None,
                status: Callable[[str], None] | None = None, store: str | None = None, **kwargs: Any) -> BuildReport:
    """Index documents (default: the settings' corpus) into ``index_dir`` (default ``index/``).

    Incremental unless ``rebuild``: unchanged files keep their vectors, and the
    model is loaded only if something needs embedding.

    Args:
        paths: folders and files to index.
        index_dir: where the index goes.
        model: sentence-transformers name or path (default all-MiniLM-L6-v2, bundled).
        encoder: an already-loaded encoder, instead of ``model``.
        rebuild: embed everything again, ignoring the existing index.
        device: ``auto`` (CUDA when torch sees a GPU), ``cpu`` or ``cuda``; default: the settings'.
        one_pass: pool sentence vectors in context from their paragraph's pass (`qa.late_chunking`);
            default: the settings'.
        float32: on the CPU, embed with the model's float weights, not int8 ones; default: the settings'.
        status: told in one line about slow steps (the one-time ONNX export).
        store: where a new index lives (`qa.storage.builder.build`); default: the settings'.
        **kwargs: ``warn`` and ``progress`` callbacks, passed to `qa.index.build`.
    """
    from qa import index as index_module
    from qa.embedding import LazyEncoder, ensure_onnx, is_exported

    settings = Settings.from_env()
    if encoder is None:
        encoder = cast("Encoder", LazyEncoder(model or settings.model, device or settings.device.value))
    roots = [Path(p) for p in (paths or [settings.corpus])]
    folder = Path(index_dir) if index_dir is not None else settings.index
    # Export the model for questions before building (once per model; the build embeds with it on
    # the CPU too), timed apart: no later build pays for it. Not before a build that fails at once.
    exported_before = is_exported(encoder)
    started = time.perf_counter()
    reason = ensure_onnx(encoder, status) if _buildable(roots, folder) else None
    exported = is_exported(encoder)
    export_seconds = time.perf_counter() - started if exported and not exported_before else 0.0
    report = index_module.build(roots, folder, encoder, rebuild=rebuild,
                                max_file_bytes=int(settings.max_file_mb * MIB),
                                max_document_bytes=int(settings.max_document_mb * MIB), status=status,
                                one_pass=settings.one_pass if one_pass is None else one_pass,
                                float32=settings.float32 if float32 is None else float32,
                                approx_min_vectors=settings.approx_min_vectors, store=store or settings.store,
                                **kwargs)
    if reason is not None and kwargs.get("warn"):
        kwargs["warn"](f"questions will use sentence-transformers: cannot export to ONNX ({reason})")
    return replace(report, export_seconds=export_seconds)


def _buildable(roots: Sequence[Path], folder: Path) -> bool:
    """Whether a build of ``roots`` into ``folder`` will get as far as embedding: there are
    documents, and the folder can hold an index.

    Raises:
        BadInput: as `qa.index.build` would: a path is missing, or ``folder`` holds files that qa did not make.
    """
    from qa import index as index_module
    from qa.corpus import discover

    if folder.exists() and not folder.is_dir():
        return False
    index_module.exists(folder)
    return bool(discover(roots, skip=folder)[0])


__all__ = ["QA", "build_index", "clean_question", "open_index"]
