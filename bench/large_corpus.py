"""A real corpus of over 20,000 paragraphs: build time, index size, cold and warm questions.

    apt-get install python3-doc        # the Python 3 documentation as HTML, from Debian
    .venv/bin/python bench/large_corpus.py [--keep DIR]   # about 15 minutes on 2 cores

The corpus is every context of the SQuAD v1.1 dev set and of the first 10 SQuAD 2.0 train
articles (one .txt file per article), and the Python documentation's tutorial, language
reference, HOWTOs, FAQs, "using Python", "what's new", C API and "extending" pages as Debian's
python3-doc installs them (HTML, read by qa's HTML extractor; code blocks are never answers). It is indexed once with
``qa index --rebuild --device cpu`` (wall time and peak resident memory of that process), then:

- index size: the bytes of its live generation, by artifact;
- cold question: ``qa ask`` in a fresh process, median of 5 after one warm-up, for each of
  three questions (one about the Python docs, two about SQuAD articles);
- warm question: every 20th SQuAD dev question asked in one process (the library), p50 and p95.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from index_speed import timed  # noqa: E402

BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
DOCS = Path("/usr/share/doc/python3.11/html")
SECTIONS = ("tutorial", "reference", "howto", "faq", "using", "whatsnew", "c-api", "extending")
QUESTIONS = ("How do I create a virtual environment?", "Which NFL team won Super Bowl 50?",
             "What instrument did Chopin mostly compose for?")


def corpus(folder: Path) -> None:
    from qa.evaluate import squad_corpus

    squad_corpus(BENCHMARKS / "squad-dev-v1.1.json", folder / "squad-dev")
    squad_corpus(BENCHMARKS / "squad-train-v2.0-first10.json", folder / "squad-train")
    if not DOCS.is_dir():
        sys.exit(f"{DOCS} is missing: apt-get install python3-doc")
    for section in SECTIONS:
        shutil.copytree(DOCS / section, folder / "python-docs" / section,
                        ignore=lambda _, names: [n for n in names if not n.endswith(".html")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="qa-large-"))
    work.mkdir(parents=True, exist_ok=True)
    docs, index = work / "corpus", work / "index"
    if not docs.is_dir():
        corpus(docs)
    qa = str(ROOT / ".venv/bin/qa")
    seconds, peak, output = timed([qa, "index", "--rebuild", str(docs), "--index", str(index), "--device", "cpu"])
    said = output.strip().splitlines()[-1]
    print(f"built in {seconds:.0f} s, peak RSS {peak:,.0f} MiB: {said}", file=sys.stderr)
    info = json.loads(subprocess.run([qa, "info", "--json", "--index", str(index)], capture_output=True,
                                     text=True, check=True).stdout)
    generation = index / (index / "CURRENT").read_text().strip()
    sizes = {p.name: p.stat().st_size for p in sorted(generation.iterdir())}
    cold = {}
    for question in QUESTIONS:
        runs = []
        for attempt in range(6):
            started = time.perf_counter()
            subprocess.run([qa, "ask", question, "--index", str(index)], capture_output=True, check=True)
            if attempt:  # the first run warms the page cache
                runs.append(time.perf_counter() - started)
        cold[question] = statistics.median(runs)
    warm = _warm(index)
    print("| corpus | files | paragraphs | sentences | build | peak RSS | paragraphs/s | index size |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| SQuAD dev + 10 train articles + Python docs ({', '.join(SECTIONS)}) | {info['files']:,} | "
          f"{info['paragraphs']:,} | {info['sentences']:,} | {seconds:.0f} s | {peak:,.0f} MiB | "
          f"{info['paragraphs'] / seconds:.1f} | {sum(sizes.values()) / 2**20:,.0f} MiB |")
    print("\n" + ", ".join(f"{name} {size / 2**20:,.1f} MiB" for name, size in sizes.items()))
    print("\n| question | cold `qa ask`, median of 5 |\n|---|---:|")
    for question, value in cold.items():
        print(f"| {question} | {value:.2f} s |")
    print(f"\nwarm, in one process ({warm['count']} SQuAD dev questions): p50 {warm['p50']:.1f} ms, "
          f"p95 {warm['p95']:.1f} ms")
    if not args.keep:
        shutil.rmtree(work)


def _warm(index: Path) -> dict:
    """Every 20th SQuAD dev question, asked by the library in this process."""
    import qa

    data = json.loads((BENCHMARKS / "squad-dev-v1.1.json").read_text(encoding="utf-8"))["data"]
    questions = [q["question"] for article in data for p in article["paragraphs"] for q in p["qas"]][::20]
    engine = qa.open_index(index)
    engine.ask(questions[0])
    times = []
    for question in questions:
        started = time.perf_counter()
        engine.ask(question)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"count": len(times), "p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))]}


if __name__ == "__main__":
    main()
