"""Citations, the other way round: from ``report.pdf:p3:¶2`` or an answer's JSON back to the text.

    >>> from qa.cite import parse
    >>> parse("report.pdf:p3:¶2")
    ('report.pdf', 3, 2)
    >>> parse("notes/a.md:#4")
    ('notes/a.md', None, 4)

`quote` finds the paragraph (and the quoted span) in the index's stored text layer and
checks it against the file as it is now: unchanged, changed but the quote still where it
was, changed so that it is not, or gone. This is what ``qa show`` prints; `Quote.to_dict` and
`layer_dict` are its ``--json``, and what ``qa mcp`` and ``qa serve`` answer for ``show``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.corpus import line_of
from qa.errors import BadInput, NotIndexed
from qa.types import Context

if TYPE_CHECKING:
    from qa.formats import TextLayer
    from qa.index import Index
    from qa.types import Paragraph

_CITATION = re.compile(r"^(?P<file>.+?)(?::p(?P<page>\d+))?(?::(?:¶|#|para)\s*(?P<paragraph>\d+))?$")
_LINE_END = re.compile(r"\r\n|\r|\n")
LINES_AROUND = 2  # lines of the text layer shown before and after a quote (`Quote.context`)


@dataclass(frozen=True)
class Quote:
    """A cited span in its paragraph, and how the file stands now.

    Attributes:
        file: the cited file's name.
        paragraph: the paragraph that holds it (from the index).
        start: the span's first character in the file's text layer.
        end: one past its last.
        page: the PDF page of ``start``; None for other formats.
        ocr: that page's text was read with OCR; only then is it in `to_dict`.
        status: ``unchanged``, ``intact`` (the file changed, but the quote is still at its
            offsets), ``changed`` (it is not) or ``missing`` (the file is gone).
        note: one line saying what ``status`` means for this quote.
        context: the lines that hold the quote and `LINES_AROUND` lines either side, from the
            text layer (see `lines_around`).
    """

    file: str
    paragraph: Paragraph
    start: int
    end: int
    page: int | None
    status: str
    note: str
    context: Context
    ocr: bool = False

    @property
    def text(self) -> str:
        return self.paragraph.text[self.start - self.paragraph.start : self.end - self.paragraph.start]

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``qa show CITATION --json``; ``line`` is the paragraph's."""
        result = {"file": self.file, "paragraph": self.paragraph.number, "page": self.page,
                  "line": self.paragraph.line, "start": self.start, "end": self.end, "text": self.text,
                  "paragraph_text": self.paragraph.text, "status": self.status, "note": self.note,
                  "context": self.context.to_dict()}
        return {**result, "ocr": True} if self.ocr else result


def layer_dict(file: str, layer: TextLayer) -> dict[str, Any]:
    """The JSON of ``qa show FILE --json``: the text a file's offsets refer to, and its pages."""
    return {"file": file, "format": layer.format, "text": layer.text, "pages": [p.to_dict() for p in layer.pages]}


def lines_around(text: str, start: int, end: int, lines: int = LINES_AROUND) -> Context:
    """The whole lines that ``text[start:end]`` touches, with ``lines`` more on each side
    (fewer at the start or end of the text), without their final line break.

    >>> lines_around("a\nb\nc\nd\ne", 4, 5, lines=1).text
    'b\nc\nd'
    """
    ends = [(m.start(), m.end()) for m in _LINE_END.finditer(text)]  # each line break: where it starts, ends
    first = sum(1 for _, after in ends if after <= start)  # the line that holds start, from 0
    last = sum(1 for before, _ in ends if before < end)  # the line that holds end's last character
    last = max(first, last if end > start else first)
    begin = ends[first - lines - 1][1] if first - lines - 1 >= 0 else 0
    stop = ends[last + lines][0] if last + lines < len(ends) else len(text)
    return Context(text[begin:stop], begin, stop, line_of(text, begin))


def parse(citation: str) -> tuple[str, int | None, int | None]:
    """A citation string's file, page and paragraph: ``FILE[:pPAGE][:¶N]`` (``#N`` for ``¶N``)."""
    match = _CITATION.match(citation.strip())
    if not match:
        raise BadInput(f"not a citation: {citation!r} (expected FILE, FILE:¶N or FILE:pP:¶N)")
    page, paragraph = match.group("page"), match.group("paragraph")
    return match.group("file"), int(page) if page else None, int(paragraph) if paragraph else None


def lookup(index: Index, target: str) -> tuple[str, int | None, int | None]:
    """`parse`, with the file given by its name as cited or by a path to it (`name_of`)."""
    file, page, paragraph = parse(target)
    return name_of(index, file), page, paragraph


def page_text(layer: TextLayer, file: str, page: int) -> str:
    """One page of a paged text layer."""
    for each in layer.pages:
        if each.page == page:
            return layer.text[each.start:each.end]
    raise BadInput(f"{file} has no page {page} (it has {len(layer.pages)})")


def from_json(source: str) -> tuple[str, int, int, int, str | None]:
    """File, paragraph, start, end and quoted text of a ``qa ask --json`` object (its answer), a
    ``qa search --json`` passage, or an answer object alone.

    Raises:
        BadInput: it is not JSON, or holds no citation (an abstention, or something else).
    """
    try:
        data: Any = json.loads(source or "null")
    except ValueError:
        raise BadInput("standard input is not JSON (expected the output of `qa ask --json`)") from None
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict) and "answer" in data and "question" in data:
        if data["answer"] is None:
            raise BadInput("the answer abstained: it cites nothing")
        data = data["answer"]
    try:
        return (str(data["file"]), int(data["paragraph"]), int(data["start"]), int(data["end"]),
                data.get("text") if isinstance(data.get("text"), str) else None)
    except (KeyError, TypeError, ValueError):
        raise BadInput("expected the JSON of an answer or passage (file, paragraph, start, end)") from None


def quote(index: Index, file: str, paragraph: int | None = None, page: int | None = None,
          span: tuple[int, int] | None = None, text: str | None = None) -> Quote:
    """The cited paragraph and span, checked against the index and the file as it is now.

    Args:
        file: the file's name as cited.
        paragraph: its paragraph number (default: the one holding ``span``, else the first on
            ``page``, else the first).
        page: the PDF page the citation names; checked against the paragraph's.
        span: ``(start, end)`` of the quote in the text layer (default: the whole paragraph).
        text: the quoted text, if the citation carries it: it must be what the index holds there.

    Raises:
        BadInput: no such file, page or paragraph in the index, or a span or text that does not
            match it.
    """
    layer = index.layer(file)
    if paragraph is None:
        paragraph = _first_paragraph(index, file, page) if span is None else _paragraph_holding(index, file, span)
    found = index.paragraph_at(file, paragraph)
    start, end = span if span is not None else (found.start, found.end)
    if not (found.start <= start <= end <= found.end):
        raise BadInput(f"{start}-{end} is not inside {file} ¶{paragraph} ({found.start}-{found.end})")
    if text is not None and layer.text[start:end] != text:
        raise BadInput(f"the quoted text is not what the index holds at {file} {start}-{end}")
    where = index.page_of(file, start)
    if page is not None and page != index.page_of(file, found.start) and page != where:
        raise BadInput(f"{file} ¶{paragraph} is on page {where}, not page {page}")
    status, note = _check(index, file, layer.text[start:end], start, end)
    return Quote(file, found, start, end, where, status, note, lines_around(layer.text, start, end),
                 index.ocr_at(file, start))


def name_of(index: Index, target: str) -> str:
    """The indexed name of a file given by its name as cited or by a path to it on disk."""
    names = {f["name"]: f["path"] for f in index.manifest["files"]}
    if target in names:
        return target
    path = Path(target)
    if path.exists():
        real = str(path.resolve())
        for name, indexed in names.items():
            if indexed == real:
                return name
    raise NotIndexed(f"{target} is not in the index in {index.folder} (see `qa info`)")


def _first_paragraph(index: Index, file: str, page: int | None) -> int:
    rows = sorted((row[1], row[2]) for row in index.file_rows(file))
    for number, start in rows:
        if page is None or index.page_of(file, start) == page:
            return int(number)
    raise BadInput(f"{file} has no indexed paragraph on page {page}")


def _paragraph_holding(index: Index, file: str, span: tuple[int, int]) -> int:
    start, end = span
    holding = sorted(row[1] for row in index.file_rows(file) if row[2] <= start <= row[3])
    if not holding or start > end:
        raise BadInput(f"{start}-{end} is not inside an indexed paragraph of {file}")
    return int(holding[0])


def _check(index: Index, file: str, quoted: str, start: int, end: int) -> tuple[str, str]:
    """How the quote stands against the file on disk now."""
    from qa.corpus import Skipped, read_document

    entry = next(f for f in index.manifest["files"] if f["name"] == file)
    path = Path(entry["path"])
    try:
        data = path.read_bytes()
    except OSError:
        return "missing", f"{file} is missing since it was indexed ({path}); the quote is from the index"
    if hashlib.sha256(data).hexdigest() == entry["sha256"]:
        return "unchanged", f"{file} is unchanged since it was indexed"
    try:
        current = read_document(path, file)[0].text
    except Skipped as exc:
        return "changed", f"{file} changed since it was indexed and can no longer be read ({exc})"
    if current[start:end] == quoted:
        return "intact", (f"{file} changed since it was indexed, but the quote is still at {start}-{end}; "
                         "run `qa index` to update the index")
    return "changed", (f"{file} changed since it was indexed: the quote is no longer at {start}-{end}; "
                       "what is shown is the indexed text; run `qa index` to update it")
