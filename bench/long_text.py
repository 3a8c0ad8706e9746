"""A 9.5 MB text file on one line, without sentence punctuation: indexing memory, answers bounded.

    .venv/bin/python bench/long_text.py [--mb 9.5] [--keep DIR]   # about an hour on 2 busy cores
    .venv/bin/python bench/long_text.py --fake-encoder           # the pipeline without the model: minutes

The file is words drawn from a fixed vocabulary (seeded), separated by spaces and commas every
dozen words or so, with no full stop and no line break, and one fact near its end ("the
lighthouse keeper of Port Arran was named Edmund Varga"). It is indexed with ``qa index
--rebuild`` (wall time and peak resident memory of that process), then asked about the fact
with ``qa ask`` and ``qa ask --json``: the answer must be found and cited, and what is printed
must stay small (the longest passage, the bytes of each output), where before the file was one
paragraph and one sentence that the terminal got whole.

``--fake-encoder`` builds the index in a process of its own with the tests' hash embedder
(`tests/conftest.py`, `FakeEncoder`) instead of the model: every stage but the model's own work
(reading, splitting, bounding, the store, lexical and vector indexes), at the full size, in
minutes; its peak resident memory is what the text's size adds, the model's being the same for
any text (see the 1 MB row of a real run).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from index_speed import timed  # noqa: E402

QA = str(ROOT / ".venv/bin/qa")
FACT = " the lighthouse keeper of Port Arran was named Edmund Varga "
QUESTION = "What was the name of the lighthouse keeper of Port Arran?"
WORDS = ("river stone market winter harbour copper lantern meadow orchard signal thunder valley garden "
         "bridge window ribbon candle basket feather mirror silver pepper ladder saddle marble quiet "
         "gentle bright narrow hollow distant early steady humble golden crimson northern eastern "
         "carried folded painted counted gathered whispered wandered measured borrowed").split()


def write(path: Path, megabytes: float) -> None:
    """``megabytes`` million characters of comma-separated words on one line, the fact at 95%."""
    rng = random.Random(21)
    target = int(megabytes * 1_000_000)
    parts: list[str] = []
    size = 0
    placed = False
    while size < target:
        chunk = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))) + ","
        if not placed and size > target * 0.95:
            chunk, placed = chunk + FACT, True
        parts.append(chunk + " ")
        size += len(chunk) + 1
    path.write_text("".join(parts).rstrip() + "\n", encoding="utf-8")


def build_with_fake_encoder(corpus: Path, index: Path) -> None:
    """The build `qa index` does, with the tests' hash embedder instead of the model."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import FakeEncoder

    from qa.index import build

    report = build([corpus], index, FakeEncoder(), rebuild=True)
    print(f"{report.paragraphs} paragraphs, {report.sentences} sentences")


def main() -> None:
    if sys.argv[1:2] == ["--build-fake"]:
        build_with_fake_encoder(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=9.5,
                        help="size in millions of characters (the default QA_MAX_FILE_MB is 10)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--fake-encoder", action="store_true", help="build with the tests' hash embedder, no model")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="qa-long-"))
    (work / "corpus").mkdir(parents=True, exist_ok=True)
    text = work / "corpus" / "long.txt"
    write(text, args.mb)
    index = work / "index"
    if args.fake_encoder:
        seconds, peak, said = timed([sys.executable, __file__, "--build-fake", str(work / "corpus"), str(index)])
        print("| file | index build, hash embedder | peak RSS | units |\n|---|---:|---:|---|")
        print(f"| {text.stat().st_size / 1e6:.1f} MB, one line | {seconds:.0f} s | {peak:,.0f} MiB | {said.strip()} |")
        return
    seconds, peak, _ = timed([QA, "index", "--rebuild", str(work / "corpus"), "--index", str(index)])
    human = subprocess.run([QA, "ask", QUESTION, "--index", str(index)], capture_output=True, text=True, check=True)
    machine = subprocess.run([QA, "ask", QUESTION, "--index", str(index), "--json"], capture_output=True,
                             text=True, check=True)
    answer = json.loads(machine.stdout)
    source = text.read_text(encoding="utf-8")
    quoted = ([answer["answer"]] if answer["answer"] else []) + answer["passages"]
    exact = all(source[q["start"]:q["end"]] == q["text"] for q in quoted)
    found = bool(answer["answer"]) and "Edmund Varga" in answer["answer"]["text"]
    longest = max((len(q["text"]) for q in quoted), default=0)
    print("| file | index build | peak RSS | answer found | offsets exact | longest quote | `qa ask` "
          "| `qa ask --json` |")
    print("|---|---:|---:|---|---|---:|---:|---:|")
    print(f"| {text.stat().st_size / 1e6:.1f} MB, one line | {seconds:.0f} s | {peak:,.0f} MiB | "
          f"{'yes' if found else 'no'} | {'yes' if exact else 'NO'} | {longest:,} chars | "
          f"{len(human.stdout.encode()):,} B | {len(machine.stdout.encode()):,} B |")
    if not args.keep:
        print(f"(work folder {work}; --keep DIR keeps one)", file=sys.stderr)


if __name__ == "__main__":
    main()
