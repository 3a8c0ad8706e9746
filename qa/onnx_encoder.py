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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

CONFIG = "onnx.json"
MODEL = "model.onnx"
# The same model with 8-bit integer weights (`_quantize`), for index builds on the CPU.
INT8 = "model.int8.onnx"
# Every file an export may hold (older versions included): nothing else is removed with one.
FILES = frozenset({CONFIG, MODEL, f"{MODEL}.data", INT8, "tokenizer.json"})
# An int8 model is kept only if no probe's vector is further than this from the float model's.
INT8_FIDELITY = 0.98
PARITY = 0.9999
# 2: the TorchScript exporter, plain attention, fused by onnxruntime (1: dynamo, fused attention kernel).
EXPORT = 2
PROBES = ("what did Japan buy?", "x", "Japan’s “new era” — 2024.",
          "The leaders pledged to continue building a cooperative framework. " * 40)


class OnnxEncoder:
    """Embeds texts with an exported model; the same vectors as sentence-transformers to 1e-4.

    Args:
        folder: the export.
        threads: onnxruntime's threads for each run; one suits a single short question.
        workers: texts run at once by an index build (`embed_passages`), one by one, each on
            ``threads`` threads.
        int8: run the model with 8-bit integer weights (`_quantize`), where the export has them.
    """

    def __init__(self, folder: Path, threads: int = 1, workers: int = 1, int8: bool = False):
        import onnxruntime
        from tokenizers import Tokenizer

        self.config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        self.name = self.config["name"]
        self.dimension = int(self.config["dimension"])
        self.fingerprint = self.config["fingerprint"]
        self.int8 = int8 and (folder / INT8).is_file()
        self.workers = workers
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=int(self.config["max_seq_length"]))
        self.tokenizer.enable_padding(pad_id=int(self.config["pad_id"]), pad_token=self.config["pad_token"])
        options = onnxruntime.SessionOptions()
        # One thread: steadier latency for a single short question than two fighting for 2 cores.
        options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(folder / (INT8 if self.int8 else MODEL)), options,
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
        """Paragraph and sentence vectors for an index build, chunk by chunk (`qa.late_chunking.chunks`),
        or None for a model whose vectors are not the mean of its token vectors."""

        from qa import late_chunking

        if self.config["pooling"] != "mean":
            return None
        words = late_chunking.unpadded(self.tokenizer, int(self.config["max_seq_length"]))
        # One text per run: int8 scales each run's activations by its largest value, so a text
        # batched with others got another vector (cosine 0.989-0.995 to itself alone); alone it
        # is always the same. Run on a thread per core, that was also the fastest way measured,
        # float or int8 (docs/speed.md).
        batching = late_chunking.Batching(size=1, workers=self.workers)
        return late_chunking.chunks(words, self._hidden, passages, progress, pad_id=int(self.config["pad_id"]),
                                    one_pass=one_pass, batching=batching)

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

    inputs = tuple(sample[n] for n in names)
    try:
        with _eager_attention(transformer), warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            _export_graph(Hidden().eval(), inputs, names, folder / MODEL)
    except Exception as exc:  # exporters raise many types; any failure means "not exportable"
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return f"the ONNX export failed: {type(exc).__name__} {first}".strip()
    fused = _fuse(folder / MODEL, transformer.config)
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    config = {"name": encoder.name, "dimension": encoder.dimension, "fingerprint": encoder.fingerprint,
              "max_seq_length": encoder.max_seq_length, "pooling": mode,
              "pad_id": tokenizer.pad_token_id or 0, "pad_token": tokenizer.pad_token or "[PAD]",
              "export": EXPORT, "fused": fused}
    (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    exported = OnnxEncoder(folder).encode(PROBES)
    reference = encoder.encode(list(PROBES))
    worst = float((exported * reference).sum(axis=1).min())
    if worst < PARITY:
        (folder / CONFIG).unlink()
        return f"the export disagrees with sentence-transformers (cosine {worst:.5f})"
    _quantize(folder)
    return None


def _quantize(folder: Path) -> bool:
    """Write `INT8` beside an export: its matrix products, attention's included, with 8-bit
    weights (onnxruntime's dynamic quantisation, per output channel). Kept only if each probe,
    embedded alone, stays within `INT8_FIDELITY` of the float model's vector."""
    import logging

    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    try:
        root.setLevel(logging.ERROR)  # the quantiser logs advice to preprocess as a warning
        quantize_dynamic(str(folder / MODEL), str(folder / INT8), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Attention"],
                         extra_options={"DefaultTensorType": TensorProto.FLOAT})  # fused operators' outputs
        float_model, int8_model = OnnxEncoder(folder), OnnxEncoder(folder, int8=True)
    except Exception:  # noqa: BLE001 - a model the quantiser cannot handle is simply built in float
        (folder / INT8).unlink(missing_ok=True)
        return False
    finally:
        root.setLevel(level)
    worst = min(float((float_model.encode([text]) * int8_model.encode([text])).sum()) for text in PROBES)
    if worst < INT8_FIDELITY:
        (folder / INT8).unlink()
        return False
    return True


def _export_graph(module: Any, inputs: tuple[Any, ...], names: list[str], path: Path) -> None:
    """Write ``module``'s graph with any batch size and length.

    The TorchScript exporter first: its graph of a BERT-like model is one that onnxruntime's
    transformer optimizer fuses (`_fuse`). The dynamo exporter, PyTorch's default, is the
    fallback for models the TorchScript one cannot trace; its attention stays unfused.
    """
    import torch

    try:
        torch.onnx.export(module, inputs, str(path), input_names=names, output_names=["last_hidden_state"],
                          opset_version=17, dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names},
                          dynamo=False)
        return
    except Exception:  # noqa: BLE001 - any failure: try the other exporter
        path.unlink(missing_ok=True)
    batch, sequence = torch.export.Dim("batch", max=4096), torch.export.Dim("sequence", max=8192)
    torch.onnx.export(module, inputs, str(path), input_names=names, output_names=["last_hidden_state"],
                      opset_version=18, dynamic_shapes={n: {0: batch, 1: sequence} for n in names}, dynamo=True,
                      verbose=False)


@contextmanager
def _eager_attention(transformer: Any) -> Iterator[None]:
    """Export attention as plain matrix products rather than PyTorch's fused kernel, for the
    time of the export. Traced, the fused kernel becomes a graph that held 516 MB for a batch of
    8 x 256 word pieces in onnxruntime, against 135 MB for plain attention (124 MB fused by
    `_fuse`), and it ran 1.3-1.55 times slower; the vectors are the same."""
    config = transformer.config
    before = getattr(config, "_attn_implementation", None)
    setter = getattr(transformer, "set_attn_implementation", None)
    try:
        if setter is not None:
            setter("eager")
        elif before is not None:
            config._attn_implementation = "eager"
        yield
    finally:
        if before is not None:
            if setter is not None:
                setter(before)
            else:
                config._attn_implementation = before


def _fuse(path: Path, config: Any) -> list[str]:
    """Fuse a BERT-like graph in place with onnxruntime's transformer optimizer (attention,
    embedding, GELU and layer-norm kernels), and keep its weights in a file beside it
    (``model.onnx.data``); the fused operators it made, none for a model it does not know. The
    caller's parity check stands behind whatever it does.

    With the weights inside the graph, onnxruntime took 0.14-0.24 s and 185 MB to open the
    export for a question; beside it, 0.04-0.06 s and 105 MB.
    """
    import logging

    import onnx
    from onnxruntime.transformers import optimizer

    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    kind = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "mpnet": "bert", "distilbert": "bert",
            "electra": "bert"}.get(getattr(config, "model_type", ""))
    fused: list[str] = []
    graph = None
    if kind is not None:
        try:
            model = optimizer.optimize_model(str(path), model_type=kind, num_heads=int(config.num_attention_heads),
                                             hidden_size=int(config.hidden_size), opt_level=1)
            fused = sorted(name for name, count in model.get_fused_operator_statistics().items() if count)
            graph = model.model if fused else None
        except Exception:  # noqa: BLE001 - an optimizer failure leaves the plain export, which is correct
            fused = []
    graph = graph or onnx.load(str(path))  # the weights come into memory, wherever they were
    weights = path.with_name(path.name + ".data")
    weights.unlink(missing_ok=True)  # the writer appends to it
    onnx.save_model(graph, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=weights.name, size_threshold=1024)
    weights.chmod(0o644)
    return fused
