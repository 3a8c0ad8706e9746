"""The windows `qa`'s own question path reads for each training question: the reader's hard negatives.

    .venv/bin/python -m training.mine --work training/work       # ~5 minutes on 2 cores

At question time the trained reader reads the windows around the cheap scorer's best sentences
of the best retrieved passages (`qa.pipeline.QA._windows`), so the windows it must learn to turn
down are those, not windows picked by word overlap alone. This runs that path (retrieval and the
cheap scorer; no reader) for every training question against an index of its own SQuAD file's
contexts (built in the qa cache as `qa eval` builds it), and writes, per question id, the windows
it would read as ``[article position, paragraph, start, end]`` (offsets into the paragraph).

Only windows of training articles are kept: the benchmark articles (odd positions of the dev
file) and the held-out ones lie in the same corpus, and their text is never trained on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from training.data import DEV_FILE, V2_FILE, load_articles, sha256

MINED_FILE = "mined.json"


def mine(squad: Path, allowed: set[int]) -> dict[str, list[list[int]]]:
    """Per question id of the articles at positions ``allowed`` of ``squad``, the windows the
    question path reads that lie in those articles."""
    from qa.cli import _squad_engine
    from qa.settings import Settings

    engine, questions = _squad_engine(squad, Settings.from_env(), None)
    out = {}
    for gold in questions:
        (file, _), = gold.citations
        if int(file[:2]) - 1 not in allowed:
            continue
        _, sentences, candidates = engine._read(gold.question, engine.settings.retriever)
        read, _ = engine._windows(candidates, sentences)
        rows = []
        for w in read:
            position = int(w.paragraph.file[:2]) - 1  # corpus files are NN_Title.txt, NN from 01
            if position in allowed:
                rows.append([position, w.paragraph.number, w.start - w.paragraph.start, w.end - w.paragraph.start])
        out[gold.id] = rows
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared/benchmarks")
    parser.add_argument("--work", type=Path, default=Path("training/work"))
    args = parser.parse_args(argv)
    train, _ = load_articles(args.data)
    started = time.time()
    mined = {}
    for name, source in ((DEV_FILE, "dev"), (V2_FILE, "v2")):
        allowed = {a["position"] for a in train if a["source"] == source}
        mined[source] = mine(args.data / name, allowed)
        print(f"{name}: {len(mined[source])} questions mined in {time.time() - started:.0f} s", file=sys.stderr)
    record = {"data": {DEV_FILE: sha256(args.data / DEV_FILE), V2_FILE: sha256(args.data / V2_FILE)}, **mined}
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / MINED_FILE).write_text(json.dumps(record) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
