from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEncoder, snapshot

from qa import index as index_module
from qa.corpus import split_paragraphs
from qa.errors import BadInput, IndexBusy, IndexCorrupt, IndexMissing
from qa.index import Index, build, contexts, title_from_name
from qa.settings import MIB
from qa.storage import builder as storage_build


def test_build_writes_a_self_describing_generation(tiny_index: Path):
    idx = Index.open(tiny_index)
    manifest = idx.manifest
    assert manifest["format_version"] == index_module.FORMAT_VERSION
    assert manifest["model"] == {"name": "fake-hash", "dimension": 64, "fingerprint": FakeEncoder.fingerprint}
    assert manifest["counts"] == {"files": 2, "paragraphs": 6, "sentences": 7, "copies": 0}
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


def test_sentences_are_embedded_alone_and_under_their_heading(tiny_index: Path, fake_encoder):
    import numpy as np

    idx = Index.open(tiny_index)
    sid, pid = idx.db.execute("SELECT s.id, s.paragraph_id FROM sentences s JOIN paragraphs p "
                              "ON p.id = s.paragraph_id WHERE p.context != '' LIMIT 1").fetchone()
    sentence, context = idx.sentences([pid])[sid].text, idx.paragraphs([pid])[pid][1]
    alone, in_context = fake_encoder.encode([sentence, f"{context}\n{sentence}"])
    assert np.allclose(idx.dense_vectors("sentences", [sid])[0], alone)
    assert np.allclose(idx.dense_vectors("sentences_in_context", [sid])[0], in_context)


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


def test_a_build_publishes_a_new_generation_and_keeps_only_the_one_it_replaced(
        tiny_index: Path, tiny_corpus: Path, fake_encoder):
    first = Index.open(tiny_index).generation
    (tiny_corpus / "extra.txt").write_text("Cherries are small and red.\n")
    build([tiny_corpus], tiny_index, fake_encoder)
    second = Index.open(tiny_index)
    assert second.generation != first and first.exists()  # a reader of the old one can finish
    assert second.manifest["counts"]["files"] == 3
    (tiny_corpus / "extra.txt").write_text("Cherries are small, red and sweet.\n")
    build([tiny_corpus], tiny_index, fake_encoder)
    assert not first.exists() and second.generation.exists()
    assert sorted(p.name for p in tiny_index.glob("gen-*")) == sorted(
        [second.generation.name, Index.open(tiny_index).generation.name])


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
        name, dimension, fingerprint = "fake-hash", 64, FakeEncoder.fingerprint

        def encode(self, texts, progress=None):
            raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        build([tiny_corpus], tiny_index, Broken(), rebuild=True)
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


def test_a_build_over_an_old_format_rebuilds_it_and_says_why(tiny_index: Path, tiny_corpus: Path, fake_encoder):
    manifest_path = Index.open(tiny_index).generation / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = index_module.FORMAT_VERSION - 1
    manifest_path.write_text(json.dumps(manifest))
    seen: list[str] = []
    build([tiny_corpus], tiny_index, fake_encoder, warn=seen.append)
    assert seen == [f"rebuilding from scratch: the index in {tiny_index} has format "
                    f"{index_module.FORMAT_VERSION - 1}, this qa reads {index_module.FORMAT_VERSION}"]
    assert Index.open(tiny_index).manifest["format_version"] == index_module.FORMAT_VERSION


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


class CountingEncoder:
    """The fake encoder, counting how many texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.embedded = inner, 0
        self.name, self.dimension, self.fingerprint = inner.name, inner.dimension, inner.fingerprint

    def encode(self, texts, progress=None):
        self.embedded += len(texts)
        return self.inner.encode(texts, progress)


def test_reindexing_an_unchanged_corpus_embeds_nothing_and_writes_nothing(tiny_index, tiny_corpus, fake_encoder):
    before = Index.open(tiny_index).generation
    counting = CountingEncoder(fake_encoder)
    report = build([tiny_corpus], tiny_index, counting)
    assert (report.written, counting.embedded) == (False, 0)
    assert report.changes["unchanged"] == ["fruit.txt", "space/moon.md"]
    assert Index.open(tiny_index).generation == before


def test_only_changed_and_new_files_are_embedded(tiny_index, tiny_corpus, fake_encoder):
    (tiny_corpus / "space/moon.md").write_text("# The Moon\n\nThe Moon is bright tonight.\n")
    (tiny_corpus / "new.txt").write_text("Cherries are red. Plums are purple.\n")
    (tiny_corpus / "fruit.txt").unlink()
    counting = CountingEncoder(fake_encoder)
    report = build([tiny_corpus], tiny_index, counting)
    assert report.changes == {"added": ["new.txt"], "updated": ["space/moon.md"], "unchanged": [],
                              "removed": ["fruit.txt"]}
    # moon.md: 2 paragraphs + 1 sentence; new.txt: 1 paragraph + 2 sentences; sentences twice
    # (alone and in context)
    assert counting.embedded == 3 + 2 * 3
    assert [f["name"] for f in Index.open(tiny_index).manifest["files"]] == ["new.txt", "space/moon.md"]


def test_an_incremental_build_answers_like_a_full_rebuild(tiny_index, tiny_corpus, tmp_path, fake_encoder):
    import qa

    (tiny_corpus / "new.txt").write_text("Cherries are red. Plums are purple.\n")
    build([tiny_corpus], tiny_index, fake_encoder)
    build([tiny_corpus], tmp_path / "fresh", fake_encoder)
    incremental = qa.open_index(tiny_index, encoder=fake_encoder)
    fresh = qa.open_index(tmp_path / "fresh", encoder=fake_encoder)
    for question in ("Who walked on the Moon?", "What colour are plums?", "bananas"):
        assert incremental.ask(question, min_score=0).to_dict() == fresh.ask(question, min_score=0).to_dict()


def test_another_model_means_a_full_rebuild(tiny_index, tiny_corpus, fake_encoder):
    other = CountingEncoder(fake_encoder)
    other.name, other.fingerprint = "other-model", "other"
    seen: list[str] = []
    build([tiny_corpus], tiny_index, other, warn=seen.append)
    assert other.embedded == 6 + 2 * 7 and "rebuilding from scratch" in seen[0]  # sentences alone and in context
    assert Index.open(tiny_index).manifest["model"]["name"] == "other-model"


def test_stale_reports_changed_and_missing_sources(tiny_index, tiny_corpus):
    idx = Index.open(tiny_index)
    assert idx.stale() == []
    (tiny_corpus / "fruit.txt").write_text("Different now.\n")
    (tiny_corpus / "space/moon.md").unlink()
    assert idx.stale() == ["fruit.txt: changed since the index was built",
                           "space/moon.md: missing since the index was built"]


@pytest.mark.parametrize(("artifact", "offset", "message"), [
    ("paragraphs.faiss", 0, "bad header"),
    ("store.sqlite", 0, "bad header"),
])
def test_a_damaged_header_is_caught_on_open(tiny_index, artifact, offset, message):
    path = Index.open(tiny_index).generation / artifact
    data = bytearray(path.read_bytes())
    data[offset:offset + 4] = b"JUNK"
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match=message):
        Index.open(tiny_index)


def test_damage_inside_an_artifact_is_caught_by_verify(tiny_index):
    idx = Index.open(tiny_index)
    path = idx.generation / "sentences.faiss"
    data = bytearray(path.read_bytes())
    data[-8:] = b"\xff" * 8
    path.write_bytes(bytes(data))
    problems = Index.open(tiny_index).verify()
    assert problems == ["sentences.faiss: checksum differs from the manifest (damaged)"]


def test_verify_passes_on_a_fresh_index(tiny_index):
    assert Index.open(tiny_index).verify() == []


def test_a_manifest_that_disagrees_with_the_store_is_corrupt(tiny_index):
    manifest_path = Index.open(tiny_index).generation / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["counts"]["sentences"] += 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="holds 7 sentences, its manifest says 8"):
        Index.open(tiny_index)


def test_nothing_in_an_index_is_pickled(tiny_index):
    generation = Index.open(tiny_index).generation
    assert sorted(p.name for p in generation.iterdir()) == sorted(["manifest.json", *index_module.ARTIFACTS])
    for path in generation.iterdir():
        assert not path.read_bytes().startswith(b"\x80")  # every pickle protocol >= 2 starts so


def test_hard_inputs_are_skipped_or_decoded_and_the_rest_is_answerable(tmp_path, fake_encoder):
    import qa

    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (corpus / "latin 1 é.txt").write_bytes("Le café est très chaud à Montréal.".encode("latin-1"))
    (corpus / "empty.txt").write_text("")
    (corpus / "sub" / "loop").symlink_to(corpus, target_is_directory=True)
    (corpus / "huge.txt").write_bytes(b"Some words in a sentence. " * 2_000_000)  # 49.6 MiB of real text
    (corpus / "名前 with spaces.md").write_text("Mount Fuji is the highest mountain in Japan.\n")
    seen: list[str] = []
    limit = int(qa.Settings().max_file_mb * MIB)
    assert limit == 10 * 1024 * 1024  # sizes in MiB, as `ls -lh` shows them: 10.4 MB (9.9M) is under it
    report = build([corpus], tmp_path / "idx", fake_encoder, max_file_bytes=limit, warn=seen.append)
    assert report.files == 2
    assert len(seen) == 4 and all("\n" not in line for line in seen)
    assert any("huge.txt: 49.6 MiB is over the 10 MiB limit (QA_MAX_FILE_MB)" in w for w in seen)
    engine = qa.open_index(tmp_path / "idx", encoder=fake_encoder)
    answer = engine.ask("What is the highest mountain in Japan?")
    assert answer.span.citation.file == "名前 with spaces.md"
    assert engine.ask("café chaud à Montréal", min_score=0).span.citation.file == "latin 1 é.txt"


# --- an index folder is qa's own (issue 13) ----------------------------------------------------

@pytest.mark.parametrize("rebuild", [False, True])
def test_a_folder_that_is_not_an_index_is_refused_and_left_as_it_was(user_folder, tiny_corpus, fake_encoder,
                                                                       rebuild):
    before = snapshot(user_folder)
    with pytest.raises(BadInput, match=re.escape(f"{user_folder} is not empty and not a qa index (it holds "
                                                 "CURRENT and 2 more); give --index (or QA_INDEX) a new or "
                                                 "empty folder")):
        build([tiny_corpus], user_folder, fake_encoder, rebuild=rebuild)
    assert snapshot(user_folder) == before


def test_a_new_or_empty_folder_becomes_a_marked_index(tmp_path: Path, tiny_corpus: Path, fake_encoder):
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "new" / "nested"):
        build([tiny_corpus], folder, fake_encoder)
        assert json.loads((folder / index_module.MARKER).read_text())["made_by"] == "qa"
        assert Index.open(folder).manifest["counts"]["files"] == 2


def test_an_index_built_before_the_mark_is_adopted_unless_it_holds_anything_else(tiny_index, tiny_corpus,
                                                                                  fake_encoder):
    legacy = Index.open(tiny_index).generation.rename(tiny_index / "gen-20240101T000000-ab_cd12x")  # mkdtemp's
    (tiny_index / "CURRENT").write_text(f"{legacy.name}\n")
    (tiny_index / index_module.MARKER).unlink()
    (tiny_index / "notes.txt").write_text("mine\n")
    before = snapshot(tiny_index)
    with pytest.raises(BadInput, match=r"holds notes\.txt\)"):
        build([tiny_corpus], tiny_index, fake_encoder)
    assert snapshot(tiny_index) == before

    (tiny_index / "notes.txt").unlink()
    (tiny_corpus / "extra.txt").write_text("Cherries are small and red.\n")
    build([tiny_corpus], tiny_index, fake_encoder)
    assert (tiny_index / index_module.MARKER).is_file()
    assert (tiny_index / "PREVIOUS").read_text() == f"{legacy.name}\n" and legacy.is_dir()
    (tiny_corpus / "extra.txt").write_text("Cherries are small, red and sweet.\n")
    build([tiny_corpus], tiny_index, fake_encoder)
    assert not legacy.exists()  # an earlier qa's generation is cleaned up like any other


def test_the_default_index_folder_is_committed_with_its_mark_beside_its_readme(tmp_path, tiny_corpus, fake_encoder):
    committed = Path(__file__).resolve().parents[1] / "index"
    folder = tmp_path / "index"  # a copy of what a fresh clone has: the developer's own index stays untouched
    folder.mkdir()
    for name in ("README.md", index_module.MARKER):
        shutil.copy(committed / name, folder / name)
    build([tiny_corpus], folder, fake_encoder)
    assert (folder / "README.md").read_bytes() == (committed / "README.md").read_bytes()
    assert Index.open(folder).manifest["counts"]["files"] == 2


def test_clean_up_removes_qa_debris_and_nothing_else(tiny_index: Path, tiny_corpus: Path, fake_encoder):
    theirs = {"gen-photos/holiday.jpg": b"\xff\xd8 a photo", "notes.txt": b"Buy milk.\n",
              # named like a generation, holding a manifest, but also a file no build writes
              "gen-20240101T000000-abcdefgh/manifest.json": b"{}",
              "gen-20240101T000000-abcdefgh/holiday.jpg": b"\xff\xd8 another photo"}
    for name, data in theirs.items():
        (tiny_index / name).parent.mkdir(exist_ok=True)
        (tiny_index / name).write_bytes(data)
    killed = tiny_index / "gen-20240101T000000-killed00"  # a build killed while writing
    killed.mkdir()
    (killed / index_module.BUILDING).touch()
    (killed / "store.sqlite").write_bytes(b"SQLite format 3\x00 half")
    just_begun = tiny_index / "gen-20240101T000000-begun000"  # killed before its mark was written
    just_begun.mkdir()
    build([tiny_corpus], tiny_index, fake_encoder, rebuild=True)
    build([tiny_corpus], tiny_index, fake_encoder, rebuild=True)
    after = snapshot(tiny_index)
    assert {name: after.get(name) for name in theirs} == theirs
    assert not killed.exists() and not just_begun.exists()
    published = {(tiny_index / name).read_text().strip() for name in ("CURRENT", "PREVIOUS")}
    assert {p.name for p in tiny_index.glob("gen-2*")} == published | {"gen-20240101T000000-abcdefgh"}


def test_a_link_named_like_a_generation_is_never_followed_by_clean_up(tiny_index, tiny_corpus, tmp_path,
                                                                       fake_encoder):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "store.sqlite").write_bytes(b"someone else's database")
    (elsewhere / "manifest.json").write_text("{}")
    link = tiny_index / "gen-20240101T000000-linked00"
    link.symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    build([tiny_corpus], tiny_index, fake_encoder, rebuild=True)
    build([tiny_corpus], tiny_index, fake_encoder, rebuild=True)
    assert link.is_symlink() and snapshot(elsewhere) == before


@pytest.mark.parametrize("pointer", ["relative", "absolute", "link"])
def test_current_naming_anything_but_a_generation_is_a_damaged_index(tiny_index, tiny_corpus, tmp_path,
                                                                     fake_encoder, pointer):
    elsewhere = tmp_path / "elsewhere"  # a complete generation, outside the index folder
    shutil.copytree(Index.open(tiny_index).generation, elsewhere)
    name = {"relative": "../elsewhere", "absolute": str(elsewhere), "link": "gen-20240101T000000-linked00"}[pointer]
    if pointer == "link":
        (tiny_index / name).symlink_to(elsewhere, target_is_directory=True)
    (tiny_index / "CURRENT").write_text(f"{name}\n")
    before = snapshot(elsewhere)
    problem = f"has CURRENT naming {name!r}, which is not one of its generation folders"
    with pytest.raises(IndexCorrupt, match=re.escape(f"{problem}; rebuild it with `qa index --rebuild`")):
        Index.open(tiny_index)
    seen: list[str] = []
    build([tiny_corpus], tiny_index, fake_encoder, warn=seen.append)
    assert seen == [f"rebuilding from scratch: the index in {tiny_index} {problem}"]
    assert (tiny_index / "PREVIOUS").read_text() == "\n"  # the bad name is not carried on
    assert Index.open(tiny_index).generation.parent == tiny_index
    assert snapshot(elsewhere) == before


def test_a_link_given_as_the_index_folder_leads_to_an_empty_folder_or_an_index(tmp_path, tiny_corpus,
                                                                              user_folder, fake_encoder):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "to-empty").symlink_to(empty, target_is_directory=True)
    build([tiny_corpus], tmp_path / "to-empty", fake_encoder)
    assert (empty / index_module.MARKER).is_file()
    build([tiny_corpus], tmp_path / "to-empty", fake_encoder, rebuild=True)  # now it leads to an index
    assert Index.open(tmp_path / "to-empty").manifest["counts"]["files"] == 2

    (tmp_path / "to-work").symlink_to(user_folder, target_is_directory=True)
    before = snapshot(user_folder)
    with pytest.raises(BadInput, match="not empty and not a qa index"):
        build([tiny_corpus], tmp_path / "to-work", fake_encoder)
    assert snapshot(user_folder) == before and (tmp_path / "to-work").is_symlink()


def test_an_index_inside_the_corpus_is_left_out_of_the_walk(tiny_corpus: Path, fake_encoder):
    folder = tiny_corpus / "index"
    build([tiny_corpus], folder, fake_encoder)
    (folder / "README.md").write_text("# index\n\nWhere the index goes.\n")  # as in this repository
    seen: list[str] = []
    report = build([tiny_corpus], folder, fake_encoder, rebuild=True, warn=seen.append)
    assert seen == []
    assert [f["name"] for f in Index.open(folder).manifest["files"]] == ["fruit.txt", "space/moon.md"]
    assert report.files == 2


def test_a_corpus_inside_the_index_folder_is_refused(tiny_index: Path, fake_encoder):
    docs = tiny_index / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Some text to index.\n")
    before = snapshot(tiny_index)
    for corpus in (docs, docs / "a.txt", tiny_index):
        with pytest.raises(BadInput, match=re.escape(f"corpus path {corpus} is inside the index folder {tiny_index}")):
            build([corpus], tiny_index, fake_encoder)
    assert snapshot(tiny_index) == before


# --- approximate vector indexes (issue 10) -----------------------------------------------------

def test_an_index_above_the_threshold_gets_ivf_files_recorded_in_its_manifest(tmp_path, tiny_corpus, fake_encoder):
    from qa import dense

    build([tiny_corpus], tmp_path / "exact", fake_encoder)
    assert Index.open(tmp_path / "exact").manifest["dense"] == {kind: {"type": "flat"} for kind in index_module.VECTORS}
    build([tiny_corpus], tmp_path / "approx", fake_encoder, approx_min_vectors=7)  # 7 sentences, 6 paragraphs
    idx = Index.open(tmp_path / "approx")
    assert idx.manifest["dense"]["paragraphs"] == {"type": "flat"}
    for kind in ("sentences", "sentences_in_context"):
        assert idx.manifest["dense"][kind] == dense.plan(7, approx_min_vectors=7).to_dict()
        assert idx.manifest["dense"][kind]["type"] == "ivf_flat"
        assert (idx.generation / f"{kind}.faiss").read_bytes()[:4] == dense.HEADERS["ivf_flat"]
    exact = Index.open(tmp_path / "exact")
    for kind, rows in (("sentences", 7), ("sentences_in_context", 7), ("paragraphs", 6)):
        ids = list(range(rows))
        assert (idx.dense_vectors(kind, ids) == exact.dense_vectors(kind, ids)).all()  # kept exactly
    assert idx.verify() == []


def test_an_incremental_build_carries_vectors_out_of_an_approximate_index(tmp_path, tiny_corpus, fake_encoder):
    folder = tmp_path / "index"
    build([tiny_corpus], folder, fake_encoder, approx_min_vectors=1)
    (tiny_corpus / "new.txt").write_text("Cherries are red. Plums are purple.\n")
    counting = CountingEncoder(fake_encoder)
    build([tiny_corpus], folder, counting, approx_min_vectors=1)
    assert counting.embedded == 1 + 2 * 2  # only new.txt: its paragraph, its sentences alone and in context
    build([tiny_corpus], tmp_path / "fresh", fake_encoder, rebuild=True)
    incremental, fresh = Index.open(folder), Index.open(tmp_path / "fresh")
    assert incremental.manifest["dense"]["sentences"]["type"] == "ivf_flat"
    for kind in index_module.VECTORS:
        rows = list(range(fresh.manifest["counts"][index_module.rows_of(kind)]))
        assert (incremental.dense_vectors(kind, rows) == fresh.dense_vectors(kind, rows)).all()
    assert incremental.verify() == []


def test_a_manifest_that_disagrees_with_an_approximate_index_is_caught(tmp_path, tiny_corpus, fake_encoder):
    folder = tmp_path / "index"
    build([tiny_corpus], folder, fake_encoder, approx_min_vectors=1)
    manifest_path = Index.open(folder).generation / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    recorded = manifest["dense"]["sentences"]
    manifest["dense"]["sentences"] = {**recorded, "nprobe": recorded["nprobe"] + 1}
    manifest_path.write_text(json.dumps(manifest))
    assert Index.open(folder).verify() == [
        f"sentences.faiss: holds {recorded}, its manifest says {manifest['dense']['sentences']}"]
    manifest["dense"]["sentences"] = {"type": "flat"}  # what an old build would have said of it
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match=r"file sentences\.faiss is damaged \(bad header\)"):
        Index.open(folder)


def test_damage_inside_an_approximate_index_is_caught_by_verify(tmp_path, tiny_corpus, fake_encoder):
    folder = tmp_path / "index"
    build([tiny_corpus], folder, fake_encoder, approx_min_vectors=1)
    path = Index.open(folder).generation / "sentences.faiss"
    data = bytearray(path.read_bytes())
    data[-8:] = b"\xff" * 8  # the last list's last id
    path.write_bytes(bytes(data))
    assert Index.open(folder).verify() == ["sentences.faiss: checksum differs from the manifest (damaged)",
                                           "sentences.faiss: its lists do not hold each row exactly once"]


def test_vectors_streamed_in_small_blocks_make_the_same_index_and_leave_no_files(tiny_corpus, tmp_path, fake_encoder,
                                                                                 monkeypatch):
    build([tiny_corpus], tmp_path / "whole", fake_encoder)
    monkeypatch.setattr(storage_build, "ENCODE_BLOCK", 2)
    build([tiny_corpus], tmp_path / "blocks", fake_encoder)
    whole, blocks = Index.open(tmp_path / "whole"), Index.open(tmp_path / "blocks")
    for kind in index_module.VECTORS:
        rows = list(range(whole.faiss(kind).ntotal))
        assert np.array_equal(whole.dense_vectors(kind, rows), blocks.dense_vectors(kind, rows))
    assert not [p.name for p in blocks.generation.iterdir() if p.name.endswith(".f32")]


def test_a_build_shows_a_bar_from_its_first_file(tiny_corpus: Path, tmp_path: Path, fake_encoder: FakeEncoder):
    bars: list[tuple[str, int]] = []
    done: dict[str, int] = {}

    def progress(label: str, total: int):
        bars.append((label, total))

        def advance(n: int) -> None:
            done[label] = done.get(label, 0) + n

        return advance

    build([tiny_corpus], tmp_path / "idx", fake_encoder, progress=progress)
    assert bars[0] == ("Reading 2 files", 2)  # before anything is read: reading and extracting are work too
    assert bars[1][0].startswith("Embedding 6 paragraphs of 2 files")
    assert done == {label: total for label, total in bars}
