"""The storage interface: what the question path, citations and the build read from an index.

    >>> from qa.index import Index
    >>> index: Store = Index.open(Path("index"))    # the local folder, or Milvus if it records one
    >>> index.lexical_search("paragraphs", "Who walked on the Moon?", 5)  # doctest: +SKIP
    [(5, 1.2571304301746051)]

Two backends implement it: `qa.storage.local.Index` (SQLite FTS5 and FAISS files in the index
folder) and `qa.storage.milvus.MilvusIndex` (collections in a Milvus server). Row ids are the
build's: paragraphs and sentences numbered from 0 in corpus order, the same in either backend.
Writing is the builder's (`qa.storage.builder`): it stages a generation in the folder, and
publishes it there or uploads it (`qa.storage.milvus.Remote`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from qa.formats import TextLayer
    from qa.types import Paragraph, Sentence


class Store(Protocol):
    """One published generation of an index, open for reading.

    Attributes:
        folder: the index folder given to `qa` (for a Milvus index, the one recording it).
        manifest: format, model, chunking, files with their hashes, counts (`qa.storage.manifest`).
        generation_name: the generation open here; a build publishes another under a new name.
    """

    folder: Path
    manifest: dict[str, Any]

    @property
    def generation_name(self) -> str: ...

    # Retrieval: (row id, score) best first. kind: "paragraphs", "sentences" (dense: also
    # "sentences_in_context"). Later copies of a paragraph are never returned.
    def dense_search(self, kind: str, query: np.ndarray, k: int) -> list[tuple[int, float]]: ...

    def lexical_search(self, kind: str, question: str, k: int,
                       within: Sequence[int] | None = None) -> list[tuple[int, float]]: ...

    # The cheap scorer's term statistics: BM25 IDF of each question word, and which rows hold it.
    def term_matches(self, kind: str, question: str,
                     within: Sequence[int]) -> tuple[dict[str, float], dict[str, set[int]]]: ...

    def holders(self, kind: str, question: str, within: Sequence[int]) -> dict[str, set[int]]: ...

    def dense_vectors(self, kind: str, ids: list[int]) -> np.ndarray: ...

    # Rows and text, with offsets into each file's text layer and its pages.
    def paragraphs(self, ids: Sequence[int]) -> dict[int, tuple[Paragraph, str]]: ...

    def sentences(self, paragraph_ids: Sequence[int]) -> dict[int, Sentence]: ...

    def owners(self, sentence_ids: Sequence[int]) -> dict[int, int]: ...

    def copies(self) -> dict[tuple[str, int], frozenset[tuple[str, int]]]: ...

    def paragraph_at(self, file: str, number: int) -> Paragraph: ...

    def paragraph_ids(self) -> dict[tuple[str, int], int]: ...

    def file_rows(self, name: str) -> list[tuple[int, int, int, int, int, int, str, str, str]]: ...

    def layer(self, file: str) -> TextLayer: ...

    def page_of(self, file: str, offset: int) -> int | None: ...

    def ocr_at(self, file: str, offset: int) -> bool: ...

    # Life cycle.
    def stale(self, deep: bool = False) -> list[str]: ...

    def verify(self) -> list[str]: ...

    def load(self) -> None: ...

    def is_live(self) -> bool: ...

    def save_manifest(self) -> None: ...

    def store_calibration(self, calibration: dict[str, Any]) -> None: ...

    def close(self) -> None: ...
