"""Calibrate the shipped reader on held-out articles and write its model card.

    .venv/bin/python -m training.calibrate_reader [--model qa/models/reader]

Runs the question path exactly as `qa ask --reader trained` does over the questions of the
held-out training articles (`training.data.HELD_OUT_DEV`: never trained on, never in the
benchmark) against the open SQuAD dev corpus, each question twice: as it is, and with its gold
paragraph removed (the rest of its article stays: on topic, no answer), so half must be abstained
on. For every window the reader reads it records the answer's evidence
(`qa.reader.trained.evidence`) and whether that answer is right, then fits, in two steps:

1. a logistic regression of "this window's answer is right" on its evidence, over every window:
   the direction that picks the answer (`qa` quotes the window that scores highest);
2. a logistic regression of "the picked answer is right" on that score, over the questions:
   the scale that makes the picked answer's score a probability (the best of several windows
   is right less often than one window that scores as high).

Both are one linear score, so the card stores one set of weights. Which evidence goes in is
chosen by article-wise cross-validation (log loss of the picked answers); the threshold then
maximises overall accuracy (answered right, or abstained when there was no answer). Writes both
into the card's data (``reader.json``) and renders the model card (``README.md``) beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

import numpy as np

from qa import evaluate
from qa.reader.trained import CARD_FILE, FEATURES, default_folder
from qa.settings import Settings
from training.data import HELD_OUT_DEV

SQUAD = Path(__file__).resolve().parents[1].parent / "shared/benchmarks/squad-dev-v1.1.json"
# Evidence sets compared by cross-validation, simplest first.
CHOICES = (("logit",), ("logit", "span_score"), ("logit", "span_score", "heuristic"),
           ("logit", "span_score", "heuristic", "margin"), FEATURES)


def held_out_questions(questions: list[evaluate.GoldQuestion]) -> list[evaluate.GoldQuestion]:
    """The questions of the held-out dev articles (corpus files are named ``NN_`` from 01)."""
    prefixes = tuple(f"{position + 1:02d}_" for position in HELD_OUT_DEV)
    return [q for q in questions if next(iter(q.citations))[0].startswith(prefixes)]


def collect(engine, questions: list[evaluate.GoldQuestion]) -> list[dict]:
    """Each question asked as it is and with its gold paragraph removed: per window read, its
    evidence, and whether its answer is right (never, with the gold paragraph gone)."""
    ids = dict(engine.index.db.execute(
        "SELECT f.name || '#' || p.number, p.id FROM paragraphs p JOIN files f ON f.id = p.file_id"))
    out = []
    for gold in questions:
        (file, number), = gold.citations
        for removed in (False, True):
            gone = ids[f"{file}#{number}"]
            with evaluate.without_paragraph(engine, gone) if removed else contextlib.nullcontext():
                _, sentences, candidates = engine._read(gold.question, engine.settings.retriever)
                _, readings, facts, _ = engine._read_windows(gold.question, candidates, sentences)
            answers = () if removed else gold.answers
            out.append({"article": file[:2], "answerable": not removed, "windows": [
                {**f, "right": bool(answers) and evaluate.contains_answer(r.text, answers),
                 "f1": evaluate.f1(r.text, answers) if answers else 0.0, "text": r.text}
                for r, f in zip(readings, facts)]})
    return out


def _logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=5000).fit(x, y)
    return model.coef_[0], float(model.intercept_[0])


def fit(questions: list[dict], names: tuple[str, ...]) -> tuple[np.ndarray, float]:
    """The two-step fit (module docstring): weights and intercept of P(the picked answer is right)."""
    windows = [w for q in questions for w in q["windows"]]
    direction, _ = _logistic(np.array([[w[n] for n in names] for w in windows]),
                             np.array([w["right"] for w in windows]))
    picked = [(q, *pick(q, names, direction, 0.0)) for q in questions if q["windows"]]
    scale, intercept = _logistic(np.array([[z] for _, _, z in picked]),
                                 np.array([q["windows"][i]["right"] for q, i, _ in picked]))
    return direction * scale[0], intercept


def pick(question: dict, names: tuple[str, ...], weights: np.ndarray, intercept: float) -> tuple[int, float]:
    """The window `qa` quotes (the highest score) and its score ``intercept + weights . evidence``."""
    scores = [intercept + float(np.dot(weights, [w[n] for n in names])) for w in question["windows"]]
    best = int(np.argmax(scores))
    return best, scores[best]


def outcomes(questions: list[dict], names: tuple[str, ...], weights: np.ndarray,
             intercept: float) -> list[tuple[float, bool, bool, float]]:
    """Per question: the picked answer's probability, whether it is right, whether the question
    is answerable, and the answer's F1."""
    out = []
    for q in questions:
        if not q["windows"]:
            continue
        best, z = pick(q, names, weights, intercept)
        w = q["windows"][best]
        out.append((1 / (1 + np.exp(-z)), bool(w["right"]), q["answerable"], w["f1"]))
    return out


def cross_validated(questions: list[dict], names: tuple[str, ...]) -> dict[str, float]:
    """Log loss, ROC AUC and calibration error of the picked answers when each article is scored
    by a fit on the others."""
    from sklearn.metrics import log_loss

    scored = []
    for article in sorted({q["article"] for q in questions}):
        weights, intercept = fit([q for q in questions if q["article"] != article], names)
        scored += outcomes([q for q in questions if q["article"] == article], names, weights, intercept)
    p = [s[0] for s in scored]
    y = [s[1] for s in scored]
    return {"log_loss": round(float(log_loss(y, p)), 4), "auc": round(evaluate.roc_auc(p, y) or 0.0, 4),
            "calibration_error": round(evaluate.calibration_error(p, y) or 0.0, 4)}


def threshold(scored: list[tuple[float, bool, bool, float]]) -> tuple[float, float]:
    """The threshold that maximises overall accuracy (the middle of the best run), and that accuracy."""
    cuts = sorted({0.0, 1.0} | {round(float(p), 6) for p, *_ in scored})
    cuts = [(a + b) / 2 for a, b in zip(cuts, cuts[1:])]

    values = [overall_accuracy(scored, c) for c in cuts]
    best = max(values)
    first = values.index(best)
    last = len(values) - 1 - values[::-1].index(best)
    return round((cuts[first] + cuts[last]) / 2, 4), round(best, 4)


def overall_accuracy(scored: list[tuple[float, bool, bool, float]], cut: float) -> float:
    """The share of questions answered right, or abstained on when they have no answer, at ``cut``."""
    return sum((p >= cut and right) if answerable else p < cut for p, right, answerable, _ in scored) / len(scored)


def summary(scored: list[tuple[float, bool, bool, float]], cut: float) -> dict[str, float]:
    answerable = [s for s in scored if s[2]]
    unanswerable = [s for s in scored if not s[2]]
    p, y = [s[0] for s in scored], [s[1] for s in scored]
    return {"overall_accuracy": round(overall_accuracy(scored, cut), 4),
            "noans_abstained": round(sum(s[0] < cut for s in unanswerable) / len(unanswerable), 4),
            "hasans_abstained": round(sum(s[0] < cut for s in answerable) / len(answerable), 4),
            "answer_accuracy": round(sum(s[0] >= cut and s[1] for s in answerable) / len(answerable), 4),
            "f1": round(sum(s[3] for s in answerable if s[0] >= cut) / len(answerable), 4),
            "confidence_auc": round(evaluate.roc_auc(p, y) or 0.0, 4),
            "calibration_error": round(evaluate.calibration_error(p, y) or 0.0, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_folder())
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument("--reuse", type=Path, help="evidence collected before (JSON), instead of running again")
    parser.add_argument("--save", type=Path, help="write the evidence collected here (JSON)")
    args = parser.parse_args()

    card_path = args.model / CARD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if args.reuse:
        questions = json.loads(args.reuse.read_text(encoding="utf-8"))
    else:
        from qa.cli import _squad_engine
        from qa.reader.trained import TrainedReader

        engine, gold = _squad_engine(args.squad, Settings.from_env(), None, "even")
        engine._reader = TrainedReader(args.model)
        questions = collect(engine, held_out_questions(gold))
        if args.save:
            args.save.write_text(json.dumps(questions) + "\n", encoding="utf-8")
    candidates = {names: cross_validated(questions, names) for names in CHOICES}
    names = min(candidates, key=lambda n: candidates[n]["log_loss"])
    weights, intercept = fit(questions, names)
    scored = outcomes(questions, names, weights, intercept)
    cut, accuracy = threshold(scored)
    before = outcomes(questions, ("logit",), np.array([1.0]), 0.0)  # the raw model: sigmoid(logit)
    card["calibration"] = {
        "method": "logistic regression of whether the answer qa picks is right on its evidence: "
                  "P(right) = sigmoid(intercept + sum(weight * feature)), fitted in two steps "
                  "(which window to quote, then how often the quoted answer is right)",
        "features": list(names), "weights": [round(float(w), 6) for w in weights], "intercept": round(intercept, 6),
        "threshold": cut,
        "feature_choice": {"+".join(n): v for n, v in candidates.items()},
        "fitted_on": f"SQuAD v1.1 dev articles {list(HELD_OUT_DEV)} (held out from training), "
                     f"{len(questions) // 2} questions against all 2,067 dev paragraphs, each asked as it is "
                     "and with its gold paragraph removed (must abstain)",
        "before": summary(before, 0.5),
        "after": summary(scored, cut),
        "reliability": evaluate.reliability([s[0] for s in scored], [s[1] for s in scored]),
        "command": "python -m training.calibrate_reader",
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (args.model / "README.md").write_text(model_card(card), encoding="utf-8")
    print(json.dumps(card["calibration"], indent=2))
    print(f"threshold {cut}: overall accuracy {accuracy} on the held-out articles")


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
    choice = "\n".join(f"| {n} | {v['log_loss']} | {v['auc']} | {v.get('calibration_error', '–')} |"
                       for n, v in calibration["feature_choice"].items())
    data = "\n".join(f"- `{name}`: SHA-256 `{digest}`" for name, digest in training["data"].items())
    mined = ""
    if "mined" in training:
        mined = (" Besides those, the windows that qa's own question path reads for the question "
                 "(`python -m training.mine`, against an index of its file's contexts; windows of "
                 "training articles only): up to two that do not hold the answer, and one more that "
                 f"does. Mined windows: SHA-256 `{training['mined']}`.")
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
  similar windows of their paragraph.{mined} {training['training_pairs']} training pairs,
  {training['held_out_pairs']} held-out pairs (built without mined windows, the same for every run).

## Training

{'`python -m training.mine --work training/work`, then ' if 'mined' in training else ''}`{training['command']}`
with seed {training['settings']['seed']}, then `python -m training.export_reader` and
`python -m training.calibrate_reader`.
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

{calibration['method']}, fitted on {calibration['fitted_on']}. `qa` quotes the answer of the
window with the highest probability. Evidence (`qa.reader.trained.evidence`: the window's
answerability logit `logit`, its span's start + end logit `span_score`, the cheap scorer's
confidence in the window's sentence `heuristic`, the logit's `margin` over the best other
window's, and the `agreement` of the other windows on the same answer): {', '.join(
    f'`{n}` {w}' for n, w in zip(calibration['features'], calibration['weights']))}; intercept
{calibration['intercept']}. The evidence was chosen by article-wise cross-validation there (each
article scored by a fit on the others; the answers it picks, and their probabilities):

| evidence | log loss | ROC AUC | calibration error |
|---|---:|---:|---:|
{choice}

The default abstention threshold, {calibration['threshold']}, maximises overall accuracy there
({calibration['after']['overall_accuracy']}; {calibration['after']['noans_abstained']} of the
questions without their paragraph abstained on, {calibration['after']['hasans_abstained']} of the
others). Expected calibration error {calibration['before']['calibration_error']} before (the
sigmoid of the logit, the window with the highest logit), {calibration['after']['calibration_error']}
after (on the data it was fitted on; the project README reports it on the benchmark articles).

| confidence | answers | mean confidence | share right |
|---|---:|---:|---:|
{reliability}

## Limits

Trained on 8,953 questions from 29 Wikipedia articles (20 SQuAD v1.1 dev, 9 SQuAD 2.0 train):
English, encyclopaedic prose, factoid questions. Windows are short: an answer that needs two
paragraphs, or a pronoun whose referent is further back than one sentence, is out of its reach.
Its questions were written by people reading the paragraph, so it leans on word overlap: on
questions that paraphrase (the seeds gold sets) its answerability logit is low even for right
answers, so it ranks them well but the calibration fitted on SQuAD is under-confident there
(see the project README, "The reader"). That is why `qa` does not yet use it by default.
"""


if __name__ == "__main__":
    main()
