"""Warm throughput and latency of `qa serve`'s ``GET /ask`` with many clients at once.

    .venv/bin/python bench/serve.py [--clients 20] [--seconds 30] [--index DIR] [--question Q]

Indexes seeds/ into a temporary folder (or uses ``--index``), starts ``qa serve`` on a free port,
warms it up (the model loads on the first request), then runs ``--clients`` threads for
``--seconds``, each on its own keep-alive connection (http.client), asking the questions of
eval/seeds_gold.jsonl in turn (each client from a different one), or ``--question`` only. Every
response must be a 200 with the ``qa ask --json`` schema. Prints requests per second, latency
p50/p90/p99 and max, and the machine's load, which another workload on the same cores inflates.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARM_UP = 20


def questions(one: str | None) -> list[str]:
    if one:
        return [one]
    with (ROOT / "eval" / "seeds_gold.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line)["question"] for line in lines if line.strip()]


def client(host: str, port: int, asked: list[str], offset: int, until: float,
           latencies: list[float], errors: list[str]) -> None:
    """Ask in a loop on one keep-alive connection until ``until``; record each latency (s)."""
    connection = http.client.HTTPConnection(host, port, timeout=60)
    i = offset
    while time.perf_counter() < until:
        path = "/ask?" + urllib.parse.urlencode({"q": asked[i % len(asked)]})
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=60)
            continue
        latencies.append(time.perf_counter() - started)
        if response.status != 200 or set(json.loads(body)) != {"question", "abstained", "answer", "passages"}:
            errors.append(f"{response.status}: {body[:200]!r}")
        i += 1
    connection.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--index", type=Path, help="an index of seeds/ [default: build one in a temporary folder]")
    parser.add_argument("--question", help="ask only this question [default: the seeds gold set's, in turn]")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        index = args.index or Path(scratch) / "index"
        if args.index is None:
            subprocess.run([sys.executable, "-m", "qa", "index", "seeds", "--index", str(index)], cwd=ROOT,
                           check=True, capture_output=True)
        server = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--index", str(index), "--port", "0"],
                                  cwd=ROOT, stderr=subprocess.PIPE, text=True)
        try:
            assert server.stderr is not None
            announced = server.stderr.readline()
            match = re.search(r"http://([\d.]+):(\d+)/", announced)
            if not match:
                raise SystemExit(f"qa serve did not start: {announced}{server.stderr.read()}")
            host, port = match.group(1), int(match.group(2))
            asked = questions(args.question)
            errors: list[str] = []
            _warm_up(host, port, asked, errors)

            latencies: list[float] = []
            until = time.perf_counter() + args.seconds
            started = time.perf_counter()
            threads = [threading.Thread(target=client, args=(host, port, asked, n * 7, until, latencies, errors))
                       for n in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)

    load = os.getloadavg()
    print(f"qa serve /ask: {args.clients} clients for {args.seconds:g} s, {len(asked)} question(s), "
          f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min)")
    print(f"requests {len(latencies)}, errors {len(errors)}, {len(latencies) / elapsed:.1f} requests/s")
    print(f"latency p50 {1000 * statistics.median(latencies):.1f} ms, p90 {1000 * percentile(latencies, 0.9):.1f} ms, "
          f"p99 {1000 * percentile(latencies, 0.99):.1f} ms, max {1000 * max(latencies):.1f} ms")
    for error in errors[:5]:
        print(f"error: {error}")
    if errors:
        raise SystemExit(1)


def _warm_up(host: str, port: int, asked: list[str], errors: list[str]) -> None:
    """Load the model and index, and touch each question once."""
    connection = http.client.HTTPConnection(host, port, timeout=120)
    for question in asked[:WARM_UP]:
        connection.request("GET", "/ask?" + urllib.parse.urlencode({"q": question}))
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            errors.append(f"warm-up: {response.status}")
    connection.close()


if __name__ == "__main__":
    main()
