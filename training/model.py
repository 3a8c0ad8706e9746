"""The reader network: all-MiniLM-L6-v2's transformer with a span head and an answerability head.

Training only (torch); `qa.reader.trained` runs the exported ONNX file instead.
"""

from __future__ import annotations

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
