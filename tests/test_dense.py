from __future__ import annotations

from pathlib import Path

import numpy as np

from qa import dense


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_search_ranks_by_cosine_and_caps_k():
    index = dense.build(np.vstack([unit(1, 0, 0), unit(1, 1, 0), unit(0, 0, 1)]))
    found = dense.search(index, unit(1, 0.1, 0), 10)
    assert [i for i, _ in found] == [0, 1, 2]
    assert found[0][1] > found[1][1] > found[2][1]


def test_an_empty_index_finds_nothing():
    assert dense.search(dense.build(np.zeros((0, 3), dtype=np.float32)), unit(1, 0, 0), 5) == []


def test_save_load_and_stored_vectors_round_trip(tmp_path: Path):
    vectors = np.vstack([unit(1, 2, 3), unit(3, 2, 1)])
    dense.save(dense.build(vectors), tmp_path / "v.faiss")
    loaded = dense.load(tmp_path / "v.faiss")
    assert np.allclose(dense.vectors(loaded, [1, 0]), vectors[[1, 0]])
    assert dense.vectors(loaded, []).shape == (0, 3)


def test_skipped_rows_are_never_returned():
    index = dense.build(np.vstack([unit(1, 0, 0), unit(1, 0.1, 0), unit(0, 1, 0)]))
    assert [i for i, _ in dense.search(index, unit(1, 0, 0), 3, dense.skipping([0]))] == [1, 2]
    assert dense.skipping([]) is None
