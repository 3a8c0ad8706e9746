"""Calibrate the shipped reader on held-out articles and write its model card.

    .venv/bin/python -m training.calibrate_reader [--model qa/models/reader]

Runs the whole question path, exactly as `qa ask`, over the questions of the held-out training
articles (`training.data.HELD_OUT_DEV`, never trained on, never in the benchmark) against the
open SQuAD dev corpus, every second question with its gold paragraph removed (so half must be
abstained on). Fits a logistic regression of whether the answer `qa` gives is right on its evidence
(`qa.reader.trained.FEATURES`: the reader's answerability and span logits, the cheap scorer's
confidence; which of them is chosen by article-wise cross-validation there), then picks the
threshold that maximises overall accuracy there. Writes both into the card's data (``reader.json``) and renders the
model card (``README.md``) beside the model.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa import evaluate
from qa.reader.trained import CARD_FILE, FEATURES, default_folder
from qa.settings import Reader, Settings
from training.data import HELD_OUT_DEV

SQUAD = Path(__file__).resolve().parents[1].parent / "shared/benchmarks/squad-dev-v1.1.json"


def held_out_questions(questions: list[evaluate.GoldQuestion]) -> list[evaluate.GoldQuestion]:
    """The questions of the held-out dev articles (corpus files are named ``NN_`` from 01)."""
    prefixes = tuple(f"{position + 1:02d}_" for position in HELD_OUT_DEV)
    return [q for q in questions if next(iter(q.citations))[0].startswith(prefixes)]


def fit(features: np.ndarray, right: np.ndarray) -> tuple[list[float], float]:
    """Weights and intercept of a logistic regression of ``right`` on ``features`` (no penalty)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000).fit(features, right)
    return [float(w) for w in model.coef_[0]], float(model.intercept_[0])


def cross_validated(features: np.ndarray, right: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Log loss and ROC AUC of the regression when each article is scored by a fit on the others."""
    from sklearn.metrics import log_loss, roc_auc_score

    predicted = np.zeros(len(right))
    for group in np.unique(groups):
        train = groups != group
        weights, intercept = fit(features[train], right[train])
        predicted[~train] = 1 / (1 + np.exp(-(features[~train] @ np.array(weights) + intercept)))
    return {"log_loss": round(float(log_loss(right, predicted)), 4),
            "auc": round(float(roc_auc_score(right, predicted)), 4)}


def rescored(results: list[evaluate.Result], names: tuple[str, ...], weights: list[float],
             intercept: float) -> list[evaluate.Result]:
    """The results as the calibrated model would score them (the answers are the same)."""
    out = []
    for r in results:
        if r.candidate is None or r.evidence is None:
            out.append(r)
            continue
        z = intercept + sum(w * r.evidence[name] for name, w in zip(names, weights))
        out.append(replace(r, candidate={**r.candidate, "score": 1 / (1 + math.exp(-z))}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_folder())
    parser.add_argument("--squad", type=Path, default=SQUAD)
    args = parser.parse_args()

    from qa.cli import _squad_engine

    card_path = args.model / CARD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["calibration"] = None  # the raw model: probability = sigmoid(logit)
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")

    engine, questions = _squad_engine(args.squad, Settings.from_env(), None, "even")
    questions = held_out_questions(questions)
    raw = evaluate.run_gold_removed(engine, questions, reader=Reader.trained, min_score=0.0)
    scored = [r for r in raw if r.evidence is not None]
    right = np.array([r.gold.answerable and evaluate.contains_answer(r.candidate["text"], r.gold.answers)
                      for r in scored])
    groups = np.array([next(iter(r.gold.citations))[0][:3] for r in scored])  # the article
    # Which evidence to use is chosen by article-wise cross-validation on these held-out articles.
    candidates = {names: cross_validated(np.array([[r.evidence[n] for n in names] for r in scored]), right, groups)
                  for names in (("logit",), ("logit", "span_score"), FEATURES)}
    names = min(candidates, key=lambda n: candidates[n]["log_loss"])
    weights, intercept = fit(np.array([[r.evidence[n] for n in names] for r in scored]), right)
    calibrated = rescored(raw, names, weights, intercept)
    threshold, accuracy = evaluate.calibrate(calibrated, max_abstained=1.0)
    before = evaluate.summarize(raw, threshold=0.5)
    after = evaluate.summarize(calibrated, threshold=threshold)
    card["calibration"] = {
        "method": "logistic regression of whether the answer qa gives is right on its evidence: "
                  "P(right) = sigmoid(intercept + sum(weight * feature))",
        "features": list(names), "weights": [round(w, 6) for w in weights], "intercept": round(intercept, 6),
        "threshold": threshold,
        "feature_choice": {"+".join(n): v for n, v in candidates.items()},
        "fitted_on": f"SQuAD v1.1 dev articles {list(HELD_OUT_DEV)} (held out from training), {len(raw)} "
                     "questions against all 2,067 dev paragraphs, every second one with its gold paragraph "
                     "removed (must abstain)",
        "before": {k: before[k] for k in ("calibration_error", "confidence_auc", "overall_accuracy")},
        "after": {k: after[k] for k in ("calibration_error", "confidence_auc", "overall_accuracy",
                                        "noans_abstained", "hasans_abstained", "answer_accuracy", "f1")},
        "reliability": evaluate.reliability(*evaluate.confidence_outcomes(calibrated)),
        "command": "python -m training.calibrate_reader",
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (args.model / "README.md").write_text(model_card(card), encoding="utf-8")
    print(json.dumps(card["calibration"], indent=2))
    print(f"threshold {threshold}: overall accuracy {accuracy} on the held-out articles")


def model_card(card: dict) -> str:
    """The model card, rendered from the card's data."""
    training = card["training"]
    calibration = card["calibration"]
    curve = "\n".join(f"| {p['step']} | {p['pairs_seen']} | {p['span_em']:.3f} | {p['span_f1']:.3f} | "
                      f"{p['answerable_auc']:.3f} |" for p in training["learning_curve"])
    export = card["export"]["held_out"]
    reliability = "\n".join(f"| {r['low']:.1f}–{r['high']:.1f} | {r['answers']} | {r['confidence']:.3f} | "
                            f"{r['right']:.3f} |" for r in calibration["reliability"])
    rows = "\n".join(f"| {name} | {m['span_em']} | {m['span_f1']} | {m['answerable_auc']} | {m['ms_per_question']} |"
                     for name, m in export.items())
    choice = "\n".join(f"| {n} | {v['log_loss']} | {v['auc']} |" for n, v in calibration["feature_choice"].items())
    data = "\n".join(f"- `{name}`: SHA-256 `{digest}`" for name, digest in training["data"].items())
    return f"""# qa reader v{card['format']}

An extractive reader for `qa`: given a question and a window of text (a sentence with its
neighbours, at most {card['window_chars']} characters), it gives the short answer span in the
window and a logit that the window answers the question at all. `qa` runs this file with
onnxruntime (`qa/reader/trained.py`); `reader.json` holds everything below as data, and `qa`
checks the model's SHA-256 against it on load.

- **File**: `reader.onnx`, {card['bytes'] / 1e6:.1f} MB, {card['weights']}; SHA-256 `{card['sha256']}`.
- **Base model**: {training['base_model']}: a 6-layer MiniLM (22.7M weights), Apache-2.0.
- **Heads**: a linear start/end layer over every token, and a linear answerability layer on `[CLS]`.
- **Input**: `[CLS] question [SEP] window [SEP]`, at most {card['max_tokens']} word pieces.
- **Licences**: model weights Apache-2.0 (base model); training data CC BY-SA 4.0 (SQuAD).

## Data

{data}

- Trained on: SQuAD v1.1 dev articles at even positions of the file, except the held-out
  ones {training['split']['dev_held_out']}; the first 10 SQuAD 2.0 train articles, except
  {training['split']['v2_held_out']}. The odd-position dev articles are the benchmark and were
  never read by the training code.
- Pairs: each question against one window that holds its answer and on-topic windows that do
  not (the most similar window of its paragraph or a random one, and the most similar window of
  another paragraph of its article); SQuAD 2.0's unanswerable questions against the two most
  similar windows of their paragraph. {training['training_pairs']} training pairs,
  {training['held_out_pairs']} held-out pairs.

## Training

`{training['command']}` with seed {training['settings']['seed']}, then
`python -m training.export_reader` and `python -m training.calibrate_reader`.
{training['steps']} steps of batch {training['settings']['batch_size']}
({training['settings']['epochs']} epochs), AdamW at {training['settings']['lr']} with linear
warm-up and decay, the word-piece table frozen. Loss: start and end cross-entropy on windows
that answer, plus binary cross-entropy of the answerability logit on all.

Held-out pairs during training (span metrics on windows that hold the answer; AUC of the
answerability logit over all held-out windows):

| step | pairs seen | span EM | span F1 | answerability AUC |
|---:|---:|---:|---:|---:|
{curve}

## Export

Exported with torch's ONNX exporter; on {card['export']['parity_pairs']} held-out pairs the
largest difference between torch's and onnxruntime's logits was
{card['export']['parity_max_logit_difference']:.1e}. Both files scored on every held-out pair
through `qa`'s own inference code:

| weights | span EM | span F1 | answerability AUC | ms per question |
|---|---:|---:|---:|---:|
{rows}

## Calibration

{calibration['method']}, fitted on {calibration['fitted_on']}. Features (the answer's window's
answerability logit `logit`, its span's start + end logit `span_score`, the cheap scorer's
confidence in the window's sentence `heuristic`): {', '.join(
    f'`{n}` {w}' for n, w in zip(calibration['features'], calibration['weights']))}; intercept
{calibration['intercept']}. The features were chosen by article-wise cross-validation there:

| features | log loss | ROC AUC |
|---|---:|---:|
{choice}

The default abstention threshold, {calibration['threshold']}, maximises overall accuracy there.
Expected calibration error {calibration['before']['calibration_error']} before (the sigmoid of the
logit), {calibration['after']['calibration_error']} after (on the data it was fitted on; the
README reports it on the benchmark articles).

| confidence | answers | mean confidence | share right |
|---|---:|---:|---:|
{reliability}

## Limits

Trained on 8,953 questions from 29 Wikipedia articles (20 SQuAD v1.1 dev, 9 SQuAD 2.0 train):
English, encyclopaedic prose, factoid questions. Windows are short: an answer that needs two
paragraphs, or a pronoun whose referent is further back than one sentence, is out of its reach.
Its questions were written by people reading the paragraph, so it leans on word overlap: on
questions that paraphrase (the seeds gold sets) its answerability logit is low even for right
answers, and the calibration fitted on SQuAD is under-confident there (see the project README,
"The reader"). That is why `qa` does not yet use it by default.
"""


if __name__ == "__main__":
    main()
