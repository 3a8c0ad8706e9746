from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import BadInput
from qa.settings import Fusion, Retriever, Settings, cache_dir


def test_defaults():
    s = Settings.from_env({})
    assert (s.corpus, s.index, s.top_k, s.retriever, s.fusion, s.min_score) == (
        Path("seeds"), Path("index"), 5, Retriever.hybrid, Fusion.combsum, None)


def test_environment_overrides_each_field():
    s = Settings.from_env({"QA_CORPUS": "docs", "QA_TOP_K": "3", "QA_RETRIEVER": "bm25",
                           "QA_MIN_SCORE": "0.5", "QA_FUSION": "rrf", "QA_MAX_FILE_MB": "2", "QA_TOP": "x",
                           "QA_APPROX_MIN_VECTORS": "1000", "QA_FLOAT32": "yes", "QA_ONE_PASS": "0"})
    assert (s.corpus, s.top_k, s.retriever, s.min_score, s.fusion, s.max_file_mb, s.approx_min_vectors, s.float32,
            s.one_pass) == (Path("docs"), 3, Retriever.bm25, 0.5, Fusion.rrf, 2.0, 1000, True, False)


@pytest.mark.parametrize(("name", "value"), [("QA_TOP_K", "many"), ("QA_RETRIEVER", "magic"),
                                             ("QA_MIN_SCORE", "high"), ("QA_APPROX_MIN_VECTORS", "1e6"),
                                             ("QA_FLOAT32", "maybe")])
def test_bad_environment_values_are_named(name, value):
    with pytest.raises(BadInput, match=f"{name}='{value}'"):
        Settings.from_env({name: value})


def test_cache_dir_follows_qa_cache_then_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("QA_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("QA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "qa"
