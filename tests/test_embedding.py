from __future__ import annotations

from pathlib import Path

import pytest

from qa.embedding import LazyEncoder, model_fingerprint, resolve_model


def test_the_default_model_resolves_to_the_bundled_copy():
    path = Path(resolve_model("all-MiniLM-L6-v2"))
    assert path.is_dir() and (path / "modules.json").is_file()
    assert resolve_model("sentence-transformers/all-MiniLM-L6-v2") == str(path)
    assert resolve_model("some/other-model") == "some/other-model"


def test_fingerprints_follow_the_files(tmp_path: Path):
    (tmp_path / "weights.bin").write_bytes(b"abc")
    first = model_fingerprint(str(tmp_path))
    assert model_fingerprint(str(tmp_path)) == first
    (tmp_path / "weights.bin").write_bytes(b"abd")
    assert model_fingerprint(str(tmp_path)) != first
    assert model_fingerprint("hub/name") != model_fingerprint("hub/other")


def test_a_lazy_encoder_knows_its_model_without_loading_it(monkeypatch: pytest.MonkeyPatch):
    def refuse(name):
        raise AssertionError("loaded")

    monkeypatch.setattr("qa.embedding.load_encoder", refuse)
    lazy = LazyEncoder("all-MiniLM-L6-v2")
    assert lazy.fingerprint == model_fingerprint(resolve_model("all-MiniLM-L6-v2"))
    with pytest.raises(AssertionError, match="loaded"):
        lazy.encode(["x"])
