"""Calibrate the shipped reader on held-out data from several sources and write its model card.

    .venv/bin/python -m training.calibrate_reader [--model qa/models/reader] [--save evidence.json]

Runs the question path exactly as `qa ask --reader trained` does, over held-out questions of
three sources, each against an open corpus of its own kind (never trained on, never the benchmark):

- ``squad-dev``: SQuAD v1.1 dev articles `training.data.HELD_OUT_DEV` against all 2,067 dev
  paragraphs (Wikipedia; questions written while reading the paragraph);
- ``squad-train``: the held-out SQuAD train articles (`training.corpora.squad_articles`) against
  their own paragraphs;
- ``selqa``: SelQA test against its paragraphs (Wikipedia again, but half the questions are
  crowd paraphrases that do not echo the text). Its answers are whole sentences: a short answer
  counts right when it lies inside the answer sentence, in the answer's paragraph.

Each question is asked twice: as it is, and with its gold paragraph removed (the rest of its
article stays: on topic, no answer), so half must be abstained on: the share assumed is one
half, because a user's question about their own documents is as likely to miss as to hit, and
a threshold chosen at one half leans neither way. For every window the reader reads it
records the answer's evidence (`qa.reader.trained.evidence`) and whether that answer is right,
then fits, in two steps:

1. a logistic regression of "this window's answer is right" on its evidence, over every window:
   the direction that picks the answer (`qa` quotes the window that scores highest);
2. a logistic regression of "the picked answer is right" on that score, over the questions:
   the scale that makes the picked answer's score a probability (the best of several windows
   is right less often than one window that scores as high).

Both are one linear score, so the card stores one set of weights. Which of the reader's own
readings go in (`CHOICES`: the cheap scorer's word overlap is left out) is chosen by article-wise
cross-validation (log loss of the picked answers: the fewest kinds within one standard error of
the best, `choose`); the threshold then
maximises overall accuracy (answered right, or abstained when there was no answer). Every
source's calibration error is reported twice: fitted on all sources, and fitted on the others
only (how well the probabilities carry to a kind of question not fitted on). Writes both into
the card's data (``reader.json``) and renders the model card (``README.md``) beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa import evaluate
from qa.reader.trained import CARD_FILE, FEATURES, default_folder
from qa.settings import Settings
from training.data import HELD_OUT_DEV

if TYPE_CHECKING:
    from qa.pipeline import QA

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SQUAD = SHARED / "benchmarks/squad-dev-v1.1.json"
SOURCES = ("squad-dev", "squad-train", "selqa")
# Evidence sets compared by cross-validation (`choose`): the logit with every subset of the other
# kinds of what the reader read. The cheap scorer's confidence
# (``heuristic``) is not offered: it weighs how many of the question's words the sentence shares,
# which rewards questions that echo the document. The calibration sources' questions were written
# looking at the paragraph, so there it gains a little (0.002-0.006 log loss), while on questions
# in the asker's own words it silences right answers (docs/reader.md, "Which evidence").
OFFERED = tuple(kind for kind in FEATURES[1:] if kind != "heuristic")
CHOICES = tuple(("logit", *others) for size in range(len(OFFERED) + 1)
                for others in itertools.combinations(OFFERED, size))


def held_out_questions(questions: list[evaluate.GoldQuestion]) -> list[evaluate.GoldQuestion]:
    """The questions of the held-out dev articles (corpus files are named ``NN_`` from 01)."""
    prefixes = tuple(f"{position + 1:02d}_" for position in HELD_OUT_DEV)
    return [q for q in questions if next(iter(q.citations))[0].startswith(prefixes)]


def within_sentence(prediction: str, sentences: tuple[str, ...]) -> bool:
    """Whether a short answer lies inside a gold answer sentence, as whole words after
    normalisation (SelQA's answers are sentences)."""
    return any(evaluate.contains_answer(sentence, [prediction]) for sentence in sentences)


def judge(source: str, gold: evaluate.GoldQuestion, removed: bool, windows: list, readings: list) -> list[bool]:
    """Whether each window's answer is right: it holds a gold answer (SelQA: it lies inside the
    gold answer sentence, in the gold paragraph); never, with the gold paragraph removed."""
    if removed or not gold.answers:
        return [False] * len(readings)
    if source == "selqa":
        (cited,) = gold.citations
        return [(w.paragraph.file, w.paragraph.number) == cited and within_sentence(r.text, gold.answers)
                for w, r in zip(windows, readings)]
    return [evaluate.contains_answer(r.text, gold.answers) for r in readings]


def asked(engine, questions: list[evaluate.GoldQuestion], source: str, paraphrased: frozenset[str] = frozenset()):
    """Each question asked as it is and with its gold paragraph removed, within the removal:
    yields the question, whether its paragraph is removed, the record's common fields (source,
    article fold, answerable, paraphrase) and the gold paragraph's id."""
    ids = engine.index.paragraph_ids()
    for gold in questions:
        (file, number), = gold.citations
        gone = ids[(file, number)]
        # Articles fall into 8 folds per source for the cross-validation.
        fold = int(file.split("_")[0]) % 8
        for removed in (False, True):
            with evaluate.without_paragraph(engine, gone) if removed else contextlib.nullcontext():
                yield gold, removed, {"source": source, "article": f"{source}:{fold}", "answerable": not removed,
                                      "paraphrase": gold.id in paraphrased}, gone


def collect(engine, questions: list[evaluate.GoldQuestion], source: str = "squad-dev",
            paraphrased: frozenset[str] = frozenset()) -> list[dict]:
    """Each question asked as it is and with its gold paragraph removed: per window read, its
    evidence, and whether its answer is right (never, with the gold paragraph gone)."""
    out = []
    for gold, removed, record, _ in asked(engine, questions, source, paraphrased):
        _, sentences, candidates = engine._read(gold.question, engine.settings.retriever)
        windows, readings, facts, _ = engine._read_windows(gold.question, candidates, sentences)
        right = judge(source, gold, removed, windows, readings)
        answers = () if removed else gold.answers
        out.append({**record, "windows": [{**f, "right": ok, "f1": evaluate.f1(r.text, answers) if answers else 0.0,
                                           "text": r.text} for r, f, ok in zip(readings, facts, right)]})
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


def cross_validated_outcomes(questions: list[dict], names: tuple[str, ...]) -> list[tuple[float, bool, bool, float]]:
    """`outcomes` of every question, each article's scored by a fit on the other articles."""
    scored = []
    for article in sorted({q["article"] for q in questions}):
        weights, intercept = fit([q for q in questions if q["article"] != article], names)
        scored += outcomes([q for q in questions if q["article"] == article], names, weights, intercept)
    return scored


def cross_validated(questions: list[dict], names: tuple[str, ...]) -> dict:
    """Log loss, ROC AUC and calibration error of the picked answers when each article is scored
    by a fit on the others, and each question's log loss (``losses``, for `choose`)."""
    scored = cross_validated_outcomes(questions, names)
    p = np.clip([s[0] for s in scored], 1e-15, 1 - 1e-15)
    y = np.array([s[1] for s in scored], dtype=float)
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return {"log_loss": round(float(losses.mean()), 4), "auc": round(evaluate.roc_auc(list(p), list(y)) or 0.0, 4),
            "calibration_error": round(evaluate.calibration_error(list(p), list(y)) or 0.0, 4), "losses": losses}


def choose(candidates: dict[tuple[str, ...], dict]) -> tuple[str, ...]:
    """The evidence to fit on: of the sets `cross_validated` scored, those whose log loss exceeds
    the best's by less than one standard error of the difference (question by question), then the
    fewest kinds of evidence, then the lowest loss. Among so many sets the lowest loss is partly
    luck, and fewer kinds of evidence carry better to text unlike the calibration sources."""
    def loss(names: tuple[str, ...]) -> float:
        return float(candidates[names]["losses"].mean())

    best = min(candidates, key=loss)

    def close(names: tuple[str, ...]) -> bool:
        gap = candidates[names]["losses"] - candidates[best]["losses"]
        return names == best or gap.mean() < gap.std(ddof=1) / np.sqrt(len(gap))

    return min((names for names in candidates if close(names)), key=lambda names: (len(names), loss(names)))


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


def evenly(questions: list, count: int) -> list:
    """``count`` questions spread evenly over ``questions`` (all of them when there are fewer)."""
    if count <= 0 or len(questions) <= count:
        return questions
    return [questions[i * len(questions) // count] for i in range(count)]


def engines(squad: Path, training_data: Path, count: int) -> dict[str, tuple[QA, list]]:
    """Per source (`SOURCES`), an engine over its open corpus and its held-out questions."""
    from qa.cli import _squad_engine
    from qa.settings import cache_dir
    from training import corpora

    settings = Settings.from_env()
    engine, gold = _squad_engine(squad, settings, None, "even")
    out = {"squad-dev": (engine, held_out_questions(gold))}
    folder = cache_dir() / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    _, held = corpora.squad_articles(training_data)
    files = {"squad-train": [{k: a[k] for k in ("title", "paragraphs")} for a in held],
             "selqa": corpora.read(training_data / corpora.SELQA_FILES[1])}
    for source, articles in files.items():
        path = folder / f"{source}-held-out.json"
        text = json.dumps({"data": articles})
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        engine, gold = _squad_engine(path, settings, None)
        out[source] = (engine, evenly(gold, count))
    return out


def paraphrased(training_data: Path) -> frozenset[str]:
    """The ids of SelQA test's crowd-paraphrased questions (``is_paraphrase``)."""
    from training import corpora

    articles = corpora.read(training_data / corpora.SELQA_FILES[1])
    return frozenset(q["id"] for a in articles for p in a["paragraphs"] for q in p["qas"] if q.get("is_paraphrase"))


def per_source(questions: list[dict], names: tuple[str, ...], weights: np.ndarray, intercept: float,
               cut: float) -> dict[str, dict[str, float]]:
    """Each source's figures at ``cut``, under the fit on all sources, and its calibration error
    when fitted on the other sources only; SelQA's paraphrased questions also on their own."""
    out = {}
    for source in sorted({q.get("source", "squad-dev") for q in questions}):
        own = [q for q in questions if q.get("source", "squad-dev") == source]
        others = [q for q in questions if q.get("source", "squad-dev") != source]
        groups = {source: own, f"{source} (paraphrased)": [q for q in own if q.get("paraphrase")]}
        transfer = fit(others, names) if others else None
        for name, group in groups.items():
            if not group:
                continue
            figures = summary(outcomes(group, names, weights, intercept), cut)
            if transfer is not None:
                moved = outcomes(group, names, *transfer)
                figures["calibration_error_fitted_on_others"] = round(evaluate.calibration_error(
                    [s[0] for s in moved], [s[1] for s in moved]) or 0.0, 4)
            out[name] = {"questions": len(group) // 2, **figures}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_folder())
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument("--training-data", type=Path, default=SHARED / "training-data")
    parser.add_argument("--questions", type=int, default=500, help="held-out questions of each source but squad-dev")
    parser.add_argument("--reuse", type=Path, help="evidence collected before (JSON), instead of running again")
    parser.add_argument("--save", type=Path, help="write the evidence collected here (JSON)")
    args = parser.parse_args()

    card_path = args.model / CARD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if args.reuse:
        questions = json.loads(args.reuse.read_text(encoding="utf-8"))
    else:
        from qa.reader.trained import TrainedReader

        reader = TrainedReader(args.model)
        questions = []
        rephrased = paraphrased(args.training_data)
        for source, (engine, gold) in engines(args.squad, args.training_data, args.questions).items():
            engine._reader = reader
            questions += collect(engine, gold, source, rephrased)
        if args.save:
            args.save.write_text(json.dumps(questions) + "\n", encoding="utf-8")
    candidates = {names: cross_validated(questions, names) for names in CHOICES}
    names = choose(candidates)
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
        "feature_choice": {"+".join(n): {k: x for k, x in v.items() if k != "losses"} for n, v in candidates.items()},
        "fitted_on": "held-out questions of " + ", ".join(
            f"{source} ({sum(q.get('source', 'squad-dev') == source for q in questions) // 2})"
            for source in SOURCES) + ", each against an open corpus of its kind, asked as it is and with "
            "its gold paragraph removed (must abstain): one half unanswerable",
        "per_source": per_source(questions, names, weights, intercept, cut),
        "before": summary(before, 0.5),
        "after": summary(scored, cut),
        "reliability": evaluate.reliability([s[0] for s in scored], [s[1] for s in scored]),
        "command": "python -m training.calibrate_reader",
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (args.model / "README.md").write_text(model_card(card), encoding="utf-8")
    print(json.dumps(card["calibration"], indent=2))
    print(f"threshold {cut}: overall accuracy {accuracy} on the held-out articles")


LICENCES = {"squad": "CC BY-SA 4.0", "selqa": "Apache-2.0", "qamr": "MIT"}


def _curve(training: dict) -> str:
    """The learning curve: held-out span F1 and answerability AUC per source, by pairs seen."""
    points = training["learning_curve"]
    if not points:
        return "(not recorded)"
    sources = list(points[0]["held_out"])
    head = "| step | pairs seen | " + " | ".join(f"{s} span F1 | {s} AUC" for s in sources) + " |"
    rule = "|---:|---:|" + "---:|---:|" * len(sources)

    def cell(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    rows = [f"| {p['step']} | {p['pairs_seen']:,} | " + " | ".join(
        f"{cell(p['held_out'][s]['span_f1'])} | {cell(p['held_out'][s]['answerable_auc'])}" for s in sources) + " |"
        for p in points]
    return "\n".join([head, rule, *rows])


def averaged(card: dict) -> str:
    """The model card's sentence on weight averaging (`training.export_reader --average`), if any."""
    if not card.get("averaged_with"):
        return ""
    return (f" The shipped weights are the mean of this run's and those of `{card['averaged_with']}`"
            " (`--average`: the fine-tuned weights pulled halfway back towards the reader it started from;"
            " docs/reader.md says why).")


def model_card(card: dict) -> str:
    """The model card, rendered from the card's data."""
    training = card["training"]
    calibration = card["calibration"]
    settings = training["settings"]
    export = card["export"]["held_out"]
    reliability = "\n".join(f"| {r['low']:.1f}–{r['high']:.1f} | {r['answers']} | {r['confidence']:.3f} | "
                            f"{r['right']:.3f} |" for r in calibration["reliability"])
    rows = "\n".join(f"| {name} | {m['span_em']} | {m['span_f1']} | {m['answerable_auc']} | {m['ms_per_question']} |"
                     for name, m in export.items())
    choice = "\n".join(f"| {n} | {v['log_loss']} | {v['auc']} | {v.get('calibration_error', '–')} |"
                       for n, v in calibration["feature_choice"].items())
    sources = "\n".join(
        f"| {name} | {v['questions']} | {v['overall_accuracy']} | {v['answer_accuracy']} | {v['noans_abstained']} | "
        f"{v['confidence_auc']} | {v['calibration_error']} | {v.get('calibration_error_fitted_on_others', '–')} |"
        for name, v in calibration["per_source"].items())
    data = "\n".join(f"- `{name}`: SHA-256 `{digest}`" for name, digest in training["data"].items())
    init = training.get("init")
    command = re.sub(r"--work \S+", "--work W", training["command"])
    paraphrased = ("- Paraphrased (`training.paraphrase`): SQuAD train questions with the plain words they share "
                   "with their answer's window\n  replaced by WordNet synonyms or broader terms the paragraph does "
                   "not use, each with its\n  question's pairs.\n" if "paraphrased" in settings["mix"] else "")
    start = (f"the reader shipped before it (`{init}`, itself fine-tuned from {training['base_model']}; "
             "docs/reader.md gives each model's data), its int8 weights dequantized (`training.model.from_onnx`)"
             if init else training["base_model"])
    return f"""# qa reader v{card.get('version', card['format'])}

An extractive reader for `qa`: given a question and a window of text (a sentence with its
neighbours, at most {card['window_chars']} characters), it gives the short answer span in the
window and a logit that the window answers the question at all. `qa` runs this file with
onnxruntime (`qa/reader/trained.py`); `reader.json` holds everything below as data, and `qa`
checks the model's SHA-256 against it on load.

- **File**: `reader.onnx`, {card['bytes'] / 1e6:.1f} MB, {card['weights']}; SHA-256 `{card['sha256']}`.
- **Base model**: {training['base_model']}: a 6-layer MiniLM (22.7M weights), Apache-2.0.
- **Heads**: a linear start/end layer over every token, and a linear answerability layer on `[CLS]`.
- **Input**: `[CLS] question [SEP] window [SEP]`, at most {card['max_tokens']} word pieces.
- **Licences**: model weights Apache-2.0 (base model); training data SQuAD {LICENCES['squad']},
  SelQA {LICENCES['selqa']}, QAMR {LICENCES['qamr']}.
- **Trained on**: {training.get('hardware', 'CPU')}.

## Data

SHA-256 of each file as read (of the compressed file, for a `.gz`):

{data}

- SQuAD v1.1 dev (`../shared/benchmarks`): articles at even positions of the file, except the
  held-out ones {training['split']['dev_held_out']}; the first 10 SQuAD 2.0 train articles, except
  {training['split']['v2_held_out']}. The odd-position dev articles are the benchmark and were never
  read by the training code. Pairs: each question against a window that holds its answer and
  on-topic windows that do not (the most similar window of its paragraph or a random one, the most
  similar window of another paragraph of its article), and the windows `qa`'s own question path
  reads for it (`python -m training.mine`: up to two that lack the answer, one more that holds it;
  mined windows SHA-256 `{training['mined']}`).
- SQuAD v1.1 train (`../shared/training-data`, 432 articles; every 24th from the 12th held out):
  pairs built the same way, without mined windows. An answer whose offset was guessed
  (`offset_ambiguous`) teaches that its window answers, not where.
- SelQA dev (test held out): the answer is a whole sentence, so it teaches only whether a window
  answers; half its questions are paraphrases.
- QAMR dev (test held out): short questions on one sentence, each with the most similar other
  sentence of its article that lacks the answer, half the time.
{paraphrased}- Mix (`--mix`, each source's share of its questions): `{settings['mix']}`; {training['training_pairs']:,}
  pairs in the mix, of which the schedule reads {training['steps'] * settings['batch_size']:,} once each
  (`--max-pairs {settings['max_pairs']}`).

## Training

`python -m training.mine --work W`, then `{command}`, then
`{card['export']['command']} --work W` and `python -m training.calibrate_reader`.
Starts from {start}.{averaged(card)} {training['steps']} steps of batch {settings['batch_size']}, AdamW at
{settings['lr']} with linear warm-up and decay, the word-piece table frozen,
{'bfloat16 autocast, ' if settings.get('bf16') else ''}seed {settings['seed']}. Loss: start and end
cross-entropy on windows whose answer span is known, plus binary cross-entropy of the answerability
logit on all. Resumable (`--resume`, `--budget`): checkpoints every {settings.get('checkpoint_every', 50)} steps.

The learning curve over data size{" of this run (the runs before it: docs/reader.md)" if init else ""}: held-out
pairs of each source after each share of the schedule (span F1 on windows that hold a short
answer; AUC of the answerability logit over all held-out windows, whose negatives are chosen by
word overlap):

{_curve(training)}

## Export

Exported with torch's ONNX exporter; on {card['export']['parity_pairs']} held-out pairs the
largest difference between torch's and onnxruntime's logits was
{card['export']['parity_max_logit_difference']:.1e}. Both files scored on the held-out SQuAD dev
pairs through `qa`'s own inference code:

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
{calibration['intercept']}. The evidence was chosen by cross-validation over folds of articles
(each fold scored by a fit on the others; the answers it picks, and their probabilities): of the
sets whose log loss is within one standard error of the lowest, the one with the fewest kinds (and
of those, the lowest loss). The cheap scorer's
confidence is not offered: it rewards questions that echo the document (`CHOICES`).

| evidence | log loss | ROC AUC | calibration error |
|---|---:|---:|---:|
{choice}

The default abstention threshold, {calibration['threshold']}, maximises overall accuracy over all
sources ({calibration['after']['overall_accuracy']}; {calibration['after']['noans_abstained']} of the
questions without their paragraph abstained on, {calibration['after']['hasans_abstained']} of the
others). Expected calibration error {calibration['before']['calibration_error']} before (the
sigmoid of the logit, the window with the highest logit), {calibration['after']['calibration_error']}
after. Per source, at that threshold, under the fit on all sources, and the calibration error of a
fit on the other sources only (how the probabilities carry to a kind of question not fitted on):

| source | questions | overall accuracy | answered right | unanswerable abstained | ROC AUC | ECE | ECE, others' fit |
|---|---:|---:|---:|---:|---:|---:|---:|
{sources}

Reliability over all sources:

| confidence | answers | mean confidence | share right |
|---|---:|---:|---:|
{reliability}

## Limits

English, Wikipedia and news prose, factoid questions. Windows are short: an answer that needs two
paragraphs, or a pronoun whose referent is further back than one sentence, is out of its reach.
Most of its questions were written by people reading the paragraph, so it leans on word overlap.
The probabilities assume half the questions asked have no answer in the documents: where nearly
every question is answered, they are under-confident; where few are, over-confident.
"""


if __name__ == "__main__":
    main()
