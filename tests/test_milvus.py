"""The Milvus backend against a real Milvus Lite gRPC server: the same contract as the local folder.

The server is started once for the module (``milvus-lite server`` on 127.0.0.1, a free port) and
stopped at its end; no test mocks it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY, FakeEncoder
from typer.testing import CliRunner

from qa.errors import BadInput, StoreUnavailable
from qa.index import VECTORS, Index, build, rows_of
from qa.pipeline import QA
from qa.settings import Settings
from qa.storage import milvus

QUESTIONS = ["What colour are bananas?", "Who walked on the Moon?", "How often does the Moon orbit the Earth?",
             "Where do apples grow?"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """``milvus://127.0.0.1:PORT`` of a Milvus Lite server this module started."""
    port = _free_port()
    data = tmp_path_factory.mktemp("milvus")
    command = Path(sys.executable).parent / "milvus-lite"
    process = subprocess.Popen([str(command), "server", "--data-dir", str(data), "--host", "127.0.0.1",
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"milvus://127.0.0.1:{port}"
    try:
        milvus.wait_until_up(milvus.parse(uri), seconds=120)
        yield uri
    finally:
        process.terminate()
        process.wait(timeout=30)


def _pair(tmp_path: Path, corpus: Path, encoder: FakeEncoder, uri: str) -> tuple[Index, milvus.MilvusIndex]:
    build([corpus], tmp_path / "local", encoder)
    build([corpus], tmp_path / "remote", encoder, store=uri)
    remote = Index.open(tmp_path / "remote")
    assert isinstance(remote, milvus.MilvusIndex)
    return Index.open(tmp_path / "local"), remote


def _corpus_with_copy(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for name, text in {**TINY, "copy/fruit.txt": TINY["fruit.txt"]}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_both_backends_implement_every_member_of_the_interface():
    from qa.storage.base import Store

    members = [name for name in vars(Store) if not name.startswith("_")]
    assert "lexical_search" in members and "generation_name" in members
    for backend in (Index, milvus.MilvusIndex):
        assert [name for name in members if not hasattr(backend, name) and name not in ("folder", "manifest")] == []


def test_the_folder_records_the_store_and_holds_no_index_files(tmp_path, tiny_corpus, fake_encoder, server):
    build([tiny_corpus], tmp_path / "idx", fake_encoder, store=server)
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == [".lock", "qa-index.json", "store.json"]
    index = Index.open(tmp_path / "idx")
    assert index.manifest["store"]["uri"] == server and index.manifest["counts"]["files"] == 2


def test_every_read_of_the_interface_matches_the_local_folder(tmp_path, fake_encoder, server):
    local, remote = _pair(tmp_path, _corpus_with_copy(tmp_path), fake_encoder, server)
    pids = list(range(local.manifest["counts"]["paragraphs"]))
    sids = list(range(local.manifest["counts"]["sentences"]))
    assert remote.paragraphs(pids) == local.paragraphs(pids)
    assert remote.sentences(pids) == local.sentences(pids)
    assert remote.owners(sids) == local.owners(sids)
    assert remote.copies() == local.copies() != {}
    assert remote.paragraph_ids() == local.paragraph_ids()
    for name in ("fruit.txt", "space/moon.md"):
        assert remote.layer(name) == local.layer(name)
        assert remote.file_rows(name) == local.file_rows(name)
        assert remote.page_of(name, 3) == local.page_of(name, 3)
    assert remote.paragraph_at("space/moon.md", 2) == local.paragraph_at("space/moon.md", 2)
    for kind in VECTORS:
        rows = list(range(local.manifest["counts"][rows_of(kind)]))[::-1]
        assert np.allclose(remote.dense_vectors(kind, rows), local.dense_vectors(kind, rows))
        query = fake_encoder.encode(["Moon orbits Earth"])[0]
        assert [i for i, _ in remote.dense_search(kind, query, 4)] == [i for i, _ in local.dense_search(kind, query, 4)]
    for question in QUESTIONS:
        for kind in ("paragraphs", "sentences"):
            # The same rows hold the question's words; Milvus's BM25 orders them (docs/milvus.md).
            assert {i for i, _ in remote.lexical_search(kind, question, 50)} == \
                {i for i, _ in local.lexical_search(kind, question, 50)}
        idf, held = remote.term_matches("sentences", question, sids)
        local_idf, local_held = local.term_matches("sentences", question, sids)
        assert held == local_held and idf == pytest.approx(local_idf)
        assert remote.holders("paragraphs", question, pids) == local.holders("paragraphs", question, pids)


def test_answers_and_citations_are_the_local_folders(tmp_path, tiny_corpus, fake_encoder, server):
    local, remote = _pair(tmp_path, tiny_corpus, fake_encoder, server)
    settings = Settings()
    for question in QUESTIONS:
        here = QA(local, settings, encoder=fake_encoder).ask(question).to_dict()
        there = QA(remote, settings, encoder=fake_encoder).ask(question).to_dict()
        assert there["answer"] == here["answer"] and there["answer"] is not None
        # The same passages with the same scores; rows that tie at 0 may come in another order.
        assert [p for p in there["passages"] if p["score"]] == [p for p in here["passages"] if p["score"]]
        assert len(there["passages"]) == len(here["passages"])


def test_an_incremental_update_carries_unchanged_files_and_embeds_only_the_changed(tmp_path, tiny_corpus,
                                                                                   fake_encoder, server):
    folder = tmp_path / "idx"
    build([tiny_corpus], folder, fake_encoder, store=server)
    first = Index.open(folder)
    (tiny_corpus / "fruit.txt").write_text("Fruit Facts\n\nCherries are dark red.\n", encoding="utf-8")
    (tiny_corpus / "pear.txt").write_text("Pears are sweet.\n", encoding="utf-8")
    report = build([tiny_corpus], folder, fake_encoder)  # the folder remembers its store
    assert report.changes["unchanged"] == ["space/moon.md"] and report.embedded == 3
    assert not first.is_live()
    now = Index.open(folder)
    assert now.manifest["counts"]["files"] == 3
    hit = QA(now, Settings(), encoder=fake_encoder).search("Which cherries are dark red?")[0]
    assert hit.citation.file == "fruit.txt" and hit.text == "Cherries are dark red."
    assert first.paragraphs([0])  # the replaced generation still answers whoever opened it
    assert build([tiny_corpus], folder, fake_encoder).written is False


def test_a_build_killed_before_publishing_leaves_the_previous_one_answering(tmp_path, tiny_corpus, fake_encoder,
                                                                            server, monkeypatch):
    folder = tmp_path / "idx"
    build([tiny_corpus], folder, fake_encoder, store=server)
    before = Index.open(folder).generation_name
    (tiny_corpus / "pear.txt").write_text("Pears are sweet.\n", encoding="utf-8")

    def killed(client, collection, alias):
        raise KeyboardInterrupt  # after every row is written, before the alias moves

    monkeypatch.setattr(milvus, "_point", killed)
    with pytest.raises(KeyboardInterrupt):
        build([tiny_corpus], folder, fake_encoder)
    monkeypatch.undo()
    index = Index.open(folder)
    assert index.generation_name == before and index.manifest["counts"]["files"] == 2
    hit = QA(index, Settings(), encoder=fake_encoder).search("Who walked on the Moon?")[0]
    assert hit.citation.file == "space/moon.md"
    assert not [p for p in folder.iterdir() if p.name.startswith("gen-")]
    build([tiny_corpus], folder, fake_encoder)  # the next build clears what the killed one wrote
    client = milvus.connect(milvus.parse(server))
    name = milvus.recorded(folder)["name"]  # type: ignore[index]
    generations = {c.rsplit("_", 1)[0] for c in client.list_collections() if c.startswith(name + "_g")}
    assert len(generations) == 2  # the live one and the one it replaced


def test_calibration_is_kept_in_the_store(tmp_path, tiny_corpus, fake_encoder, server):
    folder = tmp_path / "idx"
    build([tiny_corpus], folder, fake_encoder, store=server)
    Index.open(folder).store_calibration({"min_score": 0.4})
    assert Index.open(folder).manifest["calibration"] == {"min_score": 0.4}


def test_cli_indexes_into_milvus_and_every_command_reads_it(tmp_path, tiny_corpus, fake_encoder, server,
                                                            monkeypatch):
    from qa.cli import app

    monkeypatch.setenv("QA_MODEL", "fake-hash")
    runner = CliRunner()
    folder = str(tmp_path / "idx")
    built = runner.invoke(app, ["index", str(tiny_corpus), "--index", folder, "--store", server])
    assert built.exit_code == 0, built.output
    asked = runner.invoke(app, ["ask", "Who walked on the Moon?", "--index", folder, "--json"])
    assert asked.exit_code == 0 and "\"space/moon.md\"" in asked.output, asked.output
    shown = runner.invoke(app, ["show", "space/moon.md", "--index", folder])
    assert shown.exit_code == 0 and "Armstrong" in shown.output
    info = runner.invoke(app, ["info", "--index", folder])
    assert info.exit_code == 0 and server in info.output
    assert runner.invoke(app, ["index", "--verify", "--index", folder]).exit_code == 0


@pytest.mark.parametrize(("store", "expected"), [
    ("milvus://127.0.0.1:1", "cannot reach Milvus at milvus://127.0.0.1:1"),
    ("milvus://no port", "give milvus://HOST:PORT"),
    ("postgres://x", "give milvus://HOST:PORT[/DB] or a Milvus Lite file"),
])
def test_an_unusable_store_is_one_line_and_exit_2(tmp_path, tiny_corpus, fake_encoder, store, expected):
    from qa.cli import app

    result = CliRunner().invoke(app, ["index", str(tiny_corpus), "--index", str(tmp_path / "idx"), "--store",
                                      store])
    assert result.exit_code == 2 and expected in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


@pytest.mark.parametrize(("version", "needed"), [
    ("v2.4.13", "Milvus 2.5"), ("v2.5.4", None), ("2.6.0", None), ("milvus_lite-2.4.12", "Milvus Lite 3.0"),
    ("milvus_lite-3.2.2", None),
])
def test_a_server_older_than_bm25_search_is_refused(version, needed):
    assert milvus.too_old(version) == needed


def test_a_stopped_server_is_one_line_for_a_question_too(tmp_path, tiny_corpus, fake_encoder, server):
    folder = tmp_path / "idx"
    build([tiny_corpus], folder, fake_encoder, store=server)
    milvus.write_json(folder / "store.json", {"uri": "milvus://127.0.0.1:1", "name": "qa_gone"})
    with pytest.raises(StoreUnavailable, match="cannot reach Milvus"):
        Index.open(folder)


def test_a_local_index_moves_into_milvus_without_embedding_again(tmp_path, tiny_corpus, fake_encoder, server):
    folder = tmp_path / "idx"
    build([tiny_corpus], folder, fake_encoder)
    before = QA(Index.open(folder), Settings(), encoder=fake_encoder).ask("Who walked on the Moon?").to_dict()
    report = build([tiny_corpus], folder, fake_encoder, store=server)
    assert report.written and report.embedded == 0
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "qa-index.json", "store.json"]
    index = Index.open(folder)
    assert isinstance(index, milvus.MilvusIndex)
    assert QA(index, Settings(), encoder=fake_encoder).ask("Who walked on the Moon?").to_dict() == before


def test_a_folder_keeps_the_store_it_was_built_in(tmp_path, tiny_corpus, fake_encoder, server):
    build([tiny_corpus], tmp_path / "remote", fake_encoder, store=server)
    with pytest.raises(BadInput, match="give a new folder for a local index"):
        build([tiny_corpus], tmp_path / "remote", fake_encoder, store="local")
    with pytest.raises(BadInput, match="give a new folder for another store"):
        build([tiny_corpus], tmp_path / "remote", fake_encoder, store=str(tmp_path / "other.db"))


def test_a_milvus_lite_file_is_a_store_too(tmp_path, tiny_corpus, fake_encoder):
    if shutil.which("milvus-lite", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("milvus-lite is not installed")
    build([tiny_corpus], tmp_path / "idx", fake_encoder, store=str(tmp_path / "qa.db"))
    hit = QA(Index.open(tmp_path / "idx"), Settings(), encoder=fake_encoder).search("Who walked on the Moon?")[0]
    assert hit.citation.file == "space/moon.md"


def test_serve_and_mcp_follow_a_rebuild_in_milvus(tmp_path, tiny_corpus, fake_encoder, server):
    from qa.service import Service

    folder = tmp_path / "idx"
    build([tiny_corpus], folder, fake_encoder, store=server)
    service = Service(Settings(index=folder))  # what `qa serve` and `qa mcp` answer through
    assert service.ask("Who walked on the Moon?")["answer"]["file"] == "space/moon.md"
    first = service.generation
    (tiny_corpus / "mars.txt").write_text("Mars\n\nNobody has walked on Mars yet.\n", encoding="utf-8")
    build([tiny_corpus], folder, fake_encoder, rebuild=True)
    answer = service.ask("Who walked on Mars?", top_k=1)
    assert service.generation != first and answer["passages"][0]["file"] == "mars.txt"
    assert service.show("space/moon.md:¶3")["text"].startswith("Neil Armstrong")
    assert service.info()["store"] == server
