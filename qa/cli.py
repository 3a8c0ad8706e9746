"""The `qa` command line: parse, call the library, render. Nothing else.

    $ qa index seeds/
    $ qa ask "what did Japan buy?"
    $ qa ask --json - < questions.txt
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qa.errors import BadInput, IndexMissing, QAError, explain
from qa.settings import MAX_QUESTION_CHARS, Device, Fusion, Reader, Retriever, Settings, cache_dir, shipped_seeds

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from qa.index import ProgressFactory
    from qa.pipeline import QA
    from qa.types import Answer, Hit, Span

app = typer.Typer(
    name="qa",
    help="Ask questions of a folder of documents; answers are quoted verbatim with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help text: rendering Markdown would cost a tenth of a second
)

IndexOption = Annotated[Path | None, typer.Option("--index", help="Index folder [default: index/ or $QA_INDEX].")]
TopKOption = Annotated[int | None, typer.Option("--top-k", min=1, help="Passages to show [default: 5].")]
RetrieverOption = Annotated[Retriever | None, typer.Option("--retriever", help="Passage ranking [default: hybrid].")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for programs instead of text.")]
FusionOption = Annotated[Fusion | None, typer.Option("--fusion", help="How rankings are fused [default: combsum].")]
ReaderOption = Annotated[Reader | None, typer.Option("--reader", help="What picks the answer: the heuristic's whole sentence, or the trained model's short span with a calibrated probability [default: heuristic].")]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"qa {version('qa')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print qa's version and exit.")] = False,
) -> None:
    """Ask questions of a folder of documents; answers are quoted verbatim with citations."""


class Articles(str, Enum):
    """Which SQuAD articles' questions `qa eval` asks."""

    odd = "odd"
    even = "even"


RerankOption = Annotated[bool, typer.Option("--rerank/--no-rerank", help="Order passages by what was read in each.")]


def _reports_errors(command: Callable[..., None]) -> Callable[..., None]:
    """Turn `qa`'s errors into one line on stderr and the error's exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs) -> None:
        try:
            command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise  # typer's own ways out, handled by typer
        except QAError as exc:
            _say(f"qa: error: {explain(exc)}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _say("qa: interrupted")
            raise typer.Exit(130) from None
        except OSError as exc:  # a folder that is a file, a disk that is full, no permission
            _say(f"qa: error: {explain(exc)}")
            raise typer.Exit(1) from None
        except Exception as exc:
            if os.environ.get("QA_DEBUG"):
                raise
            _say(f"qa: internal error: {type(exc).__name__}: {exc} (set QA_DEBUG=1 for the traceback)")
            raise typer.Exit(70) from None  # EX_SOFTWARE

    return wrapper


def _stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _settings(index: Path | None, fusion: Fusion | None = None, reader: Reader | None = None) -> Settings:
    settings = Settings.from_env()
    given: dict[str, Any] = {"index": index, "fusion": fusion, "reader": reader}
    return replace(settings, **{name: value for name, value in given.items() if value is not None})


def _say(message: str) -> None:
    """One line on stderr: notices, warnings, progress reports. Never wrapped, never styled."""
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _bars() -> Iterator[ProgressFactory | None]:
    """A `progress(label, total)` factory drawing a Rich bar on stderr when it is a terminal
    (what is done of how much, time taken and time left), or None. The bar is taken down when
    the block ends, however it ends, so that nothing draws it again after "qa: interrupted"."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = _stderr()
    if not console.is_terminal:
        yield None
        return
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                        transient=True)

    def factory(label: str, total: int) -> Callable[[int], None]:
        task = progress.add_task(label, total=total)
        progress.start()
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            progress.advance(task, n)
            if done >= total:  # this bar is done: the next one stands alone
                progress.remove_task(task)
                progress.stop()

        return advance

    try:
        yield factory
    finally:
        progress.stop()


def _build(paths: list[Path] | None, settings: Settings, model: str | None, rebuild: bool = False) -> None:
    import time

    from qa.pipeline import build_index

    started = time.perf_counter()
    with _bars() as progress:
        report = build_index(paths or [settings.corpus], settings.index, model=model or settings.model,
                             rebuild=rebuild, device=settings.device.value, one_pass=settings.one_pass,
                             float32=settings.float32, store=settings.store,
                             warn=lambda message: _say(f"warning: {message}"),
                             status=_say, progress=progress)
    seconds = time.perf_counter() - started
    changes = ", ".join(f"{len(report.changes.get(kind, []))} {kind}"
                        for kind in ("added", "updated", "unchanged", "removed"))
    if not report.written:
        _say(f"Index in {report.folder} is up to date ({changes}).")
        return
    # The one-time ONNX export is said apart: the rate is what every later build will see.
    export = f", of which {report.export_seconds:.1f} s exporting the model once" if report.export_seconds else ""
    rate = f"; {report.embedded / (seconds - report.export_seconds):,.1f} paragraphs embedded per second" \
        if report.embedded else ""
    _say(f"Indexed {report.files:,} files, {report.paragraphs:,} paragraphs, {report.sentences:,} sentences "
         f"into {report.folder} ({changes}) in {seconds:.1f} s{export}{rate}.")


@app.command("index")
@_reports_errors
def index_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Folders and .txt, .md, .pdf, .html, .docx files [default: seeds/ or $QA_CORPUS].")] = None,
    index: IndexOption = None,
    model: Annotated[str | None, typer.Option("--model", help="sentence-transformers model name or path [default: all-MiniLM-L6-v2].")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Embed everything again instead of only new and changed files.")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Check the index's checksums and sources instead of building.")] = False,
    device: Annotated[Device | None, typer.Option("--device", help="Where to run the model: auto (CUDA when torch sees a GPU), cpu or cuda [default: auto or $QA_DEVICE]. A GPU runs the float weights, as --float32 does on the CPU; questions answer alike either way.")] = None,
    one_pass: Annotated[bool, typer.Option("--one-pass", help="Pool each sentence's vector in context from its paragraph's pass: faster, slightly less accurate (docs/speed.md) [or QA_ONE_PASS=1].")] = False,
    float32: Annotated[bool, typer.Option("--float32", help="On the CPU, run the model with its float weights rather than int8 ones: the vectors sentence-transformers gives, about half as fast [or QA_FLOAT32=1].")] = False,
    store: Annotated[str | None, typer.Option("--store", help="Keep the index in Milvus: milvus://HOST:PORT[/DB] or a Milvus Lite file.db; the index folder records it for every other command (docs/milvus.md) [or $QA_STORE].")] = None,
) -> None:
    """Index documents (incrementally), or check an index with --verify."""
    settings = _settings(index)
    if device is not None:
        settings = replace(settings, device=device)
    if one_pass:
        settings = replace(settings, one_pass=True)
    if float32:
        settings = replace(settings, float32=True)
    if store:
        settings = replace(settings, store=store)
    if verify:
        from qa.index import Index

        problems = Index.open(settings.index).verify()
        for problem in problems:
            _say(f"problem: {problem}")
        if problems:
            raise typer.Exit(1)
        _say(f"Index in {settings.index} verified: checksums, vectors, store and sources match.")
        return
    _build(paths, settings, model, rebuild)


def _given(index: Path | None) -> bool:
    """Whether the user named the index (``--index`` or ``QA_INDEX``) rather than taking the default."""
    return index is not None or bool(os.environ.get("QA_INDEX", "").strip())


def _require_index(settings: Settings, given: bool, build: bool = False) -> None:
    """Make sure ``settings.index`` holds an index. A named index that holds none is an error with
    the fix: never build one there, or a typo would answer from the wrong documents. Only the
    default index of a checkout of qa is built on first use (``build``), from its shipped seeds."""
    from qa import index as index_module

    if index_module.exists(settings.index):
        return
    if given:
        raise IndexMissing(f"no index in {settings.index}: run `qa index DOCS --index {settings.index}` "
                           "to index your documents there")
    seeds = shipped_seeds()
    if not build or seeds is None or settings.corpus.resolve() != seeds.resolve():
        raise IndexMissing(f"no index in ./{settings.index} yet: index your own documents with "
                           "`qa index ~/Documents` (any folder), or name an index with --index DIR")
    _say(f"No index yet: indexing the news articles qa ships in {settings.corpus}/ into {settings.index}/ "
         "first (`qa index DOCS` indexes your own).")
    _build(None, settings, None)


def _open(settings: Settings, given: bool) -> QA:
    from qa import index as index_module
    from qa.pipeline import QA

    _require_index(settings, given, build=True)
    index = index_module.Index.open(settings.index)
    stale = index.stale()
    if stale:
        more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
        _say(f"notice: the index is out of date ({stale[0]}{more}); "
             "answers come from the indexed text; run `qa index` to update it")
    return QA(index, settings, notice=lambda message: _say(f"notice: {message}"))


def _questions(question: str) -> list[str]:
    if question != "-":
        return [question]
    questions = [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not questions:
        raise BadInput("no questions on standard input (one per line)")
    return questions


@app.command("ask")
@_reports_errors
def ask_command(
    question: Annotated[str, typer.Argument(help="The question, or - to read one question per line from stdin.")],
    index: IndexOption = None,
    top_k: TopKOption = None,
    retriever: RetrieverOption = None,
    min_score: Annotated[float | None, typer.Option("--min-score", min=0.0, max=1.0, help="Abstain below this confidence [default: the reader's calibrated threshold].")] = None,
    rerank: RerankOption = True,
    fusion: FusionOption = None,
    reader: ReaderOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question with a verbatim quote and its citation, or say none was found."""
    from qa.pipeline import clean_question

    questions = _questions(question)
    if question != "-":
        clean_question(question)  # reject an empty question before any index work
    engine = _open(_settings(index, fusion, reader), _given(index))
    out = _stdout()
    for text in questions:
        if len(text.strip()) > MAX_QUESTION_CHARS:
            _say(f"notice: question is over {MAX_QUESTION_CHARS} characters; answering from its start")
        answer = engine.ask(text, top_k=top_k, retriever=retriever, min_score=min_score, rerank=rerank)
        if as_json:
            sys.stdout.write(json.dumps(answer.to_dict(), ensure_ascii=False) + "\n")
        else:
            _render_answer(out, answer)


@app.command("search")
@_reports_errors
def search_command(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    index: IndexOption = None,
    top_k: TopKOption = None,
    retriever: RetrieverOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the best-matching passages with citations and scores (no answer extraction)."""
    from qa.pipeline import clean_question

    clean_question(query, "query")  # reject an empty query before any index work
    engine = _open(_settings(index), _given(index))
    hits = engine.search(query, top_k=top_k, retriever=retriever)
    if as_json:
        sys.stdout.write(json.dumps([hit.to_dict() for hit in hits], ensure_ascii=False) + "\n")
    else:
        _render_hits(_stdout(), hits)


@app.command("info")
@_reports_errors
def info_command(index: IndexOption = None, as_json: JsonOption = False) -> None:
    """Show what the index holds and how it answers, each line with what it means."""
    from qa.index import Index
    from qa.pipeline import QA
    from qa.service import INFO_KEYS, describe

    settings = _settings(index)
    _require_index(settings, _given(index))
    summary = describe(QA(Index.open(settings.index), settings))
    if as_json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=False, box=None)
    for key, value in summary.items():
        if key == "dense":
            value = [_dense_line(kind, how) for kind, how in value.items()]
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        meaning = f"  ({INFO_KEYS[key]})" if key in INFO_KEYS else ""
        table.add_row(key, Text.assemble(shown, (meaning, "dim")))
    _stdout().print(table)


def _dense_line(kind: str, how: dict) -> str:
    """One kind of vector's search structure, for people: "paragraphs exact", "sentences IVF ..."."""
    if how["type"] == "flat":
        return f"{kind} exact (flat)"
    return f"{kind} approximate (IVF-Flat, {how['nlist']} lists, {how['nprobe']} probed, memory-mapped)"


def _squad_engine(gold: Path, settings: Settings, index: Path | None, articles: str | None = None):
    """Write a SQuAD file's contexts as a corpus in the cache, index it (incrementally), and open it."""
    import hashlib

    from qa import evaluate

    digest = hashlib.sha256(gold.read_bytes()).hexdigest()[:12]
    folder = cache_dir() / f"squad-{digest}"
    questions = evaluate.squad_corpus(gold, folder / "corpus", articles)
    settings = replace(settings, corpus=folder / "corpus", index=index or folder / "index")
    _build(None, settings, None)
    return _open(settings, True), questions


@app.command("eval")
@_reports_errors
def eval_command(
    gold: Annotated[Path, typer.Argument(help="Gold set (JSON Lines), or a SQuAD v1.1 JSON file.")],
    index: IndexOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write each `qa ask --json` object plus the gold id here (JSON Lines).")] = None,
    retriever: RetrieverOption = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Passages per question (MRR@10 needs 10).")] = 10,
    min_score: Annotated[float | None, typer.Option("--min-score", min=0.0, max=1.0, help="Abstention threshold [default: as `qa ask`].")] = None,
    sample: Annotated[int | None, typer.Option("--sample", min=1, help="Evaluate N evenly spaced questions.")] = None,
    every: Annotated[int | None, typer.Option("--every", min=1, help="Evaluate every K-th question.")] = None,
    show_failures: Annotated[bool, typer.Option("--show-failures", help="List each missed question.")] = False,
    calibrate: Annotated[bool, typer.Option("--calibrate", help="Find the threshold that maximises overall accuracy.")] = False,
    store: Annotated[bool, typer.Option("--store", help="With --calibrate: save the threshold with the index for `qa ask`.")] = False,
    rerank: RerankOption = True,
    fusion: FusionOption = None,
    reader: ReaderOption = None,
    articles: Annotated[Articles | None, typer.Option("--articles", help="SQuAD only: ask the questions of the articles at odd or even positions (from 0); the corpus stays whole.")] = None,
    fail_under: Annotated[list[str] | None, typer.Option("--fail-under", help="NAME=VALUE: exit 1 if a metric is below VALUE (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate `qa ask` against a gold Q&A set: retrieval, citation and answer metrics."""
    from qa import evaluate

    floors = evaluate.parse_floors(fail_under or [])
    if store and not calibrate:
        raise typer.BadParameter("--store needs --calibrate", param_hint="--store")
    if not gold.is_file():
        raise BadInput(f"gold set not found: {gold}")
    settings = _settings(index, fusion, reader)
    if evaluate.is_squad(gold):
        engine, questions = _squad_engine(gold, settings, index, articles.value if articles else None)
    elif articles is not None:
        raise BadInput("--articles applies to SQuAD files only")
    else:
        questions = evaluate.load_gold(gold)
        engine = _open(settings, _given(index))
    questions = evaluate.subset(questions, sample=sample, every=every)
    threshold = engine.min_score if min_score is None else min_score

    with _bars() as bars:
        tick = bars("Evaluating", len(questions)) if bars else None
        results = evaluate.run(engine, questions, top_k=top_k, retriever=retriever, min_score=threshold,
                               rerank=rerank, progress=tick)
    summary = {"gold": str(gold), "retriever": (retriever or settings.retriever).value, "rerank": rerank,
               "fusion": settings.fusion.value, "reader": settings.reader.value,
               "min_score": threshold, **evaluate.summarize(results)}
    if calibrate:
        best, accuracy = evaluate.calibrate(results)
        summary["calibrated_min_score"] = best
        summary["calibrated_overall_accuracy"] = accuracy
        if store:
            engine.index.store_calibration({"min_score": best, "reader": settings.reader.value, "gold": gold.name,
                                            "questions": len(results), "overall_accuracy": accuracy})
    if out is not None:
        with out.open("w", encoding="utf-8") as handle:
            for r in results:
                handle.write(json.dumps({"id": r.gold.id, **r.answer}, ensure_ascii=False) + "\n")
    missed = evaluate.failures(results) if show_failures else []
    if as_json:
        sys.stdout.write(json.dumps({**summary, **({"failures": missed} if show_failures else {})},
                                    ensure_ascii=False) + "\n")
    else:
        _render_summary(_stdout(), summary, missed if show_failures else None)
    broken = evaluate.below_floors(summary, floors)
    if broken:
        _say(f"qa: eval below floor: {'; '.join(broken)}")
        raise typer.Exit(1)


@app.command("show")
@_reports_errors
def show_command(
    target: Annotated[str, typer.Argument(help="A file as cited (report.pdf), a citation (report.pdf:p3:¶2 or report.pdf:#2), or - for an answer's JSON on stdin.")],
    index: IndexOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the text a file is cited in, or a cited paragraph with its quote highlighted."""
    from qa import cite
    from qa.index import Index

    settings = _settings(index)
    _require_index(settings, _given(index))
    engine_index = Index.open(settings.index)
    if target == "-":
        file, paragraph, start, end, text = cite.from_json(sys.stdin.read())
        found = cite.quote(engine_index, file, paragraph, span=(start, end), text=text)
    else:
        file, page, number = cite.lookup(engine_index, target)
        if number is None:
            layer = engine_index.layer(file)
            if as_json:
                sys.stdout.write(json.dumps(cite.layer_dict(file, layer), ensure_ascii=False) + "\n")
            else:
                shown = cite.page_text(layer, file, page) if page is not None else layer.text
                sys.stdout.write(shown + ("" if shown.endswith("\n") else "\n"))
                read = [p.page for p in layer.pages if p.ocr and page in (None, p.page)]
                if read:  # on stderr, so that stdout stays the exact text the offsets count in
                    _say(f"note: read with OCR (no text layer): page {', '.join(map(str, read))}")
            return
        found = cite.quote(engine_index, file, number, page)
    if as_json:
        sys.stdout.write(json.dumps(found.to_dict(), ensure_ascii=False) + "\n")
    else:
        _render_quote(_stdout(), found)
    if found.status != "unchanged":
        _say(f"warning: {found.note}")


@app.command("mcp")
@_reports_errors
def mcp_command(index: IndexOption = None, reader: ReaderOption = None) -> None:
    """Serve AI assistants over MCP on stdin/stdout: tools ask, search, show and info."""
    from qa import mcp_server
    from qa.service import Service

    mcp_server.run(Service(_settings(index, reader=reader), notice=lambda message: _say(f"notice: {message}")))


@app.command("serve")
@_reports_errors
def serve_command(
    index: IndexOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; 127.0.0.1 keeps it to this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free one).")] = 8000,
    reader: ReaderOption = None,
) -> None:
    """Serve HTTP clients the --json objects: GET /ask?q=, /search?q=, /show?file=, /info, /health."""
    from qa import http_api
    from qa.service import Service

    service = Service(_settings(index, reader=reader), notice=lambda message: _say(f"notice: {message}"))
    http_api.run(service, host, port, announce=lambda message: _say(f"qa: {message}"))


def _render_quote(out: Console, found) -> None:
    from rich.panel import Panel
    from rich.text import Text

    paragraph = found.paragraph
    body = Text(paragraph.text)
    body.stylize("bold black on yellow", found.start - paragraph.start, found.end - paragraph.start)
    page = f" p{found.page}" + (" (OCR)" if found.ocr else "") if found.page else ""
    title = Text.assemble((f"{found.file}{page} ¶{paragraph.number}", "bold cyan"), f" (line {paragraph.line}) ",
                          f"{found.start}-{found.end}")
    out.print(Panel(body, title=title, title_align="left"))
    if found.status == "unchanged":
        out.print(Text(found.note, style="dim"))


def _render_summary(out: Console, summary: dict, missed: list[dict] | None) -> None:
    from rich.table import Table

    from qa.evaluate import GRADED_BY_CONTENT, METRICS

    table = Table(title=f"qa eval {summary['gold']} ({summary['questions']} questions: "
                        f"{summary['answerable']} answerable, {summary['unanswerable']} unanswerable)")
    table.add_column("metric")
    table.add_column("name", style="dim")
    table.add_column("value", justify="right")
    for name, (label, _) in METRICS.items():
        value = summary.get(name)
        table.add_row(label, name, "n/a" if value is None else str(value))
    table.add_row("abstention threshold", "min_score", str(summary["min_score"]))
    if "calibrated_min_score" in summary:
        table.add_row("calibrated threshold", "calibrated_min_score", str(summary["calibrated_min_score"]))
        table.add_row("overall accuracy at it", "calibrated_overall_accuracy",
                      str(summary["calibrated_overall_accuracy"]))
    out.print(table)
    if summary.get("graded_by_content"):
        out.print(f"{summary['graded_by_content']} of the {summary['answerable']} answerable questions have no "
                  f"citations and were {GRADED_BY_CONTENT}.", markup=False)
    if missed is not None:
        out.print(f"{len(missed)} failures:")
        for item in missed:
            out.print(f"[bold]{item['id']}[/] {item['question']}", markup=True)
            out.print(f"   expected {item['expected']} at {', '.join(item['expected_at']) or '-'}", markup=False)
            out.print(f"   got      {item['got']!r} {item['got_at']} (confidence {item['confidence']})",
                      markup=False)


def _where(hit_or_citation) -> str:
    c = getattr(hit_or_citation, "citation", hit_or_citation)
    page = f" p{c.page}" + (" (OCR)" if c.ocr else "") if c.page else ""
    return f"{c.file}{page} ¶{c.paragraph} (line {c.line})"


def _render_answer(out: Console, answer: Answer) -> None:
    """The answer once, with its citation and confidence, then the passages as an indented list;
    the passage the answer was read from is marked, with the answer highlighted in it."""
    from rich.text import Text

    span = answer.span
    if span is None:
        out.print(Text("No answer found in the indexed documents.", style="bold yellow"))
        if answer.passages:
            out.print(Text("Closest passages:", style="dim"))
        _render_hits(out, answer.passages)
        return
    out.print(Text.assemble(("Answer", "bold green"), "  ", (_where(span.citation), "cyan"),
                            f"  confidence {span.score:.2f}"))
    _indented(out, Text(span.text, style="bold"), 2)
    out.print(Text("Passages:", style="dim"))
    _render_hits(out, answer.passages, span)


def _render_hits(out: Console, hits: list[Hit], span: Span | None = None) -> None:
    """Passages as a numbered list: the citation and score on the first line, the text indented
    under it (cut at 300 characters, but for the answer's own passage)."""
    from rich.text import Text

    for rank, hit in enumerate(hits, start=1):
        c = hit.citation
        holds = span is not None and (c.file, c.paragraph) == (span.citation.file, span.citation.paragraph)
        out.print(Text.assemble((f"{rank:>2}. ", "bold"), (_where(hit), "cyan"), f"  score {hit.score:.4f}",
                                ("  ← the answer", "green") if holds else ""))
        if holds and span is not None:
            if hit.text.strip() == span.text.strip():
                continue  # the answer is the whole passage: shown once, above
            body = Text(hit.text)
            body.stylize("bold black on yellow", span.citation.start - c.start, span.citation.end - c.start)
        else:
            body = Text(hit.text if len(hit.text) <= 300 else hit.text[:297] + "...")
        _indented(out, body, 4)


def _indented(out: Console, text: Text, indent: int) -> None:
    """Text wrapped to the console's width less ``indent``, each line indented by it."""
    from rich.text import Text

    for line in text.wrap(out, max(20, out.width - indent)):
        line.rstrip()
        out.print(Text(" " * indent) + line)


def main() -> None:
    """Entry point of the `qa` command."""
    app()
