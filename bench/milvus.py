"""The SQuAD open-corpus benchmark through Milvus against the local folder, in one run.

    .venv/bin/python bench/milvus.py [--every 10] [--squad ../shared/benchmarks/squad-dev-v1.1.json]
                                     [--store milvus://HOST:PORT[/DB]] [--json OUT]

The corpus is all 2,067 SQuAD v1.1 dev paragraphs, as `qa eval --squad` writes it (in the qa
cache); the questions are those of the odd-position articles (the benchmark), every
``--every``-th of them. The local index is the one `qa eval` keeps in the cache (built if it is
missing); the Milvus index is a copy of that folder moved into ``--store`` (`qa index --store` on a
local index: its vectors are carried, nothing is embedded again, so both hold the very same
vectors), or into a Milvus Lite gRPC server this script starts on 127.0.0.1 and stops. Both answer
the same questions in the same process, with the heuristic reader (the default), the full
pipeline: every metric of `qa eval` for each, their difference (the issue asks for at most 0.005),
question latency p50/p95, and the Milvus build's time (staging, which reads the corpus and carries
the rows and vectors, and the upload). Embedding costs the same for either backend.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METRICS = ["hit1", "hit5", "mrr10", "citation_accuracy", "answer_accuracy", "context_accuracy", "exact_match", "f1",
           "noans_abstained", "hasans_abstained"]


def start_server(data: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [str(Path(sys.executable).parent / "milvus-lite"), "server", "--data-dir", str(data),
               "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), f"milvus://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", default=str(ROOT.parent / "shared/benchmarks/squad-dev-v1.1.json"))
    parser.add_argument("--every", type=int, default=10, help="ask every K-th benchmark question")
    parser.add_argument("--store", help="an existing Milvus (default: a Milvus Lite server started here)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    from qa import evaluate
    from qa.index import Index
    from qa.pipeline import QA, build_index
    from qa.settings import Settings, cache_dir
    from qa.storage import milvus

    gold = Path(args.squad)
    folder = cache_dir() / f"squad-{hashlib.sha256(gold.read_bytes()).hexdigest()[:12]}"
    questions = evaluate.subset(evaluate.squad_corpus(gold, folder / "corpus", "odd"), every=args.every)
    figures: dict = {"questions": len(questions), "every": args.every}

    started = time.perf_counter()
    report = build_index([folder / "corpus"], folder / "index")
    figures["local_build_s"] = round(time.perf_counter() - started, 1)
    figures["local_build_embedded"] = report.embedded
    print(f"local index: {report.paragraphs:,} paragraphs, {figures['local_build_s']} s "
          f"({report.embedded:,} embedded)", file=sys.stderr)

    scratch = Path(tempfile.mkdtemp(prefix="qa-bench-milvus-"))
    server = None
    try:
        store = args.store
        if store is None:
            server, store = start_server(scratch / "milvus")
            milvus.wait_until_up(milvus.parse(store), seconds=120)
        upload = {"s": 0.0}
        publish = milvus.Remote.publish

        def timed(self, generation):
            began = time.perf_counter()
            publish(self, generation)
            upload["s"] += time.perf_counter() - began

        milvus.Remote.publish = timed  # type: ignore[method-assign]
        shutil.copytree(folder / "index", scratch / "index")
        started = time.perf_counter()
        moved = build_index([folder / "corpus"], scratch / "index", store=store)
        figures["milvus_build_s"] = round(time.perf_counter() - started, 1)
        figures["milvus_build_embedded"] = moved.embedded
        figures["milvus_upload_s"] = round(upload["s"], 1)
        print(f"Milvus index: {figures['milvus_build_s']} s, of which upload {figures['milvus_upload_s']} s",
              file=sys.stderr)

        settings = Settings()
        local = QA(Index.open(folder / "index"), settings)
        remote = QA(Index.open(scratch / "index"), settings, encoder=local.encoder)
        summaries = {}
        for name, engine in (("local", local), ("milvus", remote)):
            engine.ask("warm up")  # models and first reads are not a question's latency
            began = time.perf_counter()
            results = evaluate.run(engine, questions, top_k=10, min_score=engine.min_score)
            summaries[name] = evaluate.summarize(results)
            print(f"{name}: {len(results)} questions in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        figures["local"], figures["milvus"] = summaries["local"], summaries["milvus"]
        figures["largest_difference"] = max(abs((summaries["milvus"][m] or 0) - (summaries["local"][m] or 0))
                                            for m in METRICS)
        remote.index.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        shutil.rmtree(scratch, ignore_errors=True)

    print("| metric | local folder | Milvus (Lite) | difference |")
    print("|---|---:|---:|---:|")
    for metric in [*METRICS, "latency_p50_ms", "latency_p95_ms"]:
        a, b = figures["local"].get(metric), figures["milvus"].get(metric)
        diff = "" if a is None or b is None else f"{b - a:+.4f}"
        print(f"| {metric} | {a} | {b} | {diff} |")
    print(f"\n{figures['questions']} questions (every {args.every}th of the odd articles'); largest difference "
          f"{figures['largest_difference']:.4f}; builds: local {figures['local_build_s']} s "
          f"({figures['local_build_embedded']:,} paragraphs embedded), Milvus {figures['milvus_build_s']} s "
          f"(moved from the folder, {figures['milvus_build_embedded']:,} embedded; "
          f"upload {figures['milvus_upload_s']} s)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
