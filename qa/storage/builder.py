"""Building an index: documents → paragraphs and sentences → vectors and lexical rows → a generation.

    >>> from qa.storage.builder import build
    >>> build([Path("seeds")], Path("index"), encoder)         # doctest: +SKIP

Incremental: files whose bytes are unchanged keep their rows and vectors; only new and
changed files are split and embedded. The result is published atomically (`qa.storage.folder`).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa import dense, formats, lexical
from qa.corpus import (
    Document,
    Reuse,
    Skipped,
    classify,
    discover,
    is_fragment,
    line_of,
    read_document,
    split_paragraphs,
    split_sentences,
)
from qa.errors import BadInput, IndexCorrupt, IndexMissing, QAError
from qa.formats import DERIVED, TextLayer
from qa.settings import APPROX_MIN_VECTORS, MIB
from qa.storage.folder import (
    BUILDING,
    claim,
    exists,
    locked,
    new_generation,
    publish,
    remove_generation,
    remove_unpublished,
)
from qa.storage.local import SCHEMA, Index
from qa.storage.manifest import (
    ARTIFACTS,
    CHUNKING,
    FORMAT_VERSION,
    ONE_PASS,
    STAGED,
    VECTORS,
    checksum,
    fsync_tree,
    rows_of,
    write_json,
)
from qa.storage.milvus import Remote, remote_store
from qa.types import Paragraph

if TYPE_CHECKING:
    import numpy as np

    from qa.embedding import Encoder
    from qa.late_chunking import Passage

# Texts per `encode` call for a model that cannot embed passages (`_embed`).
ENCODE_BLOCK = 4096


@dataclass(frozen=True)
class Embedding:
    """How a build embeds new paragraphs and stores the vectors.

    Attributes:
        one_pass: pool each sentence's in-context vector from its paragraph's pass (late
            chunking) instead of running the model on it again: faster, slightly less accurate
            (README, "Speed").
        status: told in one line about slow steps (the one-time ONNX export).
        approx_min_vectors: from this many vectors of one kind on, an approximate index
            (`qa.dense.plan`).
        float32: on the CPU, run the model with its float weights instead of int8 ones:
            the vectors sentence-transformers gives, about half as fast (README, "Indexing speed").
            Not recorded: vectors of either kind answer alike and may share an index.
    """

    one_pass: bool = False
    status: Callable[[str], None] | None = None
    approx_min_vectors: int = APPROX_MIN_VECTORS
    float32: bool = False
    keep_staged: bool = False  # leave each kind's vectors staged, unindexed, for a remote store to upload

    @property
    def chunking(self) -> dict[str, Any]:
        """What the manifest records: an index built otherwise is rebuilt, not carried."""
        return {**CHUNKING, "embedded": ONE_PASS} if self.one_pass else CHUNKING


_HASHLIKE = re.compile(r"^(?=.*\d)[0-9a-f]{8,}$|^\d+$")


Warn = Callable[[str], None]


ProgressFactory = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class BuildReport:
    """What a build did: counts, warnings, and which files were added, updated, unchanged, removed.

    ``written`` is False when nothing had changed and the index was left as it was.
    """

    folder: Path
    files: int
    paragraphs: int
    sentences: int
    warnings: list[str]
    changes: dict[str, list[str]] = field(default_factory=dict)
    written: bool = True
    embedded: int = 0  # paragraphs embedded (the rest were carried from the previous index)
    export_seconds: float = 0.0  # spent on the model's one-time ONNX export (`qa.pipeline.build_index`)


def title_from_name(name: str) -> str:
    """A readable title from a file name ("Super_Bowl_50.txt" → "Super Bowl 50"), or "".

    Numbering prefixes and hash-like parts ("000_9ccf596f5a5ca5a0.txt") are dropped.
    """
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    words = [w for w in re.split(r"[_\s]+", stem) if w]
    while words and _HASHLIKE.match(words[0].lower()):
        words.pop(0)
    words = [w for w in words if not (len(w) >= 8 and _HASHLIKE.match(w.lower()))]
    return " ".join(words)


def contexts(name: str, paragraphs: Sequence[Paragraph], titles: Sequence[str] | None = None) -> list[str]:
    """For each paragraph, the titles and section heading it sits under, as one line.

    Args:
        titles: by paragraph, the text of a heading it holds as its format parsed it (Markdown's
            ``## Costs`` or a setext heading), "" where none; by default a heading's own text.
    """
    titles = titles or [""] * len(paragraphs)
    own = [title or (p.text.lstrip("#").strip() if p.heading else "") for p, title in zip(paragraphs, titles)]
    title = title_from_name(name)
    doc_title = own[0] if paragraphs and (paragraphs[0].heading or titles[0]) else ""
    section = ""
    result = []
    for paragraph, heading in zip(paragraphs, own):
        if heading and paragraph is not paragraphs[0]:
            section = heading
        parts = [p for p in (title, doc_title, section) if p]
        if paragraph.heading:
            parts = [p for p in parts if p != heading]
        result.append(" — ".join(dict.fromkeys(parts)))
    return result


def build(paths: Sequence[Path], folder: Path, encoder: Encoder, *, rebuild: bool = False,
          max_file_bytes: int | None = None, max_document_bytes: int | None = None, warn: Warn | None = None,
          progress: ProgressFactory | None = None, status: Warn | None = None,
          one_pass: bool = False, approx_min_vectors: int = APPROX_MIN_VECTORS, float32: bool = False,
          store: str | None = None) -> BuildReport:
    """Index the ``.txt``/``.md`` files under ``paths`` into ``folder``, incrementally.

    Files whose bytes are unchanged since the index in ``folder`` was built keep
    their paragraphs, sentences and vectors; only new and changed files are split
    and embedded, and removed files are dropped. The result is written as a new
    generation and published atomically, so readers see the old index or the
    new one, never a mix, whatever happens to this process.

    Args:
        paths: folders (searched recursively) and files.
        folder: the index folder; created if needed.
        encoder: the embedding model; a lazy one is loaded only if something needs embedding.
        rebuild: ignore the existing index and embed everything.
        max_file_bytes: text, Markdown and HTML files larger than this are skipped with a warning.
        max_document_bytes: the same for PDF and DOCX files (by default ``max_file_bytes``).
        warn: called with each one-line warning (skipped or re-decoded files).
        progress: ``progress(label, total)`` returns a callback advanced per embedded paragraph
            (per text, for a model whose vectors are not mean-pooled).
        status: told in one line about slow steps (the one-time ONNX export).
        one_pass, float32: see `Embedding`.
        approx_min_vectors: from this many vectors of one kind on, they get an approximate
            index (see `qa.dense.plan`); fewer get an exact one.
        store: where the index lives: None for what ``folder`` records (the folder itself for a
            new one), ``milvus://HOST:PORT[/DB]`` or a Milvus Lite ``.db`` file (`qa.storage.milvus`).

    Raises:
        BadInput: a path is missing or inside ``folder``, nothing indexable was found, or
            ``folder`` holds files that qa did not make.
        IndexBusy: another build of this folder is running.
    """
    warnings: list[str] = []

    def note(message: str) -> None:
        warnings.append(message)
        if warn:
            warn(message)

    for path in paths:
        if folder.resolve() in (path.resolve(), *path.resolve().parents):
            raise BadInput(f"corpus path {path} is inside the index folder {folder}; "
                           "keep the documents outside it")
    limits = {"pdf": max_document_bytes or max_file_bytes, "docx": max_document_bytes or max_file_bytes}
    extractors = formats.extractors()
    with _extracted(None if rebuild else folder, extractors) as extracted:
        documents = _read_corpus(paths, max_file_bytes, limits, note, skip=folder, extracted=extracted,
                                 progress=progress)
    claim(folder)
    with locked(folder):
        remove_unpublished(folder)
        remote = remote_store(folder, store)
        how = Embedding(one_pass, status, approx_min_vectors, float32, keep_staged=remote is not None)
        previous = None if rebuild else _reusable(folder, encoder, note, how.chunking)
        try:
            stale = _changed_extractors(previous, documents, extractors, note)
            return _update(folder, paths, documents, encoder, previous, progress, warnings, extractors, stale, how,
                           remote)
        finally:
            if previous:
                previous.close()
            if remote:
                remote.close()


def _changed_extractors(previous: Index | None, documents: list[Document], extractors: dict[str, str],
                        note: Warn) -> set[str]:
    """The formats whose extractor changed since ``previous`` was built, each said in a warning
    (like a model change): their files are extracted and embedded again."""
    if previous is None:
        return set()
    old = previous.manifest.get("extraction", {})
    present = {d.format for d in documents}
    stale = {fmt for fmt, now in extractors.items() if fmt in present and old.get(fmt) != now}
    for fmt in sorted(stale):
        count = sum(d.format == fmt for d in documents)
        note(f"re-extracting {count} {fmt} file{'s' if count != 1 else ''}: the index was built with "
             f"{old.get(fmt, 'another extractor')}, not {extractors[fmt]}")
    return stale


def _update(folder: Path, paths: Sequence[Path], documents: list[Document], encoder: Encoder,
            previous: Index | None, progress: ProgressFactory | None, warnings: list[str],
            extractors: dict[str, str], stale: set[str], how: Embedding, remote: Remote | None = None) -> BuildReport:
    """Write and publish a new generation, unless nothing changed since ``previous``: in ``folder``,
    or staged there and published in a ``remote`` store.

    A file is unchanged when its bytes are, its format's extractor is (``stale`` lists the
    formats whose extractor changed) and, for a derived format, its text layer is too.
    """
    old = {f["name"]: f for f in previous.manifest["files"]} if previous else {}

    def same(d: Document) -> bool:
        if old[d.name]["sha256"] != d.sha256 or d.format in stale:
            return False
        return d.format not in DERIVED or previous is None or previous.layer(d.name).text == d.text

    changes = {
        "added": [d.name for d in documents if d.name not in old],
        "updated": [d.name for d in documents if d.name in old and not same(d)],
        "unchanged": [d.name for d in documents if d.name in old and same(d)],
        "removed": sorted(set(old) - {d.name for d in documents}),
    }
    roots = [str(Path(p).resolve()) for p in paths]
    moving = remote is not None and previous is not None and "store" not in previous.manifest  # local to Milvus
    if previous and not (changes["added"] or changes["updated"] or changes["removed"]) \
            and previous.manifest["corpus"] == roots and not moving:
        counts = previous.manifest["counts"]
        _refresh_stats(previous, documents)
        return BuildReport(folder, counts["files"], counts["paragraphs"], counts["sentences"],
                           warnings, changes, written=False)
    generation = new_generation(folder)
    try:
        counts = _write(generation, roots, documents, encoder, previous, set(changes["unchanged"]), progress,
                        extractors, how)
        if remote is None:
            publish(folder, generation)
        else:
            remote.publish(generation)
    except BaseException:
        remove_generation(generation)
        raise
    if remote is not None:  # what was staged here now lives in the store
        remove_generation(generation)
    files, paragraphs, sentences, embedded = counts
    return BuildReport(folder, files, paragraphs, sentences, warnings, changes, written=True, embedded=embedded)


@contextlib.contextmanager
def _extracted(folder: Path | None, extractors: dict[str, str]) -> Iterator[Reuse | None]:
    """The text layers the index in ``folder`` stored, for files whose bytes and extractor are
    unchanged, so that `qa index` with nothing changed extracts nothing again. The index is only
    read, before the build takes its lock: whatever it holds is checked against the file's hash
    and the extractor, and the build compares every layer with the one it replaces."""
    try:
        index = Index.open(folder) if folder is not None and exists(folder) else None
    except QAError:  # damaged, old or not an index at all: the build itself says so
        index = None
    if index is None:
        yield None
        return
    files = {f["name"]: f for f in index.manifest["files"]}
    built_with = index.manifest.get("extraction", {})

    def reuse(name: str, fmt: str, sha256: str) -> TextLayer | None:
        entry = files.get(name)
        if entry is None or entry["sha256"] != sha256 or entry.get("format") != fmt or \
                built_with.get(fmt) != extractors.get(fmt):
            return None
        return index.layer(name)

    try:
        yield reuse
    finally:
        index.close()


def _read_corpus(paths: Sequence[Path], max_file_bytes: int | None, limits: dict[str, int | None], note: Warn,
                 skip: Path, extracted: Reuse | None = None, progress: ProgressFactory | None = None
                 ) -> list[Document]:
    """Read (or extract) every indexable file, under a bar from the first; each one that cannot
    be read is one warning."""
    files, skipped = discover(paths, skip=skip)
    for message in skipped:
        note(message)
    documents: list[Document] = []
    advance = progress(f"Reading {len(files):,} file{'s' if len(files) != 1 else ''}", len(files)) \
        if progress and files else None
    for number, (path, name) in enumerate(files):
        if advance and number:
            advance(1)  # the file before this one is read (or skipped)
        try:
            size = path.stat().st_size
            fmt = formats.format_of(path) or "text"
            limit = limits.get(fmt, max_file_bytes)
            if limit is not None and size > limit:
                setting = "QA_MAX_DOCUMENT_MB" if fmt in limits else "QA_MAX_FILE_MB"
                raise Skipped(f"{size / MIB:.1f} MiB is over the {limit / MIB:g} MiB limit ({setting})")
            document, warning = read_document(path, name, extracted)
        except Skipped as exc:
            note(f"skipped {path}: {exc}")
            continue
        except OSError as exc:
            note(f"skipped {path}: unreadable ({exc.strerror or exc})")
            continue
        if warning:
            note(f"{path}: {warning}")
        documents.append(document)
    if advance:
        advance(1)
    if not documents:
        raise BadInput(f"no indexable documents ({', '.join(formats.SUFFIXES)}) in {', '.join(map(str, paths))}")
    return documents


def _reusable(folder: Path, encoder: Encoder, note: Warn, chunking: dict[str, Any]) -> Index | None:
    """The current index, if its contents can be carried into the next build."""
    if not exists(folder):
        return None
    try:
        previous = Index.open(folder)
    except IndexMissing:  # removed since `exists` looked
        return None
    except IndexCorrupt as exc:
        note(f"rebuilding from scratch: {exc.problem}")
        return None
    model = previous.manifest["model"]
    if (model["name"], model["fingerprint"]) != (encoder.name, encoder.fingerprint):
        note(f"rebuilding from scratch: the index was built with {model['name']}, not {encoder.name}")
    elif previous.manifest.get("chunking") != chunking:
        note("rebuilding from scratch: the index was built with other chunking settings")
    else:
        return previous
    previous.close()
    return None


def _refresh_stats(index: Index, documents: list[Document]) -> None:
    """Record new sizes and modification times of unchanged files (touched, copied), so that
    `stale` does not keep reporting them."""
    paths = {d.name: d.path for d in documents}
    files = [{**entry, **_stat(paths[entry["name"]])} for entry in index.manifest["files"]]
    if files != index.manifest["files"]:
        index.manifest["files"] = files
        index.save_manifest()


def _stat(path: Path) -> dict[str, Any]:
    info = path.stat()
    return {"path": str(path.resolve()), "size": info.st_size, "mtime_ns": info.st_mtime_ns}


def _write(generation: Path, roots: list[str], documents: list[Document], encoder: Encoder,
           previous: Index | None, unchanged: set[str], progress: ProgressFactory | None,
           extractors: dict[str, str], how: Embedding) -> tuple[int, int, int, int]:
    import numpy as np

    generation.chmod(0o755)
    db = sqlite3.connect(generation / "store.sqlite")
    db.executescript(SCHEMA)
    lexical.create(db, "para_fts")
    lexical.create(db, "sent_fts")
    carried: dict[str, dict[int, int]] = {kind: {} for kind in VECTORS}  # new row id -> the previous index's
    fresh: list[Fresh] = []  # paragraphs to embed, with their sentences
    files_meta = []
    next_id = {"paragraphs": 0, "sentences": 0}
    canonical: dict[str, int] = {}  # what is embedded of a paragraph, whitespace aside -> its first copy
    for file_id, document in enumerate(documents):
        if previous is not None and document.name in unchanged:
            rows = _carried_rows(previous, document.name)
        else:
            rows = _split(document)
        paragraph_count = 0
        db.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (file_id, document.name, str(document.path.resolve()), document.sha256,
                    document.path.stat().st_size, document.encoding, document.format))
        db.execute("INSERT INTO texts VALUES (?, ?)", (file_id, document.text))
        db.executemany("INSERT INTO pages VALUES (?, ?, ?, ?, ?)",
                       [(file_id, page.page, page.start, page.end, int(page.ocr)) for page in document.pages])
        db.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?)",
                       [(file_id, r.start, r.end, r.role, r.title) for r in document.regions])
        for paragraph, context, embedded, old_pid, sentences in rows:
            pid = next_id["paragraphs"]
            next_id["paragraphs"] += 1
            paragraph_count += 1
            first = canonical.setdefault(" ".join(embedded.split()), pid)
            db.execute("INSERT INTO paragraphs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (pid, file_id, paragraph.number, paragraph.start, paragraph.end, paragraph.line,
                        int(paragraph.heading), paragraph.text, context, first))
            if first == pid:
                lexical.add(db, "para_fts", [(pid, embedded)])
            if old_pid is None:
                fresh.append(Fresh(pid, context, embedded[len(context) + 1:] if context else embedded, []))
            else:
                carried["paragraphs"][pid] = old_pid
            for start, end, line, text, matched, old_sid in sentences:
                sid = next_id["sentences"]
                next_id["sentences"] += 1
                db.execute("INSERT INTO sentences VALUES (?, ?, ?, ?, ?, ?)", (sid, pid, start, end, line, text))
                if first == pid:
                    lexical.add(db, "sent_fts", [(sid, matched)])
                if old_sid is None:
                    fresh[-1].sentences.append((sid, matched))
                else:
                    carried["sentences"][sid] = carried["sentences_in_context"][sid] = old_sid
        files_meta.append({"name": document.name, "sha256": document.sha256, "encoding": document.encoding,
                           "format": document.format, "paragraphs": paragraph_count, **_stat(document.path)})
    db.commit()
    db.close()

    staged = _Staged(generation, {kind: next_id[rows_of(kind)] for kind in VECTORS})
    for kind in VECTORS:
        pairs = list(carried[kind].items())
        for start in range(0, len(pairs), 1 << 16):
            part = pairs[start : start + (1 << 16)]
            staged.put(kind, [row for row, _ in part],
                       previous.dense_vectors(kind, [old for _, old in part]))  # type: ignore[union-attr]
    _embed(encoder, fresh, len(documents) - len(unchanged), progress, how, staged.put)
    dimension = staged.dimension or (previous.manifest["model"]["dimension"] if previous else None) or \
        encoder.dimension
    structures = {}
    for kind in VECTORS:
        if how.keep_staged:  # a store that indexes vectors itself (Milvus) reads them from the staged files
            structures[kind] = dense.Plan()
            if kind not in staged.files and next_id[rows_of(kind)]:
                staged.put(kind, [], np.zeros((0, dimension), np.float32))
            continue
        vectors = staged.files[kind] if kind in staged.files else np.zeros((next_id[rows_of(kind)], dimension),
                                                                           np.float32)
        structures[kind] = dense.plan(len(vectors), how.approx_min_vectors)
        dense.save(dense.build(vectors, structures[kind]), generation / f"{kind}.faiss")
        staged.discard(kind)

    manifest = {
        "format_version": FORMAT_VERSION,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": {"name": encoder.name, "dimension": int(dimension), "fingerprint": encoder.fingerprint},
        "chunking": how.chunking,
        "extraction": extractors,
        "corpus": roots,
        "files": files_meta,
        "counts": {"files": len(documents), "paragraphs": next_id["paragraphs"],
                   "sentences": next_id["sentences"], "copies": next_id["paragraphs"] - len(canonical)},
        "dense": {kind: how.to_dict() for kind, how in structures.items()},
        "artifacts": {} if how.keep_staged else {name: checksum(generation / name) for name in ARTIFACTS},
    }
    if previous is not None and "calibration" in previous.manifest:
        manifest["calibration"] = previous.manifest["calibration"]
    write_json(generation / "manifest.json", manifest)
    (generation / BUILDING).unlink()
    fsync_tree(generation)
    return len(documents), next_id["paragraphs"], next_id["sentences"], len(fresh)


# A sentence to store: start, end, line, its text, what is embedded and matched of it, its id in the previous index.
SentenceRow = tuple[int, int, int, str, str, "int | None"]


Row = tuple[Paragraph, str, str, "int | None", list[SentenceRow]]


def with_context(context: str, text: str) -> str:
    """What is embedded for a paragraph or sentence: its titles and heading, then its text.

    A sentence alone often never names its subject ("The game was played on
    February 7") when the question does ("When was Super Bowl 50 played?").
    """
    return f"{context}\n{text}" if context else text


def _matched(fmt: str) -> Callable[[str], str]:
    """What is embedded and matched of a text in this format: Markdown without its inline
    markup (a link's text, not its URL), any other format as it is."""
    if fmt == "markdown":
        from qa.formats.markdown import plain

        return plain
    return lambda text: text


def _split(document: Document) -> list[Row]:
    """Paragraphs (with context and embedded text) and their sentences, for a new or changed file.

    The format's regions decide what each paragraph is (`qa.corpus.classify`): headings give
    context, tables are passages without sentences, code and front matter are left out.
    """
    matched = _matched(document.format)
    paragraphs, parts = [], []
    found = split_paragraphs(document.name, document.text)
    for paragraph, part in zip(found, classify(found, document.regions)):
        if part.role == "skip":
            continue  # its number stays taken, so the next paragraph's is what the blank-line rule gives
        if part.role == "heading" and not paragraph.heading:
            paragraph = Paragraph(paragraph.file, paragraph.number, paragraph.start, paragraph.end,
                                  paragraph.line, paragraph.text, heading=True)
        paragraphs.append(paragraph)
        parts.append(part)
    rows: list[Row] = []
    for paragraph, part, context in zip(paragraphs, parts,
                                        contexts(document.name, paragraphs, [p.title for p in parts])):
        embedded = with_context(context, matched(paragraph.text))
        sentences: list[SentenceRow] = []
        for start, end in part.spans if not paragraph.heading else ():
            piece = Paragraph(paragraph.file, paragraph.number, start, end, paragraph.line, document.text[start:end])
            if is_fragment(piece.text):
                continue  # headings and bare list items: context only
            sentences += [(s, e, line_of(document.text, s), document.text[s:e], matched(document.text[s:e]), None)
                          for s, e in split_sentences(piece)]
        rows.append((paragraph, context, embedded, None, sentences))
    return rows


def _carried_rows(previous: Index, name: str) -> list[Row]:
    """An unchanged file's rows from the previous index, with their old ids for the vectors."""
    rows: list[Row] = []
    records = previous.file_rows(name)
    matched = _matched(records[0][8] if records else "text")
    sentences = previous.sentences([r[0] for r in records])
    by_paragraph: dict[int, list[SentenceRow]] = {}
    for sid, s in sentences.items():
        by_paragraph.setdefault(s.paragraph, []).append((s.start, s.end, s.line, s.text, matched(s.text), sid))
    for pid, number, start, end, line, heading, text, context, _ in records:
        paragraph = Paragraph(name, number, start, end, line, text, bool(heading))
        rows.append((paragraph, context, with_context(context, matched(text)), pid, by_paragraph.get(pid, [])))
    return rows


@dataclass
class Fresh:
    """A new or changed paragraph to embed: its row, context, text and sentences as embedded."""

    row: int
    context: str
    text: str
    sentences: list[tuple[int, str]]  # (sentence row, text)

    def passage(self) -> Passage:
        """The paragraph as `qa.late_chunking` reads it, each sentence found in its text in order."""
        from qa.late_chunking import Passage

        spans: list[tuple[int, int] | None] = []
        cursor = 0
        for _, text in self.sentences:
            at = self.text.find(text, cursor)
            spans.append(None if at < 0 else (at, at + len(text)))
            cursor = cursor if at < 0 else at + len(text)
        return Passage(self.context, self.text, tuple(spans), tuple(text for _, text in self.sentences))


class _Staged:
    """Each kind's vectors for the generation being built, in a file in it (`dense.VectorFile`)
    as they are carried over or embedded, so that the build's memory does not grow with the corpus."""

    def __init__(self, generation: Path, rows: dict[str, int]):
        self.generation, self.rows = generation, rows
        self.files: dict[str, dense.VectorFile] = {}
        self.dimension: int | None = None

    def put(self, kind: str, rows: Sequence[int], vectors: np.ndarray) -> None:
        if kind not in self.files:
            self.dimension = self.dimension or int(vectors.shape[1])
            self.files[kind] = dense.VectorFile(self.generation / STAGED[kind], self.rows[kind], self.dimension)
        self.files[kind].write(rows, vectors)

    def discard(self, kind: str) -> None:
        if kind in self.files:
            self.files.pop(kind).path.unlink()


Put = Callable[[str, Sequence[int], "np.ndarray"], None]


"""``put(kind, rows, vectors)``: where `_embed` sends vectors as they are made."""


def _embed(encoder: Encoder, fresh: list[Fresh], files: int, progress: ProgressFactory | None,
           how: Embedding, put: Put) -> None:
    """Embed new paragraphs and their sentences, sending each kind's vectors to ``put`` by row,
    a few hundred paragraphs at a time.

    Through `qa.late_chunking` where the model allows it (mean-pooled models: length-sorted
    batches on onnxruntime, and with ``how.one_pass`` the in-context vectors pooled from the
    paragraph's pass), else with the encoder's own ``encode``.
    """
    if not fresh:
        return
    label = f"Embedding {len(fresh):,} paragraphs of {files:,} file{'s' if files != 1 else ''}"
    embed_passages = getattr(encoder, "embed_passages", None)
    chunks = None if embed_passages is None else \
        embed_passages([f.passage() for f in fresh], _bar(progress, label, len(fresh)), how.status, how.one_pass,
                       how.float32)
    if chunks is not None:
        done = 0
        for vectors in chunks:
            part = fresh[done : done + len(vectors.paragraphs)]
            done += len(part)
            sentences = [row for f in part for row, _ in f.sentences]
            put("paragraphs", [f.row for f in part], vectors.paragraphs)
            put("sentences", sentences, vectors.sentences)
            put("sentences_in_context", sentences, vectors.sentences_in_context)
        return
    texts = {"paragraphs": [(f.row, with_context(f.context, f.text)) for f in fresh],
             "sentences": [(row, text) for f in fresh for row, text in f.sentences],
             "sentences_in_context": [(row, with_context(f.context, text)) for f in fresh for row, text in f.sentences]}
    tick = _bar(progress, f"{label} and their sentences", sum(map(len, texts.values())))
    for kind, rows in texts.items():
        for start in range(0, len(rows), ENCODE_BLOCK):
            block = rows[start : start + ENCODE_BLOCK]
            put(kind, [row for row, _ in block], encoder.encode([text for _, text in block], progress=tick))


def _bar(progress: ProgressFactory | None, label: str, total: int) -> Callable[[int], None] | None:
    """A progress callback whose bar appears on its first advance: an encoder that turns out not
    to embed passages (`_embed`) leaves no bar standing still."""
    if progress is None:
        return None
    advance: Callable[[int], None] | None = None

    def tick(n: int) -> None:
        nonlocal advance
        if advance is None:
            advance = progress(label, total)
        advance(n)

    return tick

