"""Readers: what picks the answer out of the retrieved passages.

- `qa.reader.heuristic` (the default): the hand-weighted sentence scorer that came first; its
  answer is the best sentence. It also ranks the sentences whose windows the trained reader
  reads, and the passages.
- `qa.reader.trained` (``--reader trained``): a fine-tuned MiniLM, run with onnxruntime, that
  reads a window around each of the best few sentences and returns the short answer span and the
  probability that it is right (calibrated on held-out articles; see its model card in
  ``qa/models/reader/``). Not the default yet: on paraphrased questions its probabilities are
  too low (README, "The reader").
- `qa.reader.spans`: the windows both training and inference read, and token spans back to
  exact characters.
"""
