"""The reader network: all-MiniLM-L6-v2's transformer with a span head and an answerability head.

Training only (torch); `qa.reader.trained` runs the exported ONNX file instead.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUTS = ("start_logits", "end_logits", "answerable_logit")


class Reader(nn.Module):
    """Reads ``[CLS] question [SEP] window [SEP]`` and returns, per token, start and end logits
    of the answer span, and from the ``[CLS]`` vector one logit that the window answers at all."""

    def __init__(self, encoder: nn.Module, hidden: int):
        super().__init__()
        self.encoder = encoder
        self.span = nn.Linear(hidden, 2)
        self.answerable = nn.Linear(hidden, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        start, end = self.span(states).unbind(-1)
        return start, end, self.answerable(states[:, 0]).squeeze(-1)


def load(base: str) -> Reader:
    """A fresh reader on the transformer weights of the sentence-transformers folder ``base``."""
    from transformers import BertModel

    encoder = BertModel.from_pretrained(base, add_pooling_layer=False)
    return Reader(encoder, encoder.config.hidden_size)


def halfway(weights: dict[str, torch.Tensor], towards: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The mean of two readers' weights (`training.export_reader --average`); tensors that are not
    floating point (position ids) are ``weights``'s."""
    return {name: 0.5 * value + 0.5 * towards[name] if value.is_floating_point() else value
            for name, value in weights.items()}


def from_onnx(path: str, base: str) -> Reader:
    """A reader initialised from a shipped ``reader.onnx`` (int8 or float32), to train further.

    The export keeps the names of biases and LayerNorm weights; the matrices of the linear layers
    are unnamed and (in the int8 file) quantized, so they are taken in graph order (per layer:
    query, key, value, attention output, intermediate, output; then the span and answerability
    heads) and dequantized. The word-piece table is the base model's (training keeps it frozen).
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}

    def dequantized(name: str):
        import numpy as np

        if name + "_quantized" not in values:
            return values[name]
        q = values[name + "_quantized"].astype(np.float32)
        return (q - values[name + "_zero_point"].astype(np.float32)) * values[name + "_scale"]

    # The linear layers' matrices, in the order the graph uses them.
    matrices: dict[str, Any] = {}
    for node in graph.node:
        for name in node.input:
            key = name.removesuffix("_quantized")
            if name in values and key not in matrices and not key.startswith("encoder.embeddings"):
                array = dequantized(key)
                if array.ndim == 2:
                    matrices[key] = array
    reader = load(base)
    state = reader.state_dict()
    layers = reader.encoder.config.num_hidden_layers
    names = [f"encoder.encoder.layer.{i}.{part}.weight" for i in range(layers)
             for part in ("attention.self.query", "attention.self.key", "attention.self.value",
                          "attention.output.dense", "intermediate.dense", "output.dense")]
    names += ["span.weight", "answerable.weight"]
    if len(matrices) != len(names):
        raise ValueError(f"{path}: {len(matrices)} weight matrices, expected {len(names)}")
    for name, array in zip(names, matrices.values()):
        state[name] = torch.tensor(array.T.copy())
    for name in state:
        if name in values and values[name].dtype.kind == "f":
            state[name] = torch.tensor(values[name])
        elif name.startswith("encoder.embeddings.") and name.endswith("_embeddings.weight") and "word" not in name:
            state[name] = torch.tensor(dequantized(name))
    reader.load_state_dict(state)
    return reader
