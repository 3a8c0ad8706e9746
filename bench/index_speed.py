"""Indexing throughput: `qa index --rebuild` of the SQuAD v1.1 dev contexts against
sentence-transformers encoding the same paragraphs once, in the same run.

    .venv/bin/python bench/index_speed.py [--squad ../shared/benchmarks/squad-dev-v1.1.json] [--runs 2]
                                          [--device cpu|cuda|auto] [--modes default,float32,one-pass]

The contexts are written as a corpus (`qa.evaluate.squad_corpus`: one file per article, one
paragraph per context, 48 files and 2,067 paragraphs for the dev set). Each run starts three fresh
processes one after the other: the baseline, which loads the model with sentence-transformers
and encodes every paragraph once (``encode(batch_size=32, normalize_embeddings=True)``, all in
one call, so sentence-transformers sorts them by length); then ``qa index --rebuild`` of the corpus
into a new folder for each mode: as it is by default (int8 weights on the CPU), with ``--float32``
and with ``--one-pass``. qa also splits, stores, indexes words and embeds every sentence twice
(alone and in context; with ``--one-pass``, once). The baseline runs on the ``--device`` given
(default cpu), like qa. Wall time and peak resident
memory are each process's own (``os.wait4``). The ratio is the baseline's wall time over qa's,
within a run: at least 1.0 means qa indexes as fast as sentence-transformers alone embeds the
paragraphs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared" / "benchmarks" / "squad-dev-v1.1.json"
BASELINE = """
import json, sys, time
started = time.perf_counter()
from sentence_transformers import SentenceTransformer
from qa.embedding import resolve_device, resolve_model
model = SentenceTransformer(resolve_model("all-MiniLM-L6-v2"), device=resolve_device(sys.argv[2]))
loaded = time.perf_counter()
texts = json.load(open(sys.argv[1], encoding="utf-8"))
model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
print(json.dumps({"load_s": loaded - started, "encode_s": time.perf_counter() - loaded}))
"""


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB, and the output of one process."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage, reaped here
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
    if process.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{output.strip()}")
    return seconds, usage.ru_maxrss / 1024, output


def main() -> None:
    from qa.corpus import split_paragraphs
    from qa.evaluate import squad_corpus

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--modes", default="default,float32,one-pass",
                        help="qa's builds, comma-separated: default, float32, one-pass")
    args = parser.parse_args()
    modes = [[] if mode == "default" else [f"--{mode}"] for mode in args.modes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="qa-index-speed-"))
    corpus = work / "corpus"
    squad_corpus(args.squad, corpus)
    texts = [p.text for path in sorted(corpus.glob("*.txt"))
             for p in split_paragraphs(path.name, path.read_text(encoding="utf-8"))]
    (work / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    files = len(list(corpus.glob("*.txt")))
    print(f"{files} files, {len(texts):,} paragraphs; work folder {work}", file=sys.stderr)
    rows = []
    for run in range(1, args.runs + 1):
        base_s, base_mib, base_out = _baseline(work, args.device)
        split = json.loads(base_out.strip().splitlines()[-1])
        row = [f"| {run} | {base_s:.1f} s ({split['load_s']:.1f} + {split['encode_s']:.1f}) | {base_mib:,.0f} MiB"]
        for mode in modes:
            qa_s, qa_mib, qa_out = timed([str(ROOT / ".venv/bin/qa"), "index", "--rebuild", str(corpus), *mode,
                                          "--index", str(work / f"index-{run}{''.join(mode)}"),
                                          "--device", args.device])
            row.append(f"{qa_s:.1f} s | {qa_mib:,.0f} MiB | {base_s / qa_s:.2f}")
            print(f"run {run}: baseline {base_s:.1f} s, qa {' '.join(mode)} {qa_s:.1f} s: "
                  f"{qa_out.strip().splitlines()[-1]}", file=sys.stderr)
        rows.append(" | ".join(row) + " |")
    columns = "".join(f" `qa index --rebuild{''.join(' ' + m for m in mode)}` | peak RSS | ratio |" for mode in modes)
    print(f"| run | sentence-transformers, paragraphs once (load + encode) | peak RSS |{columns}")
    print("|---:|---:|---:|" + "---:|---:|---:|" * len(modes))
    print("\n".join(rows))


def _baseline(work: Path, device: str) -> tuple[float, float, str]:
    return timed([sys.executable, "-c", BASELINE, str(work / "texts.json"), device])


if __name__ == "__main__":
    main()
