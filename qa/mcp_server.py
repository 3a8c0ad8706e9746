"""``qa mcp``: the question path as Model Context Protocol tools, over stdio, for AI assistants.

    $ qa mcp --index ~/.qa-briefings          # started by the assistant, which speaks MCP on stdin/stdout

Tools ``ask``, ``search``, ``show`` and ``info`` answer with the same JSON as ``qa ask --json``,
``qa search --json``, ``qa show --json`` and ``qa info --json`` (see `qa.service`), as the tool
result's text and its structured content. An error comes back as a tool error (``isError``) whose
text is the CLI's one-line message; the server keeps serving. Built on the official SDK (`mcp`),
imported only by this command.
"""

# No `from __future__ import annotations`: the SDK reads the tools' signatures at run time for
# their input and output schemas.
import json
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from mcp_types import JSONRPCError, JSONRPCNotification, JSONRPCRequest, JSONRPCResponse
from pydantic import Field

from qa.service import ASK, INFO, SEARCH, SHOW, Service, attempt

INSTRUCTIONS = ("Extractive question answering over a local folder of documents. Answers are verbatim "
                "quotes with checkable citations: file, page (PDFs), paragraph, line and character offsets "
                "such that the file's text[start:end] is the quote. Use `ask` for an answer, `search` for "
                "passages, `show` to read or check what a citation cites, `info` for what is indexed. When "
                "`ask` abstains, the documents do not answer the question: say so rather than guess.")

# A tool's result: its JSON as text, and as structured content of this shape (a list is wrapped as
# {"result": [...]}, as the SDK declares it).
Result = Annotated[CallToolResult, dict[str, Any]]
Passages = Annotated[CallToolResult, list[dict[str, Any]]]
TopK = Annotated[int | None, Field(description="How many passages to return, at least 1 [default: 5].")]
Question = Annotated[str, Field(description="The question, in plain words.")]
Query = Annotated[str, Field(description="What to look for.")]
File = Annotated[str, Field(description="The file as cited (report.pdf), or a citation (report.pdf:p3:¶2).")]
Offset = Annotated[int | None, Field(description="A citation's offset: its start, or its end.")]
READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


def server(service: Service) -> MCPServer:
    """An MCP server whose tools call ``service``."""

    def ask(question: Question, top_k: TopK = None) -> Result:
        return _result(lambda: service.ask(question, top_k))

    def search(query: Query, top_k: TopK = None) -> Passages:
        return _result(lambda: service.search(query, top_k))

    def show(file: File, start: Offset = None, end: Offset = None) -> Result:
        return _result(lambda: service.show(file, start, end))

    def info() -> Result:
        return _result(service.info)

    mcp = MCPServer("qa", instructions=INSTRUCTIONS, log_level="WARNING")
    for tool, description in ((ask, ASK), (search, SEARCH), (show, SHOW), (info, INFO)):
        mcp.add_tool(tool, description=description, annotations=READ_ONLY)
    return mcp


def _result(call: Callable[[], dict[str, Any] | list[dict[str, Any]]]) -> CallToolResult:
    """The tool result of a `Service` call, or a tool error whose text is the CLI's one line."""
    data, failed = attempt(call)
    if failed is not None:
        return CallToolResult(content=[TextContent(type="text", text=failed.message)], is_error=True)
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False))],
                          structured_content=data if isinstance(data, dict) else {"result": data})


def run(service: Service) -> None:
    """Serve MCP on stdin and stdout until the client closes stdin, answering every request read
    before then."""
    anyio.run(_serve_stdio, server(service))


async def _serve_stdio(mcp: MCPServer) -> None:
    """`MCPServer.run("stdio")`, but draining: the SDK ends its loop at the end of stdin and
    cancels the handlers still running, so a client that pipes its requests and closes stdin
    would get only the replies that were quick. Here the end of stdin reaches the loop only once
    every request read has been answered."""
    async with stdio_server() as (read_stream, write_stream):
        drain = _Drain(read_stream, write_stream)
        lowlevel = mcp._lowlevel_server  # what `MCPServer.run_stdio_async` runs, over these streams
        await lowlevel.run(drain, drain.writer, lowlevel.create_initialization_options())


class _Stream:
    """A stream of the SDK's, wrapped: closing and ``async with`` are the inner stream's."""

    def __init__(self, inner: Any):
        self._inner = inner

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Drain(_Stream):
    """The read stream the server loop reads, holding back its end until every request it
    passed on has a reply in `writer`, the write stream the loop writes to."""

    def __init__(self, read_stream: Any, write_stream: Any):
        super().__init__(read_stream)
        self._open: set[Any] = set()
        self._answered = anyio.Event()
        self.writer = _Replies(write_stream, self)

    @property
    def last_context(self) -> Any:  # the sender's context, which the SDK's loop reads per message
        return getattr(self._inner, "last_context", None)

    def __aiter__(self) -> "_Drain":
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._inner.__anext__()
        except StopAsyncIteration:
            while self._open:
                await self._answered.wait()
                self._answered = anyio.Event()
            raise
        message = getattr(item, "message", None)
        if isinstance(message, JSONRPCRequest):
            self._open.add(message.id)
        elif isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
            self._open.discard((message.params or {}).get("requestId"))  # a cancelled request gets no reply
        return item

    def replied(self, request_id: Any) -> None:
        self._open.discard(request_id)
        self._answered.set()

    async def receive(self) -> Any:
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise anyio.EndOfStream from None


class _Replies(_Stream):
    """A write stream that tells its `_Drain` of each reply sent."""

    def __init__(self, inner: Any, drain: _Drain):
        super().__init__(inner)
        self._drain = drain

    async def send(self, item: Any) -> None:
        await self._inner.send(item)
        message = getattr(item, "message", None)
        if isinstance(message, (JSONRPCResponse, JSONRPCError)):
            self._drain.replied(message.id)

