"""``qa serve``: the question path as a small HTTP JSON API, for scripts in any language.

    $ qa serve --index ~/.qa-briefings &
    $ curl -s 'http://127.0.0.1:8000/ask?q=what+did+Japan+buy%3F'

``GET /ask?q=``, ``/search?q=``, ``/show?file=[&start=&end=]`` and ``/info`` answer with the same
JSON as the CLI's ``--json`` (see `qa.service`); ``/health`` says the server is up;
``/openapi.json`` describes it all. Bad input gets a 4xx status and ``{"error": "<the CLI's line>"}``.
Built on Starlette and uvicorn, imported only by this command. Requests run in uvicorn's thread
pool, each on the engine that was live when it began (see `qa.service.Service`).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from qa.errors import BadInput
from qa.service import ASK, HEALTH, INFO, SEARCH, SHOW, Service, attempt


@dataclass(frozen=True)
class Param:
    """A query parameter: its name, type (``str`` or ``int``), description, whether it must be given,
    and for a number the least it may be (checked by the `Service` call, said in the OpenAPI)."""

    name: str
    kind: type
    description: str
    required: bool = False
    minimum: int = 0


@dataclass(frozen=True)
class Endpoint:
    """A ``GET`` endpoint: its path, what it returns, its parameters, the `Service` call that makes its
    JSON (given the parsed parameters by name) and that JSON's schema (in ``#/components/schemas``)."""

    path: str
    description: str
    params: tuple[Param, ...]
    call: Callable[..., Any]
    returns: str


TOP_K = Param("top_k", int, "How many passages to return, at least 1 [default: 5].", minimum=1)
ENDPOINTS = (
    Endpoint("/ask", ASK, (Param("q", str, "The question.", required=True), TOP_K),
             lambda service, q, top_k=None: service.ask(q, top_k), "Ask"),
    Endpoint("/search", SEARCH, (Param("q", str, "What to look for.", required=True), TOP_K),
             lambda service, q, top_k=None: service.search(q, top_k), "Passages"),
    Endpoint("/show", SHOW, (Param("file", str, "The file as cited (report.pdf), or a citation (report.pdf:p3:¶2).",
                                   required=True),
                             Param("start", int, "A citation's start offset (with end)."),
                             Param("end", int, "A citation's end offset (with start).")),
             lambda service, file, start=None, end=None: service.show(file, start, end), "Show"),
    Endpoint("/info", INFO, (), lambda service: service.info(), "Info"),
    Endpoint("/health", HEALTH, (), lambda service: service.health(), "Health"),
)


def arguments(endpoint: Endpoint, query: Mapping[str, str]) -> dict[str, Any]:
    """An endpoint's parameters parsed from a query string; others are ignored.

    Raises:
        BadInput: a required parameter is missing, or a number is not a whole number.
    """
    parsed: dict[str, Any] = {}
    for param in endpoint.params:
        raw = query.get(param.name)
        if raw is None:
            if param.required:
                raise BadInput(f"missing query parameter {param.name}: {param.description}")
            continue
        try:
            parsed[param.name] = param.kind(raw)
        except ValueError:
            raise BadInput(f"{param.name} must be a whole number, got {raw!r}") from None
    return parsed


def app(service: Service) -> Starlette:
    """The ASGI application: one route per `ENDPOINTS` entry, ``/openapi.json``, JSON errors."""

    def route(endpoint: Endpoint) -> Route:
        def respond(request: Request) -> JSONResponse:  # a plain function: Starlette runs it in a thread
            data, failed = attempt(lambda: endpoint.call(service, **arguments(endpoint, request.query_params)))
            if failed is not None:
                return JSONResponse({"error": failed.message}, status_code=failed.status)
            return JSONResponse(data)

        return Route(endpoint.path, respond, methods=["GET"])

    document = openapi()

    async def describe(request: Request) -> JSONResponse:
        return JSONResponse(document)

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        paths = ", ".join(e.path for e in ENDPOINTS)
        message = (f"no endpoint {request.url.path} (there are {paths} and /openapi.json)" if status == 404
                   else f"{request.method} is not allowed: every endpoint is GET" if status == 405
                   else str(getattr(exc, "detail", exc)))
        return JSONResponse({"error": message}, status_code=status)

    return Starlette(routes=[*(route(e) for e in ENDPOINTS), Route("/openapi.json", describe, methods=["GET"])],
                     exception_handlers={HTTPException: not_found})


def run(service: Service, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Serve until interrupted. The socket is bound here, so that a port in use is an `OSError`
    (one line from the CLI), and ``port`` 0 takes a free one, which ``announce`` is told in a URL.
    """
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle's algorithm off only for sockets that say
    # they are TCP, and with it on every response waited 40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # from here on, clients wait for uvicorn instead of being refused
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    announce(f"serving {service.settings.index} on http://{shown}:{bound}/ "
             "(GET /ask?q=..., /search?q=..., /show?file=..., /info, /health; /openapi.json describes them)")
    config = uvicorn.Config(app(service), log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description of `ENDPOINTS`."""
    paths = {}
    for endpoint in ENDPOINTS:
        responses = {"200": _response(endpoint.returns, "The same JSON as the CLI's --json.")}
        if endpoint.params:
            responses["400"] = _response("Error", "Bad input; the one line the CLI says after `qa: error:`.")
        if endpoint.path == "/show":
            responses["404"] = _response("Error", "The file is not in the index.")
        if endpoint.path != "/health":
            responses["500"] = _response("Error", "The index is damaged, or a bug.")
            responses["503"] = _response("Error", "No index has been built yet.")
        paths[endpoint.path] = {"get": {
            "operationId": endpoint.path.strip("/"),
            "summary": endpoint.description.split(". ")[0].rstrip(".") + ".",
            "description": endpoint.description,
            "parameters": [{"name": p.name, "in": "query", "required": p.required, "description": p.description,
                            "schema": _schema(p)} for p in endpoint.params],
            "responses": responses,
        }}
    return {"openapi": "3.1.0",
            "info": {"title": "qa", "version": "1",
                     "description": "Extractive question answering over a folder of documents: answers are "
                                    "verbatim quotes whose citations (file, page, paragraph, line, start, end) "
                                    "anyone can check: the file's text[start:end] is the quote."},
            "paths": paths, "components": {"schemas": SCHEMAS}}


def _schema(param: Param) -> dict[str, Any]:
    return {"type": "integer", "minimum": param.minimum} if param.kind is int else {"type": "string"}


def _response(schema: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _object(required: str, **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required.split(), "properties": properties}


_INT, _STR, _NUM = {"type": "integer"}, {"type": "string"}, {"type": "number"}
_PAGE = {"type": ["integer", "null"], "description": "The PDF page (from 1) of start; null for other formats."}
_OCR = {"type": "boolean", "description": "Present (true) only when the page's text was read with OCR."}
_CITATION = {"file": _STR, "paragraph": _INT, "page": _PAGE, "ocr": _OCR, "line": _INT, "start": _INT, "end": _INT}
_CONTEXT = _object("text start end line", text=_STR, start=_INT, end=_INT, line=_INT)
SCHEMAS: dict[str, Any] = {
    "Passage": _object("file paragraph page line start end score text", **_CITATION, score=_NUM, text=_STR),
    "Passages": {"type": "array", "items": {"$ref": "#/components/schemas/Passage"}},
    "Answer": _object("text score file paragraph page line start end context", text=_STR, score=_NUM,
                      **_CITATION, context=_CONTEXT),
    "Ask": _object("question abstained answer passages", question=_STR, abstained={"type": "boolean"},
                   answer={"oneOf": [{"$ref": "#/components/schemas/Answer"}, {"type": "null"}]},
                   passages={"$ref": "#/components/schemas/Passages"}),
    "Quote": _object("file paragraph page line start end text paragraph_text status note context", **_CITATION,
                     text=_STR, paragraph_text=_STR, note=_STR, context=_CONTEXT,
                     status={"enum": ["unchanged", "intact", "changed", "missing"]}),
    "Layer": _object("file format text pages", file=_STR, format=_STR, text=_STR,
                     pages={"type": "array", "items": _object("page start end ocr", page=_INT, start=_INT,
                                                                         end=_INT, ocr={"type": "boolean"})}),
    "Show": {"oneOf": [{"$ref": "#/components/schemas/Quote"}, {"$ref": "#/components/schemas/Layer"}]},
    "Info": _object("index built_at model dimension files paragraphs sentences chunks corpus reader min_score "
                    "calibrated", index=_STR, built_at=_STR, model=_STR, dimension=_INT, files=_INT,
                    paragraphs=_INT, sentences=_INT, chunks=_INT, corpus={"type": "array", "items": _STR},
                    reader=_STR, min_score=_NUM, calibrated={"type": "boolean"}),
    "Health": _object("status index generation", status={"const": "ok"}, index=_STR,
                      generation={"type": ["string", "null"]}),
    "Error": _object("error", error=_STR),
}
