"""Torch-free question embedding: the index's model exported to ONNX.

    >>> from qa.onnx_encoder import export, OnnxEncoder
    >>> export(sentence_transformer, folder)          # at build time, with torch    # doctest: +SKIP
    >>> OnnxEncoder(folder).encode(["what did Japan buy?"]).shape                    # doctest: +SKIP
    (1, 384)

`qa ask` is typed one question at a time, and importing sentence-transformers
(and so torch) costs 6-8 s on a small machine. So the build exports the
transformer once with ``torch.onnx.export`` and saves the tokenizer beside it;
questions are then tokenized with `tokenizers`, run with onnxruntime, and
pooled and normalised in NumPy exactly as sentence-transformers does.

`export` checks parity on probe texts before it keeps an export; a model it
cannot export (an unusual architecture or pooling) is simply not exported,
and questions fall back to sentence-transformers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

CONFIG = "onnx.json"
MODEL = "model.onnx"
PARITY = 0.9999
PROBES = ("what did Japan buy?", "x", "Japan’s “new era” — 2024.",
          "The leaders pledged to continue building a cooperative framework. " * 40)


class OnnxEncoder:
    """Embeds texts with an exported model; the same vectors as sentence-transformers to 1e-4.

    Args:
        folder: the export.
        threads: onnxruntime's threads; one suits a single short question, every core an index build.
    """

    def __init__(self, folder: Path, threads: int = 1):
        import onnxruntime
        from tokenizers import Tokenizer

        self.config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        self.name = self.config["name"]
        self.dimension = int(self.config["dimension"])
        self.fingerprint = self.config["fingerprint"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=int(self.config["max_seq_length"]))
        self.tokenizer.enable_padding(pad_id=int(self.config["pad_id"]), pad_token=self.config["pad_token"])
        options = onnxruntime.SessionOptions()
        # One thread: steadier latency for a single short question than two fighting for 2 cores.
        options.intra_op_num_threads = threads
        # Building: batches of every length. Without the arena a build peaked at 1.58 GB against
        # 1.62 GB with it, within noise; the batches' token budget is what bounds memory.
        if threads > 1:
            options.enable_cpu_mem_arena = False
            options.enable_mem_pattern = False
        self.session = onnxruntime.InferenceSession(str(folder / MODEL), options,
                                                    providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def encode(self, texts: Sequence[str], progress=None) -> np.ndarray:
        rows = []
        for i in range(0, len(texts), 32):
            rows.append(self._batch(list(texts[i : i + 32])))
            if progress:
                progress(len(rows[-1]))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(rows)

    def embed_passages(self, passages: Sequence[Any], progress=None, status=None, one_pass: bool = False) -> Any:
        """Paragraph and sentence vectors for an index build (`qa.late_chunking`), or None for a
        model whose vectors are not the mean of its token vectors."""

        from qa import late_chunking

        if self.config["pooling"] != "mean":
            return None
        words = late_chunking.unpadded(self.tokenizer, int(self.config["max_seq_length"]))
        return late_chunking.embed(words, self._hidden, passages, progress, pad_id=int(self.config["pad_id"]),
                                   one_pass=one_pass)

    def _hidden(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return self.session.run(None, {name: feeds[name] for name in self.inputs})[0]

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                 "attention_mask": mask,
                 "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        (hidden,) = self.session.run(None, {name: feeds[name] for name in self.inputs})
        return pool(hidden, mask, self.config["pooling"])


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Pool token vectors as sentence-transformers' Pooling module does, then L2-normalise."""
    weights = mask[..., None].astype(np.float32)
    if mode == "cls":
        vectors = hidden[:, 0]
    elif mode == "max":
        vectors = np.where(weights > 0, hidden, -1e9).max(axis=1)
    else:
        vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def _pooling_mode(model: Any) -> str | None:
    """The one pooling mode of a [Transformer, Pooling, (Normalize)] model, else None."""
    modules = [type(m).__name__ for m in model]
    if modules[:2] != ["Transformer", "Pooling"] or any(m != "Normalize" for m in modules[2:]):
        return None
    config = model[1].get_config_dict()
    if isinstance(config.get("pooling_mode"), str):  # sentence-transformers 5+
        mode = {"mean": "mean", "cls": "cls", "max": "max"}.get(config["pooling_mode"])
        return mode
    modes = [mode for key, mode in (("pooling_mode_mean_tokens", "mean"), ("pooling_mode_cls_token", "cls"),
                                    ("pooling_mode_max_tokens", "max")) if config.get(key)]
    others = [k for k, v in config.items() if k.startswith("pooling_mode") and v and
              k not in ("pooling_mode_mean_tokens", "pooling_mode_cls_token", "pooling_mode_max_tokens")]
    return modes[0] if len(modes) == 1 and not others else None


def export(encoder: Any, folder: Path) -> str | None:
    """Export a `SentenceTransformerEncoder`'s model to ``folder``.

    Returns:
        None on success, else a short reason the model was not exported.
    """
    import logging
    import warnings

    import torch

    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed" and the like

    model = encoder.model
    mode = _pooling_mode(model)
    tokenizer = getattr(model, "tokenizer", None)
    if mode is None:
        return "only Transformer + mean, CLS or max Pooling models are exported"
    if tokenizer is None or not getattr(tokenizer, "is_fast", False):
        return "it has no fast tokenizer"
    folder.mkdir(parents=True, exist_ok=True)
    transformer = model[0].auto_model.eval()
    sample = tokenizer(["hello world", "a somewhat longer sentence here"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Hidden(torch.nn.Module):
        """The transformer with plain tensors in and the token vectors out."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask, **extra,
                                    return_dict=True).last_hidden_state

    batch, sequence = torch.export.Dim("batch", max=4096), torch.export.Dim("sequence", max=8192)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(Hidden().eval(), tuple(sample[n] for n in names), str(folder / MODEL),
                              input_names=names, output_names=["last_hidden_state"], opset_version=18,
                              dynamic_shapes={n: {0: batch, 1: sequence} for n in names}, dynamo=True,
                              verbose=False)
    except Exception as exc:  # exporters raise many types; any failure means "not exportable"
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return f"the ONNX export failed: {type(exc).__name__} {first}".strip()
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    config = {"name": encoder.name, "dimension": encoder.dimension, "fingerprint": encoder.fingerprint,
              "max_seq_length": encoder.max_seq_length, "pooling": mode,
              "pad_id": tokenizer.pad_token_id or 0, "pad_token": tokenizer.pad_token or "[PAD]"}
    (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    exported = OnnxEncoder(folder).encode(PROBES)
    reference = encoder.encode(list(PROBES))
    worst = float((exported * reference).sum(axis=1).min())
    if worst < PARITY:
        (folder / CONFIG).unlink()
        return f"the export disagrees with sentence-transformers (cosine {worst:.5f})"
    return None
