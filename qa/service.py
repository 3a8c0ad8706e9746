"""What `qa` answers other programs: the JSON objects of ``--json``, behind one `Service` that
``qa mcp`` (AI assistants) and ``qa serve`` (HTTP clients) share.

    >>> from qa.service import Service
    >>> service = Service(Settings(index=Path("index")))             # doctest: +SKIP
    >>> service.ask("what did Japan buy?")["answer"]["paragraph"]      # doctest: +SKIP
    5

Each object is made by one function, which the CLI's ``--json`` uses too: `qa.types.Answer.to_dict`
(``qa ask``), `qa.types.Hit.to_dict` (``qa search``), `describe` (``qa info``), and
`qa.cite.Quote.to_dict` and `qa.cite.layer_dict` (``qa show``). A `Service` opens the index and
loads the model on its first call, and follows the index as it is rebuilt: a call reads the
generation that was live when it began, and the first call after a rebuild opens the new one.
Nothing here imports the MCP SDK or the web server, so the CLI can use it on the ``qa ask`` path.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa.errors import BadInput, IndexMissing, NotIndexed, QAError, explain
from qa.settings import Reader, Settings

if TYPE_CHECKING:
    from qa.pipeline import QA

# What each call returns, said once for the MCP tools' descriptions and the OpenAPI document.
ASK = ("Answer a question from the indexed documents. Returns the `qa ask --json` object: "
       "{question, abstained, answer, passages}. `answer` is a verbatim quote from one file, never "
       "generated text, with checkable offsets: {text, score, file, paragraph, page, line, start, end, "
       "context}, where the file's text[start:end] == text exactly (check it with `show`); `context` "
       "is the sentence(s) around it. `answer` is null and `abstained` true when the documents do not "
       "answer the question. `passages` are the supporting paragraphs, best first, each with its citation.")
SEARCH = ("Rank the indexed paragraphs for a query, best first, without extracting an answer. Returns "
          "the `qa search --json` list: [{file, paragraph, page, line, start, end, score, text}], each "
          "text a verbatim paragraph, at checkable offsets: the file's text[start:end].")
SHOW = ("Show what a citation cites, to quote it or check it. With start and end (an answer's or "
        "passage's offsets): {file, paragraph, page, line, start, end, text, paragraph_text, status, "
        "note, context}, where text is the file's text[start:end], context the lines around it, and "
        "status says whether the file changed since it was indexed (unchanged, intact, changed, missing). "
        "With a citation such as report.pdf:p3:¶2: the same for that paragraph. With a file name alone: "
        "{file, format, text, pages}, the whole text its offsets refer to. Only indexed files are shown.")
INFO = ("Describe the index: {index, built_at, model, dimension, files, paragraphs, sentences, copies, "
        "chunks, dense, corpus, reader, min_score, calibrated}, where min_score is the confidence below "
        "which `ask` abstains, calibrated whether it was calibrated on a gold set for this reader, "
        "copies the paragraphs that repeat one in another file, and chunks paragraphs plus sentences.")
HEALTH = "Whether the server is up: {status: ok, index, generation}; generation is null until the first call."


def describe(engine: QA) -> dict[str, Any]:
    """The JSON of ``qa info --json``: what an engine's index holds and how it answers (each key's
    meaning is in `INFO_KEYS`)."""
    manifest = engine.index.manifest
    counts = manifest["counts"]
    reader = engine.settings.reader.value
    stored = manifest.get("calibration", {})
    return {
        "index": str(engine.index.folder),
        "built_at": manifest["built_at"],
        "model": manifest["model"]["name"],
        "dimension": manifest["model"]["dimension"],
        **counts,
        "chunks": counts["paragraphs"] + counts["sentences"],
        "dense": manifest["dense"],
        "corpus": manifest["corpus"],
        **({"store": manifest["store"]["uri"]} if "store" in manifest else {}),  # an index in Milvus
        "reader": reader,
        "min_score": engine.min_score,
        # True only when the threshold in use is one `qa eval --calibrate --store` stored for this reader.
        "calibrated": engine.settings.min_score is None and "min_score" in stored
        and stored.get("reader", Reader.heuristic.value) == reader,
    }


# What each key of `describe` means, said by `qa info` beside its value.
INFO_KEYS = {
    "index": "the index folder",
    "built_at": "when it was last built, in UTC",
    "model": "the embedding model that made its vectors",
    "dimension": "numbers in each vector",
    "files": "documents indexed",
    "paragraphs": "paragraphs, the passages that are ranked and cited",
    "sentences": "sentences, which answers are read from",
    "copies": "paragraphs that repeat one in another file, searched only once",
    "chunks": "texts embedded: paragraphs plus sentences",
    "dense": "how each kind of vector is searched",
    "corpus": "the folders and files it was built from",
    "reader": "what picks the answer: --reader heuristic or trained",
    "min_score": "`qa ask` abstains below this confidence",
    "calibrated": "whether min_score was calibrated for this reader by `qa eval --calibrate --store`",
}


@dataclass(frozen=True)
class Failure:
    """How a program is told that a call failed.

    Attributes:
        message: one line, as the CLI says it after ``qa: error:`` (an unexpected error's type
            and message after ``internal error:``).
        status: the HTTP status that says the same: 400 bad input, 404 a file that is not indexed,
            503 no index yet, 500 anything else.
        internal: an unexpected error (a bug): the server logs its traceback.
    """

    message: str
    status: int
    internal: bool = False


def failure(exc: Exception) -> Failure:
    """What to tell a program about an error raised by a `Service` call."""
    if isinstance(exc, NotIndexed):
        return Failure(explain(exc), 404)
    if isinstance(exc, BadInput):
        return Failure(explain(exc), 400)
    if isinstance(exc, IndexMissing):
        return Failure(explain(exc), 503)
    if isinstance(exc, (QAError, OSError)):
        return Failure(explain(exc), 500)
    return Failure(f"internal error: {type(exc).__name__}: {exc}", 500, internal=True)


def attempt(call: Callable[[], Any]) -> tuple[Any, Failure | None]:
    """Make a `Service` call for a program: its JSON and None, or None and what went wrong. An
    unexpected error's traceback goes to stderr (the server's log); the program gets one line."""
    try:
        return call(), None
    except Exception as exc:
        failed = failure(exc)
        if failed.internal:
            traceback.print_exc(file=sys.stderr)
        return None, failed


class Service:
    """`qa`'s answers for programs, over one index that may be rebuilt while it serves.

    Safe to call from many threads at once: the engine is opened by one of them while the others
    wait, and then its calls run side by side, because they only read: SQLite opened read-only with
    ``check_same_thread=False`` (this SQLite is built serialized, ``sqlite3.threadsafety == 3``),
    FAISS searches, onnxruntime sessions, everything loaded before the first call returns. On the
    seeds, 1,100 answers asked by 20 threads (165 with the trained reader) equal the same questions
    asked one by one; serializing the calls with a lock, or letting two run at once, cost 0-15% of the
    requests per second with 20 HTTP clients on 2 cores (`bench/serve.py`), so neither is done.

    Args:
        settings: the index folder and every call's defaults (reader, retriever, top_k).
        notice: told in one line about an index that is out of date, or a model that could not be
            exported to ONNX.
    """

    def __init__(self, settings: Settings | None = None, notice: Callable[[str], None] | None = None):
        self.settings = settings or Settings.from_env()
        self.notice = notice
        self._engine: QA | None = None
        self._opening = threading.Lock()

    @property
    def generation(self) -> str | None:
        """The name of the generation the last call read; None before the first call."""
        engine = self._engine
        return engine.index.generation_name if engine is not None else None

    def engine(self) -> QA:
        """The engine over the index's live generation: opened, with its model loaded, on the first
        call, and again on the first call after a rebuild has published a new generation.

        Raises:
            IndexMissing: no index has been built in the settings' folder.
            IndexCorrupt, IndexMismatch, BadInput: as `qa.index.Index.open` and `qa.pipeline.QA`.
        """
        with self._opening:
            engine = self._engine
            if engine is None or not engine.index.is_live():
                engine = self._engine = self._open(engine)  # calls under way keep the engine they hold
            return engine

    def _open(self, previous: QA | None) -> QA:
        from qa.index import Index
        from qa.pipeline import QA

        index = Index.open(self.settings.index)
        same_model = previous is not None and \
            previous.index.manifest["model"]["fingerprint"] == index.manifest["model"]["fingerprint"]
        engine = QA(index, self.settings, encoder=previous.encoder if previous and same_model else None,
                    notice=self.notice)
        stale = index.stale()
        if stale and self.notice:
            more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
            self.notice(f"the index is out of date ({stale[0]}{more}); answers come from the indexed text; "
                        "run `qa index` to update it")
        # Load everything now, once: the vectors while this generation's files are certain to exist
        # (a second rebuild removes them), and the models before threads could race to load them.
        index.load()
        engine.encoder  # noqa: B018
        if self.settings.reader == Reader.trained:
            engine.reader  # noqa: B018
        return engine

    def ask(self, question: str, top_k: int | None = None) -> dict[str, Any]:
        """The ``qa ask --json`` object for a question (see `ASK`)."""
        from qa.pipeline import clean_question

        clean_question(question)  # an empty question is refused before anything loads
        return self.engine().ask(question, top_k=top_k).to_dict()

    def search(self, query: str, top_k: int | None = None) -> list[dict[str, Any]]:
        """The ``qa search --json`` list for a query (see `SEARCH`)."""
        from qa.pipeline import clean_question

        clean_question(query, "query")
        return [hit.to_dict() for hit in self.engine().search(query, top_k=top_k)]

    def show(self, file: str, start: int | None = None, end: int | None = None) -> dict[str, Any]:
        """What ``qa show --json`` prints for a file or citation, or for the span ``start``-``end``
        of a file (see `SHOW`).

        Raises:
            NotIndexed: ``file`` names no indexed file (paths on disk that were not indexed, and
                paths that leave the corpus, included).
            BadInput: only one of ``start`` and ``end``, or a span outside every indexed paragraph.
        """
        from qa import cite

        if (start is None) != (end is None):
            raise BadInput("give both start and end (the citation's offsets), or neither")
        if not file.strip():
            raise BadInput("no file given")
        index = self.engine().index
        name, page, paragraph = cite.lookup(index, file)
        if start is None or end is None:
            if paragraph is None:
                return cite.layer_dict(name, index.layer(name))
            return cite.quote(index, name, paragraph, page).to_dict()
        if start < 0 or end < start:
            raise BadInput(f"start and end must satisfy 0 <= start <= end, got {start} and {end}")
        return cite.quote(index, name, paragraph, page, span=(start, end)).to_dict()

    def info(self) -> dict[str, Any]:
        """The ``qa info --json`` object (see `INFO`)."""
        return describe(self.engine())

    def health(self) -> dict[str, Any]:
        """That the service is up, without opening anything (see `HEALTH`)."""
        return {"status": "ok", "index": str(self.settings.index), "generation": self.generation}
