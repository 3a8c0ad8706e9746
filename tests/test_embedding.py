from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import snapshot

from qa.embedding import (
    LazyEncoder,
    SentenceTransformerEncoder,
    ensure_onnx,
    model_fingerprint,
    onnx_folder,
    resolve_model,
)


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
    def refuse(name, device="cpu"):
        raise AssertionError("loaded")

    monkeypatch.setattr("qa.embedding.load_encoder", refuse)
    lazy = LazyEncoder("all-MiniLM-L6-v2")
    assert lazy.fingerprint == model_fingerprint(resolve_model("all-MiniLM-L6-v2"))
    with pytest.raises(AssertionError, match="loaded"):
        lazy.encode(["x"])


def test_an_onnx_export_never_replaces_a_folder_in_its_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("QA_CACHE", str(tmp_path / "cache"))
    encoder = SentenceTransformerEncoder.__new__(SentenceTransformerEncoder)  # no model needed: export is faked
    encoder.name, encoder.fingerprint = "some-model", "0123456789abcdef"

    def export(encoder, folder: Path) -> None:
        (folder / "onnx.json").write_text("{}")
        (folder / "model.onnx").write_bytes(b"an export")

    monkeypatch.setattr("qa.onnx_encoder.export", export)
    folder = onnx_folder(encoder.fingerprint)
    folder.mkdir(parents=True)
    (folder / "mine.txt").write_text("not an export\n")
    before = snapshot(tmp_path)
    assert ensure_onnx(encoder) == f"{folder} is in the way"
    assert snapshot(tmp_path) == before
    (folder / "mine.txt").unlink()
    folder.rmdir()
    assert ensure_onnx(encoder) is None
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no staging folder left
    assert (folder / "model.onnx").read_bytes() == b"an export"


def test_a_new_export_removes_the_models_older_exports_and_nothing_else(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch):
    encoder = SentenceTransformerEncoder.__new__(SentenceTransformerEncoder)
    encoder.name, encoder.fingerprint = "some-model", "0123456789abcdef"

    def export(encoder, folder: Path) -> None:
        (folder / "onnx.json").write_text(json.dumps({"fingerprint": encoder.fingerprint}))

    monkeypatch.setattr("qa.onnx_encoder.export", export)
    for extra in (None, "notes.txt"):
        cache = tmp_path / f"cache-{extra}"
        monkeypatch.setenv("QA_CACHE", str(cache))
        old, other = cache / "onnx" / encoder.fingerprint, cache / "onnx" / "fedcba9876543210"
        for folder in (old, other):
            folder.mkdir(parents=True)
            (folder / "onnx.json").write_text(json.dumps({"fingerprint": folder.name}))
            (folder / "model.onnx").write_bytes(b"an old export")
        if extra:
            (old / extra).write_text("not an export's\n")
        before = snapshot(cache / "onnx")
        assert ensure_onnx(encoder) is None and onnx_folder(encoder.fingerprint).is_dir()
        after = {k: v for k, v in snapshot(cache / "onnx").items()
                 if not k.startswith(onnx_folder(encoder.fingerprint).name)}
        if extra:  # something else in it: not only an export, so kept whole
            assert after == before
        else:
            assert after == {k: v for k, v in before.items() if not k.startswith(encoder.fingerprint)}
