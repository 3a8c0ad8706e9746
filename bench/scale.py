"""Scale benchmark (issue 10): the dense part at up to 1,000,000 synthetic vectors of the model's
dimension, and the lexical part at as many synthetic rows.

    nice -n 19 .venv/bin/python bench/scale.py                      # 1,000,000 rows (~15 min, 2 cores)
    .venv/bin/python bench/scale.py --rows 100000 --sizes 10000,100000 --lexical-rows 100000

Vectors are synthetic and clustered: a mixture of Gaussian topics in a 24-dimensional latent space,
mapped to 384 dimensions by a random linear map, with isotropic noise, normalised (`synthetic`).
Its parameters were chosen so that at 10,255 rows it looks like the real all-MiniLM-L6-v2 vectors
of the SQuAD dev sentences (in context) seen from 300 SQuAD questions: random pairs' cosine
0.027 +- 0.175 (real 0.034 +- 0.105), a question's best, 10th and 100th cosines 0.47/0.42/0.35
(real 0.66/0.49/0.36), and an IVF with 64 lists finding 56/79/94/98/100% of the true top 10 at
1/2/4/8/16 probes (real 71/82/91/96/98%): harder than real vectors with few probes, a little easier
in the tail, so the parameters keep a margin.
Uniform random unit vectors would be the degenerate worst case (no neighbourhoods to find).
Queries are held-out samples of the mixture moved by more noise, like a question near, not on,
its passages.

For each size of ``--sizes`` the script builds an exact flat index and the approximate one that
`qa.dense.plan` chooses, each in a fresh process (build time, peak memory), then questions each
in a fresh process after evicting its file from the page cache (``posix_fadvise(DONTNEED)``):
load time, the first (cold) question, bytes read from storage (``/proc/self/io`` read_bytes),
then single questions as `qa` asks them (one vector, k = 100, like ``DEPTH * 2``), and resident
memory from ``/proc/self/status`` after load and after the questions: ``RssAnon`` (the process's
own memory) and ``RssFile`` (pages of mapped files: page cache, clean, that the kernel may drop
and read again). Recall@10 is the share of the exact top 10 (by a NumPy scan) that the index
returns in its top 10, over ``--recall-queries`` queries. The lexical part fills an SQLite FTS5
table (`qa.lexical`) with synthetic Zipf-distributed text and times `qa.lexical.search`.

Everything goes to ``--work`` (default ``bench/out/scale``, git-ignored) and is removed at the end
unless ``--keep``. Prints Markdown tables; ``--json`` also writes the figures to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa import dense, lexical  # noqa: E402
from qa.settings import APPROX_MIN_VECTORS  # noqa: E402

DIMENSION = 384  # all-MiniLM-L6-v2
DEPTH = 100      # what qa asks the sentence index for (pipeline.DEPTH * 2)
LATENT = 24
TOPIC_SIZE = 500
CHUNK = 100_000


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


class Mixture:
    """The synthetic vectors: topics of about ``TOPIC_SIZE`` rows in a ``LATENT``-dimensional space
    (topic spread 0.8, rows within a topic 0.8), a random map to ``DIMENSION``, noise 0.7."""

    def __init__(self, rows: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.topics = 0.8 * rng.standard_normal((max(1, rows // TOPIC_SIZE), LATENT)) / np.sqrt(LATENT)
        self.map = rng.standard_normal((LATENT, DIMENSION)) / np.sqrt(DIMENSION)
        self.seed = seed

    def sample(self, count: int, stream: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, stream])
        latent = self.topics[rng.integers(0, len(self.topics), count)]
        latent = latent + 0.8 * rng.standard_normal((count, LATENT)) / np.sqrt(LATENT)
        return unit(latent @ self.map + 0.7 * rng.standard_normal((count, DIMENSION)) / np.sqrt(DIMENSION))

    def queries(self, count: int, stream: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, stream, 1])
        near = self.sample(count, stream)
        noise = rng.uniform(0.3, 1.5, (count, 1)) * rng.standard_normal((count, DIMENSION)) / np.sqrt(DIMENSION)
        return unit(near + noise)


def synthetic(path: Path, rows: int, mixture: Mixture) -> np.ndarray:
    """Write ``rows`` vectors to a ``.npy`` file a chunk at a time; return it memory-mapped."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, DIMENSION))
    for start in range(0, rows, CHUNK):
        out[start:start + CHUNK] = mixture.sample(min(CHUNK, rows - start), stream=start // CHUNK)
    out.flush()
    return np.load(path, mmap_mode="r")


def exact_top(vectors: np.ndarray, queries: np.ndarray, rows: int, k: int = 10) -> np.ndarray:
    """The exact top ``k`` ids among the first ``rows`` vectors, for each query (a NumPy scan)."""
    best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, rows, CHUNK):
        scores = queries @ np.asarray(vectors[start:min(start + CHUNK, rows)]).T
        ids = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
        scores = np.hstack([best_scores, scores])
        ids = np.hstack([best_ids, ids])
        keep = np.argsort(-scores, axis=1)[:, :k]
        best_scores, best_ids = np.take_along_axis(scores, keep, 1), np.take_along_axis(ids, keep, 1)
    return best_ids


def recall_at_10(index: Any, queries: np.ndarray, truth: np.ndarray) -> float:
    found = [{i for i, _ in dense.search(index, q, 10)} for q in queries]
    return float(np.mean([len(f & set(t)) / 10 for f, t in zip(found, truth)]))


# --- measurements made in a fresh process --------------------------------------------------------

def memory() -> dict[str, float]:
    """Resident memory of this process in MiB: its own (anonymous) and mapped files' pages."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def read_bytes() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("read_bytes:"):
            return int(line.split()[1])
    return 0


class Peak:
    """The highest RssAnon and RssFile seen while a block runs (sampled every 20 ms)."""

    def __enter__(self) -> Peak:
        self.anon = self.file = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._done.wait(0.02):
            now = memory()
            self.anon, self.file = max(self.anon, now["RssAnon"]), max(self.file, now["RssFile"])

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def child_build(args: dict[str, Any]) -> dict[str, Any]:
    vectors = np.load(args["vectors"], mmap_mode="r")[:args["rows"]]
    how = dense.Plan(**args["plan"])
    with Peak() as peak:
        started = time.perf_counter()
        index = dense.build(vectors, how)
        built = time.perf_counter() - started
        dense.save(index, Path(args["path"]))
    return {"build_s": built, "save_s": time.perf_counter() - started - built, "peak_anon_mib": peak.anon,
            "peak_file_mib": peak.file, "bytes": Path(args["path"]).stat().st_size}


def child_start(args: dict[str, Any]) -> dict[str, Any]:
    """Load and one question in a fresh process with the file in the page cache: a repeated `qa ask`."""
    query = np.load(args["queries"])[0]
    started = time.perf_counter()
    index = dense.load(Path(args["path"]))
    loaded = time.perf_counter()
    dense.search(index, query, DEPTH)
    return {"warm_load_ms": (loaded - started) * 1e3, "warm_first_ms": (time.perf_counter() - loaded) * 1e3}


def child_query(args: dict[str, Any]) -> dict[str, Any]:
    path = Path(args["path"])
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)  # pages not yet written back cannot be dropped
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # a cold start: the file is not in the page cache
    os.close(fd)
    queries = np.load(args["queries"])
    before = read_bytes()
    started = time.perf_counter()
    index = dense.load(path)
    loaded = time.perf_counter()
    dense.search(index, queries[0], DEPTH)
    first = time.perf_counter()
    after_load = {"read_mib": (read_bytes() - before) / 2**20, **memory()}
    times = []
    for query in queries[1:]:
        t = time.perf_counter()
        dense.search(index, query, DEPTH)
        times.append(time.perf_counter() - t)
    stored = dense.vectors(index, [0, index.ntotal // 2, index.ntotal - 1])
    exact = np.array_equal(stored, np.load(args["vectors"], mmap_mode="r")[[0, index.ntotal // 2, index.ntotal - 1]])
    result = {"load_ms": (loaded - started) * 1e3, "first_ms": (first - loaded) * 1e3,
              "p50_ms": float(np.percentile(times, 50) * 1e3), "p99_ms": float(np.percentile(times, 99) * 1e3),
              "after_load": after_load, "after_queries": memory(), "queries": len(times) + 1, "exact_vectors": exact}
    result["recall_at_10"] = recall_at_10(index, np.load(args["recall_queries"]), np.load(args["truth"]))
    return result


def in_child(role: str, args: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", role, json.dumps(args)], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the lexical part ----------------------------------------------------------------------------

WORDS = 50_000
FUNCTION_WORDS = 100
ZIPF = np.cumsum(1 / np.arange(1, WORDS + 1))


def words(rng: np.random.Generator, count: int, content: bool = False) -> list[str]:
    """Made-up words (``w123``) drawn as in English text: the word of rank r with probability
    proportional to 1/r among ``WORDS``; ``content`` words skip the ``FUNCTION_WORDS`` commonest,
    as a question's do (`qa.lexical.terms` drops stopwords)."""
    low = ZIPF[FUNCTION_WORDS - 1] if content else 0.0
    ranks = np.searchsorted(ZIPF, rng.uniform(low, ZIPF[-1], count)) + 1
    return [f"w{r}" for r in ranks]


def lexical_part(work: Path, rows: int, queries: int) -> dict[str, Any]:
    path = work / "lexical.sqlite"
    path.unlink(missing_ok=True)
    rng = np.random.default_rng(7)
    db = sqlite3.connect(path)
    lexical.create(db, "sent_fts")
    started = time.perf_counter()
    for start in range(0, rows, CHUNK):
        count = min(CHUNK, rows - start)
        lengths = rng.integers(8, 30, count)
        pool = iter(words(rng, int(lengths.sum())))
        lexical.add(db, "sent_fts", ((start + i, " ".join(next(pool) for _ in range(n)))
                                     for i, n in enumerate(lengths)))
    db.commit()
    built = time.perf_counter() - started
    db.close()
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    questions = [" ".join(words(rng, int(n), content=True)) for n in rng.integers(3, 7, queries)]
    lexical.search(db, "sent_fts", questions[0], DEPTH)
    times = []
    for question in questions[1:]:
        t = time.perf_counter()
        lexical.search(db, "sent_fts", question, DEPTH)
        times.append(time.perf_counter() - t)
    return {"rows": rows, "build_s": built, "bytes": path.stat().st_size,
            "p50_ms": float(np.percentile(times, 50) * 1e3), "p99_ms": float(np.percentile(times, 99) * 1e3)}


# --- the run -------------------------------------------------------------------------------------

def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB" if n > 2**20 else f"{n / 2**10:,.0f} KiB"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        role, args = sys.argv[2], json.loads(sys.argv[3])
        import faiss  # noqa: F401  (before any timing: every process that asks imports it first)
        print(json.dumps({"build": child_build, "query": child_query, "start": child_start}[role](args)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="vectors in the largest index")
    parser.add_argument("--sizes", default="10000,30000,100000,300000",
                        help="smaller sizes to compare flat and approximate at (the largest is --rows)")
    parser.add_argument("--queries", type=int, default=1000, help="single questions timed per index")
    parser.add_argument("--recall-queries", type=int, default=200)
    parser.add_argument("--lexical-rows", type=int, default=None, help="FTS5 rows (default: --rows)")
    parser.add_argument("--sweep", default="", help="nprobe values to report recall for at --rows (e.g. 8,16,32,64)")
    parser.add_argument("--lists", default="", help="other nlist values to build at --rows, each probing "
                        "the same share of its lists as qa's plan (e.g. 2048,4096)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "scale")
    parser.add_argument("--keep", action="store_true", help="keep the vectors and indexes in --work")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()

    work = options.work
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted({int(s) for s in options.sizes.split(",") if s and int(s) < options.rows} | {options.rows})
    started = time.perf_counter()
    results: dict[str, Any] = {"rows": options.rows, "dimension": DIMENSION, "k": DEPTH, "sizes": {},
                               "queries": options.queries,
                               "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    files = {name: str(work / f"{name}.npy") for name in ("vectors", "queries", "recall_queries", "truth")}
    for rows in sizes:
        mixture = Mixture(rows)  # each size its own corpus, of topics as large as at every other size
        vectors = synthetic(work / "vectors.npy", rows, mixture)
        np.save(files["queries"], mixture.queries(options.queries, stream=10**6))
        recall_queries = mixture.queries(options.recall_queries, stream=10**6 + 1)
        np.save(files["recall_queries"], recall_queries)
        truth = exact_top(vectors, recall_queries, rows)
        np.save(files["truth"], truth)
        entry = {}
        for how in (dense.Plan(), dense.plan(rows, approx_min_vectors=0)):
            path = work / f"{rows}-{how.type}.faiss"
            built = in_child("build", {"vectors": files["vectors"], "rows": rows, "plan": how.to_dict(),
                                       "path": str(path)})
            asked = in_child("query", {"path": str(path), **files})
            again = in_child("start", {"path": str(path), **files})
            entry[how.type] = {"plan": how.to_dict(), **built, **asked, **again}
            print(f"{rows:>9,} {how.type:8} built in {built['build_s']:.1f} s, p50 {asked['p50_ms']:.2f} ms, "
                  f"recall@10 {asked['recall_at_10']:.3f}", file=sys.stderr)
            if rows != options.rows or how.type == "flat":
                path.unlink()
        results["sizes"][rows] = entry
    if options.sweep:
        index = dense.load(work / f"{options.rows}-ivf_flat.faiss")
        results["sweep"] = {}
        for nprobe in (int(p) for p in options.sweep.split(",")):
            index.nprobe = nprobe
            times = []
            for query in np.load(files["queries"])[:200]:
                t = time.perf_counter()
                dense.search(index, query, DEPTH)
                times.append(time.perf_counter() - t)
            results["sweep"][nprobe] = {"recall_at_10": recall_at_10(index, recall_queries, truth),
                                        "p50_ms": float(np.median(times) * 1e3)}
    results["lists"] = {}
    for nlist in (int(n) for n in options.lists.split(",") if n):
        how = dense.Plan("ivf_flat", nlist, max(1, round(nlist * dense.PROBED_FRACTION)))
        path = work / f"{options.rows}-{nlist}.faiss"
        built = in_child("build", {"vectors": files["vectors"], "rows": options.rows, "plan": how.to_dict(),
                                   "path": str(path)})
        results["lists"][nlist] = {"plan": how.to_dict(), **built, **in_child("query", {"path": str(path), **files})}
        path.unlink()
    results["lexical"] = lexical_part(work, options.lexical_rows or options.rows, options.queries)
    results["total_s"] = time.perf_counter() - started
    results["peak_rss_mib_of_the_children"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report(results)
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")
    if not options.keep:
        shutil.rmtree(work)


def report(results: dict[str, Any]) -> None:
    print(f"\n{results['cpus']} CPUs, load average {results['load_average'][0]:.1f} at the start; "
          f"dimension {results['dimension']}, single questions with k = {results['k']}; "
          f"qa's threshold: {APPROX_MIN_VECTORS:,}\n")
    largest = results["sizes"][max(results["sizes"], key=int)]
    rows_of = [(int(rows), kind, r) for rows, entry in results["sizes"].items() for kind, r in entry.items()]

    def name(kind: str, r: dict[str, Any]) -> str:
        return "flat" if kind == "flat" else f"IVF-Flat {r['plan']['nlist']}/{r['plan']['nprobe']}"

    print("| rows | index | build | file | cold: load, first question, read | warm start: load, first question "
          "| p50 | p99 | recall@10 |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for rows, kind, r in rows_of:
        print(f"| {rows:,} | {name(kind, r)} | {r['build_s']:.1f} s | {mib(r['bytes'])} "
              f"| {r['load_ms']:.0f} + {r['first_ms']:.0f} ms, {r['after_load']['read_mib']:,.0f} MiB "
              f"| {r['warm_load_ms']:.0f} + {r['warm_first_ms']:.0f} ms | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms "
              f"| {r['recall_at_10']:.3f} |")
    print(f"\n| rows | index | RssAnon / RssFile after load and one question | after {results['queries']:,} "
          "| build: peak RssAnon / RssFile | vectors read back exactly |")
    print("|---:|---|---:|---:|---:|---|")
    for rows, kind, r in rows_of:
        load, after = r["after_load"], r["after_queries"]
        print(f"| {rows:,} | {name(kind, r)} | {load['RssAnon']:,.0f} / {load['RssFile']:,.0f} MiB "
              f"| {after['RssAnon']:,.0f} / {after['RssFile']:,.0f} MiB "
              f"| {r['peak_anon_mib']:,.0f} / {r['peak_file_mib']:,.0f} MiB | {r['exact_vectors']} |")
    if "sweep" in results:
        print(f"\nAt {results['rows']:,} rows, other nprobe values:\n\n| nprobe | recall@10 | p50 |\n|---:|---:|---:|")
        for nprobe, r in results["sweep"].items():
            print(f"| {nprobe} | {r['recall_at_10']:.3f} | {r['p50_ms']:.2f} ms |")
    if results["lists"]:
        print(f"\nAt {results['rows']:,} rows, other numbers of lists, each probing the same share:\n\n"
              "| nlist | nprobe | build | p50 | p99 | recall@10 |\n|---:|---:|---:|---:|---:|---:|")
        for r in [largest["ivf_flat"], *results["lists"].values()]:
            print(f"| {r['plan']['nlist']} | {r['plan']['nprobe']} | {r['build_s']:.0f} s | {r['p50_ms']:.2f} ms "
                  f"| {r['p99_ms']:.2f} ms | {r['recall_at_10']:.3f} |")
    lex = results["lexical"]
    print(f"\nlexical (FTS5): {lex['rows']:,} rows built in {lex['build_s']:.0f} s, {mib(lex['bytes'])}, "
          f"search k = {results['k']} p50 {lex['p50_ms']:.1f} ms, p99 {lex['p99_ms']:.1f} ms")
    print(f"total {results['total_s'] / 60:.1f} min")


if __name__ == "__main__":
    main()
