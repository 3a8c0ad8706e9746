from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import snapshot
from typer.testing import CliRunner

from qa.cli import app
from qa.settings import MAX_QUESTION_CHARS

runner = CliRunner()


@pytest.fixture
def env(tiny_index: Path, tiny_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QA_INDEX", str(tiny_index))
    monkeypatch.setenv("QA_CORPUS", str(tiny_corpus))
    monkeypatch.setenv("QA_MODEL", "fake-hash")
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
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Answer  space/moon.md ¶3 (line 6)  confidence ")
    assert lines[1] == "  Neil Armstrong walked on the Moon in 1969."
    assert result.stdout.count("Neil Armstrong walked on the Moon in 1969.") == 1  # its passage is marked instead
    assert lines[2] == "Passages:"
    assert re.match(r" 1\. space/moon\.md ¶3 \(line 6\)  score [0-9.]+  ← the answer$", lines[3])


def test_ask_lists_passages_with_their_citation_first_and_their_text_indented(env):
    result = run("ask", "How often does the Moon orbit the Earth?", "--top-k", "3")
    lines = result.stdout.splitlines()
    assert lines[1] == "  The Moon orbits the Earth every 27 days."
    passages = lines[lines.index("Passages:") + 1:]
    assert re.match(r" 1\. space/moon\.md ¶2 \(line 3\)  score [0-9.]+  ← the answer$", passages[0])
    assert passages[1:3] == ["    The Moon orbits the Earth every 27 days.", "    It has no atmosphere."]
    assert all(re.match(r" [1-3]\. |    \S", line) for line in passages)
    assert sum(bool(re.match(r" [1-3]\. ", line)) for line in passages) == 3


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


@pytest.mark.parametrize("how", ["--index", "QA_INDEX"])
@pytest.mark.parametrize("command", ["ask", "search", "info", "show"])
def test_a_named_index_that_holds_none_is_an_error_and_nothing_is_created(
        how: str, command: str, tiny_corpus: Path, tmp_path: Path, fake_encoder, monkeypatch: pytest.MonkeyPatch):
    typo = tmp_path / "typo_idx"
    monkeypatch.setenv("QA_CORPUS", str(tiny_corpus))
    monkeypatch.setenv("QA_MODEL", "fake-hash")
    args = {"ask": ["ask", "Who walked on the Moon?"], "search": ["search", "Moon"], "info": ["info"],
            "show": ["show", "fruit.txt"]}[command]
    if how == "--index":
        args += ["--index", str(typo)]
    else:
        monkeypatch.setenv("QA_INDEX", str(typo))
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr == (f"qa: error: no index in {typo}: run `qa index DOCS --index {typo}` "
                             "to index your documents there\n")
    assert result.stdout == "" and not typo.exists()


@pytest.fixture
def checkout(tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout of qa whose seeds are the tiny corpus, as the current folder."""
    root = tmp_path / "qa-checkout"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "qa"\n')
    tiny_corpus.rename(root / "seeds")
    monkeypatch.chdir(root)
    monkeypatch.setenv("QA_MODEL", "fake-hash")
    return root


def test_the_default_index_of_a_checkout_is_built_from_its_seeds_on_first_use(checkout: Path, fake_encoder):
    result = run("ask", "Who walked on the Moon?")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("No index yet: indexing the news articles qa ships in seeds/ into index/ first")
    assert "Neil Armstrong" in result.stdout
    assert (checkout / "index" / "CURRENT").is_file()
    again = run("ask", "Who walked on the Moon?")
    assert "No index yet" not in again.stderr


def test_outside_a_checkout_the_message_says_how_to_index_your_own_documents(
        tmp_path: Path, fake_encoder, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    result = run("ask", "what did Japan buy?")
    assert result.exit_code == 2
    assert result.stderr == ("qa: error: no index in ./index yet: index your own documents with "
                             "`qa index ~/Documents` (any folder), or name an index with --index DIR\n")
    assert list(tmp_path.iterdir()) == []


def test_a_checkout_with_another_corpus_is_not_built_by_ask(checkout: Path, tmp_path: Path, fake_encoder,
                                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("QA_CORPUS", str(tmp_path))  # QA_CORPUS names the user's documents: `qa index` indexes them
    result = run("ask", "Who walked on the Moon?")
    assert result.exit_code == 2 and "qa index ~/Documents" in result.stderr
    assert not (checkout / "index").exists()


def test_version():
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"qa {version('qa')}\n"


def test_search_lists_ranked_passages(env):
    result = run("search", "--json", "bananas yellow")
    hits = json.loads(result.stdout)
    assert hits[0]["file"] == "fruit.txt" and hits[0]["paragraph"] == 3


def test_info_describes_the_index(env):
    data = json.loads(run("info", "--json").stdout)
    assert (data["files"], data["paragraphs"], data["model"]) == (2, 6, "fake-hash")
    assert data["dense"] == {"paragraphs": {"type": "flat"}, "sentences": {"type": "flat"},
                             "sentences_in_context": {"type": "flat"}}
    assert "sentences exact (flat)" in run("info").stdout


def test_info_says_only_what_is_so_and_what_each_line_means(env, gold_file: Path):
    from qa.service import INFO_KEYS

    data = json.loads(run("info", "--json").stdout)
    assert data["calibrated"] is False  # nothing was calibrated: the heuristic reader's default threshold
    assert data["min_score"] == 0.35
    shown = " ".join(run("info").stdout.split())
    for key in data:
        assert f"{key} " in shown and " ".join(INFO_KEYS[key].split()) in shown
    assert run("eval", str(gold_file), "--calibrate", "--store").exit_code == 0
    assert json.loads(run("info", "--json").stdout)["calibrated"] is True
    assert json.loads(run("info", "--json", "--index", str(env)).stdout)["calibrated"] is True


def test_an_approximate_index_is_shown_by_info_and_passes_verify(env, tiny_corpus, monkeypatch):
    monkeypatch.setenv("QA_APPROX_MIN_VECTORS", "7")  # the tiny corpus has 7 sentences, 6 paragraphs
    assert run("index", str(tiny_corpus), "--rebuild").exit_code == 0
    data = json.loads(run("info", "--json").stdout)
    assert data["dense"]["paragraphs"] == {"type": "flat"}
    assert data["dense"]["sentences"]["type"] == "ivf_flat"
    nlist, nprobe = data["dense"]["sentences"]["nlist"], data["dense"]["sentences"]["nprobe"]
    assert (f"sentences approximate (IVF-Flat, {nlist} lists, {nprobe} probed, memory-mapped)"
            in " ".join(run("info").stdout.split()))
    result = run("index", "--verify")
    assert result.exit_code == 0 and "verified" in result.stderr
    assert "Neil Armstrong walked on the Moon in 1969." in run("ask", "Who walked on the Moon?").stdout


@pytest.mark.parametrize(("args", "code", "message"), [
    (["ask", ""], 2, "the question is empty"),
    (["ask", "   "], 2, "the question is empty"),
    (["ask", "???"], 2, "the question '???' has no words to look for"),
    (["ask", "... -- !!"], 2, "the question '... -- !!' has no words to look for"),
    (["search", ""], 2, "the query is empty"),
    (["search", "?!"], 2, "the query '?!' has no words to look for"),
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


def test_an_empty_corpus_is_an_error(tmp_path: Path, fake_encoder):
    (tmp_path / "c").mkdir()
    result = run("index", str(tmp_path / "c"), "--index", str(tmp_path / "i"))
    assert result.exit_code == 2
    assert "no indexable" in result.stderr


@pytest.fixture
def gold_file(tmp_path: Path) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in [
        {"id": "moon", "question": "Who walked on the Moon?", "answers": ["Neil Armstrong"],
         "citations": [{"file": "space/moon.md", "paragraph": 3}]},
        {"id": "banana", "question": "What colour are bananas?", "answers": ["yellow"],
         "citations": [{"file": "fruit.txt", "paragraph": 3}]},
        {"id": "france", "question": "What is the capital of France?", "answers": [], "citations": []},
    ]) + "\n")
    return path


def test_eval_reports_metrics_as_json_and_writes_predictions(env, gold_file: Path, tmp_path: Path):
    out = tmp_path / "preds.jsonl"
    # The fake encoder's similarities are noise, and the trained reader's confidence weighs them in
    # (its card's calibration): exact metrics here are the heuristic reader's, on the word overlap.
    result = run("eval", str(gold_file), "--json", "--out", str(out), "--reader", "heuristic")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["questions"], summary["answerable"], summary["unanswerable"]) == (3, 2, 1)
    assert summary["hit1"] == 1.0 and summary["answer_accuracy"] == 1.0
    assert summary["noans_abstained"] == 1.0
    preds = [json.loads(line) for line in out.read_text().splitlines()]
    assert [p["id"] for p in preds] == ["moon", "banana", "france"]
    assert set(preds[0]) == {"id", "question", "abstained", "answer", "passages"}


def test_eval_grades_questions_without_citations_by_content_and_says_so(env, tmp_path: Path):
    path = tmp_path / "answers-only.jsonl"
    path.write_text('{"question": "Who walked on the Moon?", "answers": ["Neil Armstrong"]}\n'
                    '{"question": "What colour are bananas?", "answers": ["yellow"]}\n')
    summary = json.loads(run("eval", str(path), "--json").stdout)
    assert summary["graded_by_content"] == 2
    assert summary["hit1"] == summary["answer_accuracy"] == summary["citation_accuracy"] == 1.0
    said = " ".join(run("eval", str(path)).stdout.split())
    assert "2 of the 2 answerable questions have no citations and were graded by content" in said
    assert "after SQuAD normalisation" in said


def test_eval_table_and_failures(env, gold_file: Path):
    result = run("eval", str(gold_file), "--show-failures", "--min-score", "0")
    assert result.exit_code == 0
    assert "retrieval hit@1" in result.stdout
    assert "1 failures" in result.stdout and "france" in result.stdout


def test_eval_fail_under_exits_non_zero(env, gold_file: Path):
    assert run("eval", str(gold_file), "--json", "--fail-under", "hit1=0.5").exit_code == 0
    result = run("eval", str(gold_file), "--json", "--min-score", "0", "--fail-under", "noans_abstained=0.5")
    assert result.exit_code == 1
    assert "noans_abstained 0.0 < 0.5" in result.stderr


def test_eval_calibrate_store_is_used_by_ask(env, gold_file: Path):
    result = run("eval", str(gold_file), "--json", "--calibrate", "--store")
    summary = json.loads(result.stdout)
    assert summary["calibrated_overall_accuracy"] == 1.0
    info = json.loads(run("info", "--json").stdout)
    assert info["calibrated"] is True
    assert info["min_score"] == summary["calibrated_min_score"]


@pytest.mark.parametrize(("content", "message"), [
    ('{"question": "q?", "answers": []}\n{"question": 3}\n', "gold.jsonl:2"),
    ("", "no questions"),
])
def test_eval_rejects_a_malformed_gold_set(env, tmp_path: Path, content: str, message: str):
    path = tmp_path / "gold.jsonl"
    path.write_text(content)
    result = run("eval", str(path))
    assert result.exit_code == 2
    assert message in result.stderr


def test_eval_needs_an_existing_gold_file_and_known_metrics(env, gold_file: Path, tmp_path: Path):
    assert "gold set not found" in run("eval", str(tmp_path / "none.jsonl")).stderr
    assert "unknown metric" in run("eval", str(gold_file), "--fail-under", "speed=1").stderr


def test_index_reports_what_changed_and_rebuild_embeds_everything(env, tiny_corpus: Path):
    result = run("index", str(tiny_corpus))
    assert "is up to date (0 added, 0 updated, 2 unchanged, 0 removed)" in result.stderr
    (tiny_corpus / "fruit.txt").write_text("Cherries are red.\n")
    result = run("index", str(tiny_corpus))
    assert "(0 added, 1 updated, 1 unchanged, 0 removed)" in result.stderr
    result = run("index", str(tiny_corpus), "--rebuild")
    assert "(2 added, 0 updated, 0 unchanged, 0 removed)" in result.stderr


def test_verify_reports_damage_with_a_non_zero_exit(env):
    from qa.index import Index

    assert run("index", "--verify").exit_code == 0
    path = Index.open(env).generation / "paragraphs.faiss"
    data = bytearray(path.read_bytes())
    data[-4:] = b"\x00\x01\x02\x03"
    path.write_bytes(bytes(data))
    result = run("index", "--verify")
    assert result.exit_code == 1
    assert "problem: paragraphs.faiss: checksum differs" in result.stderr


def test_ask_says_when_the_index_is_out_of_date(env, tiny_corpus: Path):
    (tiny_corpus / "fruit.txt").write_text("Cherries are red.\n")
    result = run("ask", "Who walked on the Moon?")
    assert result.exit_code == 0
    assert "notice: the index is out of date (fruit.txt: changed since the index was built)" in result.stderr


def test_a_damaged_index_is_one_line_and_exit_1(env):
    from qa.index import Index

    path = Index.open(env).generation / "store.sqlite"
    path.write_bytes(b"garbage!" * (path.stat().st_size // 8) + b"x" * (path.stat().st_size % 8))
    result = run("ask", "Who walked on the Moon?")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "store.sqlite is damaged" in result.stderr
    assert "qa index --rebuild" in result.stderr


def test_an_index_path_that_is_a_file_is_one_line(tmp_path: Path, tiny_corpus: Path, fake_encoder):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run("index", str(tiny_corpus), "--index", str(blocker))
    assert result.exit_code == 1
    assert result.stderr.startswith("qa: error: ") and result.stderr.count("\n") == 1


def test_ask_dash_with_nothing_on_stdin_is_bad_input(env):
    result = run("ask", "-", stdin="\n  \n")
    assert result.exit_code == 2
    assert "no questions on standard input" in result.stderr


@pytest.mark.parametrize(("args", "via_env"), [
    (["index", "{corpus}", "--index", "{work}"], False),
    (["index", "{corpus}", "--rebuild"], True),
    (["ask", "Who walked on the Moon?", "--index", "{work}"], False),
    (["search", "Moon"], True),
    (["info"], True),
])
def test_a_folder_that_is_not_an_index_is_refused_in_one_line(user_folder, tiny_corpus, fake_encoder,
                                                              monkeypatch, args, via_env):
    monkeypatch.setenv("QA_MODEL", "fake-hash")
    monkeypatch.setenv("QA_CORPUS", str(tiny_corpus))
    if via_env:
        monkeypatch.setenv("QA_INDEX", str(user_folder))
    before = snapshot(user_folder)
    result = run(*(a.format(corpus=tiny_corpus, work=user_folder) for a in args))
    assert result.exit_code == 2
    assert result.stderr == (
        f"qa: error: {user_folder} is not empty and not a qa index (it holds CURRENT and 2 more); "
        "give --index (or QA_INDEX) a new or empty folder\n")
    assert snapshot(user_folder) == before
    (user_folder / "CURRENT").unlink()  # without a CURRENT, `qa ask` would build an index first: refused too
    result = run(*(a.format(corpus=tiny_corpus, work=user_folder) for a in args))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "is not empty and not a qa index (it holds gen-photos and 1 more)" in result.stderr


def test_the_bar_is_taken_down_and_not_drawn_again_after_an_interrupt(monkeypatch: pytest.MonkeyPatch):
    import io
    import time

    from rich.console import Console

    from qa import cli

    screen = io.StringIO()
    monkeypatch.setattr(cli, "_stderr", lambda: Console(file=screen, force_terminal=True, width=80))
    with pytest.raises(KeyboardInterrupt), cli._bars() as bars:
        assert bars is not None
        bars("Embedding 10 paragraphs of 1 file", 10)(3)
        raise KeyboardInterrupt
    screen.write("qa: interrupted\n")
    time.sleep(0.3)  # a live bar would have been redrawn by now
    assert screen.getvalue().endswith("qa: interrupted\n")
    assert "Embedding 10 paragraphs" in screen.getvalue()


def test_the_first_builds_rate_leaves_the_one_time_export_out(tiny_corpus: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    import time

    from qa.index import BuildReport

    def build_index(*args, **kwargs) -> BuildReport:
        time.sleep(1.0)
        return BuildReport(tmp_path / "idx", 2, 6, 7, [], {"added": ["a", "b"]}, embedded=6, export_seconds=0.9)

    monkeypatch.setattr("qa.pipeline.build_index", build_index)
    result = run("index", str(tiny_corpus), "--index", str(tmp_path / "idx"))
    said = re.search(r"in ([0-9.]+) s, of which 0\.9 s exporting the model once; ([0-9.]+) paragraphs embedded "
                     r"per second\.$", result.stderr.strip())
    assert said, result.stderr
    seconds, rate = float(said.group(1)), float(said.group(2))  # seconds rounded to 0.1, at least 1.0
    assert 6 / (seconds + 0.05 - 0.9) <= rate <= 6 / (seconds - 0.05 - 0.9)  # 6 paragraphs, export left out
