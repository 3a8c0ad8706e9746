"""What every format backend returns: a text layer, the roles of its parts, and its pages.

    >>> from qa.formats.base import LayerBuilder
    >>> layer = LayerBuilder("html")
    >>> layer.add("Title", "heading"); layer.add("First paragraph.")
    >>> layer.build().text
    'Title\\n\\nFirst paragraph.'

A text layer is plain text whose paragraphs are separated by one blank line, so
that the corpus stage's blank-line rule numbers them; every citation of a derived
file (PDF, HTML, DOCX) is an offset into it. Markdown has no derived layer: its
regions describe the raw source, and offsets stay offsets into the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# What a region of text is, for the corpus stage:
# - ``prose``: split into sentences, with the plain-text heuristics for headings and fragments;
# - ``heading``: a heading, context for what follows, never an answer;
# - ``table``: a passage that can be found but is never an answer (a row is not a sentence);
# - ``skip``: not indexed at all (code blocks, front matter), though it keeps its paragraph number.
ROLES = ("prose", "heading", "table", "skip")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


class ExtractionFailed(Exception):
    """A file whose text cannot be extracted; the message says why in a few words
    ("encrypted PDF", "no text layer; OCR is not supported")."""


@dataclass(frozen=True)
class Region:
    """A stretch of the text (``text[start:end]``) and what it is (one of `ROLES`).

    ``title`` is a heading's text without its markup (for Markdown ``## Costs`` or a setext
    heading), used as the context of the paragraphs under it.
    """

    start: int
    end: int
    role: str
    title: str = ""


@dataclass(frozen=True)
class Page:
    """Where one page of a paged document lies in its text layer (``text[start:end]``); 1-based."""

    page: int
    start: int
    end: int
    ocr: bool = False  # its text was read from the page's image with OCR (it had no text layer)

    def to_dict(self) -> dict[str, int | bool]:
        return {"page": self.page, "start": self.start, "end": self.end, "ocr": self.ocr}


@dataclass(frozen=True)
class TextLayer:
    """A document's text as `qa` reads and cites it.

    Attributes:
        format: ``text``, ``markdown``, ``pdf``, ``html`` or ``docx``.
        text: what offsets refer to: the decoded file for text and Markdown, else the extracted layer.
        regions: the roles of its parts, in order; empty means plain text (every part is prose).
        pages: for paged formats (PDF), each page's stretch of ``text``; empty otherwise.
        warnings: what the user should know of the extraction (pages without a text layer), one line each.
    """

    format: str
    text: str
    regions: tuple[Region, ...] = ()
    pages: tuple[Page, ...] = ()
    warnings: tuple[str, ...] = ()

    def page_of(self, offset: int) -> int | None:
        """The page that holds ``offset`` (between two pages: the next one), or None without pages."""
        return page_of(self.pages, offset)


def page_of(pages: tuple[Page, ...] | list[Page], offset: int) -> int | None:
    """The page of ``offset`` in a layer with these pages (see `TextLayer.page_of`)."""
    for page in pages:  # in order, so the first that ends after the offset holds it
        if offset < page.end:
            return page.page
    return pages[-1].page if pages else None


def clean(text: str, keep_lines: bool = False) -> str:
    """Text as a layer holds it: runs of spaces squeezed to one, no blank line inside a block,
    and (unless ``keep_lines``) no line break at all."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00ad", "")
    if not keep_lines:
        return " ".join(_SPACES.sub(" ", text.replace("\n", " ")).split(" ")).strip()
    lines = [_SPACES.sub(" ", line).rstrip() for line in _BLANK_LINES.sub("\n", text).split("\n")]
    return "\n".join(line for line in lines if line.strip()).strip("\n")


@dataclass
class LayerBuilder:
    """Assembles a text layer block by block, walking a cursor so every offset is exact.

    Blocks are separated by one blank line; `extend` continues the last block (a paragraph
    that runs on over a page break). `page` starts a new page at the cursor.
    """

    format: str
    _parts: list[str] = field(default_factory=list)
    _regions: list[Region] = field(default_factory=list)
    _pages: list[Page] = field(default_factory=list)
    _cursor: int = 0
    _page_open: bool = False
    _page_start: int | None = None  # where the open page's first text went
    _page_ocr: bool = False

    def add(self, text: str, role: str = "prose", keep_lines: bool = False) -> None:
        """Append a block (cleaned with `clean`); an empty one is dropped."""
        text = clean(text, keep_lines)
        if not text:
            return
        if self._parts:
            self._parts.append("\n\n")
            self._cursor += 2
        start = self._cursor
        self._mark_page(start)
        self._parts.append(text)
        self._cursor += len(text)
        self._regions.append(Region(start, self._cursor, role, text if role == "heading" else ""))

    def extend(self, text: str, joiner: str = " ") -> None:
        """Continue the last block with ``joiner`` and ``text`` (cleaned); like `add` if there is none."""
        text = clean(text)
        if not text:
            return
        if not self._regions:
            self.add(text)
            return
        last = self._regions[-1]
        piece = joiner + text
        self._mark_page(self._cursor + len(joiner))
        self._parts.append(piece)
        self._cursor += len(piece)
        self._regions[-1] = Region(last.start, self._cursor, last.role, last.title)

    def last_text(self) -> str:
        """The end of the last block so far: its last piece ("" if none)."""
        return self._parts[-1] if self._regions else ""

    def trim(self, count: int) -> None:
        """Drop the last ``count`` characters of the last block (a hyphen that joins a word again)."""
        last = self._regions[-1]
        count = min(count, last.end - last.start - 1)
        self._parts[-1] = self._parts[-1][:-count]
        self._cursor -= count
        self._regions[-1] = Region(last.start, self._cursor, last.role, last.title)

    def start_page(self, ocr: bool = False) -> None:
        """Close the current page (if any) and open the next one: it starts where its first text goes.
        ``ocr``: its text is read with OCR."""
        self.end_page()
        self._page_open, self._page_start, self._page_ocr = True, None, ocr

    def end_page(self) -> None:
        """Close the open page; one that got no text is an empty stretch at the cursor."""
        if self._page_open:
            start = self._cursor if self._page_start is None else self._page_start
            self._pages.append(Page(len(self._pages) + 1, start, self._cursor, self._page_ocr))
            self._page_open, self._page_start = False, None

    def _mark_page(self, offset: int) -> None:
        if self._page_open and self._page_start is None:
            self._page_start = offset

    def build(self) -> TextLayer:
        self.end_page()
        return TextLayer(self.format, "".join(self._parts), tuple(self._regions), tuple(self._pages))
