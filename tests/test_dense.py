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


def test_an_ivf_skips_rows_and_still_probes_as_many_lists(tmp_path: Path):
    vectors, queries = clustered(3000, clusters=40, spread=1.0)  # overlapping: one probed list would miss some
    flat, ivf = dense.build(vectors), dense.build(vectors, dense.Plan("ivf_flat", 32, 8))
    dense.save(ivf, tmp_path / "v.faiss")
    loaded = dense.load(tmp_path / "v.faiss")
    for query in queries[:5]:
        skip = dense.skipping([i for i, _ in dense.search(flat, query, 5)])
        exact = [i for i, _ in dense.search(flat, query, 10, skip)]
        assert [i for i, _ in dense.search(loaded, query, 10, skip)] == exact


# --- the approximate index (issue 10) ----------------------------------------------------------

def clustered(rows: int, clusters: int, dimension: int = 32, spread: float = 0.05, seed: int = 0):
    """Unit vectors in clusters around random centres, and a query near each of (up to) 20 centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dimension))
    near = centres[rng.integers(0, clusters, rows)] + spread * rng.standard_normal((rows, dimension))
    queries = centres[:20] + spread * rng.standard_normal((min(20, clusters), dimension))
    return [(v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32) for v in (near, queries)]


def test_plan_is_exact_below_the_threshold_and_an_ivf_from_it():
    assert dense.plan(249_999, approx_min_vectors=250_000) == dense.Plan()
    assert dense.plan(0, approx_min_vectors=0) == dense.Plan()
    big = dense.plan(1_000_000, approx_min_vectors=250_000)
    assert big.type == "ivf_flat" and big.nlist & (big.nlist - 1) == 0 and 1 <= big.nprobe < big.nlist
    assert dense.plan(3, approx_min_vectors=1).nlist <= 3  # never more lists than rows
    assert dense.Plan().to_dict() == {"type": "flat"}
    assert big.to_dict() == {"type": "ivf_flat", "nlist": big.nlist, "nprobe": big.nprobe}


def test_an_ivf_finds_what_flat_finds_on_clustered_vectors_with_the_same_cosines():
    vectors, queries = clustered(3000, clusters=40)
    flat, ivf = dense.build(vectors), dense.build(vectors, dense.Plan("ivf_flat", 32, 4))
    for query in queries:
        exact, approximate = dense.search(flat, query, 10), dense.search(ivf, query, 10)
        assert [i for i, _ in approximate] == [i for i, _ in exact]
        assert np.allclose([s for _, s in approximate], [s for _, s in exact], atol=1e-6)


def test_an_ivf_recalls_most_of_the_exact_top_10_on_overlapping_clusters():
    vectors, queries = clustered(5000, clusters=50, spread=1.2)
    flat = dense.build(vectors)

    def recall(nprobe: int) -> float:
        ivf = dense.build(vectors, dense.Plan("ivf_flat", 64, nprobe))
        return float(np.mean([len({i for i, _ in dense.search(ivf, q, 10)} & {i for i, _ in dense.search(flat, q, 10)})
                              / 10 for q in queries]))

    assert recall(1) < 0.8  # the clusters overlap: one list is not enough
    assert recall(16) >= 0.95


def test_an_ivf_is_memory_mapped_on_load_and_returns_its_vectors_exactly(tmp_path: Path):
    import faiss

    vectors, queries = clustered(2000, clusters=20)
    ivf = dense.build(vectors, dense.Plan("ivf_flat", 16, 4))
    dense.save(ivf, tmp_path / "v.faiss")
    assert (tmp_path / "v.faiss").read_bytes()[:4] == dense.HEADERS["ivf_flat"]
    loaded = dense.load(tmp_path / "v.faiss")
    assert type(faiss.downcast_InvertedLists(loaded.invlists)).__name__ == "OnDiskInvertedLists"
    assert dense.describe(loaded) == dense.Plan("ivf_flat", 16, 4)
    assert np.array_equal(dense.vectors(loaded, [1999, 0, 7]), vectors[[1999, 0, 7]])
    assert dense.search(loaded, queries[0], 5) == dense.search(ivf, queries[0], 5)
    assert dense.check(loaded) == []


def test_check_finds_an_ivf_that_loses_rows_or_cannot_read_them_back():
    import faiss

    vectors, _ = clustered(500, clusters=10)
    ivf = dense.build(vectors, dense.Plan("ivf_flat", 8, 2))
    assert dense.check(ivf) == [] and dense.check(dense.build(vectors)) == []
    places = faiss.vector_to_array(ivf.direct_map.array)
    places[[3, 4]] = places[[4, 3]]
    faiss.copy_array_to_vector(places, ivf.direct_map.array)
    assert dense.check(ivf) == ["its direct map disagrees with its lists"]
    ivf.make_direct_map(False)
    assert dense.check(ivf) == ["it has no direct map, so stored vectors cannot be read back"]
    ivf.remove_ids(np.array([3], dtype=np.int64))
    assert dense.check(ivf) == ["its lists do not hold each row exactly once"]


def test_a_vector_file_holds_rows_written_in_any_order_and_builds_the_same_index(tmp_path: Path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    stored = dense.VectorFile(tmp_path / "v.f32", 300, 8)
    order = rng.permutation(300)
    for part in np.array_split(order, 7):  # scattered rows, some runs of consecutive ones
        stored.write(sorted(part.tolist(), reverse=True), vectors[sorted(part.tolist(), reverse=True)])
    assert stored.shape == (300, 8) and len(stored) == 300
    assert np.array_equal(stored[:], vectors)
    assert np.array_equal(stored[290:400], vectors[290:])
    assert np.array_equal(stored[np.array([5, 3, 299])], vectors[[5, 3, 299]])
    for how in (dense.Plan(), dense.plan(300, approx_min_vectors=100)):
        from_file, from_memory = dense.build(stored, how), dense.build(vectors, how)
        assert np.array_equal(dense.vectors(from_file, list(range(300))), vectors)
        assert dense.search(from_file, vectors[7], 5) == dense.search(from_memory, vectors[7], 5)
