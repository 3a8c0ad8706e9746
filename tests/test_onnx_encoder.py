"""The torch-free question path: parity with sentence-transformers, and no torch import."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.onnx_encoder import pool

ROOT = Path(__file__).resolve().parents[1]


def test_pool_modes_match_their_definitions():
    hidden = np.array([[[1.0, 0.0], [3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    assert np.allclose(pool(hidden, mask, "mean"), [[2 / np.hypot(2, 2), 2 / np.hypot(2, 2)]])
    assert np.allclose(pool(hidden, mask, "cls"), [[1.0, 0.0]])
    assert np.allclose(pool(hidden, mask, "max"), [[0.6, 0.8]])


def varied_texts() -> list[str]:
    """A few hundred texts of every shape a question or passage takes."""
    texts = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        texts += [line for line in text.splitlines() if line.strip()]
        texts += [s.strip() + "." for s in text.replace("\n", " ").split(". ") if s.strip()]
    gold = ROOT / "eval" / "seeds_gold.jsonl"
    texts += [json.loads(line)["question"] for line in gold.read_text().splitlines() if line.strip()]
    texts += [" ".join(t.split()[: max(1, len(t.split()) // 3)]).lower() for t in list(texts)]
    texts += ["?", "x", "   ", "", "Ünïcödé — “quotes” ‘and’ dashes…", "日本は何を買いましたか？", "🙂 emoji",
              "UPPER CASE QUESTION?", "tabs\tand\nnewlines", "word " * 600, "a" * 3000]
    return texts


@pytest.mark.slow
def test_onnx_export_gives_the_same_vectors_as_sentence_transformers(tmp_path: Path):
    from qa.embedding import load_encoder
    from qa.onnx_encoder import OnnxEncoder, export

    reference = load_encoder("all-MiniLM-L6-v2")
    assert export(reference, tmp_path) is None
    # Fused, and its weights beside the graph, where onnxruntime opens them fastest.
    assert {"Attention", "EmbedLayerNormalization"} <= set(json.loads((tmp_path / "onnx.json").read_text())["fused"])
    assert (tmp_path / "model.onnx").stat().st_size < 1 << 20 < (tmp_path / "model.onnx.data").stat().st_size
    onnx = OnnxEncoder(tmp_path)
    texts = varied_texts()
    assert len(texts) >= 200
    expected = reference.encode(texts)
    one_by_one = np.vstack([onnx.encode([t]) for t in texts[:50]])
    batched = onnx.encode(texts)
    assert float((batched * expected).sum(axis=1).min()) >= 0.9999
    assert float((one_by_one * expected[:50]).sum(axis=1).min()) >= 0.9999
    assert (onnx.name, onnx.dimension, onnx.fingerprint) == (
        reference.name, reference.dimension, reference.fingerprint)
    # Index builds on the CPU use the int8 weights made beside it: near the float vectors.
    int8 = OnnxEncoder(tmp_path, int8=True)
    assert int8.int8 and not onnx.int8
    near = np.vstack([int8.encode([t]) for t in texts[:50]])
    assert 0.98 <= float((near * expected[:50]).sum(axis=1).min()) < 0.9999


def modules_after(args: list[str], env: dict[str, str]) -> set[str]:
    """Which heavy modules a `qa` command imports, run in a fresh interpreter."""
    code = ("import sys\nsys.argv = ['qa', *sys.argv[1:]]\nfrom qa.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('MODULES', ' '.join(m for m in ('torch', 'sentence_transformers', 'transformers') "
            "if m in sys.modules), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=300)
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("MODULES")][-1]
    return set(line.split()[1:])


def test_help_does_not_import_torch():
    assert modules_after(["--help"], {}) == set()


@pytest.mark.slow
def test_info_ask_and_an_unchanged_reindex_do_not_import_torch(tmp_path: Path, cache: Path):
    import qa

    qa.build_index([ROOT / "seeds"], tmp_path / "idx")
    env = {"QA_INDEX": str(tmp_path / "idx"), "QA_CACHE": str(cache)}
    assert modules_after(["info"], env) == set()
    assert modules_after(["ask", "what did Japan buy?"], env) == set()
    assert modules_after(["index", str(ROOT / "seeds")], env) == set()


@pytest.mark.slow
def test_answers_citations_and_scores_match_the_sentence_transformers_path(seeds_index: Path, cache: Path):
    """The ONNX question path changes speed only: same answers, same citations, scores to 1e-4."""
    import qa
    from qa.embedding import load_encoder, load_query_encoder
    from qa.onnx_encoder import OnnxEncoder

    settings = qa.Settings()
    reference = qa.open_index(seeds_index, settings=settings, encoder=load_encoder("all-MiniLM-L6-v2"))
    fingerprint = reference.index.manifest["model"]["fingerprint"]
    onnx_encoder = load_query_encoder("all-MiniLM-L6-v2", fingerprint)
    assert isinstance(onnx_encoder, OnnxEncoder)
    fast = qa.open_index(seeds_index, settings=settings, encoder=onnx_encoder)
    asked = [q.split("\t")[0] for q in varied_texts() if re.search(r"\w", q)]  # "?" is refused before either
    for question in asked[-60:] + ["what did Japan buy?"]:
        a, b = reference.ask(question, top_k=10, min_score=0.0), fast.ask(question, top_k=10, min_score=0.0)
        assert (a.span is None) == (b.span is None)
        if a.span and b.span:
            assert a.span.citation == b.span.citation and a.span.text == b.span.text
            assert abs(a.span.score - b.span.score) < 1e-4
        assert [h.citation for h in a.passages] == [h.citation for h in b.passages]
        assert all(abs(x.score - y.score) < 1e-4 for x, y in zip(a.passages, b.passages))
