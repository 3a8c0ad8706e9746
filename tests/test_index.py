from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa import index as index_module
from qa.errors import BadInput, IndexBusy, IndexCorrupt, IndexMissing
from qa.index import Index, build, contexts, title_from_name
from qa.corpus import split_paragraphs


def test_build_writes_a_self_describing_generation(tiny_index: Path):
    idx = Index.open(tiny_index)
    manifest = idx.manifest
    assert manifest["format_version"] == index_module.FORMAT_VERSION
    assert manifest["model"] == {"name": "fake-hash", "dimension": 64, "fingerprint": "fake"}
    assert manifest["counts"] == {"files": 2, "paragraphs": 6, "sentences": 7}
    assert [f["name"] for f in manifest["files"]] == ["fruit.txt", "space/moon.md"]
    for name, meta in manifest["artifacts"].items():
        assert (idx.generation / name).stat().st_size == meta["size"]


def test_paragraph_rows_round_trip_with_offsets(tiny_index: Path, tiny_corpus: Path):
    idx = Index.open(tiny_index)
    paragraph = idx.paragraph_at("space/moon.md", 2)
    text = (tiny_corpus / "space/moon.md").read_bytes().decode("utf-8")
    assert text[paragraph.start:paragraph.end] == paragraph.text
    assert paragraph.text.startswith("The Moon orbits")
    assert paragraph.line == 3


def test_headings_give_context_but_no_sentences(tiny_index: Path):
    idx = Index.open(tiny_index)
    rows = idx.db.execute("SELECT text, context FROM paragraphs ORDER BY id").fetchall()
    assert rows[0] == ("Fruit Facts", "fruit")
    assert rows[1][1] == "fruit — Fruit Facts"
    heading_sentences = idx.db.execute(
        "SELECT count(*) FROM sentences s JOIN paragraphs p ON p.id = s.paragraph_id WHERE p.heading = 1")
    assert heading_sentences.fetchone()[0] == 0


@pytest.mark.parametrize(("name", "title"), [
    ("000_9ccf596f5a5ca5a0.txt", ""),
    ("Super_Bowl_50.txt", "Super Bowl 50"),
    ("notes/Apollo program.md", "Apollo program"),
    ("12_Normans.txt", "Normans"),
])
def test_title_from_name(name, title):
    assert title_from_name(name) == title


def test_contexts_follow_section_headings():
    text = "Report\n\nIntro text.\n\nBudget\n\nIt cost a lot.\n"
    assert contexts("x1234567890.txt", split_paragraphs("x.txt", text)) == [
        "x1234567890", "x1234567890 — Report", "x1234567890 — Report",
        "x1234567890 — Report — Budget"]


def test_rebuild_replaces_the_generation_and_removes_the_old(tiny_index: Path, tiny_corpus: Path,
                                                             fake_encoder):
    old = Index.open(tiny_index).generation
    (tiny_corpus / "extra.txt").write_text("Cherries are small and red.\n")
    build([tiny_corpus], tiny_index, fake_encoder)
    new = Index.open(tiny_index)
    assert new.generation != old and not old.exists()
    assert new.manifest["counts"]["files"] == 3


def test_empty_corpus_fails_and_keeps_the_previous_index(tiny_index: Path, tmp_path: Path, fake_encoder):
    before = Index.open(tiny_index).generation
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.txt").write_text("   \n")
    with pytest.raises(BadInput, match="no indexable"):
        build([empty], tiny_index, fake_encoder)
    assert Index.open(tiny_index).generation == before


def test_a_failed_build_leaves_no_partial_generation(tiny_index: Path, tiny_corpus: Path):
    class Broken:
        name, dimension, fingerprint = "fake-hash", 64, "fake"

        def encode(self, texts, progress=None):
            raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        build([tiny_corpus], tiny_index, Broken())
    assert len(list(tiny_index.glob("gen-*"))) == 1
    Index.open(tiny_index)


def test_a_second_concurrent_build_is_refused(tiny_index: Path, tiny_corpus: Path, fake_encoder):
    import fcntl

    with (tiny_index / index_module.LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(IndexBusy, match="another build"):
            build([tiny_corpus], tiny_index, fake_encoder)


def test_open_reports_missing_and_corrupt_indexes(tiny_index: Path, tmp_path: Path):
    with pytest.raises(IndexMissing, match="qa index"):
        Index.open(tmp_path / "nowhere")
    generation = Index.open(tiny_index).generation
    with (generation / "sentences.faiss").open("r+b") as handle:
        handle.truncate(10)
    with pytest.raises(IndexCorrupt, match="truncated.*--rebuild"):
        Index.open(tiny_index)


def test_open_rejects_an_unknown_format_version(tiny_index: Path):
    manifest_path = Index.open(tiny_index).generation / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 999
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="format 999"):
        Index.open(tiny_index)


def test_warnings_name_each_skipped_file(tmp_path: Path, fake_encoder):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Good text here.")
    (corpus / "empty.txt").write_text("")
    (corpus / "bin.txt").write_bytes(b"\x00\x01\x02")
    (corpus / "latin.txt").write_bytes("Café crème.".encode("latin-1"))
    (corpus / "data.csv").write_text("a,b")
    seen: list[str] = []
    report = build([corpus], tmp_path / "idx", fake_encoder, warn=seen.append)
    assert report.files == 2
    assert len(seen) == 4 and seen == report.warnings
    assert any("bin.txt: binary" in w for w in seen)
    assert any("latin.txt: not valid UTF-8" in w for w in seen)
