"""Index stage: build an index folder from documents, and open one to read.

    >>> from qa.index import build, Index
    >>> build([Path("seeds")], Path("index"), encoder)         # doctest: +SKIP
    >>> Index.open(Path("index")).manifest["counts"]            # doctest: +SKIP
    {'files': 2, 'paragraphs': 38, 'sentences': 71}

Layout of an index folder::

    index/
      qa-index.json      marks the folder as qa's: qa writes and removes only in folders holding it
      CURRENT            name of the live generation (replaced atomically)
      PREVIOUS           the generation it replaced, kept for readers until the next build
      gen-<time>-<8>/    one complete build
        manifest.json    format, model, settings, source hashes, artifact checksums
        store.sqlite     files, their text layers and pages, paragraphs (each naming its first
                         copy), sentences, FTS5 tables (first copies only)
        paragraphs.faiss paragraph vectors (heading context + text)
        sentences.faiss  sentence vectors (the sentence alone)
        sentences_in_context.faiss  sentence vectors (heading context + sentence)

Each ``.faiss`` file is an exact flat index, or, from `qa.settings.APPROX_MIN_VECTORS`
vectors on, an IVF-Flat one that is memory-mapped on load (see `qa.dense`); the
manifest's ``dense`` entry says which, with its parameters.

A build writes a new generation and only then points CURRENT at it, so a
reader sees either the old index or the new one, never a mix. A folder becomes
an index only when it is new or empty, and clean-up removes only generations
qa made, file by file, never through a link.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
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
from qa.errors import BadInput, IndexBusy, IndexCorrupt, IndexMissing, QAError
from qa.formats import DERIVED, Page, Region, TextLayer
from qa.formats.base import page_of
from qa.settings import APPROX_MIN_VECTORS
from qa.types import Paragraph, Sentence

if TYPE_CHECKING:
    import numpy as np

    from qa.embedding import Encoder
    from qa.late_chunking import Passage

# 2: files carry path, size and mtime; chunking carries a version. 3: sentences in context.
# 4: files carry their format, text layer and pages (PDF, HTML, DOCX); extractors in the manifest.
# 5: paragraphs carry their canonical copy; only canonical copies are in the lexical index.
# 6: a vector file may be an IVF (approximate) index; the manifest's "dense" says which, per kind.
# 7: pages say whether their text was read with OCR.
FORMAT_VERSION = 7
CURRENT = "CURRENT"
PREVIOUS = "PREVIOUS"
LOCK = ".lock"
MARKER = "qa-index.json"
# The mark's own version is the folder layout's (this file, CURRENT, PREVIOUS, .lock, generations),
# not the generations' format, which each manifest carries.
MARK = {"made_by": "qa", "layout_version": 1,
        "note": "qa writes, replaces and removes files only in folders holding this file, and only its own"}
BUILDING = "BUILDING"  # in a generation until its manifest is written: what a killed build leaves
# The names `_new_generation` gives; earlier versions' tempfile.mkdtemp names have the same shape.
_GENERATION = re.compile(r"gen-[0-9]{8}T[0-9]{6}-[a-z0-9_]{8}")
# What is embedded: paragraphs with their context, and sentences both alone and with it.
VECTORS = ("paragraphs", "sentences", "sentences_in_context")
# Where a build keeps each kind's vectors until they are indexed (`_Staged`), in its generation.
STAGED = {kind: f".{kind}.f32" for kind in VECTORS}
# Texts per `encode` call for a model that cannot embed passages (`_embed`).
ENCODE_BLOCK = 4096
ARTIFACTS = ("store.sqlite", *(f"{kind}.faiss" for kind in VECTORS))
# Recorded in the manifest: an index built with other settings is rebuilt, not reused.
CHUNKING = {"version": 6,
            "bounds": "paragraphs <= 4000 characters, sentences <= 1000, cut at the best boundary",
            "lexical": "folded, dotted acronyms closed up, pronoun us dropped",
            "embedded": "context + paragraph; sentence alone and context + sentence",
            "paragraphs": "blank-line blocks, else lines", "sentences": "blingfire",
            "context": "file title, document title, section heading", "fragments": "<= 20 words, no end mark",
            "markdown": "parsed: headings are context; code, front matter and tables are never answers; "
                        "links reduced to their text where embedded and matched"}
# What `--one-pass` records instead: the in-context sentence vectors pooled from the paragraph's pass.
ONE_PASS = ("context + paragraph; sentence alone; context + sentence pooled from the paragraph's pass "
            "(late chunking; a sentence past the window gets its own pass)")


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

    @property
    def chunking(self) -> dict[str, Any]:
        """What the manifest records: an index built otherwise is rebuilt, not carried."""
        return {**CHUNKING, "embedded": ONE_PASS} if self.one_pass else CHUNKING


# Everything a build writes into a generation: clean-up removes these names and nothing else.
_GENERATION_FILES = (*ARTIFACTS, "store.sqlite-journal", "manifest.json.tmp", "manifest.json", BUILDING,
                     *STAGED.values())
SCHEMA = """
CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT UNIQUE, path TEXT, sha256 TEXT,
                    size INTEGER, encoding TEXT, format TEXT);
CREATE TABLE texts (file_id INTEGER PRIMARY KEY, text TEXT);
CREATE TABLE pages (file_id INTEGER, page INTEGER, start INTEGER, end INTEGER, ocr INTEGER,
                    PRIMARY KEY (file_id, page));
CREATE TABLE regions (file_id INTEGER, start INTEGER, end INTEGER, role TEXT, title TEXT);
CREATE INDEX regions_by_file ON regions(file_id);
CREATE TABLE paragraphs (id INTEGER PRIMARY KEY, file_id INTEGER, number INTEGER,
                         start INTEGER, end INTEGER, line INTEGER, heading INTEGER,
                         text TEXT, context TEXT, canonical INTEGER);
CREATE TABLE sentences (id INTEGER PRIMARY KEY, paragraph_id INTEGER, start INTEGER,
                        end INTEGER, line INTEGER, text TEXT);
CREATE INDEX sentences_by_paragraph ON sentences(paragraph_id);
"""
_FTS = {"paragraphs": "para_fts", "sentences": "sent_fts"}
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
          one_pass: bool = False, approx_min_vectors: int = APPROX_MIN_VECTORS, float32: bool = False) -> BuildReport:
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
        documents = _read_corpus(paths, max_file_bytes, limits, note, skip=folder, extracted=extracted)
    _claim(folder)
    with _locked(folder):
        _remove_unpublished(folder)
        how = Embedding(one_pass, status, approx_min_vectors, float32)
        previous = None if rebuild else _reusable(folder, encoder, note, how.chunking)
        try:
            stale = _changed_extractors(previous, documents, extractors, note)
            return _update(folder, paths, documents, encoder, previous, progress, warnings, extractors, stale, how)
        finally:
            if previous:
                previous.close()


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
            extractors: dict[str, str], stale: set[str], how: Embedding) -> BuildReport:
    """Write and publish a new generation, unless nothing changed since ``previous``.

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
    if previous and not (changes["added"] or changes["updated"] or changes["removed"]) \
            and previous.manifest["corpus"] == roots:
        counts = previous.manifest["counts"]
        _refresh_stats(previous, documents)
        return BuildReport(folder, counts["files"], counts["paragraphs"], counts["sentences"],
                           warnings, changes, written=False)
    generation = _new_generation(folder)
    try:
        counts = _write(generation, roots, documents, encoder, previous, set(changes["unchanged"]), progress,
                        extractors, how)
        _publish(folder, generation)
    except BaseException:
        _remove_generation(generation)
        raise
    files, paragraphs, sentences, embedded = counts
    return BuildReport(folder, files, paragraphs, sentences, warnings, changes, written=True, embedded=embedded)


@contextlib.contextmanager
def _extracted(folder: Path | None, extractors: dict[str, str]) -> Iterator[Reuse | None]:
    """The text layers the index in ``folder`` stored, for files whose bytes and extractor are
    unchanged, so that `qa index` with nothing changed extracts nothing again. The index is only
    read, before the build takes its lock: whatever it holds is checked against the file's hash
    and the extractor, and the build compares every layer with the one it replaces."""
    try:
        index = Index.open(folder) if folder is not None and (folder / CURRENT).is_file() else None
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
                 skip: Path, extracted: Reuse | None = None) -> list[Document]:
    """Read (or extract) every indexable file; each one that cannot be read is one warning."""
    files, skipped = discover(paths, skip=skip)
    for message in skipped:
        note(message)
    documents: list[Document] = []
    for path, name in files:
        try:
            size = path.stat().st_size
            fmt = formats.format_of(path) or "text"
            limit = limits.get(fmt, max_file_bytes)
            if limit is not None and size > limit:
                setting = "QA_MAX_DOCUMENT_MB" if fmt in limits else "QA_MAX_FILE_MB"
                raise Skipped(f"{size / 1e6:.1f} MB is over the {limit / 1e6:g} MB limit ({setting})")
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
        _write_json(index.generation / "manifest.json", index.manifest)


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

    staged = _Staged(generation, {kind: next_id[_rows(kind)] for kind in VECTORS})
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
        vectors = staged.files[kind] if kind in staged.files else np.zeros((next_id[_rows(kind)], dimension),
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
        "artifacts": {name: _checksum(generation / name) for name in ARTIFACTS},
    }
    if previous is not None and "calibration" in previous.manifest:
        manifest["calibration"] = previous.manifest["calibration"]
    _write_json(generation / "manifest.json", manifest)
    (generation / BUILDING).unlink()
    _fsync_tree(generation)
    return len(documents), next_id["paragraphs"], next_id["sentences"], len(fresh)


# A sentence to store: start, end, line, its text, what is embedded and matched of it, its id in the previous index.
SentenceRow = tuple[int, int, int, str, str, "int | None"]
Row = tuple[Paragraph, str, str, "int | None", list[SentenceRow]]


def _rows(kind: str) -> str:
    """The table whose rows a kind of vector embeds."""
    return "paragraphs" if kind == "paragraphs" else "sentences"


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
    records = previous.db.execute(
        "SELECT p.id, p.number, p.start, p.end, p.line, p.heading, p.text, p.context, f.format FROM paragraphs p "
        "JOIN files f ON f.id = p.file_id WHERE f.name = ? ORDER BY p.id", (name,)).fetchall()
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


def _checksum(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    _replace_text(path, json.dumps(data, indent=2, ensure_ascii=False))


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(folder: Path, generation: Path) -> None:
    """Point CURRENT at ``generation`` atomically, then remove all but it and the one it replaced.

    The replaced generation (named in PREVIOUS) stays until the next build, so a
    reader that opened it a moment before the switch can finish its question.
    """
    replaced = _pointed(folder, CURRENT)
    _replace_text(folder / PREVIOUS, replaced if _names_generation(folder, replaced) else "")
    _replace_text(folder / CURRENT, generation.name)
    _fsync_dir(folder)
    _remove_unpublished(folder)


def _replace_text(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text`` and a newline, through a fsynced ``.tmp`` beside it.

    Neither is followed if it is a link: the rename replaces a link itself, and a link
    named like the temporary file is an error, not a way to write elsewhere.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _pointed(folder: Path, pointer: str) -> str:
    """The name that CURRENT or PREVIOUS holds, unchecked; "" when it is absent or not a plain file."""
    path = folder / pointer
    if path.is_symlink() or not path.is_file():
        return ""
    with path.open("rb") as handle:
        return handle.read(100).decode("utf-8", "replace").strip()


def _names_generation(folder: Path, name: str) -> bool:
    """Whether a name read from CURRENT or PREVIOUS may name a generation: a name qa gives, and
    not a link's, so that following it never leads out of ``folder``."""
    return bool(_GENERATION.fullmatch(name)) and not (folder / name).is_symlink()


def _claim(folder: Path) -> None:
    """Make sure qa may write in ``folder``: it carries qa's mark, or gets it (see `_marked`).

    Raises:
        BadInput: the folder holds files qa did not make; then nothing is written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if not _marked(folder):
        _write_json(folder / MARKER, MARK)


def _marked(folder: Path) -> bool:
    """Whether ``folder`` carries qa's mark; False for one that may get it: an empty folder, or one
    holding only what an earlier qa wrote before it marked its folders. A link given as the folder
    is followed: what counts is the folder it leads to.

    Raises:
        BadInput: the folder holds anything else.
    """
    mark = folder / MARKER
    if not mark.is_symlink() and mark.is_file():
        try:
            data = json.loads(mark.read_text(encoding="utf-8"))
        except ValueError:
            data = None  # not qa's mark
        if isinstance(data, dict) and data.get("made_by") == "qa":
            return True
    foreign = [path.name for path in sorted(folder.iterdir()) if not _unmarked_but_ours(path)]
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise BadInput(f"{folder} is not empty and not a qa index (it holds {foreign[0]}{more}); "
                       "give --index (or QA_INDEX) a new or empty folder")
    return False


def _unmarked_but_ours(path: Path) -> bool:
    """Whether an entry of an unmarked folder is one that qa made: CURRENT or PREVIOUS naming a
    generation, an empty .lock, a generation, or the mark another build is writing this moment."""
    if path.name not in (CURRENT, PREVIOUS, LOCK, f"{MARKER}.tmp"):
        return _is_generation(path)
    if path.is_symlink() or not path.is_file():
        return False
    if path.name == LOCK:
        return path.stat().st_size == 0
    if path.name == f"{MARKER}.tmp":
        return True
    name = _pointed(path.parent, path.name)
    return _names_generation(path.parent, name) or (path.name == PREVIOUS and name == "")


def _new_generation(folder: Path) -> Path:
    """A new, empty generation folder, marked unfinished until its manifest is written."""
    while True:
        generation = folder / f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
        try:
            generation.mkdir()
        except FileExistsError:
            continue
        (generation / BUILDING).touch()
        return generation


def _is_generation(path: Path) -> bool:
    """Whether ``path`` is a generation that qa made: named as qa names them, a real folder
    (not a link), holding only files a build writes, with a manifest, the unfinished-build
    mark, or nothing (a build killed as it began)."""
    if not _GENERATION.fullmatch(path.name) or path.is_symlink() or not path.is_dir():
        return False
    entries = list(path.iterdir())
    if not all(p.name in _GENERATION_FILES and not p.is_symlink() and p.is_file() for p in entries):
        return False
    return not entries or any(p.name in ("manifest.json", BUILDING) for p in entries)


def _remove_generation(generation: Path) -> None:
    """Remove a generation that qa made: the files a build writes, by name, then the folder if
    that emptied it. Its manifest and mark go last, so that a removal cut short leaves a
    generation that `_is_generation` still recognises."""
    for name in _GENERATION_FILES:
        with contextlib.suppress(FileNotFoundError):
            (generation / name).unlink()
    with contextlib.suppress(OSError):
        generation.rmdir()


def _remove_unpublished(folder: Path) -> None:
    """Remove the generations qa made that are neither current nor previous: old ones, and killed
    builds'. Nothing else in the folder is touched, whatever its name."""
    keep = {_pointed(folder, CURRENT), _pointed(folder, PREVIOUS)}
    for path in folder.iterdir():
        if path.name not in keep and _is_generation(path):
            _remove_generation(path)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(folder / LOCK, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
    with open(fd, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusy(f"another build of {folder} is running; try again when it ends") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_HEADERS = {"store.sqlite": b"SQLite format 3\x00"}


def _header(manifest: dict[str, Any], name: str) -> bytes:
    """The bytes an artifact starts with: SQLite's, or FAISS's for the structure its manifest records."""
    if name.endswith(".faiss"):
        return dense.HEADERS[manifest["dense"][name.removesuffix(".faiss")]["type"]]
    return _HEADERS[name]


def _corrupt(folder: Path, problem: str) -> IndexCorrupt:
    return IndexCorrupt(f"index in {folder} {problem}; rebuild it with `qa index --rebuild`",
                        f"the index in {folder} {problem}")


def exists(folder: Path) -> bool:
    """Whether ``folder`` holds a published index.

    Raises:
        BadInput: ``folder`` holds files that qa did not make, so no index can be built there.
    """
    if (folder / CURRENT).is_file():
        return True
    if folder.is_dir():
        _marked(folder)
    return False


class Index:
    """A published index, open for reading. Cheap to open: FAISS files load on first use."""

    def __init__(self, folder: Path, generation: Path, manifest: dict[str, Any]):
        self.folder = folder
        self.generation = generation
        self.manifest = manifest
        uri = (generation / "store.sqlite").resolve().as_uri() + "?mode=ro"
        self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._faiss: dict[str, Any] = {}
        self._skipped: dict[str, Any] = {}
        self._page_cache: dict[str, tuple[Page, ...]] = {}

    @classmethod
    def open(cls, folder: Path) -> Index:
        """Open the index in ``folder``, checking what is cheap to check on every load.

        Checked here: the manifest and format version; every artifact's presence,
        size and file header (a vector file's, that of the structure the manifest records);
        the SQLite schema; row counts against the manifest.
        Artifact checksums and source files are checked by `verify` (``qa index --verify``).

        Raises:
            IndexMissing: no index has been built there.
            IndexCorrupt: files are missing, truncated, damaged or of an unknown format, or
                CURRENT names anything but one of its generation folders.
            BadInput: ``folder`` holds files that qa did not make (it is not an index).
        """
        if not exists(folder):
            raise IndexMissing(f"no index in {folder}; build one with `qa index`")
        name = _pointed(folder, CURRENT)
        if not _names_generation(folder, name):
            _marked(folder)  # someone's own folder, with a file named CURRENT, is not a damaged index
            raise _corrupt(folder, f"has CURRENT naming {name!r}, which is not one of its generation folders")
        generation = folder / name
        try:
            manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise _corrupt(folder, "has no readable manifest") from None
        if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
            version = manifest.get("format_version") if isinstance(manifest, dict) else None
            raise _corrupt(folder, f"has format {version!r}, this qa reads {FORMAT_VERSION}")
        try:
            for name in ARTIFACTS:
                path = generation / name
                meta = manifest["artifacts"][name]
                if not path.is_file() or path.stat().st_size != meta["size"]:
                    raise _corrupt(folder, f"file {name} is missing or truncated")
                with path.open("rb") as handle:
                    if not handle.read(16).startswith(_header(manifest, name)):
                        raise _corrupt(folder, f"file {name} is damaged (bad header)")
            index = cls(folder, generation, manifest)
            counts = manifest["counts"]
            for table in ("paragraphs", "sentences"):
                rows = index.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                if rows != counts[table]:
                    raise _corrupt(folder, f"holds {rows} {table}, its manifest says {counts[table]}")
        except (KeyError, TypeError):
            raise _corrupt(folder, "has an incomplete manifest") from None
        except sqlite3.DatabaseError as exc:
            raise _corrupt(folder, f"file store.sqlite is damaged ({exc})") from None
        return index

    def verify(self) -> list[str]:
        """Everything `open` does not check: artifact checksums, FAISS contents (vector counts, the
        structure and parameters the manifest records, and inside an approximate index that every
        row is held once and found where it is: `qa.dense.check`), SQLite integrity, and whether
        the source files still match the hashes they were indexed with.

        Returns:
            One line per problem; empty when all is well.
        """
        problems = []
        for name, meta in self.manifest["artifacts"].items():
            if _checksum(self.generation / name)["sha256"] != meta["sha256"]:
                problems.append(f"{name}: checksum differs from the manifest (damaged)")
        for kind in VECTORS:
            try:
                index = self.faiss(kind)
            except IndexCorrupt as exc:
                problems.append(str(exc))
                continue
            if index.ntotal != self.manifest["counts"][_rows(kind)]:
                problems.append(f"{kind}.faiss: vector count differs from the manifest")
            built, recorded = dense.describe(index).to_dict(), self.manifest["dense"][kind]
            if built != recorded:
                problems.append(f"{kind}.faiss: holds {built}, its manifest says {recorded}")
            problems += [f"{kind}.faiss: {problem}" for problem in dense.check(index)]
        try:
            if self.db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                problems.append("store.sqlite: fails SQLite's integrity check")
        except sqlite3.DatabaseError as exc:
            problems.append(f"store.sqlite: {exc}")
        for line in self.stale(deep=True):
            problems.append(line)
        return problems

    def stale(self, deep: bool = False) -> list[str]:
        """Indexed source files that changed or disappeared since the build.

        Args:
            deep: compare content hashes; otherwise size and modification time only (cheap
                enough to run before every question).
        """
        import hashlib

        changed = []
        for entry in self.manifest["files"]:
            path = Path(entry["path"])
            try:
                info = path.stat()
            except OSError:
                changed.append(f"{entry['name']}: missing since the index was built")
                continue
            if deep:
                if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
                    changed.append(f"{entry['name']}: changed since the index was built")
            elif (info.st_size, info.st_mtime_ns) != (entry["size"], entry["mtime_ns"]):
                changed.append(f"{entry['name']}: changed since the index was built")
        return changed

    def faiss(self, kind: str) -> Any:
        if kind not in self._faiss:
            try:
                self._faiss[kind] = dense.load(self.generation / f"{kind}.faiss")
            except RuntimeError:  # FAISS's reader reports damage this way
                raise _corrupt(self.folder, f"file {kind}.faiss is damaged") from None
        return self._faiss[kind]

    def dense_search(self, kind: str, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if kind not in self._skipped:
            self._skipped[kind] = dense.skipping(self._later_copies(kind))
        return dense.search(self.faiss(kind), query, k, self._skipped[kind])

    def _later_copies(self, kind: str) -> list[int]:
        """The rows of ``kind`` that belong to a paragraph's later copy (see `copies`)."""
        if not self.manifest["counts"].get("copies"):
            return []
        if kind == "paragraphs":
            query = "SELECT id FROM paragraphs WHERE canonical != id"
        else:
            query = "SELECT s.id FROM sentences s JOIN paragraphs p ON p.id = s.paragraph_id WHERE p.canonical != p.id"
        return [row[0] for row in self.db.execute(query)]

    def lexical_search(self, kind: str, question: str, k: int,
                       within: Sequence[int] | None = None) -> list[tuple[int, float]]:
        return lexical.search(self.db, _FTS[kind], question, k, within)

    def term_matches(self, kind: str, question: str,
                     within: Sequence[int]) -> tuple[dict[str, float], dict[str, set[int]]]:
        """IDF of each question word, and which of ``within`` contain it (see `lexical.term_matches`)."""
        return lexical.term_matches(self.db, _FTS[kind], question, within)

    def holders(self, kind: str, question: str, within: Sequence[int]) -> dict[str, set[int]]:
        """Which of ``within`` contain each question word (see `lexical.holders`)."""
        return lexical.holders(self.db, _FTS[kind], question, within)

    def paragraphs(self, ids: Sequence[int]) -> dict[int, tuple[Paragraph, str]]:
        """Paragraphs by id, each with its heading context."""
        if not ids:
            return {}
        rows = self.db.execute(
            "SELECT p.id, f.name, p.number, p.start, p.end, p.line, p.heading, p.text, p.context "
            f"FROM paragraphs p JOIN files f ON f.id = p.file_id WHERE p.id IN ({','.join('?' * len(ids))})",
            list(ids))
        return {row[0]: (Paragraph(row[1], row[2], row[3], row[4], row[5], row[7], bool(row[6])), row[8])
                for row in rows}

    def owners(self, sentence_ids: Sequence[int]) -> dict[int, int]:
        """The paragraph each sentence is in."""
        if not sentence_ids:
            return {}
        return dict(self.db.execute(f"SELECT id, paragraph_id FROM sentences WHERE id IN "
                                    f"({','.join('?' * len(sentence_ids))})", list(sentence_ids)).fetchall())

    def copies(self) -> dict[tuple[str, int], frozenset[tuple[str, int]]]:
        """For each paragraph held by more than one file, all its copies as (file, number).

        A paragraph's first copy (its ``canonical``) is the first indexed with the same text under
        the same titles and heading, whitespace aside. Only first copies are searched: the others
        are left out of the lexical index and skipped by dense search, so that the same article
        kept as .txt and .pdf ranks, scores and reads as it would held once."""
        if not self.manifest["counts"].get("copies"):
            return {}
        rows = self.db.execute(
            "SELECT f.name, p.number, p.canonical FROM paragraphs p JOIN files f ON f.id = p.file_id "
            "WHERE p.canonical IN (SELECT canonical FROM paragraphs GROUP BY canonical HAVING count(*) > 1)")
        groups: dict[int, set[tuple[str, int]]] = {}
        for name, number, first in rows:
            groups.setdefault(first, set()).add((name, number))
        return {where: frozenset(group) for group in groups.values() for where in group}

    def paragraph_at(self, file: str, number: int) -> Paragraph:
        """The paragraph a citation names."""
        row = self.db.execute("SELECT p.id FROM paragraphs p JOIN files f ON f.id = p.file_id "
                              "WHERE f.name = ? AND p.number = ?", (file, number)).fetchone()
        if row is None:
            raise KeyError(f"{file} ¶{number}")
        return self.paragraphs([row[0]])[row[0]][0]

    def layer(self, file: str) -> TextLayer:
        """The text a file is cited in, as indexed: its extracted text layer (PDF, HTML, DOCX) or
        its decoded text, with its regions (headings, tables, code) and pages (PDF).

        Raises:
            KeyError: no file of that name is indexed.
        """
        row = self.db.execute("SELECT f.id, f.format, t.text FROM files f JOIN texts t ON t.file_id = f.id "
                              "WHERE f.name = ?", (file,)).fetchone()
        if row is None:
            raise KeyError(file)
        regions = self.db.execute("SELECT start, end, role, title FROM regions WHERE file_id = ? ORDER BY rowid",
                                  (row[0],)).fetchall()
        return TextLayer(row[1], row[2], tuple(Region(*r) for r in regions), self._pages(file))

    def page_of(self, file: str, offset: int) -> int | None:
        """The 1-based page of a PDF's text layer that holds ``offset``; None for unpaged formats."""
        return page_of(self._pages(file), offset)

    def ocr_at(self, file: str, offset: int) -> bool:
        """Whether the PDF page that holds ``offset`` was read with OCR (it had no text layer)."""
        number = self.page_of(file, offset)
        return any(page.ocr for page in self._pages(file) if page.page == number)

    def _pages(self, file: str) -> tuple[Page, ...]:
        if file not in self._page_cache:
            rows = self.db.execute("SELECT p.page, p.start, p.end, p.ocr FROM pages p JOIN files f "
                                   "ON f.id = p.file_id WHERE f.name = ? ORDER BY p.page", (file,)).fetchall()
            self._page_cache[file] = tuple(Page(page, start, end, bool(ocr)) for page, start, end, ocr in rows)
        return self._page_cache[file]

    def sentences(self, paragraph_ids: Sequence[int]) -> dict[int, Sentence]:
        """The sentences of the given paragraphs, by sentence id."""
        if not paragraph_ids:
            return {}
        rows = self.db.execute(
            "SELECT id, paragraph_id, start, end, line, text FROM sentences "
            f"WHERE paragraph_id IN ({','.join('?' * len(paragraph_ids))}) ORDER BY id",
            list(paragraph_ids))
        return {row[0]: Sentence(*row[1:]) for row in rows}

    def dense_vectors(self, kind: str, ids: list[int]) -> np.ndarray:
        """Stored vectors of one of `VECTORS`, by row id, in the order given."""
        return dense.vectors(self.faiss(kind), ids)

    def store_calibration(self, calibration: dict[str, Any]) -> None:
        """Save a calibrated abstention threshold in the manifest, for `qa ask` to use."""
        _claim(self.folder)
        self.manifest["calibration"] = calibration
        _write_json(self.generation / "manifest.json", self.manifest)

    def is_live(self) -> bool:
        """Whether this is still the generation CURRENT names: False once a build has published
        another (or the index is gone). Cheap: one small file read."""
        return _pointed(self.folder, CURRENT) == self.generation.name

    def close(self) -> None:
        self.db.close()
