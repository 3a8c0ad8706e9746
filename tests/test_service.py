"""The JSON `qa` answers programs with (`qa.service`), and the HTTP API's parsing and description,
in-process on tiny corpora with the fake embedder. `test_programs.py` runs `qa mcp` and `qa serve`."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qa
from qa.cite import lines_around
from qa.cli import app
from qa.errors import BadInput, IndexCorrupt, IndexMissing, NotIndexed
from qa.index import build
from qa.service import Service, attempt, failure
from qa.settings import Settings

MOON = "Neil Armstrong walked on the Moon in 1969."


@pytest.fixture
def service(tiny_index: Path) -> Service:
    return Service(Settings(index=tiny_index))


def test_ask_and_search_are_the_cli_json(service: Service, tiny_index: Path, fake_encoder):
    engine = qa.open_index(tiny_index, settings=Settings(), encoder=fake_encoder)
    assert service.ask("Who walked on the Moon?") == engine.ask("Who walked on the Moon?").to_dict()
    assert service.ask("Who walked on the Moon?")["answer"]["text"] == MOON
    hits = service.search("bananas", top_k=1)
    assert hits == [h.to_dict() for h in engine.search("bananas", top_k=1)] and len(hits) == 1


def test_info_is_the_cli_json(service: Service, tiny_index: Path, fake_encoder, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("QA_INDEX", str(tiny_index))
    assert service.info() == json.loads(CliRunner().invoke(app, ["info", "--json"]).stdout)
    assert service.info()["files"] == 2


def test_show_quotes_a_span_with_the_lines_around_it(service: Service, tiny_corpus: Path, fake_encoder):
    answer = service.ask("Who walked on the Moon?")["answer"]
    shown = service.show(answer["file"], answer["start"], answer["end"])
    text = (tiny_corpus / answer["file"]).read_text(encoding="utf-8")
    assert shown["text"] == text[shown["start"]:shown["end"]] == MOON and shown["status"] == "unchanged"
    context = shown["context"]
    assert text[context["start"]:context["end"]] == context["text"] and MOON in context["text"]
    assert context["text"].splitlines()[0] == "It has no atmosphere."  # two lines before: a blank one, and this
    assert service.show(f"{answer['file']}:¶{answer['paragraph']}")["paragraph_text"] == MOON
    layer = service.show(answer["file"])
    assert list(layer) == ["file", "format", "text", "pages"] and layer["text"] == text


@pytest.mark.parametrize(("file", "start", "end", "error", "status"), [
    ("../../etc/passwd", None, None, NotIndexed, 404),  # a path that leaves the corpus
    ("/etc/passwd", None, None, NotIndexed, 404),
    ("nothing.txt", None, None, NotIndexed, 404),
    ("fruit.txt", 5, None, BadInput, 400),
    ("fruit.txt", 9, 3, BadInput, 400),
    ("fruit.txt", 10_000, 10_001, BadInput, 400),
    ("fruit.txt:¶99", None, None, BadInput, 400),
    ("", None, None, BadInput, 400),
])
def test_show_refuses_what_is_not_indexed(service: Service, fake_encoder, file, start, end, error, status):
    with pytest.raises(error) as raised:
        service.show(file, start, end)
    assert failure(raised.value).status == status and "\n" not in failure(raised.value).message


def test_an_empty_question_is_refused_before_anything_loads(tmp_path: Path):
    service = Service(Settings(index=tmp_path / "none"))
    with pytest.raises(BadInput, match="the question is empty"):
        service.ask("   ")
    assert service.generation is None
    data, failed = attempt(lambda: service.ask("what?"))
    assert data is None and failed is not None and failed.status == 503
    assert "build one with `qa index`" in failed.message
    assert service.health() == {"status": "ok", "index": str(tmp_path / "none"), "generation": None}


def test_failures_are_one_line_with_a_status():
    assert failure(IndexMissing("no index")).status == 503
    assert failure(IndexCorrupt("damaged")).status == 500
    assert failure(FileNotFoundError(2, "No such file or directory", "x")).message == "No such file or directory: x"
    data, failed = attempt(lambda: 1 / 0)
    assert failed is not None and failed.internal
    assert failed.message == "internal error: ZeroDivisionError: division by zero"


def test_a_rebuild_is_followed_and_the_old_generation_still_answers(service: Service, tiny_index: Path,
                                                                   tiny_corpus: Path, fake_encoder):
    before = service.engine()
    first = service.generation
    (tiny_corpus / "mars.txt").write_text("Mars\n\nNobody has walked on Mars yet.\n", encoding="utf-8")
    build([tiny_corpus], tiny_index, fake_encoder)
    build([tiny_corpus], tiny_index, fake_encoder, rebuild=True)  # removes the generation `before` reads
    assert not (tiny_index / first).exists()
    assert before.ask("Who walked on the Moon?").span.text == MOON  # a call under way finishes on it
    answer = service.ask("Who walked on Mars?", top_k=1)
    assert service.generation != first and answer["passages"][0]["file"] == "mars.txt"
    assert service.engine().encoder is before.encoder  # the same model: not loaded again


def test_concurrent_calls_all_answer_while_the_index_is_rebuilt(service: Service, tiny_index: Path,
                                                                tiny_corpus: Path, fake_encoder):
    results: list[object] = []

    def ask() -> None:
        for _ in range(5):
            data, failed = attempt(lambda: service.ask("Who walked on the Moon?"))
            results.append(failed or data["answer"]["text"])

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for thread in threads:
        thread.start()
    for _ in range(3):
        build([tiny_corpus], tiny_index, fake_encoder, rebuild=True)
    for thread in threads:
        thread.join()
    assert results == [MOON] * 100


def test_lines_around_keeps_whole_lines_and_stops_at_the_ends():
    text = "one\ntwo\r\nthree\rfour\nfive"
    middle = text.index("three")
    assert lines_around(text, middle, middle + 5, lines=1).text == "two\r\nthree\rfour"
    assert lines_around(text, 0, 3, lines=2).text == "one\ntwo\r\nthree"
    assert lines_around(text, len(text) - 4, len(text), lines=2).text == "three\rfour\nfive"
    found = lines_around(text, middle, middle, lines=0)
    assert (found.text, found.line) == ("three", 3)


def test_the_http_api_parses_its_parameters_and_describes_itself():
    from qa import http_api

    ask = next(e for e in http_api.ENDPOINTS if e.path == "/ask")
    assert http_api.arguments(ask, {"q": "why?", "top_k": "3", "other": "x"}) == {"q": "why?", "top_k": 3}
    with pytest.raises(BadInput, match="missing query parameter q"):
        http_api.arguments(ask, {})
    with pytest.raises(BadInput, match="top_k must be a whole number, got 'many'"):
        http_api.arguments(ask, {"q": "why?", "top_k": "many"})
    document = http_api.openapi()
    assert set(document["paths"]) == {"/ask", "/search", "/show", "/info", "/health"}
    refs = {ref.rsplit("/", 1)[1] for ref in _refs(document)}
    assert refs <= set(document["components"]["schemas"])
    parameters = document["paths"]["/show"]["get"]["parameters"]
    assert [(p["name"], p["required"]) for p in parameters] == [("file", True), ("start", False), ("end", False)]
    assert "verbatim" in document["paths"]["/ask"]["get"]["description"]


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_serve_on_a_port_in_use_says_so_in_one_line(tiny_index: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--index", str(tiny_index), "--port", str(port)])
    assert result.exit_code == 1 and result.stderr.strip() == "qa: error: Address already in use"


def test_the_new_commands_are_listed():
    result = CliRunner().invoke(app, ["--help"])
    assert "mcp" in result.stdout and "serve" in result.stdout
