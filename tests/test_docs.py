"""The README and docs/ as a newcomer reads them: every code block is marked, and every block a user
can run is run here (long benchmarks and training are checked to exist and take the flags shown).

Blocks are fenced with a language: ``bash`` and ``python`` are run, ``json`` and ``jsonl`` are parsed,
``text`` is output. The README's blocks run in order, as one shell session would run them, in a
copy of the checkout with the real model: the first ``qa ask`` builds its index from the seeds, and
the tour indexes a copy of the seeds in ``~/Documents``.
"""

from __future__ import annotations

import json
import os
import py_compile
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
LANGUAGES = {"bash", "python", "json", "jsonl", "text"}
FENCE = re.compile(r"^```(\S*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# Commands too long to run in a test (minutes to hours): benchmarks and training.
LONG = re.compile(r"(bench/\S+\.(py|sh)|-m training\.\w+)")


def blocks(path: Path) -> list[tuple[str, str]]:
    """Each fenced block of a Markdown file: (language, text)."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_every_block_is_marked_and_its_data_parses(path: Path):
    for language, text in blocks(path):
        assert language in LANGUAGES, f"{path.name}: a block marked {language!r}: {text[:60]!r}"
        if language == "json":
            json.loads(text)
        elif language == "jsonl":
            for line in text.splitlines():
                json.loads(line)


def test_the_readme_is_short_and_current():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 250
    for word in ("issue", "session", "slower day", "2026", "last time", "engineer"):
        assert word not in text.lower(), word


def test_ci_runs_the_readmes_test_command():
    command = next(text.strip() for language, text in blocks(README) if "pytest" in text)
    assert command == "./setup.sh && .venv/bin/python -m pytest"
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def long_commands() -> list[str]:
    return [line for path in [README, *DOCS] for language, text in blocks(path) if language == "bash"
            for line in text.splitlines() if LONG.search(line)]


@pytest.mark.parametrize("line", long_commands())
def test_long_commands_exist_and_take_the_flags_shown(line: str):
    words = shlex.split(line, comments=True)
    if "-m" in words:
        module = words[words.index("-m") + 1]
        script = ROOT / (module.replace(".", "/") + ".py")
        args = [sys.executable, "-m", module]
    else:
        script = ROOT / next(w for w in words if w.startswith("bench/"))
        args = [sys.executable, str(script)]
    assert script.is_file(), line
    if script.suffix == ".sh":
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
        return
    py_compile.compile(str(script), doraise=True)
    flags = [w.split("=")[0] for w in words if w.startswith("--")]
    if flags:
        shown = subprocess.run([*args, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0, shown.stderr
        for flag in flags:
            assert flag in shown.stdout, f"{flag} is not an option of {script.name}"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the checkout (its pyproject.toml, seeds and .venv) and a home with a copy of the
    seeds in ~/Documents; the environment a newcomer's shell would have."""
    root = tmp_path_factory.mktemp("clone")
    shutil.copy(ROOT / "pyproject.toml", root)
    shutil.copytree(ROOT / "seeds", root / "seeds")
    (root / ".venv").symlink_to(ROOT / ".venv")
    home = root / "home"
    shutil.copytree(ROOT / "seeds", home / "Documents")
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "QA_CACHE": str(cache), "COLUMNS": "100"}
    return root, env


def shell(script: str, root: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """Run a block as a shell would, and the environment it leaves (its exports)."""
    dump = root / ".env-after"
    done = subprocess.run(["bash", "-e", "-c", f"{script}\nenv -0 > {shlex.quote(str(dump))}"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=900)
    after = dict(item.split("=", 1) for item in dump.read_text().split("\0") if "=" in item) \
        if done.returncode == 0 else env
    return done, after


@pytest.mark.slow
def test_the_readme_runs_as_written(checkout: tuple[Path, dict[str, str]]):
    root, env = checkout
    outputs = []
    for language, text in blocks(README):
        if language == "jsonl":  # the tour's question file
            (root / "my-questions.jsonl").write_text(text, encoding="utf-8")
        elif language == "python":
            done = subprocess.run([str(root / ".venv/bin/python"), "-c", text], cwd=root, env=env,
                                  capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout)
        elif language == "bash":
            script = text.replace("./setup.sh && ", "")  # this test runs in what setup.sh made
            if "pytest" in script:
                continue  # the test command: run by .ci/run (test_ci_runs_the_readmes_test_command)
            if script.strip().endswith("qa serve"):
                outputs.append(serve(script.strip(), root, env))
                continue
            done, env = shell(script, root, env)
            assert done.returncode == 0, f"{script}\n{done.stderr}"
            assert "Traceback" not in done.stderr
            outputs.append(done.stdout)
    said = "\n".join(outputs)
    assert "400 Tomahawk Cruise Missiles" in said                      # the first ask, built from the seeds
    assert "Beijing has also summoned diplomats" in said               # the tour's ask, and its show
    assert "unchanged since it was indexed" in said
    assert "1 of the 2 answerable questions have no citations" in " ".join(said.split())  # the tour's eval
    assert "April 11, 2024" in said                                    # the library's trained reader
    assert "report.pdf is not in the index" in said                    # and its qa.QAError
    assert (Path(env["HOME"]) / "qa-index" / "CURRENT").is_file()
    assert (root / "index" / "CURRENT").is_file()


def serve(command: str, root: Path, env: dict[str, str]) -> str:
    """Start `qa serve` as written (on any free port: another may hold 8000) until it says where
    it listens, then stop it."""
    words = shlex.split(command) + ["--port", "0"]
    process = subprocess.Popen(words, cwd=root, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert re.search(r"qa: serving .* on http://127\.0\.0\.1:\d+/", line), line
        return line
    finally:
        process.terminate()
        process.wait(timeout=30)
