"""Reader training: a run stopped and resumed ends exactly where one run would have."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from training.data import Pair  # noqa: E402
from training.train_reader import parse, train  # noqa: E402

CONTEXT = "NASA will launch the rover in 2031. The agency said the launch is on schedule."


def tiny_reader():
    from transformers import BertConfig, BertModel

    from training.model import Reader

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=128)
    return Reader(BertModel(config, add_pooling_layer=False), config.hidden_size)


def tokenizer():
    from tokenizers import Tokenizer

    from training.train_reader import base_model

    return Tokenizer.from_file(str(Path(base_model()) / "tokenizer.json"))


PAIRS = [Pair(f"Who will launch the rover {i}?", CONTEXT, (0, 4), ("NASA",), f"q{i}") for i in range(12)] + [
    Pair(f"When is the launch {i}?", CONTEXT, None, (), f"n{i}") for i in range(12)]


def run(work: Path, *flags: str, stop_after: int | None = None) -> tuple[dict, int]:
    args = parse(["--work", str(work), "--batch-size", "4", "--epochs", "1.5", "--evaluations", "0",
                  "--checkpoint-every", "100", "--threads", "1", *flags])
    model = tiny_reader()
    step, _, _ = train(model, tokenizer(), PAIRS, {}, args, lambda message: None, stop_after=stop_after)
    return model.state_dict(), step


def test_two_resumed_chunks_train_the_same_model_as_one_run(tmp_path: Path):
    whole, steps = run(tmp_path / "one")
    assert steps == 9
    _, first = run(tmp_path / "two", stop_after=4)
    assert first == 4
    resumed, last = run(tmp_path / "two", "--resume")
    assert last == 9
    assert all(torch.equal(whole[name], resumed[name]) for name in whole)
    half, _ = run(tmp_path / "three", stop_after=4)
    assert not all(torch.equal(whole[name], half[name]) for name in whole)


def test_a_checkpoint_is_never_overwritten_or_resumed_with_other_settings(tmp_path: Path):
    run(tmp_path, stop_after=2)
    with pytest.raises(SystemExit, match="exists: add --resume"):
        run(tmp_path)
    with pytest.raises(SystemExit, match=r"other settings \(lr\)"):
        run(tmp_path, "--resume", "--lr", "0.001")
    with pytest.raises(SystemExit, match="nothing to resume"):
        run(tmp_path / "empty", "--resume")


@pytest.mark.slow
def test_a_shipped_reader_reloaded_for_training_reads_as_it_does_in_qa():
    import numpy as np

    from qa.reader.trained import MODEL_FILE, TrainedReader, default_folder, encode
    from training.model import INPUTS, from_onnx
    from training.train_reader import base_model

    shipped = TrainedReader()
    model = from_onnx(str(default_folder() / MODEL_FILE), base_model()).eval()
    windows = ["The rover will be launched by NASA in 2031, the agency said.",
               "The weather in Paris was mild that spring, with little rain."]
    encoded = encode(shipped.tokenizer, "Who will launch the rover?", windows)
    with torch.no_grad():
        start, end, answerable = (t.numpy() for t in model(*(torch.tensor(encoded.feeds[n]) for n in INPUTS)))
    expected = shipped.session.run(None, encoded.feeds)
    # The shipped file runs int8 arithmetic; the reloaded weights run in float: close, not equal.
    assert np.corrcoef(start.ravel(), expected[0].ravel())[0, 1] > 0.98
    assert np.abs(answerable - expected[2]).max() < 1.0
    assert start[0].argmax() == expected[0][0].argmax() and answerable[0] > answerable[1]  # where NASA starts


def test_halfway_averages_the_weights_and_keeps_the_position_ids():
    from training.model import halfway

    weights = {"dense.weight": torch.tensor([1.0, 3.0]), "position_ids": torch.tensor([0, 1])}
    towards = {"dense.weight": torch.tensor([3.0, 7.0]), "position_ids": torch.tensor([5, 5])}
    out = halfway(weights, towards)
    assert out["dense.weight"].tolist() == [2.0, 5.0]
    assert out["position_ids"].tolist() == [0, 1]
