"""Builds killed at random moments, and questions asked during a build, against real processes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import qa
from qa.index import BUILDING, Index, build

TESTS = Path(__file__).resolve().parent
# A real build in a child process; only the encoder is the tests' fake, slowed down so
# that a build lasts long enough to be killed in every phase (embedding, writing, publishing).
WORKER = """
import sys, time
sys.path.insert(0, {tests!r})
from pathlib import Path
from conftest import FakeEncoder
from qa.index import build

class Slow(FakeEncoder):
    def encode(self, texts, progress=None):
        time.sleep(0.0005 * len(texts))
        return super().encode(texts, progress)

build([Path({corpus!r})], Path({folder!r}), Slow(), rebuild=True)
print("done", flush=True)
"""
QUESTIONS = ["Which river flows through town 3?", "What is the population of town 7?", "bridges"]


def write_corpus(root: Path, version: int) -> None:
    for i in range(60):
        path = root / f"town_{i:02d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n\n".join(
            f"Town {i} has a population of {1000 * i + version} people. The river {chr(65 + i % 26)} "
            f"flows through town {i}. It has {i % 7 + version} bridges, built in {1800 + i} and {1900 + version}."
            for _ in range(8)) + "\n")


def answers(folder: Path, encoder) -> list[dict]:
    engine = qa.open_index(folder, encoder=encoder)
    try:
        return [engine.ask(q, min_score=0).to_dict() for q in QUESTIONS]
    finally:
        engine.index.close()


def start_worker(corpus: Path, folder: Path) -> subprocess.Popen:
    code = WORKER.format(tests=str(TESTS), corpus=str(corpus), folder=str(folder))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(TESTS.parent)})


@pytest.fixture
def versions(tmp_path: Path, fake_encoder):
    """An index of corpus version 1, and the answers of version 1 and version 2 built elsewhere."""
    corpus, folder = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, 2)
    build([corpus], tmp_path / "v2", fake_encoder)
    v2 = answers(tmp_path / "v2", fake_encoder)
    write_corpus(corpus, 1)
    build([corpus], folder, fake_encoder)
    v1 = answers(folder, fake_encoder)
    assert v1 != v2
    write_corpus(corpus, 2)
    return corpus, folder, v1, v2


def test_kill_9_at_random_moments_leaves_the_old_or_the_new_index(versions, fake_encoder):
    corpus, folder, v1, v2 = versions
    started = time.monotonic()
    worker = start_worker(corpus, folder.parent / "timing")
    assert worker.wait(timeout=120) == 0, worker.stderr.read()
    duration = time.monotonic() - started
    rng = random.Random(20261122)
    outcomes = []
    current = v1
    for _ in range(8):
        target_version, target = (2, v2) if current == v1 else (1, v1)
        write_corpus(corpus, target_version)
        worker = start_worker(corpus, folder)
        time.sleep(rng.uniform(0.05, duration * 1.1))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        result = answers(folder, fake_encoder)  # must open, whatever the moment of the kill
        assert result in (current, target)
        outcomes.append("old" if result == current else "new")
        current = result
    assert "old" in outcomes  # some kills landed before the switch...
    assert "new" in outcomes  # ...and some after it
    write_corpus(corpus, 2)
    build([corpus], folder, fake_encoder)  # a later build completes and tidies up
    assert answers(folder, fake_encoder) == v2
    assert {p.name for p in folder.glob("gen-*")} == published(folder)


def published(folder: Path) -> set[str]:
    return {(folder / name).read_text().strip() for name in ("CURRENT", "PREVIOUS")} - {""}


def test_the_next_build_removes_what_a_killed_build_left(versions, fake_encoder):
    corpus, folder, _, v2 = versions
    worker = start_worker(corpus, folder)
    deadline = time.monotonic() + 60
    while not any((g / BUILDING).exists() for g in folder.glob("gen-*")):  # it is writing its generation
        assert worker.poll() is None and time.monotonic() < deadline, "the build ended before it could be killed"
        time.sleep(0.005)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    debris = [g for g in folder.glob("gen-*") if g.name not in published(folder)]
    assert debris
    build([corpus], folder, fake_encoder)
    assert answers(folder, fake_encoder) == v2
    assert not any(g.exists() for g in debris)
    assert {p.name for p in folder.glob("gen-*")} == published(folder)


def test_questions_during_a_build_read_the_old_index_until_the_switch(versions, fake_encoder):
    corpus, folder, v1, v2 = versions
    worker = start_worker(corpus, folder)
    results = []
    while worker.poll() is None:
        results.append(answers(folder, fake_encoder))
    assert worker.returncode == 0, worker.stderr.read()
    results.append(answers(folder, fake_encoder))
    assert all(r in (v1, v2) for r in results)
    assert results[0] == v1 and results[-1] == v2
    switch = results.index(v2)
    assert all(r == v2 for r in results[switch:])  # never back to the old one


def test_a_second_build_is_refused_while_one_runs(versions, fake_encoder):
    import fcntl

    corpus, folder, _, _ = versions
    worker = start_worker(corpus, folder)
    try:
        with (folder / ".lock").open("a") as handle:  # wait until the worker holds the lock
            while worker.poll() is None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(handle, fcntl.LOCK_UN)
                    time.sleep(0.01)
                except BlockingIOError:
                    break
        with pytest.raises(qa.IndexBusy, match="another build of .* is running"):
            build([corpus], folder, fake_encoder, rebuild=True)
    finally:
        assert worker.wait(timeout=120) == 0
    Index.open(folder)
