"""Dense stage: exact inner-product search over normalised vectors with FAISS.

    >>> import numpy as np
    >>> from qa import dense
    >>> index = dense.build(np.eye(3, dtype="float32"))
    >>> dense.search(index, np.array([0, 1, 0], dtype="float32"), 1)
    [(1, 1.0)]

Vectors are L2-normalised, so inner product is cosine similarity. The corpora
`qa` targets are small enough (tens of thousands of vectors) that an exact flat
index is both fastest to build and best in recall.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def build(vectors: np.ndarray) -> Any:
    """A flat inner-product FAISS index holding ``vectors`` with ids 0..n-1."""
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(vectors)
    return index


def save(index: Any, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load(path: Path) -> Any:
    import faiss

    return faiss.read_index(str(path))


def search(index: Any, query: np.ndarray, k: int, skip: Any = None) -> list[tuple[int, float]]:
    """The ``k`` nearest rows to one query vector, as ``(id, cosine)`` best first.

    Args:
        skip: rows never returned, from `skipping`; None for none.
    """
    k = min(k, index.ntotal)
    if k <= 0:
        return []
    if skip is None:
        scores, ids = index.search(query.reshape(1, -1), k)
    else:
        scores, ids = index.search(query.reshape(1, -1), k, params=skip[0])
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


def skipping(rows: list[int]) -> Any:
    """Search parameters that leave ``rows`` out of `search`; None when there are none."""
    if not rows:
        return None
    import faiss
    import numpy as np

    batch = faiss.IDSelectorBatch(np.asarray(rows, dtype=np.int64))
    selector = faiss.IDSelectorNot(batch)
    return faiss.SearchParameters(sel=selector), selector, batch  # type: ignore[call-arg]  # the selectors must outlive the search


def vectors(index: Any, ids: list[int]) -> np.ndarray:
    """The stored vectors of the given rows (flat indexes keep them exactly)."""
    import numpy as np

    if not ids:
        return np.zeros((0, index.d), dtype=np.float32)
    return np.vstack([index.reconstruct(int(i)) for i in ids])
