"""Index stage: build an index folder from documents, and open one to read.

    >>> from qa.index import build, Index
    >>> build([Path("seeds")], Path("index"), encoder)         # doctest: +SKIP
    >>> Index.open(Path("index")).manifest["counts"]            # doctest: +SKIP
    {'files': 2, 'paragraphs': 38, 'sentences': 71}

Layout of an index folder::

    index/
      CURRENT            name of the live generation (replaced atomically)
      gen-.../           one complete build
        manifest.json    format, model, settings, source hashes, artifact checksums
        store.sqlite     files, paragraphs, sentences, and their FTS5 tables
        paragraphs.faiss paragraph vectors (heading context + text)
        sentences.faiss  sentence vectors

A build writes a new generation and only then points CURRENT at it, so a
reader sees either the old index or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa import dense, lexical
from qa.corpus import (
    Document,
    Skipped,
    discover,
    is_fragment,
    line_of,
    read_document,
    split_paragraphs,
    split_sentences,
)
from qa.errors import BadInput, IndexBusy, IndexCorrupt, IndexMissing
from qa.types import Paragraph, Sentence

if TYPE_CHECKING:
    import numpy as np

    from qa.embedding import Encoder

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".lock"
ARTIFACTS = ("store.sqlite", "paragraphs.faiss", "sentences.faiss")
_FTS = {"paragraphs": "para_fts", "sentences": "sent_fts"}
_HASHLIKE = re.compile(r"^(?=.*\d)[0-9a-f]{8,}$|^\d+$")

Warn = Callable[[str], None]
ProgressFactory = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class BuildReport:
    """What a build did: counts, and the one-line warnings it gave."""

    folder: Path
    files: int
    paragraphs: int
    sentences: int
    warnings: list[str]


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


def contexts(name: str, paragraphs: Sequence[Paragraph]) -> list[str]:
    """For each paragraph, the titles and section heading it sits under, as one line."""
    title = title_from_name(name)
    doc_title = paragraphs[0].text if paragraphs and paragraphs[0].heading else ""
    section = ""
    result = []
    for paragraph in paragraphs:
        if paragraph.heading and paragraph.number > 1:
            section = paragraph.text.lstrip("#").strip()
        parts = [p for p in (title, doc_title.lstrip("#").strip(), section) if p]
        if paragraph.heading:
            parts = [p for p in parts if p != paragraph.text.lstrip("#").strip()]
        result.append(" — ".join(dict.fromkeys(parts)))
    return result


def build(paths: Sequence[Path], folder: Path, encoder: Encoder, *, warn: Warn | None = None,
          progress: ProgressFactory | None = None) -> BuildReport:
    """Index the ``.txt``/``.md`` files under ``paths`` into ``folder``.

    Args:
        paths: folders (searched recursively) and files.
        folder: the index folder; created if needed. Its previous index stays
            readable until the new one is complete.
        encoder: the embedding model.
        warn: called with each one-line warning (skipped or re-decoded files).
        progress: ``progress(label, total)`` returns a callback advanced per embedded text.

    Raises:
        BadInput: a path is missing, or nothing indexable was found.
        IndexBusy: another build of this folder is running.
    """
    warnings: list[str] = []

    def note(message: str) -> None:
        warnings.append(message)
        if warn:
            warn(message)

    files, skipped = discover(paths)
    for message in skipped:
        note(message)
    documents: list[Document] = []
    for path, name in files:
        try:
            document, warning = read_document(path, name)
        except Skipped as exc:
            note(f"skipped {path}: {exc}")
            continue
        if warning:
            note(f"{path}: {warning}")
        documents.append(document)
    if not documents:
        raise BadInput(f"no indexable .txt or .md documents in {', '.join(map(str, paths))}")

    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        import tempfile

        generation = Path(tempfile.mkdtemp(prefix=f"gen-{time.strftime('%Y%m%dT%H%M%S')}-", dir=folder))
        try:
            report = _write(generation, paths, documents, encoder, progress)
            _publish(folder, generation)
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)
            raise
    return BuildReport(folder, report[0], report[1], report[2], warnings)


def _write(generation: Path, paths: Sequence[Path], documents: list[Document], encoder: Encoder,
           progress: ProgressFactory | None) -> tuple[int, int, int]:
    db = sqlite3.connect(generation / "store.sqlite")
    db.executescript(
        """
        CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT UNIQUE, path TEXT, sha256 TEXT,
                            size INTEGER, encoding TEXT);
        CREATE TABLE paragraphs (id INTEGER PRIMARY KEY, file_id INTEGER, number INTEGER,
                                 start INTEGER, end INTEGER, line INTEGER, heading INTEGER,
                                 text TEXT, context TEXT);
        CREATE TABLE sentences (id INTEGER PRIMARY KEY, paragraph_id INTEGER, start INTEGER,
                                end INTEGER, line INTEGER, text TEXT);
        CREATE INDEX sentences_by_paragraph ON sentences(paragraph_id);
        """
    )
    lexical.create(db, "para_fts")
    lexical.create(db, "sent_fts")
    paragraph_texts: list[str] = []
    sentence_texts: list[str] = []
    files_meta = []
    for file_id, document in enumerate(documents):
        size = document.path.stat().st_size
        db.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)",
                   (file_id, document.name, str(document.path.resolve()), document.sha256, size,
                    document.encoding))
        paragraphs = split_paragraphs(document.name, document.text)
        files_meta.append({"name": document.name, "sha256": document.sha256, "size": size,
                           "encoding": document.encoding, "paragraphs": len(paragraphs)})
        for paragraph, context in zip(paragraphs, contexts(document.name, paragraphs)):
            pid = len(paragraph_texts)
            db.execute("INSERT INTO paragraphs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (pid, file_id, paragraph.number, paragraph.start, paragraph.end,
                        paragraph.line, int(paragraph.heading), paragraph.text, context))
            embedded = f"{context}\n{paragraph.text}" if context else paragraph.text
            paragraph_texts.append(embedded)
            lexical.add(db, "para_fts", [(pid, embedded)])
            if is_fragment(paragraph.text):
                continue  # headings and bare list items give context, never answers
            for start, end in split_sentences(paragraph):
                sid = len(sentence_texts)
                text = document.text[start:end]
                db.execute("INSERT INTO sentences VALUES (?, ?, ?, ?, ?, ?)",
                           (sid, pid, start, end, line_of(document.text, start), text))
                sentence_texts.append(text)
                lexical.add(db, "sent_fts", [(sid, text)])
    db.commit()
    db.close()

    for label, texts, artifact in (("paragraphs", paragraph_texts, "paragraphs.faiss"),
                                   ("sentences", sentence_texts, "sentences.faiss")):
        tick = progress(f"Embedding {label}", len(texts)) if progress else None
        vectors = encoder.encode(texts, progress=tick)
        dense.save(dense.build(vectors), generation / artifact)

    manifest = {
        "format_version": FORMAT_VERSION,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": {"name": encoder.name, "dimension": encoder.dimension,
                  "fingerprint": encoder.fingerprint},
        "chunking": {"paragraphs": "blank-line blocks, else lines", "sentences": "blingfire",
                     "context": "file title, document title, section heading"},
        "corpus": [str(Path(p).resolve()) for p in paths],
        "files": files_meta,
        "counts": {"files": len(documents), "paragraphs": len(paragraph_texts),
                   "sentences": len(sentence_texts)},
        "artifacts": {name: _checksum(generation / name) for name in ARTIFACTS},
    }
    _write_json(generation / "manifest.json", manifest)
    _fsync_tree(generation)
    return len(documents), len(paragraph_texts), len(sentence_texts)


def _checksum(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(folder: Path, generation: Path) -> None:
    """Point CURRENT at ``generation`` atomically, then remove older generations."""
    tmp = folder / (CURRENT + ".tmp")
    tmp.write_text(generation.name + "\n", encoding="utf-8")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, folder / CURRENT)
    _fsync_tree_dir(folder)
    for old in folder.glob("gen-*"):
        if old.is_dir() and old.name != generation.name:
            shutil.rmtree(old, ignore_errors=True)


def _fsync_tree_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    import fcntl

    with (folder / LOCK).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusy(f"another build of {folder} is running; try again when it ends") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def exists(folder: Path) -> bool:
    """Whether ``folder`` holds a published index."""
    return (folder / CURRENT).is_file()


class Index:
    """A published index, open for reading. Cheap to open: FAISS files load on first use."""

    def __init__(self, folder: Path, generation: Path, manifest: dict[str, Any]):
        self.folder = folder
        self.generation = generation
        self.manifest = manifest
        uri = (generation / "store.sqlite").resolve().as_uri() + "?mode=ro"
        self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._faiss: dict[str, Any] = {}

    @classmethod
    def open(cls, folder: Path) -> Index:
        """Open the index in ``folder``.

        Raises:
            IndexMissing: no index has been built there.
            IndexCorrupt: files are missing, truncated, or of an unknown format.
        """
        pointer = folder / CURRENT
        if not pointer.is_file():
            raise IndexMissing(f"no index in {folder}; build one with `qa index`")
        generation = folder / pointer.read_text(encoding="utf-8").strip()
        try:
            manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise IndexCorrupt(f"index in {folder} has no readable manifest; "
                               "rebuild it with `qa index --rebuild`") from None
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexCorrupt(f"index in {folder} has format {manifest.get('format_version')!r}, "
                               f"this qa reads {FORMAT_VERSION}; rebuild it with `qa index --rebuild`")
        for name, meta in manifest.get("artifacts", {}).items():
            path = generation / name
            if not path.is_file() or path.stat().st_size != meta.get("size"):
                raise IndexCorrupt(f"index file {path} is missing or truncated; "
                                   "rebuild it with `qa index --rebuild`")
        return cls(folder, generation, manifest)

    @property
    def model(self) -> str:
        return str(self.manifest["model"]["name"])

    def faiss(self, kind: str) -> Any:
        if kind not in self._faiss:
            self._faiss[kind] = dense.load(self.generation / f"{kind}.faiss")
        return self._faiss[kind]

    def dense_search(self, kind: str, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        return dense.search(self.faiss(kind), query, k)

    def lexical_search(self, kind: str, question: str, k: int,
                       within: Sequence[int] | None = None) -> list[tuple[int, float]]:
        return lexical.search(self.db, _FTS[kind], question, k, within)

    def term_matches(self, kind: str, question: str,
                     within: Sequence[int]) -> tuple[dict[str, float], dict[str, set[int]]]:
        """IDF of each question word, and which of ``within`` contain it (see `lexical.term_matches`)."""
        return lexical.term_matches(self.db, _FTS[kind], question, within)

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

    def paragraph_at(self, file: str, number: int) -> Paragraph:
        """The paragraph a citation names."""
        row = self.db.execute("SELECT p.id FROM paragraphs p JOIN files f ON f.id = p.file_id "
                              "WHERE f.name = ? AND p.number = ?", (file, number)).fetchone()
        if row is None:
            raise KeyError(f"{file} ¶{number}")
        return self.paragraphs([row[0]])[row[0]][0]

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
        """Stored vectors of ``kind`` (``paragraphs`` or ``sentences``) rows, in the order given."""
        return dense.vectors(self.faiss(kind), ids)

    def store_calibration(self, calibration: dict[str, Any]) -> None:
        """Save a calibrated abstention threshold in the manifest, for `qa ask` to use."""
        self.manifest["calibration"] = calibration
        _write_json(self.generation / "manifest.json", self.manifest)

    def close(self) -> None:
        self.db.close()
