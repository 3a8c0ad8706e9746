"""Readers: what picks the answer out of the retrieved passages.

- `qa.reader.trained` (the default): a fine-tuned MiniLM, run with onnxruntime, that reads a
  window around each of the best few sentences and returns the short answer span and the
  probability that it is right (calibrated on held-out articles; see its model card in
  ``qa/models/reader/``).
- `qa.reader.heuristic` (``--reader heuristic``): the hand-weighted sentence scorer that came
  first. It also ranks the sentences whose windows the trained reader reads, and the passages.
- `qa.reader.spans`: the windows both training and inference read, and token spans back to
  exact characters.
"""
