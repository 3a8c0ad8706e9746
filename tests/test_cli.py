from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa.cli import app
from qa.settings import MAX_QUESTION_CHARS

runner = CliRunner()


@pytest.fixture
def env(tiny_index: Path, tiny_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QA_INDEX", str(tiny_index))
    monkeypatch.setenv("QA_CORPUS", str(tiny_corpus))
    return tiny_index


def run(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def test_help_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("index", "ask", "search", "info"):
        assert command in result.stdout


def test_index_reports_counts_and_warnings(tiny_corpus: Path, tmp_path: Path, fake_encoder):
    (tiny_corpus / "notes.pdf").write_bytes(b"%PDF")
    result = run("index", str(tiny_corpus), "--index", str(tmp_path / "idx"))
    assert result.exit_code == 0, result.output
    assert "Indexed 2 files, 6 paragraphs" in result.stderr
    assert "warning: skipped" in result.stderr and "notes.pdf" in result.stderr


def test_ask_prints_the_quote_and_its_citation(env):
    result = run("ask", "Who walked on the Moon?")
    assert result.exit_code == 0, result.output
    assert "Neil Armstrong walked on the Moon in 1969." in result.stdout
    assert "space/moon.md ¶3 (line 6)" in result.stdout
    assert "confidence" in result.stdout


def test_ask_says_when_there_is_no_answer(env):
    result = run("ask", "What is the capital of France?")
    assert result.exit_code == 0
    assert "No answer found in the indexed documents." in result.stdout
    assert "Closest passages" in result.stdout


def test_ask_json_is_one_object_with_the_schema(env, tiny_corpus: Path):
    result = run("ask", "--json", "Who walked on the Moon?")
    data = json.loads(result.stdout)
    assert set(data) == {"question", "abstained", "answer", "passages"}
    answer = data["answer"]
    text = (tiny_corpus / answer["file"]).read_bytes().decode("utf-8")
    assert text[answer["start"]:answer["end"]] == answer["text"]


def test_ask_dash_reads_one_question_per_line(env):
    result = run("ask", "-", "--json", stdin="Who walked on the Moon?\n\nWhat colour are bananas?\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["question"] for line in lines] == ["Who walked on the Moon?", "What colour are bananas?"]


def test_ask_notices_a_question_that_is_too_long(env):
    result = run("ask", "--json", "Who walked on the Moon? " + "y" * MAX_QUESTION_CHARS)
    assert result.exit_code == 0
    assert "notice: question is over" in result.stderr
    assert len(json.loads(result.stdout)["question"]) == MAX_QUESTION_CHARS


def test_ask_builds_the_index_first_when_there_is_none(tiny_corpus: Path, tmp_path: Path, fake_encoder,
                                                       monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("QA_CORPUS", str(tiny_corpus))
    result = run("ask", "Who walked on the Moon?", "--index", str(tmp_path / "new"))
    assert result.exit_code == 0, result.output
    assert "building it from" in result.stderr
    assert "Neil Armstrong" in result.stdout


def test_search_lists_ranked_passages(env):
    result = run("search", "--json", "bananas yellow")
    hits = json.loads(result.stdout)
    assert hits[0]["file"] == "fruit.txt" and hits[0]["paragraph"] == 3


def test_info_describes_the_index(env):
    data = json.loads(run("info", "--json").stdout)
    assert (data["files"], data["paragraphs"], data["model"]) == (2, 6, "fake-hash")
    assert "paragraphs" in run("info").stdout


@pytest.mark.parametrize(("args", "code", "message"), [
    (["ask", ""], 2, "the question is empty"),
    (["ask", "   "], 2, "the question is empty"),
    (["ask", "x", "--top-k", "0"], 2, "--top-k"),
    (["ask", "x", "--retriever", "magic"], 2, "--retriever"),
    (["ask", "x", "--min-score", "2"], 2, "--min-score"),
    (["index", "/no/such/folder"], 2, "corpus path not found"),
])
def test_bad_input_gets_one_line_and_an_exit_code(env, args, code, message):
    result = run(*args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_info_without_an_index_says_how_to_build_one(tmp_path: Path):
    result = run("info", "--index", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"qa: error: no index in {tmp_path / 'none'}; build one with `qa index`"


def test_an_empty_corpus_is_an_error(tmp_path: Path, fake_encoder):
    (tmp_path / "c").mkdir()
    result = run("index", str(tmp_path / "c"), "--index", str(tmp_path / "i"))
    assert result.exit_code == 2
    assert "no indexable" in result.stderr
