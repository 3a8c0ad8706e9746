"""`qa mcp` and `qa serve` as programs use them: started as processes, spoken to over MCP (the SDK's
own stdio client) and over HTTP, on the real seeds with the real model."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest

pytestmark = pytest.mark.slow

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
JAPAN = "what did Japan buy?"
TOMAHAWK = "400 Tomahawk Cruise Missiles"


def verify(answer: dict[str, Any]) -> None:
    """The answer is a verbatim quote: its file's text[start:end], inside its context, as cited."""
    text = (SEEDS / answer["file"]).read_bytes().decode("utf-8")
    assert text[answer["start"]:answer["end"]] == answer["text"]
    context = answer["context"]
    assert text[context["start"]:context["end"]] == context["text"]
    assert (answer["file"], answer["paragraph"], answer["line"]) == ("000_9ccf596f5a5ca5a0.txt", 5, 5)
    assert TOMAHAWK in answer["text"]


def environment(cache: Path) -> dict[str, str]:
    return {"QA_CACHE": str(cache), "PATH": os.environ.get("PATH", "")}  # the ONNX export made for the session


def test_qa_mcp_answers_over_stdio_and_survives_a_bad_call(seeds_index: Path, cache: Path):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    server = StdioServerParameters(command=sys.executable, args=["-m", "qa", "mcp", "--index", str(seeds_index)],
                                   env=environment(cache))

    async def session() -> None:
        async with stdio_client(server) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(tools) == {"ask", "search", "show", "info"}
            assert "verbatim" in (tools["ask"].description or "") and "offsets" in (tools["ask"].description or "")
            assert tools["ask"].input_schema["required"] == ["question"]

            asked = await client.call_tool("ask", {"question": JAPAN})
            assert not asked.is_error
            data = asked.structured_content
            assert data is not None and json.loads(asked.content[0].text) == data  # type: ignore[union-attr]
            assert set(data) == {"question", "abstained", "answer", "passages"} and not data["abstained"]
            verify(data["answer"])

            bad = await client.call_tool("ask", {"question": "  "})
            assert bad.is_error and bad.content[0].text == "the question is empty"  # type: ignore[union-attr]
            outside = await client.call_tool("show", {"file": "../../etc/passwd"})
            assert outside.is_error and "is not in the index" in outside.content[0].text  # type: ignore[union-attr]

            answer = data["answer"]  # still serving: check the citation with show
            shown = await client.call_tool("show", {"file": answer["file"], "start": answer["start"],
                                                    "end": answer["end"]})
            assert not shown.is_error and shown.structured_content is not None
            assert shown.structured_content["text"] == answer["text"]
            assert shown.structured_content["status"] == "unchanged"
            found = await client.call_tool("search", {"query": "Tomahawk missiles", "top_k": 2})
            assert found.structured_content is not None and len(found.structured_content["result"]) == 2
            info = await client.call_tool("info", {})
            assert info.structured_content is not None and info.structured_content["files"] == 2

    anyio.run(session)


def test_qa_mcp_answers_every_request_piped_before_stdin_closes(seeds_index: Path, cache: Path):
    def call(number: int, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": number, "method": "tools/call",
                "params": {"name": tool, "arguments": arguments}}

    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "pipe", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        call(2, "ask", {"question": JAPAN}),
        call(3, "search", {"query": "Tomahawk missiles", "top_k": 1}),
        call(4, "info", {}),
        call(5, "ask", {"question": "???"}),
    ]
    piped = "".join(json.dumps(request) + "\n" for request in requests)
    done = subprocess.run([sys.executable, "-m", "qa", "mcp", "--index", str(seeds_index)], input=piped,
                          capture_output=True, text=True, timeout=300, env=environment(cache))
    assert done.returncode == 0, done.stderr
    replies = {reply["id"]: reply for reply in map(json.loads, done.stdout.splitlines())}
    assert sorted(replies) == [1, 2, 3, 4, 5]
    verify(replies[2]["result"]["structuredContent"]["answer"])
    assert replies[3]["result"]["structuredContent"]["result"][0]["file"] == "000_9ccf596f5a5ca5a0.txt"
    assert replies[4]["result"]["structuredContent"]["files"] == 2
    assert replies[5]["result"]["isError"]
    assert replies[5]["result"]["content"][0]["text"] == "the question '???' has no words to look for"


@pytest.fixture
def http_server(seeds_index: Path, cache: Path) -> Iterator[str]:
    """`qa serve` on a free port (it binds port 0 and says which it took); its base URL."""
    process = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--index", str(seeds_index), "--port", "0"],
                               stderr=subprocess.PIPE, text=True, env={**os.environ, **environment(cache)})
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+)/", line)
        assert match, line
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=30)


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            assert response.headers["content-type"] == "application/json"
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        assert error.headers["content-type"] == "application/json"
        return error.code, json.loads(error.read())


def test_qa_serve_answers_concurrent_clients_and_refuses_what_is_not_indexed(http_server: str):
    status, health = get(f"{http_server}/health")
    assert status == 200 and health["status"] == "ok"
    status, document = get(f"{http_server}/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.") and "/ask" in document["paths"]

    ask = f"{http_server}/ask?" + urllib.parse.urlencode({"q": JAPAN})
    status, first = get(ask)
    assert status == 200
    verify(first["answer"])
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(get, [ask] * 20))
    assert answers == [(200, first)] * 20

    assert get(f"{http_server}/show?file=..%2F..%2Fetc%2Fpasswd") == (
        404, {"error": f"../../etc/passwd is not in the index in {health['index']} (see `qa info`)"})
    assert get(f"{http_server}/ask?q=%20") == (400, {"error": "the question is empty"})
    assert get(f"{http_server}/ask?q=x&top_k=0")[0] == 400
    status, shown = get(f"{http_server}/show?" + urllib.parse.urlencode(
        {"file": first["answer"]["file"], "start": first["answer"]["start"], "end": first["answer"]["end"]}))
    assert status == 200 and shown["text"] == first["answer"]["text"]
    status, passages = get(f"{http_server}/search?q=Tomahawk&top_k=3")
    assert status == 200 and len(passages) == 3 and passages[0]["file"] == first["answer"]["file"]
    status, info = get(f"{http_server}/info")
    assert status == 200 and info["files"] == 2
    assert get(f"{http_server}/nowhere")[0] == 404


def test_the_question_path_imports_neither_server(seeds_index: Path, cache: Path):
    servers = ("mcp", "starlette", "uvicorn", "pydantic", "anyio")
    code = ("import sys\nsys.argv = ['qa', *sys.argv[1:]]\nfrom qa.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print('MODULES', *sorted(m for m in {servers!r} if m in sys.modules), file=sys.stderr)")
    for args in (["ask", JAPAN], ["info"], ["show", "000_9ccf596f5a5ca5a0.txt:¶5"]):
        result = subprocess.run([sys.executable, "-c", code, *args, "--index", str(seeds_index)],
                                capture_output=True, text=True, env={**os.environ, **environment(cache)}, timeout=300)
        assert result.stderr.splitlines()[-1] == "MODULES", (args, result.stderr)
