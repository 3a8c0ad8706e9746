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

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
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
    """Serve MCP on stdin and stdout until the client closes stdin."""
    server(service).run("stdio")
