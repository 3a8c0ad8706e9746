"""The Milvus backend: an index in a Milvus server (Standalone, Distributed, or Milvus Lite).

    >>> build([Path("docs")], Path("idx"), encoder, store="milvus://127.0.0.1:19530")  # doctest: +SKIP
    >>> Index.open(Path("idx")).manifest["store"]["uri"]                                 # doctest: +SKIP
    'milvus://127.0.0.1:19530'

The index folder keeps only qa's mark and ``store.json`` (the store and the index's name in it),
so a copy of that small folder lets another machine ask the same index. Each build is a
generation of collections named ``<name>_<generation>_<part>``:

    files       text layers, pages, regions and the manifest, as text blobs cut to fit a VARCHAR
    paragraphs  offsets, text, context, first copy, FTS5's tokens (BM25 function), vector
    sentences   offsets, text, first copy, FTS5's tokens (BM25 function), vector alone and in context
    terms       each token's document frequency, for the cheap scorer's IDF

A build is staged in the folder as a local one is (`qa.storage.builder`), uploaded, and only then
published by moving the alias ``<name>`` to the new generation's ``files`` collection: one call,
atomic in Milvus, so a build killed halfway leaves the previous generation answering. The replaced
generation stays (alias ``<name>_previous``) for readers that opened it, until the next build.

Lexical matching: rows carry the very tokens SQLite FTS5 makes (porter, unicode61, read back
through ``fts5vocab``), which Milvus's standard analyzer keeps as they are, and questions are
tokenized the same way; Milvus ranks them with its own BM25 (see docs/milvus.md for what differs).
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa import lexical
from qa.errors import BadInput, IndexCorrupt, IndexMissing, NotIndexed, StoreUnavailable
from qa.formats import Page, Region, TextLayer
from qa.formats.base import page_of
from qa.storage.folder import CURRENT, PREVIOUS, STORE, claim, remove_unpublished
from qa.storage.manifest import FORMAT_VERSION, STAGED, VECTORS, rows_of, write_json
from qa.types import Paragraph, Sentence

if TYPE_CHECKING:
    import numpy as np

# Milvus releases with BM25 full-text search (2.5), and the pure-Python Milvus Lite (3.x).
MIN_MILVUS = (2, 5)
MIN_LITE = (3, 0)
BATCH = 512  # rows per insert: well under gRPC's 64 MiB message at 3 x 384 floats and texts
PIECE = 16_000  # characters per text blob: at most 64,000 bytes of UTF-8, under VARCHAR's 65,535
LIMIT = 16_384  # Milvus's largest query window
_FIELD = {"paragraphs": "vector", "sentences": "vector", "sentences_in_context": "vector_in_context"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class Address:
    """A store as given: ``milvus://HOST:PORT[/DB]`` or a Milvus Lite file (``PATH.db``)."""

    uri: str

    @property
    def lite_file(self) -> bool:
        return not self.uri.startswith("milvus://")

    def client_args(self) -> dict[str, Any]:
        if self.lite_file:
            return {"uri": str(Path(self.uri).resolve())}
        rest = self.uri.removeprefix("milvus://")
        host, _, db = rest.partition("/")
        return {"uri": f"http://{host}", **({"db_name": db} if db else {})}


def parse(store: str) -> Address:
    """Check a ``--store`` value.

    Raises:
        BadInput: neither ``milvus://HOST:PORT[/DB]`` nor a path ending in ``.db``.
    """
    if store.startswith("milvus://"):
        host, _, db = store.removeprefix("milvus://").partition("/")
        if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d+", host) or (db and not _NAME.fullmatch(db)):
            raise BadInput(f"--store {store!r}: give milvus://HOST:PORT or milvus://HOST:PORT/DB")
        return Address(store)
    if store.endswith(".db"):
        return Address(str(Path(store).resolve()))
    raise BadInput(f"--store {store!r}: give milvus://HOST:PORT[/DB] or a Milvus Lite file ending in .db")


def connect(address: Address) -> Any:
    """A pymilvus client of a server that qa can use.

    Raises:
        StoreUnavailable: the server does not answer, or is older than BM25 full-text search.
    """
    import logging
    import os

    # gRPC's core logs a server's refusal of its keepalive pings (Milvus Lite's), and pymilvus logs
    # each failed call and its fallbacks at ERROR/WARNING on stderr: qa says what matters in one line.
    # The level is set after the import, which configures pymilvus's loggers afresh.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    try:
        from pymilvus import MilvusClient
    except ImportError:  # pragma: no cover - a dependency of qa
        raise StoreUnavailable("the Milvus backend needs pymilvus: pip install pymilvus milvus-lite") from None
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    try:
        client = MilvusClient(**address.client_args(), timeout=10)
        version = client.get_server_version()
    except Exception as exc:  # pymilvus raises its own MilvusException, or grpc's errors, or OSError
        reason = " ".join(str(getattr(exc, "message", exc) or type(exc).__name__).split())[:200]
        raise StoreUnavailable(f"cannot reach Milvus at {address.uri}: {reason}") from None
    need = too_old(str(version))
    if need:
        client.close()
        raise StoreUnavailable(f"Milvus at {address.uri} is version {version}; qa needs {need} or later "
                               "(BM25 full-text search)")
    return client


def too_old(version: str) -> str | None:
    """The release qa needs, if a server's version (``v2.4.13``, ``milvus_lite-3.2.2``) is older."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    lite = "lite" in version
    if numbers < (MIN_LITE if lite else MIN_MILVUS):
        return "Milvus Lite 3.0" if lite else "Milvus 2.5"
    return None


def recorded(folder: Path) -> dict[str, Any] | None:
    """What ``folder``'s store.json says (uri, name), or None for a local index folder."""
    path = folder / STORE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {"uri": str(data["uri"]), "name": str(data["name"])}
    except (OSError, ValueError, KeyError, TypeError):
        raise IndexCorrupt(f"{path} is damaged; remove the folder and build again with --store",
                           f"{path} is damaged") from None


class Remote:
    """Where a build publishes: one index (``name``) in one Milvus store."""

    def __init__(self, folder: Path, address: Address, name: str):
        self.folder, self.address, self.name = folder, address, name
        self.client = connect(address)

    def publish(self, generation: Path) -> None:
        """Upload a staged generation (store.sqlite, staged vectors, manifest.json) as new
        collections, then move the alias to them; drop all but them and the ones they replaced."""
        manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
        manifest["store"] = {"backend": "milvus", "uri": self.address.uri, "name": self.name}
        gen = "g" + generation.name.removeprefix("gen-").replace("-", "_").lower()
        prefix = f"{self.name}_{gen}"
        self._drop_orphans()
        _upload(self.client, prefix, generation, manifest)
        live = _alias_target(self.client, self.name)
        _point(self.client, self.name, f"{prefix}_files")
        if live:
            _point(self.client, f"{self.name}_previous", live)
        write_json(self.folder / STORE, {"uri": self.address.uri, "name": self.name})
        self._drop_orphans()
        for pointer in (CURRENT, PREVIOUS):  # a local index that moved here: the folder now records the store
            with contextlib.suppress(FileNotFoundError):
                (self.folder / pointer).unlink()
        remove_unpublished(self.folder)

    def _drop_orphans(self) -> None:
        """Drop this index's collections that neither alias leads to: old generations, killed builds'."""
        keep = {_prefix(t) for t in (_alias_target(self.client, self.name),
                                     _alias_target(self.client, f"{self.name}_previous")) if t}
        pattern = re.compile(re.escape(self.name) + r"_g[0-9t_a-z]+_(files|paragraphs|sentences|terms)")
        for collection in self.client.list_collections():
            if pattern.fullmatch(collection) and _prefix(collection) not in keep:
                self.client.drop_collection(collection)

    def close(self) -> None:
        self.client.close()


def remote_store(folder: Path, store: str | None) -> Remote | None:
    """The Milvus store a build of ``folder`` publishes to, or None to build in the folder itself.

    Raises:
        BadInput: ``store`` names another store than the one the folder records, or the folder
            holds a local index and a store is asked for.
        StoreUnavailable: the server cannot be used.
    """
    known = recorded(folder)
    if store is None or store == "local":
        if known and store == "local":
            raise BadInput(f"{folder} holds an index in {known['uri']}; give a new folder for a local index")
        return None if known is None else Remote(folder, parse(known["uri"]), known["name"])
    address = parse(store)
    if known is not None:
        if known["uri"] != address.uri:
            raise BadInput(f"{folder} holds an index in {known['uri']}, not {address.uri}; "
                           "give a new folder for another store")
        return Remote(folder, address, known["name"])
    # A local index moves: its rows and vectors are carried into the store, nothing is embedded again,
    # and its generations are removed from the folder once the store has published them (`publish`).
    return Remote(folder, address, "qa_" + secrets.token_hex(4))


def _prefix(collection: str) -> str:
    return collection.rsplit("_", 1)[0]


def _alias_target(client: Any, alias: str) -> str | None:
    if alias not in client.list_aliases().get("aliases", []):  # describe_alias logs an error for a missing one
        return None
    return str(client.describe_alias(alias)["collection_name"])


def _point(client: Any, alias: str, collection: str) -> None:
    if _alias_target(client, alias) is None:
        client.create_alias(collection, alias)
    else:
        client.alter_alias(collection, alias)


def _literal(text: str) -> str:
    """A string as a Milvus filter literal."""
    return json.dumps(text, ensure_ascii=False)


def _ids(ids: Iterable[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def _schemas(client: Any, dimension: int) -> dict[str, tuple[Any, Any]]:
    """Each part's schema and index parameters."""
    from pymilvus import DataType, Function, FunctionType

    def schema(*fields: tuple[Any, ...], key: Any = DataType.INT64) -> Any:
        s = client.create_schema(auto_id=False)
        s.add_field("id", key, is_primary=True, **({"max_length": 512} if key == DataType.VARCHAR else {}))
        for name, kind, *rest in fields:
            s.add_field(name, kind, **(rest[0] if rest else {}))
        return s

    text = {"max_length": 65_535}
    lexical_field = ("lexical", DataType.VARCHAR, {"max_length": 65_535, "enable_analyzer": True,
                                                   "analyzer_params": {"tokenizer": "standard"}})
    parts = {
        # Milvus wants a vector in every collection: the blobs and terms carry a constant one.
        "files": schema(("name", DataType.VARCHAR, text), ("kind", DataType.VARCHAR, {"max_length": 16}),
                        ("part", DataType.INT64), ("data", DataType.VARCHAR, text),
                        ("unused", DataType.FLOAT_VECTOR, {"dim": 2})),
        "terms": schema(("df", DataType.INT64), ("unused", DataType.FLOAT_VECTOR, {"dim": 2}),
                        key=DataType.VARCHAR),
        "paragraphs": schema(("file", DataType.VARCHAR, text), ("number", DataType.INT64),
                             ("start", DataType.INT64), ("end", DataType.INT64), ("line", DataType.INT64),
                             ("heading", DataType.BOOL), ("text", DataType.VARCHAR, text),
                             ("context", DataType.VARCHAR, text), ("canonical", DataType.INT64),
                             ("first", DataType.BOOL), lexical_field, ("sparse", DataType.SPARSE_FLOAT_VECTOR),
                             ("vector", DataType.FLOAT_VECTOR, {"dim": dimension})),
        "sentences": schema(("paragraph", DataType.INT64), ("start", DataType.INT64), ("end", DataType.INT64),
                            ("line", DataType.INT64), ("text", DataType.VARCHAR, text), ("first", DataType.BOOL),
                            lexical_field, ("sparse", DataType.SPARSE_FLOAT_VECTOR),
                            ("vector", DataType.FLOAT_VECTOR, {"dim": dimension}),
                            ("vector_in_context", DataType.FLOAT_VECTOR, {"dim": dimension})),
    }
    result = {}
    for part, s in parts.items():
        params = client.prepare_index_params()
        if part in ("paragraphs", "sentences"):
            s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                    input_field_names=["lexical"], output_field_names=["sparse"]))
            # FTS5's bm25() uses k1 = 1.2 and b = 0.75.
            params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                             params={"bm25_k1": 1.2, "bm25_b": 0.75})
            params.add_index("vector", index_type="FLAT", metric_type="IP")
            if part == "sentences":
                params.add_index("vector_in_context", index_type="FLAT", metric_type="IP")
        else:
            params.add_index("unused", index_type="FLAT", metric_type="IP")
        result[part] = (s, params)
    return result


def _tokens(db: sqlite3.Connection, table: str) -> dict[int, str]:
    """Each row's tokens as FTS5 holds them (stemmed, folded), space-separated, by rowid."""
    db.execute(f"CREATE VIRTUAL TABLE temp.{table}_tokens USING fts5vocab(main, {table}, instance)")
    tokens: dict[int, list[str]] = {}
    for doc, term in db.execute(f"SELECT doc, term FROM temp.{table}_tokens ORDER BY doc, offset"):
        tokens.setdefault(doc, []).append(term)
    return {doc: " ".join(words) for doc, words in tokens.items()}


def _insert(client: Any, collection: str, rows: Iterable[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            client.insert(collection, batch)
            batch = []
    if batch:
        client.insert(collection, batch)


def _blobs(name: str, kind: str, text: str) -> list[dict[str, Any]]:
    pieces = [text[i : i + PIECE] for i in range(0, len(text), PIECE)] or [""]
    return [{"name": name, "kind": kind, "part": i, "data": piece, "unused": [0.0, 0.0]}
            for i, piece in enumerate(pieces)]


def _upload(client: Any, prefix: str, generation: Path, manifest: dict[str, Any]) -> None:
    """Write a staged generation into new collections ``<prefix>_<part>``."""
    import numpy as np

    dimension = int(manifest["model"]["dimension"])
    db = sqlite3.connect(generation / "store.sqlite")
    counts = manifest["counts"]

    def vectors(kind: str) -> np.ndarray:
        path = generation / STAGED[kind]
        rows = counts[rows_of(kind)]
        if not rows:
            return np.zeros((0, dimension), np.float32)
        return np.memmap(path, dtype=np.float32, mode="r", shape=(rows, dimension))

    for part, (schema, params) in _schemas(client, dimension).items():
        client.create_collection(f"{prefix}_{part}", schema=schema, index_params=params)
    tokens = {"paragraphs": _tokens(db, "para_fts"), "sentences": _tokens(db, "sent_fts")}
    terms = {"p": db.execute("CREATE VIRTUAL TABLE temp.pv USING fts5vocab(main, para_fts, row)") and
             db.execute("SELECT term, doc FROM temp.pv").fetchall(),
             "s": db.execute("CREATE VIRTUAL TABLE temp.sv USING fts5vocab(main, sent_fts, row)") and
             db.execute("SELECT term, doc FROM temp.sv").fetchall()}
    # What FTS5's bm25() reads besides the rows' own tokens: rows and tokens in all (`_bm25`).
    manifest["lexical"] = {kind: {"rows": db.execute(f"SELECT count(*) FROM {table}").fetchone()[0],
                                  "tokens": sum(len(words.split()) for words in tokens[kind].values())}
                           for kind, table in (("paragraphs", "para_fts"), ("sentences", "sent_fts"))}
    _insert(client, f"{prefix}_terms", ({"id": f"{kind} {term}", "df": df, "unused": [0.0, 0.0]}
                                         for kind, rows in terms.items() for term, df in rows))
    names = dict(db.execute("SELECT id, name FROM files"))
    paragraph_vectors = vectors("paragraphs")
    _insert(client, f"{prefix}_paragraphs", (
        {"id": pid, "file": names[file_id], "number": number, "start": start, "end": end, "line": line,
         "heading": bool(heading), "text": _fits(text), "context": _fits(context), "canonical": canonical,
         "first": canonical == pid, "lexical": tokens["paragraphs"].get(pid, ""),
         "vector": paragraph_vectors[pid].tolist()}
        for pid, file_id, number, start, end, line, heading, text, context, canonical in db.execute(
            "SELECT id, file_id, number, start, end, line, heading, text, context, canonical FROM paragraphs")))
    alone, in_context = vectors("sentences"), vectors("sentences_in_context")
    _insert(client, f"{prefix}_sentences", (
        {"id": sid, "paragraph": pid, "start": start, "end": end, "line": line, "text": _fits(text),
         "first": bool(first), "lexical": tokens["sentences"].get(sid, ""), "vector": alone[sid].tolist(),
         "vector_in_context": in_context[sid].tolist()}
        for sid, pid, start, end, line, text, first in db.execute(
            "SELECT s.id, s.paragraph_id, s.start, s.end, s.line, s.text, p.canonical = p.id FROM sentences s "
            "JOIN paragraphs p ON p.id = s.paragraph_id")))
    blobs: list[dict[str, Any]] = []
    for file_id, name, fmt in db.execute("SELECT id, name, format FROM files"):
        text = db.execute("SELECT text FROM texts WHERE file_id = ?", (file_id,)).fetchone()[0]
        pages = db.execute("SELECT page, start, end, ocr FROM pages WHERE file_id = ? ORDER BY page",
                           (file_id,)).fetchall()
        regions = db.execute("SELECT start, end, role, title FROM regions WHERE file_id = ? ORDER BY rowid",
                             (file_id,)).fetchall()
        blobs += _blobs(name, "text", text) + _blobs(name, "layout", json.dumps(
            {"format": fmt, "pages": pages, "regions": regions}, ensure_ascii=False))
    db.close()
    blobs += _blobs(_version(), "manifest", json.dumps(manifest, ensure_ascii=False))
    for i, blob in enumerate(blobs):
        blob["id"] = i
    _insert(client, f"{prefix}_files", blobs)
    for part in ("files", "terms", "paragraphs", "sentences"):
        client.flush(f"{prefix}_{part}")


def _version() -> str:
    """A manifest's name among its blobs: a replacement is written beside the one it replaces, under a
    later name, before that is deleted, so a reader always finds one whole (`_manifest`)."""
    return f"{time.time_ns():020d}"


def _manifest(rows: list[dict[str, Any]]) -> dict[str, Any]:
    latest = max(r["name"] for r in rows)
    return json.loads("".join(r["data"] for r in sorted((r for r in rows if r["name"] == latest),
                                                        key=lambda r: r["part"])))


def _fits(text: str) -> str:
    if len(text.encode("utf-8")) > 65_535:
        raise BadInput(f"a paragraph of {len(text):,} characters is over Milvus's 65,535-byte text field; "
                       "split the document or keep this index local")
    return text


class MilvusIndex:
    """A published index in Milvus, open for reading: the same methods as `qa.storage.local.Index`."""

    def __init__(self, folder: Path, client: Any, name: str, files: str, manifest: dict[str, Any]):
        self.folder, self.client, self.name, self.manifest = folder, client, name, manifest
        self.files_collection = files
        self.prefix = _prefix(files)
        self.generation = Path(self.prefix)  # a name, like a local generation's folder
        self._layers: dict[str, TextLayer] = {}
        self._tokenizer = sqlite3.connect(":memory:", check_same_thread=False)
        self._tokenizing = threading.Lock()  # `qa serve` asks from several threads; the table is one
        lexical.create(self._tokenizer, "words")
        self._tokenizer.execute("CREATE VIRTUAL TABLE temp.words_tokens USING fts5vocab(main, words, instance)")

    @classmethod
    def open(cls, folder: Path) -> MilvusIndex:
        """Open the live generation of the index ``folder`` records.

        Raises:
            IndexMissing: nothing has been published under that name yet.
            IndexCorrupt: its collections or manifest are missing or of another format.
            StoreUnavailable: the server cannot be used.
        """
        known = recorded(folder)
        assert known is not None
        client = connect(parse(known["uri"]))
        files = _alias_target(client, known["name"])
        if files is None:
            client.close()
            raise IndexMissing(f"no index {known['name']} in {known['uri']}; build one with `qa index`")
        try:
            manifest = _manifest(client.query(files, filter='kind == "manifest"',
                                              output_fields=["name", "part", "data"], limit=LIMIT))
        except Exception:
            client.close()
            raise IndexCorrupt(f"index {known['name']} in {known['uri']} has no readable manifest; rebuild it "
                               "with `qa index --rebuild`", "it has no readable manifest") from None
        if manifest.get("format_version") != FORMAT_VERSION:
            client.close()
            raise IndexCorrupt(f"index {known['name']} has format {manifest.get('format_version')!r}, this qa reads "
                               f"{FORMAT_VERSION}; rebuild it with `qa index --rebuild`")
        return cls(folder, client, known["name"], files, manifest)

    @property
    def generation_name(self) -> str:
        return self.prefix

    def _collection(self, kind: str) -> str:
        return f"{self.prefix}_{rows_of(kind)}"

    def _query(self, part: str, filter: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row of a part that the filter selects, however many."""
        collection = f"{self.prefix}_{part}"
        rows: list[dict[str, Any]] = []
        iterator = self.client.query_iterator(collection, batch_size=4096, filter=filter, output_fields=fields)
        try:
            while batch := iterator.next():
                rows += batch
        finally:
            iterator.close()
        return rows

    def _by_ids(self, part: str, ids: Sequence[int], fields: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(int(i) for i in ids))
        for start in range(0, len(unique), 4096):
            rows += self.client.query(f"{self.prefix}_{part}", filter=f"id in {_ids(unique[start:start + 4096])}",
                                      output_fields=fields, limit=LIMIT)
        return rows

    def load(self) -> None:
        """Nothing to read ahead: the server holds the collections."""

    def verify(self) -> list[str]:
        """Row counts against the manifest, and the sources against their hashes."""
        problems = []
        for part in ("paragraphs", "sentences"):
            rows = self.client.query(f"{self.prefix}_{part}", filter="", output_fields=["count(*)"])[0]["count(*)"]
            if rows != self.manifest["counts"][part]:
                problems.append(f"{part}: {rows} rows in Milvus, its manifest says {self.manifest['counts'][part]}")
        from qa.storage.local import stale

        return problems + stale(self.manifest, deep=True)

    def stale(self, deep: bool = False) -> list[str]:
        from qa.storage.local import stale

        return stale(self.manifest, deep)

    def dense_search(self, kind: str, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        found = self.client.search(
            self._collection(kind), data=[[float(x) for x in query]], anns_field=_FIELD[kind],
            limit=min(k, LIMIT), output_fields=[], search_params={"metric_type": "IP"},
            filter="first == true" if self.manifest["counts"].get("copies") else "")
        return [(int(hit["id"]), float(hit["distance"])) for hit in found[0]]

    def _query_tokens(self, words: Sequence[str]) -> dict[str, list[str]]:
        """Each word as FTS5 tokenizes it for matching (stemmed)."""
        out: dict[str, list[str]] = {}
        with self._tokenizing:
            for word in words:
                self._tokenizer.execute("DELETE FROM words")
                self._tokenizer.execute("INSERT INTO words(rowid, text) VALUES (1, ?)", (word,))
                out[word] = [t for (t,) in self._tokenizer.execute(
                    "SELECT term FROM temp.words_tokens ORDER BY offset")]
        return out

    def lexical_search(self, kind: str, question: str, k: int,
                       within: Sequence[int] | None = None) -> list[tuple[int, float]]:
        """Rows ranked by BM25 against the question's content words, best first (as
        `lexical.search`): Milvus's BM25 finds the candidates, several times ``k`` of them, and
        they are ranked by FTS5's own formula (`_bm25`), so that the scores are the local folder's."""
        words = {w: group for w, group in self._query_tokens(lexical.terms(question)).items() if group}
        if not words or k <= 0 or (within is not None and not within):
            return []
        tokens = list(dict.fromkeys(t for group in words.values() for t in group))
        found = self.client.search(
            self._collection(kind), data=[" ".join(tokens)], anns_field="sparse",
            limit=min(max(4 * k, k + 50), LIMIT), output_fields=["lexical"], search_params={"metric_type": "BM25"},
            filter="" if within is None else f"id in {_ids(within)}")
        df = self._df(kind, tokens)
        scored = [(int(hit["id"]), self._bm25(kind, words, df, hit["entity"]["lexical"].split())) for hit in found[0]]
        scored = [(i, score) for i, score in scored if score > 0]
        return sorted(scored, key=lambda pair: (-pair[1], pair[0]))[:k]

    def _df(self, kind: str, tokens: Sequence[str]) -> dict[str, int]:
        """How many rows of a kind hold each token (FTS5's ``fts5vocab`` counts, kept at build)."""
        key = "p" if kind == "paragraphs" else "s"
        wanted = sorted({f"{key} {t}" for t in tokens})
        if not wanted:
            return {}
        rows = self.client.query(f"{self.prefix}_terms", filter=f"id in {json.dumps(wanted, ensure_ascii=False)}",
                                 output_fields=["df"], limit=LIMIT)
        return {row["id"].split(" ", 1)[1]: int(row["df"]) for row in rows}

    def _bm25(self, kind: str, words: dict[str, list[str]], df: dict[str, int], held: list[str]) -> float:
        """FTS5's bm25() (k1 = 1.2, b = 0.75, IDF floored at 1e-6) of one row for the question's words.
        A word FTS5 splits in several tokens is a phrase there; here it counts as often as its
        rarest token, in as many rows: an upper bound, equal for the one-token words of most questions."""
        import math
        from collections import Counter

        stats = self.manifest["lexical"][kind]
        rows, average = stats["rows"], stats["tokens"] / max(stats["rows"], 1)
        counts = Counter(held)
        score = 0.0
        for group in words.values():
            tf = min(counts[t] for t in group)
            if not tf:
                continue
            hits = min(df.get(t, 0) for t in group)
            idf = math.log((rows - hits + 0.5) / (hits + 0.5))
            idf = idf if idf > 0 else 1e-6
            score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(held) / average))
        return score

    def term_matches(self, kind: str, question: str,
                     within: Sequence[int]) -> tuple[dict[str, float], dict[str, set[int]]]:
        """IDF of each question word, and which of ``within`` contain it (as `lexical.term_matches`)."""
        import math

        words = self._query_tokens(lexical.terms(question))
        df = self._df(kind, [t for group in words.values() for t in group])
        total = self.manifest["lexical"][kind]["rows"]
        idf = {}
        for word, group in words.items():
            count = min((df.get(t, 0) for t in group), default=0)  # a phrase: at most its rarest token's
            idf[word] = math.log((total - count + 0.5) / (count + 0.5) + 1.0)
        return idf, self._holders(kind, words, within)

    def holders(self, kind: str, question: str, within: Sequence[int]) -> dict[str, set[int]]:
        return self._holders(kind, self._query_tokens(lexical.terms(question)), within)

    def _holders(self, kind: str, words: dict[str, list[str]], within: Sequence[int]) -> dict[str, set[int]]:
        rows = {r["id"]: set(r["lexical"].split()) for r in self._by_ids(rows_of(kind), within, ["lexical"])}
        return {word: {i for i, held in rows.items() if group and all(t in held for t in group)}
                for word, group in words.items()}

    def paragraphs(self, ids: Sequence[int]) -> dict[int, tuple[Paragraph, str]]:
        fields = ["file", "number", "start", "end", "line", "heading", "text", "context"]
        return {r["id"]: (Paragraph(r["file"], r["number"], r["start"], r["end"], r["line"], r["text"],
                                    bool(r["heading"])), r["context"])
                for r in self._by_ids("paragraphs", ids, fields)}

    def owners(self, sentence_ids: Sequence[int]) -> dict[int, int]:
        return {r["id"]: r["paragraph"] for r in self._by_ids("sentences", sentence_ids, ["paragraph"])}

    def sentences(self, paragraph_ids: Sequence[int]) -> dict[int, Sentence]:
        if not paragraph_ids:
            return {}
        rows = self._query("sentences", f"paragraph in {_ids(paragraph_ids)}",
                           ["paragraph", "start", "end", "line", "text"])
        return {r["id"]: Sentence(r["paragraph"], r["start"], r["end"], r["line"], r["text"])
                for r in sorted(rows, key=lambda r: r["id"])}

    def copies(self) -> dict[tuple[str, int], frozenset[tuple[str, int]]]:
        if not self.manifest["counts"].get("copies"):
            return {}
        later = {r["canonical"] for r in self._query("paragraphs", "first == false", ["canonical"])}
        rows = self._query("paragraphs", f"canonical in {_ids(later)}", ["file", "number", "canonical"])
        groups: dict[int, set[tuple[str, int]]] = {}
        for r in rows:
            groups.setdefault(r["canonical"], set()).add((r["file"], r["number"]))
        return {where: frozenset(group) for group in groups.values() for where in group}

    def file_rows(self, name: str) -> list[tuple[int, int, int, int, int, int, str, str, str]]:
        fmt = self.layer(name).format if any(f["name"] == name for f in self.manifest["files"]) else "text"
        rows = self._query("paragraphs", f"file == {_literal(name)}",
                           ["number", "start", "end", "line", "heading", "text", "context"])
        return [(r["id"], r["number"], r["start"], r["end"], r["line"], int(r["heading"]), r["text"], r["context"],
                 fmt) for r in sorted(rows, key=lambda r: r["id"])]

    def paragraph_ids(self) -> dict[tuple[str, int], int]:
        return {(r["file"], r["number"]): r["id"] for r in self._query("paragraphs", "", ["file", "number"])}

    def paragraph_at(self, file: str, number: int) -> Paragraph:
        rows = self.client.query(f"{self.prefix}_paragraphs", filter=f"file == {_literal(file)} and number == "
                                 f"{int(number)}", output_fields=["id"], limit=1)
        if not rows:
            raise BadInput(f"{file} has no indexed paragraph {number}")
        return self.paragraphs([rows[0]["id"]])[rows[0]["id"]][0]

    def layer(self, file: str) -> TextLayer:
        if file not in self._layers:
            rows = self._query("files", f"name == {_literal(file)}", ["kind", "part", "data"])
            if not rows:
                raise NotIndexed(f"{file} is not in the index in {self.folder} (see `qa info`)")
            joined = {kind: "".join(r["data"] for r in sorted((r for r in rows if r["kind"] == kind),
                                                              key=lambda r: r["part"])) for kind in ("text", "layout")}
            layout = json.loads(joined["layout"])
            self._layers[file] = TextLayer(layout["format"], joined["text"],
                                           tuple(Region(*r) for r in layout["regions"]),
                                           tuple(Page(p[0], p[1], p[2], bool(p[3:] and p[3]))
                                                 for p in layout["pages"]))
        return self._layers[file]

    def page_of(self, file: str, offset: int) -> int | None:
        return page_of(self.layer(file).pages, offset)

    def ocr_at(self, file: str, offset: int) -> bool:
        number = self.page_of(file, offset)
        return any(page.ocr for page in self.layer(file).pages if page.page == number)

    def dense_vectors(self, kind: str, ids: list[int]) -> np.ndarray:
        import numpy as np

        field = _FIELD[kind]
        found = {r["id"]: r[field] for r in self._by_ids(rows_of(kind), ids, [field])}
        if not ids:
            return np.zeros((0, int(self.manifest["model"]["dimension"])), np.float32)
        return np.asarray([found[int(i)] for i in ids], dtype=np.float32)

    def store_calibration(self, calibration: dict[str, Any]) -> None:
        self.manifest["calibration"] = calibration
        self.save_manifest()

    def save_manifest(self) -> None:
        """Replace the manifest's blobs in the live generation with ``manifest`` as it now is."""
        claim(self.folder)
        collection = self.files_collection
        old = [r["id"] for r in self._query("files", 'kind == "manifest"', ["part"])]
        top = max(r["id"] for r in self._query("files", "", ["part"]))
        blobs = _blobs(_version(), "manifest", json.dumps(self.manifest, ensure_ascii=False))
        for i, blob in enumerate(blobs):
            blob["id"] = top + 1 + i
        self.client.insert(collection, blobs)
        self.client.delete(collection, filter=f"id in {_ids(old)}")
        self.client.flush(collection)

    def is_live(self) -> bool:
        return _alias_target(self.client, self.name) == self.files_collection

    def close(self) -> None:
        self._tokenizer.close()
        self.client.close()


def wait_until_up(address: Address, seconds: float = 60) -> None:
    """Wait for a server that was just started to answer (tests, benchmarks)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            connect(address).close()
            return
        except StoreUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


__all__ = ["Address", "MilvusIndex", "Remote", "StoreUnavailable", "connect", "parse", "remote_store",
           "wait_until_up", "VECTORS"]
