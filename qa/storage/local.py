"""The local backend: one generation of an index folder, open for reading.

    >>> from qa.storage.local import Index
    >>> Index.open(Path("index")).manifest["counts"]            # doctest: +SKIP
    {'files': 2, 'paragraphs': 38, 'sentences': 71}

A generation holds::

    gen-<time>-<8>/
      manifest.json    format, model, settings, source hashes, artifact checksums
      store.sqlite     files, their text layers and pages, paragraphs (each naming its first
                       copy), sentences, FTS5 tables (first copies only)
      paragraphs.faiss paragraph vectors (heading context + text)
      sentences.faiss  sentence vectors (the sentence alone)
      sentences_in_context.faiss  sentence vectors (heading context + sentence)

Each ``.faiss`` file is an exact flat index, or, from `qa.settings.APPROX_MIN_VECTORS`
vectors on, an IVF-Flat one that is memory-mapped on load (see `qa.dense`); the
manifest's ``dense`` entry says which, with its parameters.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa import dense, lexical
from qa.errors import BadInput, IndexCorrupt, IndexMissing, NotIndexed
from qa.formats import Page, Region, TextLayer
from qa.formats.base import page_of
from qa.storage.folder import CURRENT, STORE, claim, exists, marked, names_generation, pointed
from qa.storage.manifest import ARTIFACTS, FORMAT_VERSION, VECTORS, checksum, rows_of, write_json
from qa.types import Paragraph, Sentence

if TYPE_CHECKING:
    import numpy as np

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


_HEADERS = {"store.sqlite": b"SQLite format 3\x00"}


def _header(manifest: dict[str, Any], name: str) -> bytes:
    """The bytes an artifact starts with: SQLite's, or FAISS's for the structure its manifest records."""
    if name.endswith(".faiss"):
        return dense.HEADERS[manifest["dense"][name.removesuffix(".faiss")]["type"]]
    return _HEADERS[name]


def _corrupt(folder: Path, problem: str) -> IndexCorrupt:
    return IndexCorrupt(f"index in {folder} {problem}; rebuild it with `qa index --rebuild`",
                        f"the index in {folder} {problem}")


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
        if (folder / STORE).is_file():  # the folder records an index that lives in Milvus
            from qa.storage.milvus import MilvusIndex

            return MilvusIndex.open(folder)  # type: ignore[return-value]
        name = pointed(folder, CURRENT)
        if not names_generation(folder, name):
            marked(folder)  # someone's own folder, with a file named CURRENT, is not a damaged index
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
            if checksum(self.generation / name)["sha256"] != meta["sha256"]:
                problems.append(f"{name}: checksum differs from the manifest (damaged)")
        for kind in VECTORS:
            try:
                index = self.faiss(kind)
            except IndexCorrupt as exc:
                problems.append(str(exc))
                continue
            if index.ntotal != self.manifest["counts"][rows_of(kind)]:
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
        """Indexed source files that changed or disappeared since the build (see `stale`)."""
        return stale(self.manifest, deep)

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
        """The paragraph a citation names.

        Raises:
            BadInput: the file has no such paragraph in the index.
        """
        row = self.db.execute("SELECT p.id FROM paragraphs p JOIN files f ON f.id = p.file_id "
                              "WHERE f.name = ? AND p.number = ?", (file, number)).fetchone()
        if row is None:
            raise BadInput(f"{file} has no indexed paragraph {number}")
        return self.paragraphs([row[0]])[row[0]][0]

    def layer(self, file: str) -> TextLayer:
        """The text a file is cited in, as indexed: its extracted text layer (PDF, HTML, DOCX) or
        its decoded text, with its regions (headings, tables, code) and pages (PDF).

        Raises:
            NotIndexed: no file of that name is indexed.
        """
        row = self.db.execute("SELECT f.id, f.format, t.text FROM files f JOIN texts t ON t.file_id = f.id "
                              "WHERE f.name = ?", (file,)).fetchone()
        if row is None:
            raise NotIndexed(f"{file} is not in the index in {self.folder} (see `qa info`)")
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
        self.manifest["calibration"] = calibration
        self.save_manifest()

    def save_manifest(self) -> None:
        """Write ``manifest`` as it now is over the generation's (new file stats, a calibration)."""
        claim(self.folder)
        write_json(self.generation / "manifest.json", self.manifest)

    @property
    def generation_name(self) -> str:
        """The name of the generation open here: a build publishes another under a new name."""
        return self.generation.name

    def load(self) -> None:
        """Read every vector structure now (a server does, before the next build can remove them)."""
        for kind in VECTORS:
            self.faiss(kind)

    def file_rows(self, name: str) -> list[tuple[int, int, int, int, int, int, str, str, str]]:
        """A file's paragraphs as stored: id, number, start, end, line, heading, text, context, format."""
        return self.db.execute(
            "SELECT p.id, p.number, p.start, p.end, p.line, p.heading, p.text, p.context, f.format FROM paragraphs p "
            "JOIN files f ON f.id = p.file_id WHERE f.name = ? ORDER BY p.id", (name,)).fetchall()

    def paragraph_ids(self) -> dict[tuple[str, int], int]:
        """Every paragraph's id by (file, number)."""
        return {(name, number): pid for name, number, pid in self.db.execute(
            "SELECT f.name, p.number, p.id FROM paragraphs p JOIN files f ON f.id = p.file_id")}

    def is_live(self) -> bool:
        """Whether this is still the generation CURRENT names: False once a build has published
        another (or the index is gone). Cheap: one small file read."""
        return pointed(self.folder, CURRENT) == self.generation.name

    def close(self) -> None:
        self.db.close()


def stale(manifest: dict[str, Any], deep: bool = False) -> list[str]:
    """Indexed source files that changed or disappeared since the build, by the manifest's record.

    Args:
        deep: compare content hashes; otherwise size and modification time only (cheap
            enough to run before every question).
    """
    import hashlib

    changed = []
    for entry in manifest["files"]:
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
