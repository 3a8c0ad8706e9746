"""Dense stage: inner-product search over normalised vectors with FAISS, exact or approximate.

    >>> import numpy as np
    >>> from qa import dense
    >>> index = dense.build(np.eye(3, dtype="float32"))
    >>> dense.search(index, np.array([0, 1, 0], dtype="float32"), 1)
    [(1, 1.0)]
    >>> dense.plan(1_000_000, approx_min_vectors=100_000)
    Plan(type='ivf_flat', nlist=2048, nprobe=256)

Vectors are L2-normalised, so inner product is cosine similarity. Small indexes
(what `qa` mostly sees: tens of thousands of vectors) are exact flat indexes,
read whole on load. From ``approx_min_vectors`` rows on (`qa.settings.APPROX_MIN_VECTORS`,
measured by ``bench/scale.py``), `plan` chooses an inverted file of full vectors
(IVF-Flat): the rows are clustered into ``nlist`` lists and a question scans the
``nprobe`` lists whose centroids are nearest. Its scores are exact cosines and it
keeps every vector exactly (`vectors` returns what was stored), only recall is
approximate. It is memory-mapped on load (``faiss.IO_FLAG_MMAP``), so a cold
question reads its lists, not every vector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# The first bytes FAISS writes for each structure (its fourcc), checked on every load.
HEADERS = {"flat": b"IxFI", "ivf_flat": b"IwFl"}
# An IVF has about 2 * sqrt(rows) lists, a question scans an eighth of them, and the centroids are
# trained on 64 rows per list: chosen with bench/scale.py (docs/scale.md). At 1,000,000 rows,
# 1,024, 2,048 and 4,096 lists probed an eighth each found 0.986, 0.994 and 0.998 of the exact
# top 10 at the same p50 (17-19 ms) and took 20, 44 and 127 s to build: 2,048 keeps a margin over
# 0.95 (real vectors are a little harder than the benchmark's) for a build that is small beside
# embedding the million texts.
LISTS_PER_ROOT = 2
PROBED_FRACTION = 1 / 8
TRAIN_PER_LIST = 64


@dataclass(frozen=True)
class Plan:
    """How a set of vectors is searched: ``flat`` (exact), or ``ivf_flat`` with ``nlist``
    lists of which a question scans ``nprobe``."""

    type: str = "flat"
    nlist: int = 0
    nprobe: int = 0

    def to_dict(self) -> dict[str, Any]:
        """What the manifest records (and `qa info` shows): the type, and an IVF's parameters."""
        return {"type": self.type} if self.type == "flat" else asdict(self)


def plan(rows: int, approx_min_vectors: int) -> Plan:
    """The structure for ``rows`` vectors: exact below ``approx_min_vectors``, IVF-Flat from there.

    An IVF gets about ``LISTS_PER_ROOT * sqrt(rows)`` lists (a power of two, never more than
    ``rows``) and probes ``PROBED_FRACTION`` of them (at least one).
    """
    if rows < max(approx_min_vectors, 1):
        return Plan()
    nlist = min(2 ** round(math.log2(LISTS_PER_ROOT * math.sqrt(rows))), rows)
    return Plan("ivf_flat", nlist, max(1, round(nlist * PROBED_FRACTION)))


def build(vectors: np.ndarray | VectorFile, how: Plan | None = None) -> Any:
    """A FAISS index holding ``vectors`` with ids 0..n-1, structured as ``how`` says (default: flat).

    An IVF's centroids are trained (spherical k-means, fixed seed) on an evenly spread sample
    of ``TRAIN_PER_LIST`` rows per list, and it keeps a direct map from id to list, so that
    `vectors` can return any row.
    """
    import faiss
    import numpy as np

    how = how or Plan()
    dimension = vectors.shape[1]
    index: Any
    if how.type == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif how.type == "ivf_flat":
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, how.nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.min_points_per_centroid = 1  # the sample is ours to size; no warning on stderr
        sample = np.linspace(0, len(vectors) - 1, min(len(vectors), how.nlist * TRAIN_PER_LIST)).astype(np.int64)
        index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
        index.nprobe = how.nprobe
    else:
        raise ValueError(f"unknown dense index type {how.type!r}; expected one of {', '.join(HEADERS)}")
    for start in range(0, len(vectors), 1 << 16):  # a slice at a time, so a memory-mapped input stays on disk
        index.add(np.ascontiguousarray(vectors[start:start + (1 << 16)], dtype=np.float32))
    if how.type == "ivf_flat":
        index.make_direct_map()
    return index


class VectorFile:
    """Rows of float32 vectors in a file, written as they come and read back a slice at a time
    (`build` takes one): a build's memory then holds one kind's FAISS structure, never all the
    corpus's vectors as well. Reads and writes go through the file, not a mapping, so the rows
    read do not stay in the process's memory.

    Args:
        path: the file; made (zero-filled, sparse) at ``rows * dimension`` floats.
    """

    def __init__(self, path: Path, rows: int, dimension: int):
        self.path, self.rows, self.dimension = path, rows, dimension
        self.width = dimension * 4
        with path.open("wb") as handle:
            handle.truncate(rows * self.width)

    def __len__(self) -> int:
        return self.rows

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, self.dimension

    def write(self, rows: Sequence[int], vectors: np.ndarray) -> None:
        """Put ``vectors[i]`` at row ``rows[i]``; runs of consecutive rows are written at once."""
        import numpy as np

        order = np.argsort(np.asarray(rows, dtype=np.int64), kind="stable")
        places = np.asarray(rows, dtype=np.int64)[order]
        data = np.ascontiguousarray(vectors[order], dtype=np.float32)
        breaks = np.flatnonzero(np.diff(places) != 1) + 1
        with self.path.open("r+b") as handle:
            for run in np.split(np.arange(len(places)), breaks):
                if len(run):
                    handle.seek(int(places[run[0]]) * self.width)
                    handle.write(data[run[0] : run[-1] + 1].tobytes())

    def __getitem__(self, key: slice | np.ndarray) -> np.ndarray:
        import numpy as np

        with self.path.open("rb") as handle:
            if isinstance(key, slice):
                start, stop, _ = key.indices(self.rows)
                handle.seek(start * self.width)
                rows = np.fromfile(handle, np.float32, max(0, stop - start) * self.dimension)
                return rows.reshape(-1, self.dimension)
            out = np.empty((len(key), self.dimension), np.float32)
            for i, row in enumerate(np.asarray(key, dtype=np.int64)):
                handle.seek(int(row) * self.width)
                out[i] = np.fromfile(handle, np.float32, self.dimension)
            return out


def describe(index: Any) -> Plan:
    """The plan an index was built with, read from the index itself."""
    import faiss

    if isinstance(index, faiss.IndexIVFFlat):
        return Plan("ivf_flat", int(index.nlist), int(index.nprobe))
    return Plan()


def save(index: Any, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load(path: Path) -> Any:
    """Read an index: a flat one whole, an IVF memory-mapped (its lists stay in the file).

    FAISS's ``IO_FLAG_MMAP`` maps only an IVF's inverted lists (as read-only on-disk lists over
    the same file); a flat index is read whole whatever the flag, so one call serves both.
    """
    import faiss

    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP)


def search(index: Any, query: np.ndarray, k: int, skip: Any = None) -> list[tuple[int, float]]:
    """The ``k`` nearest rows to one query vector, as ``(id, cosine)`` best first.

    Args:
        skip: rows never returned, from `skipping`; None for none.
    """
    import faiss

    k = min(k, index.ntotal)
    if k <= 0:
        return []
    if skip is None:
        scores, ids = index.search(query.reshape(1, -1), k)
    else:
        # An IVF takes only its own parameters, which carry the probes too (their default is one).
        params = faiss.SearchParametersIVF(sel=skip[1], nprobe=index.nprobe) if isinstance(  # type: ignore[call-arg]
            index, faiss.IndexIVF) else skip[0]
        scores, ids = index.search(query.reshape(1, -1), k, params=params)
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
    """The stored vectors of the given rows, exactly (flat and IVF-Flat indexes keep them whole)."""
    import numpy as np

    if not ids:
        return np.zeros((0, index.d), dtype=np.float32)
    return index.reconstruct_batch(np.asarray(ids, dtype=np.int64))


def check(index: Any, samples: int = 100) -> list[str]:
    """What is wrong inside an approximate index, beyond its checksum; empty when all is well.

    An IVF must hold every id from 0 to ``ntotal - 1`` exactly once, its direct map must say
    where each one is, and a sample of stored rows searched for must each find a row as close
    as itself (so centroids and lists agree). A flat index has nothing more to check.
    """
    import faiss
    import numpy as np

    if not isinstance(index, faiss.IndexIVFFlat):
        return []
    lists: Any = index.invlists
    ids, places = [], []
    for number in range(index.nlist):
        size = lists.list_size(number)
        if size:
            ids.append(np.array(faiss.rev_swig_ptr(lists.get_ids(number), size), dtype=np.int64))
            places.append((number << 32) | np.arange(size, dtype=np.int64))
    held = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    if len(held) != index.ntotal or not np.array_equal(np.sort(held), np.arange(index.ntotal)):
        return ["its lists do not hold each row exactly once"]
    if index.direct_map.type != faiss.DirectMap.Array:  # type: ignore[attr-defined]
        return ["it has no direct map, so stored vectors cannot be read back"]
    if not np.array_equal(faiss.vector_to_array(index.direct_map.array)[held], np.concatenate(places)):
        return ["its direct map disagrees with its lists"]
    rows = np.unique(np.linspace(0, index.ntotal - 1, min(samples, index.ntotal)).astype(np.int64))
    stored = vectors(index, rows.tolist())
    found, _ = index.search(stored, 1)
    lost = int(np.sum(found[:, 0] < np.sum(stored * stored, axis=1) - 1e-4))
    if lost:
        return [f"{lost} of {len(rows)} sampled rows are not found by searching for themselves"]
    return []
