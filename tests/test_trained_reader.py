"""The shipped reader model: loading, its checks, what it reads, and the export it came from."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import qa
from qa.reader.trained import CARD_FILE, FEATURES, MODEL_FILE, TrainedReader, default_folder, default_threshold

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def reader() -> TrainedReader:
    return TrainedReader()


def test_the_shipped_model_is_small_and_described_by_its_card():
    folder = default_folder()
    card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    assert (folder / MODEL_FILE).stat().st_size == card["bytes"] < 31e6
    assert (folder / "README.md").is_file() and (folder / "tokenizer.json").is_file()
    calibration = card["calibration"]
    weights = dict(zip(calibration["features"], calibration["weights"]))
    assert set(weights) <= set(FEATURES) and weights["logit"] > 0 and 0 < calibration["threshold"] < 1
    assert default_threshold() == calibration["threshold"]


def test_reads_the_short_answer_and_how_likely_each_window_answers(reader):
    windows = ["The rover will be launched by NASA in 2031, the agency said.",
               "The weather in Paris was mild that spring, with little rain."]
    first, second = reader.read("Who will launch the rover?", windows)
    assert windows[0][first.start:first.end] == "NASA"
    assert first.logit > second.logit
    evidence = {"span_score": 10.0, "heuristic": 0.5, "margin": 0.0, "agreement": 0.0}
    assert 0 < reader.probability({**evidence, "logit": second.logit}) < reader.probability(
        {**evidence, "logit": first.logit}) < 1


def test_reading_nothing_reads_nothing(reader):
    assert reader.read("anything?", []) == []


def copy_model(tmp_path: Path) -> Path:
    folder = tmp_path / "reader"
    shutil.copytree(default_folder(), folder)
    return folder


def test_a_missing_model_is_a_clear_error(tmp_path: Path):
    folder = copy_model(tmp_path)
    (folder / MODEL_FILE).unlink()
    with pytest.raises(qa.ModelMissing, match=r"cannot be loaded .*reinstall qa .*--reader heuristic"):
        TrainedReader(folder)


def test_a_damaged_model_is_refused_before_it_runs(tmp_path: Path):
    folder = copy_model(tmp_path)
    data = bytearray((folder / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte deep in the weights: onnxruntime would load it
    (folder / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(qa.ModelMissing, match="is damaged"):
        TrainedReader(folder)


WINDOWS = ["The rover will be launched by NASA in 2031, the agency said.",
           "Japan's acquisition of 400 Tomahawk Cruise Missiles was announced in Washington."]


def logits(reader: TrainedReader) -> list[tuple[float, float, str]]:
    return [(r.logit, r.span_score, r.text) for r in reader.read("Who will launch the rover?", WINDOWS)]


def test_the_optimised_graph_is_kept_once_and_reads_exactly_what_a_fresh_session_reads(tmp_path: Path,
                                                                                      monkeypatch):
    from qa.reader import trained

    monkeypatch.setenv("QA_CACHE", str(tmp_path / "cache"))
    first = TrainedReader(copy_model(tmp_path))  # optimises, and keeps the graph
    graph, record = trained._cache_files(first.card, trained._source(first.folder / MODEL_FILE))
    assert graph.is_file() and record.is_file()
    assert not list(graph.parent.glob("*.partial"))
    made = graph.stat().st_mtime_ns
    again = TrainedReader(first.folder)  # starts from the kept graph
    assert graph.stat().st_mtime_ns == made
    assert logits(again) == logits(first)


def test_a_damaged_or_foreign_kept_graph_is_not_used(tmp_path: Path, monkeypatch):
    from qa.reader import trained

    monkeypatch.setenv("QA_CACHE", str(tmp_path / "cache"))
    reader = TrainedReader(copy_model(tmp_path))
    expected = logits(reader)
    graph, record = trained._cache_files(reader.card, trained._source(reader.folder / MODEL_FILE))
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))
    assert logits(TrainedReader(reader.folder)) == expected  # optimised again from the checked model
    assert hashlib.sha256(graph.read_bytes()).hexdigest() == json.loads(record.read_text())["sha256"]
    model = reader.folder / MODEL_FILE  # the model file damaged after its graph was kept
    damaged = bytearray(model.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    model.write_bytes(bytes(damaged))
    with pytest.raises(qa.ModelMissing, match="is damaged"):
        TrainedReader(reader.folder)


def test_a_graph_is_kept_per_installed_model_and_replaced_when_onnxruntime_changes(tmp_path: Path, monkeypatch):
    import onnxruntime

    monkeypatch.setenv("QA_CACHE", str(tmp_path / "cache"))
    folders = [copy_model(tmp_path / "one"), copy_model(tmp_path / "two")]
    for folder in folders:
        TrainedReader(folder)
    kept = tmp_path / "cache" / "reader"
    assert len(list(kept.glob("*.onnx"))) == 2  # one per place, so neither evicts the other
    monkeypatch.setattr(onnxruntime, "__version__", "0.0.0-test")
    TrainedReader(folders[0])
    names = sorted(p.name for p in kept.glob("*.onnx"))
    assert len(names) == 2 and sum("0.0.0-test" in n for n in names) == 1


def test_the_graph_of_a_model_file_that_is_gone_is_removed_when_another_is_kept(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("QA_CACHE", str(tmp_path / "cache"))
    gone = copy_model(tmp_path / "gone")
    TrainedReader(gone)
    shutil.rmtree(gone)
    TrainedReader(copy_model(tmp_path / "here"))
    assert len(list((tmp_path / "cache" / "reader").glob("*.onnx"))) == 1


def test_an_unwritable_cache_still_loads_the_model(tmp_path: Path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("QA_CACHE", str(blocker))
    reader = TrainedReader(copy_model(tmp_path))
    assert logits(reader)[0][2] == "NASA"
    assert blocker.read_text() == ""


def test_the_cli_reports_a_damaged_model_in_one_line(tmp_path: Path, monkeypatch, tiny_index: Path):
    from typer.testing import CliRunner

    from qa import cli
    from qa.reader import trained

    folder = copy_model(tmp_path)
    (folder / MODEL_FILE).write_bytes(b"not a model")
    monkeypatch.setattr(trained, "default_folder", lambda: folder)
    result = CliRunner().invoke(cli.app, ["ask", "Who walked on the Moon?", "--index", str(tiny_index),
                                          "--reader", "trained"])
    assert result.exit_code == 1
    assert "is damaged" in result.output and "Traceback" not in result.output
    heuristic = CliRunner().invoke(cli.app, ["ask", "Who walked on the Moon?", "--index", str(tiny_index),
                                             "--reader", "heuristic"])
    assert heuristic.exit_code == 0, heuristic.output


@pytest.mark.slow
def test_the_onnx_export_matches_torch_on_hundreds_of_pairs(tmp_path: Path):
    """The training code's export (`training.export_reader.export`) runs what torch runs: here
    on a reader whose heads are freshly initialised, over 300 (question, window) pairs from the
    seeds and their gold questions."""
    import torch
    from tokenizers import Tokenizer

    from qa.corpus import split_paragraphs, split_sentences
    from qa.reader.spans import window
    from qa.reader.trained import encode
    from training.export_reader import export
    from training.model import INPUTS, load
    from training.train_reader import base_model

    torch.manual_seed(0)
    model = load(base_model()).eval()
    tokenizer = Tokenizer.from_file(str(Path(base_model()) / "tokenizer.json"))
    export(model, tokenizer, tmp_path / "reader.onnx")

    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp_path / "reader.onnx"), providers=["CPUExecutionProvider"])
    questions = [json.loads(line)["question"] for line in (ROOT / "eval/seeds_gold.jsonl").read_text().splitlines()]
    windows = []
    for path in sorted((ROOT / "seeds").iterdir()):
        text = path.read_text(encoding="utf-8")
        for paragraph in split_paragraphs(path.name, text):
            spans = split_sentences(paragraph)
            windows += [text[s:e] for s, e in (window(spans, i) for i in range(len(spans)))]
    worst, pairs = 0.0, 0
    for q, question in enumerate(questions[:30]):
        batch = windows[q % 7 :: 7][:10]
        encoded = encode(tokenizer, question, batch)
        with torch.no_grad():
            expected = model(*(torch.tensor(encoded.feeds[n]) for n in INPUTS))
        got = session.run(None, encoded.feeds)
        worst = max(worst, *(float(np.abs(e.numpy() - g).max()) for e, g in zip(expected, got)))
        pairs += len(batch)
    assert pairs >= 250
    assert worst < 1e-3


def test_evidence_compares_each_window_with_the_others():
    from qa.reader.trained import Reading, evidence

    readings = [Reading(0, 0, 4, 3.0, 9.0, "NASA"), Reading(1, 0, 4, 1.0, 7.0, "nasa"),
                Reading(2, 0, 5, -20.0, 2.0, "Japan")]
    first, second, third = evidence(readings, [0.6, 0.5, 0.1])
    assert first == {"logit": 3.0, "span_score": 9.0, "heuristic": 0.6, "margin": 2.0, "agreement": 0.5}
    assert second["margin"] == -2.0 and second["agreement"] == 0.5  # the same answer, case folded
    assert third["margin"] == -10.0 and third["agreement"] == 0.0  # clipped
    alone, = evidence(readings[:1], [0.6])
    assert alone["margin"] == 10.0 and alone["agreement"] == 0.0
