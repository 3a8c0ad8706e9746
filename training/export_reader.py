"""Export the trained reader to the ONNX file `qa` ships, int8 where measured not to cost quality.

    .venv/bin/python -m training.export_reader --work training/work --out qa/models/reader

Exports ``reader.pt`` (from `training.train_reader`) with torch's ONNX exporter, checks parity
between torch and onnxruntime on held-out pairs, quantizes the weights to int8 (onnxruntime's
dynamic quantization, one scale per output channel), scores both files on every held-out pair through the very code `qa`
runs (`qa.reader.trained.TrainedReader`), and ships the int8 file only if it keeps the held-out
span F1 within 0.01 and the answerability AUC within 0.005 of float32 (``--weights int8`` ships it
regardless, and the card keeps both files' figures: git holds the 23 MB int8 file, not the 91 MB
float32 one). Writes ``reader.onnx``,
``tokenizer.json`` and ``reader.json`` (what the card says, as data) into ``--out``;
``training/calibrate_reader.py`` then adds the calibration and the model card.

``--average READER.onnx`` exports the mean of the trained weights and that reader's (the one
``--init`` started from): fine-tuning on one kind of question moves the weights away from what
the reader knew, and the point halfway back keeps more of both (weight-space ensembling, as in
Wortsman et al., "Robust fine-tuning of zero-shot models", 2022).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from qa.evaluate import exact_match, f1
from qa.reader.spans import WINDOW_CHARS
from qa.reader.trained import CARD_FILE, MAX_TOKENS, MODEL_FILE, TrainedReader, encode
from training.data import Pair, load_splits, sha256
from training.model import INPUTS, OUTPUTS, from_onnx, halfway, load
from training.train_reader import auc, base_model

PARITY_PAIRS = 300
MAX_F1_LOSS = 0.01
MAX_AUC_LOSS = 0.005


def export(model: torch.nn.Module, tokenizer, path: Path) -> None:
    sample = encode(tokenizer, "what did Japan buy?", ["Japan bought 400 missiles.", "It also eased rules on exports."])
    batch, sequence = torch.export.Dim("batch", max=1024), torch.export.Dim("sequence", max=512)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), tuple(torch.tensor(sample.feeds[n]) for n in INPUTS), str(path),
                          input_names=list(INPUTS), output_names=list(OUTPUTS), opset_version=18,
                          dynamic_shapes={n: {0: batch, 1: sequence} for n in INPUTS}, dynamo=True,
                          verbose=False, external_data=False)


def as_reader(onnx_file: Path, tokenizer_file: Path, folder: Path) -> TrainedReader:
    """A `TrainedReader` over ``onnx_file``, through a folder with a minimal card."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(onnx_file, folder / MODEL_FILE)
    shutil.copyfile(tokenizer_file, folder / "tokenizer.json")
    digest = hashlib.sha256((folder / MODEL_FILE).read_bytes()).hexdigest()
    (folder / CARD_FILE).write_text(json.dumps({"sha256": digest}), encoding="utf-8")
    return TrainedReader(folder)


def held_out_metrics(reader: TrainedReader, pairs: list[Pair]) -> dict[str, float]:
    """Span EM/F1 on the positive windows and answerability AUC on all, reading each question's
    windows in one batch as `qa ask` does; and the mean time per batch."""
    by_question: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        by_question[pair.qid].append(pair)
    ems, f1s, logits, labels, seconds = [], [], [], [], []
    for group in by_question.values():
        started = time.perf_counter()
        readings = reader.read(group[0].question, [p.context for p in group])
        seconds.append(time.perf_counter() - started)
        for pair, reading in zip(group, readings):
            logits.append(reading.logit)
            labels.append(pair.answer is not None)
            if pair.answer is not None:
                text = pair.context[reading.start : reading.end]
                ems.append(exact_match(text, pair.answers))
                f1s.append(f1(text, pair.answers))
    return {"span_em": round(float(np.mean(ems)), 4), "span_f1": round(float(np.mean(f1s)), 4),
            "answerable_auc": round(auc(np.array(logits), np.array(labels)), 4),
            "ms_per_question": round(1000 * float(np.mean(seconds)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared/benchmarks")
    parser.add_argument("--work", type=Path, default=Path("training/work"))
    parser.add_argument("--out", type=Path, default=Path("qa/models/reader"))
    parser.add_argument("--version", type=int, help="the model version in the card title")
    parser.add_argument("--average", type=Path,
                        help="export the mean of the trained weights and this reader.onnx's (the one --init "
                             "started from: the fine-tuned model pulled halfway back towards it)")
    parser.add_argument("--weights", choices=("auto", "int8"), default="auto",
                        help="auto: int8 only within the quality guard; int8: always (the card says what it cost)")
    args = parser.parse_args()
    for needed in (args.work / "reader.pt", args.work / "training.json", args.average):
        if needed is not None and not needed.is_file():
            raise SystemExit(f"{needed} is missing: train with `python -m training.train_reader --work W` first"
                             if needed.parent == args.work else f"{needed} is missing")

    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer

    base = base_model()
    tokenizer_file = Path(base) / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    model = load(base)
    model.load_state_dict(torch.load(args.work / "reader.pt", map_location="cpu"))
    if args.average:
        model.load_state_dict(halfway(model.state_dict(), from_onnx(str(args.average), base).state_dict()))
    model.eval()
    fp32, int8 = args.work / "reader-fp32.onnx", args.work / "reader-int8.onnx"
    export(model, tokenizer, fp32)
    # Per-channel scales: per-tensor ones cost 0.025 held-out F1 and 0.012 AUC on this model.
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)

    _, held_out = load_splits(args.data)
    with tempfile.TemporaryDirectory() as scratch:
        readers = {name: as_reader(path, tokenizer_file, Path(scratch, name)) for name, path in
                   (("float32", fp32), ("int8", int8))}
        worst = 0.0
        for pair in held_out[:PARITY_PAIRS]:
            encoded = encode(tokenizer, pair.question, [pair.context])
            with torch.no_grad():
                expected = model(*(torch.tensor(encoded.feeds[n]) for n in INPUTS))
            got = readers["float32"].session.run(None, encoded.feeds)
            worst = max(worst, *(float(np.abs(e.numpy() - g).max()) for e, g in zip(expected, got)))
        metrics = {name: held_out_metrics(reader, held_out) for name, reader in readers.items()}
    print(f"torch vs onnxruntime float32, {PARITY_PAIRS} held-out pairs: largest logit difference {worst:.2e}")
    for name, values in metrics.items():
        print(f"{name}: {json.dumps(values)} ({(fp32 if name == 'float32' else int8).stat().st_size / 1e6:.1f} MB)")
    if worst > 1e-3:
        raise SystemExit("the ONNX export disagrees with torch; not shipped")
    guarded = (metrics["float32"]["span_f1"] - metrics["int8"]["span_f1"] <= MAX_F1_LOSS
               and metrics["float32"]["answerable_auc"] - metrics["int8"]["answerable_auc"] <= MAX_AUC_LOSS)
    keeps = guarded or args.weights == "int8"
    if not guarded and keeps:
        print("int8 is outside the quality guard; shipping it as --weights int8 asks")
    chosen = int8 if keeps else fp32
    print(f"shipping {'int8' if keeps else 'float32'}")

    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(chosen, args.out / MODEL_FILE)
    shutil.copyfile(tokenizer_file, args.out / "tokenizer.json")
    training = json.loads((args.work / "training.json").read_text(encoding="utf-8"))
    card = {
        # 2: mined hard negatives, the two-step calibration over `evidence`; 3: the training-data
        # corpora, calibration over several sources.
        "format": 3,
        "version": args.version or 3,
        "sha256": hashlib.sha256((args.out / MODEL_FILE).read_bytes()).hexdigest(),
        "bytes": (args.out / MODEL_FILE).stat().st_size,
        "weights": "float32" if not keeps else "int8 (dynamic quantization, per-channel weight scales)" + (
            "" if guarded else f"; outside the guard (span F1 within {MAX_F1_LOSS} and AUC within "
                               f"{MAX_AUC_LOSS} of float32), shipped by --weights int8"),
        "max_tokens": MAX_TOKENS, "window_chars": WINDOW_CHARS,
        "training": training,
        "averaged_with": f"{args.average} (SHA-256 {sha256(args.average)})" if args.average else None,
        "export": {"parity_max_logit_difference": worst, "parity_pairs": PARITY_PAIRS,
                   "held_out": metrics,
                   "command": "python -m training.export_reader"
                              + (f" --average {args.average}" if args.average else "")
                              + (" --weights int8" if args.weights == "int8" else "")},
        "calibration": None,
    }
    (args.out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
