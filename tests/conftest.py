"""Shared fixtures: an isolated environment, tiny corpora, and a fast fake embedder."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from qa.corpus import fold
from qa.embedding import model_fingerprint

DIMENSION = 64


class FakeEncoder:
    """Deterministic bag-of-words vectors: each word (first 5 letters) hashes to a dimension.

    Texts that share words get a high cosine, so retrieval behaves sensibly
    without loading a model.
    """

    name = "fake-hash"
    dimension = DIMENSION
    fingerprint = model_fingerprint("fake-hash")  # what `qa index --model fake-hash` computes

    def encode(self, texts: Sequence[str], progress=None) -> np.ndarray:
        rows = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", fold(text)):
                slot = int(hashlib.sha256(word[:5].encode()).hexdigest(), 16) % DIMENSION
                rows[i, slot] += 1.0
            norm = np.linalg.norm(rows[i])
            rows[i] = rows[i] / norm if norm else rows[i]
        if progress:
            progress(len(texts))
        return rows


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache (ONNX exports) for the session, never the developer's own."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """No QA_* variable from the developer's shell leaks into a test."""
    import os

    for key in list(os.environ):
        if key.startswith("QA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("QA_CACHE", str(cache))


@pytest.fixture
def fake_encoder(monkeypatch: pytest.MonkeyPatch) -> FakeEncoder:
    """The fake, also returned by `qa.embedding.load_encoder` for any model name."""
    encoder = FakeEncoder()
    monkeypatch.setattr("qa.embedding.load_encoder", lambda name, device="cpu": encoder)
    return encoder


TINY = {
    "fruit.txt": "Fruit Facts\n\nApples are red or green. They grow on trees in orchards.\n\n"
                 "Bananas are yellow. The banana plant is the largest herbaceous flowering plant.\n",
    "space/moon.md": "# The Moon\n\nThe Moon orbits the Earth every 27 days.\nIt has no atmosphere.\n\n"
                     "Neil Armstrong walked on the Moon in 1969.\n",
}


def snapshot(root: Path) -> dict[str, bytes | str | None]:
    """Every path under ``root``: a file's bytes, a link's target, None for a folder. Links are not followed."""
    seen: dict[str, bytes | str | None] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            key = path.relative_to(root).as_posix()
            seen[key] = f"-> {os.readlink(path)}" if path.is_symlink() else None if path.is_dir() else path.read_bytes()
    return seen


@pytest.fixture
def user_folder(tmp_path: Path) -> Path:
    """Someone's own folder, with names that an index uses too (the reproduction in issue 13)."""
    root = tmp_path / "work"
    (root / "gen-photos").mkdir(parents=True)
    (root / "gen-photos" / "holiday.jpg").write_bytes(b"\xff\xd8\xff\xe0 a holiday")
    (root / "CURRENT").write_text("what I am working on\n")
    (root / "notes.txt").write_text("Buy milk.\n")
    return root


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for name, text in TINY.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def tiny_index(tmp_path: Path, tiny_corpus: Path, fake_encoder: FakeEncoder) -> Path:
    from qa.index import build

    folder = tmp_path / "index"
    build([tiny_corpus], folder, fake_encoder)
    return folder


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> Path:
    """The real seeds indexed once per session with the real bundled model."""
    import os

    import qa

    os.environ["QA_CACHE"] = str(cache)  # the ONNX export goes to the session's cache
    folder = tmp_path_factory.mktemp("seeds-index")
    qa.build_index([Path(__file__).resolve().parents[1] / "seeds"], folder)
    return folder
