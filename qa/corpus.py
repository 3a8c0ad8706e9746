"""Corpus stage: files on disk → paragraphs and sentences with exact offsets.

    >>> from qa.corpus import split_paragraphs
    >>> [p.text for p in split_paragraphs("a.txt", "Title\\n\\nFirst line.\\nstill first.\\n")]
    ['Title', 'First line.\\nstill first.']

The citation contract: a paragraph is a block separated by blank lines; in a
file with no blank line at all, each non-empty line is a paragraph. Offsets are
into ``path.read_bytes().decode("utf-8")`` (no newline translation) for text and
Markdown, and into the extracted text layer (`qa.formats`) for PDF, HTML and DOCX,
found by walking a cursor through the text, never by searching for it.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.errors import BadInput
from qa.formats import DERIVED, SUFFIXES, Page, Region, TextLayer
from qa.types import Paragraph

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
# Bounds on a unit, measured on SQuAD v1.1 dev's Wikipedia paragraphs (2,067) and their sentences
# (10,255, Bling Fire): paragraphs p99.9 3,316 characters, longest 4,063; sentences p99.9 736,
# longest 1,412. A longer one (a text without blank lines or sentence punctuation) is cut at the
# best boundary within the bound, so memory, the reader's reach and what is shown stay bounded.
PARAGRAPH_CHARS = 4000
SENTENCE_CHARS = 1000
# Where to cut an overlong unit, best first: a line break, the end of a clause, a comma, a space.
_CUTS = (re.compile(r"\n"), re.compile(r"[.;:!?…][\"'”’)\]]*\s"), re.compile(r",\s"), re.compile(r"\s"))
_SENTENCE_END = tuple(".!;…")
_BINARY_PROBE = 8192
# Characters folded for lexical matching only; quotes and cites keep the raw text.
_FOLD = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"',
                       "‟": '"', "–": "-", "—": "-", "‐": "-", "‑": "-"})


@dataclass(frozen=True)
class Document:
    """A decoded source file.

    Attributes:
        name: path relative to its corpus root, ``/``-separated (the citation's ``file``).
        path: where it was read from.
        text: the text that offsets refer to: the decoded file, or its extracted text layer.
        encoding: ``utf-8``, or the fallback used when the bytes were not UTF-8; ``extracted``
            for a derived format.
        sha256: hash of the raw bytes, for change detection.
        format: ``text``, ``markdown``, ``pdf``, ``html`` or ``docx`` (`qa.formats`).
        regions: the roles of the text's parts (headings, tables, code); empty for plain text.
        pages: each page's stretch of ``text``, for PDFs.
    """

    name: str
    path: Path
    text: str
    encoding: str
    sha256: str
    format: str = "text"
    regions: tuple[Region, ...] = ()
    pages: tuple[Page, ...] = ()


# A derived file's stored text layer, by name, format and SHA-256 (see `read_document`).
Reuse = Callable[[str, str, str], TextLayer | None]


class Skipped(Exception):
    """A file that cannot be indexed; the message says why, in a few words."""


def fold(text: str) -> str:
    """Normalise text for lenient matching: NFKC, straight quotes and dashes, lower case."""
    return unicodedata.normalize("NFKC", text).translate(_FOLD).lower()


def read_document(path: Path, name: str, extracted: Reuse | None = None) -> tuple[Document, str | None]:
    """Read and decode one file, or extract its text layer (PDF, HTML, DOCX).

    Args:
        extracted: given a derived file's name, format and SHA-256, the text layer extracted from
            those very bytes by the current extractor (from the index), or None: it is extracted then.

    Returns:
        The document, and a warning when the bytes were not valid UTF-8 and a
        fallback decoding was used, or when its extraction has something to say
        (pages of a PDF without a text layer).

    Raises:
        Skipped: the file is unreadable, binary, empty, or its text cannot be extracted.
    """
    import hashlib

    from qa import formats

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Skipped(f"unreadable ({exc.strerror or exc})") from None
    fmt = formats.format_of(path) or "text"
    digest = hashlib.sha256(data).hexdigest()
    if fmt in DERIVED:
        try:
            layer = (extracted(name, fmt, digest) if extracted else None) or formats.extract(fmt, data)
        except formats.ExtractionFailed as exc:
            raise Skipped(str(exc)) from None
        except Exception as exc:  # a backend's library failing in a way it did not foresee: still one warning
            raise Skipped(f"its text could not be extracted ({type(exc).__name__}: {exc})") from None
        return (Document(name, path, layer.text, "extracted", digest, fmt, layer.regions, layer.pages),
                "; ".join(layer.warnings) or None)
    if b"\x00" in data[:_BINARY_PROBE]:
        raise Skipped("binary file")
    warning = None
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
        warning = f"not valid UTF-8, decoded as {encoding}"
    if not text.strip():
        raise Skipped("empty file")
    regions = formats.backend("markdown").regions(text) if fmt == "markdown" else []
    return Document(name, path, text, encoding, digest, fmt, tuple(regions)), warning


def discover(paths: Iterable[Path], skip: Path | None = None) -> tuple[list[tuple[Path, str]], list[str]]:
    """Find the indexable files under ``paths`` (folders recursively, or files).

    Hidden files and folders are skipped silently, and so is ``skip`` (the index
    being built, when it lies inside a corpus folder); files with other suffixes
    are skipped with a warning. Symlinked folders are not followed, so a link
    loop cannot trap the walk.

    Returns:
        ``(path, name)`` pairs in a stable order, and warnings.

    Raises:
        BadInput: a path does not exist, or two files would share a name.
    """
    found: list[tuple[Path, str]] = []
    warnings: list[str] = []
    for root in paths:
        if not root.exists():
            raise BadInput(f"corpus path not found: {root}")
        candidates = [(root, root.name)] if root.is_file() else list(_walk(root, skip))
        for path, name in candidates:
            if path.suffix.lower() in SUFFIXES:
                found.append((path, name))
            else:
                warnings.append(f"skipped {path}: not a {', '.join(SUFFIXES)} file")
    names: dict[str, Path] = {}
    for path, name in found:
        if name in names:
            raise BadInput(f"two files would both be cited as {name!r}: {names[name]} and {path}; "
                           "index their common parent folder instead")
        names[name] = path
    return found, warnings


def _walk(root: Path, skip: Path | None = None) -> Iterator[tuple[Path, str]]:
    # Links are not followed, so a folder's path under ``root`` is its real path under root's.
    real_root, real_skip = root.resolve(), skip.resolve() if skip else None
    skipped = root / real_skip.relative_to(real_root) if real_skip and real_root in real_skip.parents else None
    for folder, dirs, files in os.walk(root, onerror=None, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(folder, d) != skipped)
        for file in sorted(files):
            path = Path(folder, file)
            if file.startswith(".") or not path.is_file():
                continue
            yield path, path.relative_to(root).as_posix()


def split_paragraphs(name: str, text: str) -> list[Paragraph]:
    """Split a file's text into paragraphs with offsets, line numbers and heading flags.

    Args:
        name: the file's citation name.
        text: the decoded file text.

    Returns:
        Paragraphs numbered from 1 in file order.
    """
    lines = []  # (start, end_without_newline, line_number)
    cursor = 0
    for number, match in enumerate(_LINE.finditer(text), start=1):
        raw = match.group()
        content = raw.rstrip("\r\n")
        lines.append((cursor, cursor + len(content), number))
        cursor += len(raw)
    blank = [not text[s:e].strip() for s, e, _ in lines]
    blocks: list[list[tuple[int, int, int]]] = []
    if any(blank):
        current: list[tuple[int, int, int]] = []
        for line, is_blank in zip(lines, blank):
            if is_blank:
                if current:
                    blocks.append(current)
                current = []
            else:
                current.append(line)
        if current:
            blocks.append(current)
    else:
        blocks = [[line] for line in lines]

    paragraphs: list[Paragraph] = []
    for block in blocks:
        start, end = block[0][0], block[-1][1]
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end - start <= PARAGRAPH_CHARS:
            body = text[start:end]
            paragraphs.append(Paragraph(name, len(paragraphs) + 1, start, end, block[0][2], body,
                                        heading=len(block) == 1 and is_heading(body)))
            continue
        number, at = block[0][2], start
        for piece_start, piece_end in bounded(text, start, end, PARAGRAPH_CHARS):
            number += text.count("\n", at, piece_start)  # "\r" alone is counted as a line by `line_of`
            at = piece_start
            paragraphs.append(Paragraph(name, len(paragraphs) + 1, piece_start, piece_end,
                                        line_of(text, piece_start) if "\r" in text[start:end] else number,
                                        text[piece_start:piece_end]))
    return paragraphs


def bounded(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """``text[start:end]`` in pieces of at most ``limit`` characters, each cut at the best boundary in
    the second half of its stretch (a line break, then a clause's end, a comma, a space; else
    anywhere), with no whitespace at either end of a piece.

        >>> bounded("one two, three. four", 0, 20, 12)
        [(0, 8), (9, 20)]
    """
    pieces = []
    while end - start > limit:
        cut = start + limit
        window = text[start + limit // 2:start + limit]
        for pattern in _CUTS:
            last = max((match.end() for match in pattern.finditer(window)), default=None)
            if last is not None:
                cut = start + limit // 2 + last
                break
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        if piece_end > start:
            pieces.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


@dataclass(frozen=True)
class Part:
    """What a paragraph is, from its format's regions (`classify`).

    Attributes:
        role: ``prose``, ``heading``, ``table`` or ``skip`` (see `qa.formats.base.ROLES`).
        spans: the ``(start, end)`` stretches to split into sentences (prose only).
        title: the text of a heading inside it, without markup ("" if none).
    """

    role: str
    spans: tuple[tuple[int, int], ...]
    title: str = ""


def classify(paragraphs: Sequence[Paragraph], regions: Sequence[Region]) -> list[Part]:
    """For each paragraph, what it is: with no regions (plain text) every paragraph is prose;
    otherwise the regions it overlaps decide: headings and tables are never split into
    sentences, code and front matter never either, and a paragraph of nothing else is skipped."""
    parts = []
    cursor = 0
    for paragraph in paragraphs:
        if not regions:
            parts.append(Part("prose", ((paragraph.start, paragraph.end),)))
            continue
        while cursor < len(regions) and regions[cursor].end <= paragraph.start:
            cursor += 1
        inside = []
        at = cursor
        while at < len(regions) and regions[at].start < paragraph.end:
            inside.append(regions[at])
            at += 1
        roles = {r.role for r in inside} - {"skip"} if inside else {"prose"}
        title = " ".join(r.title for r in inside if r.role == "heading" and r.title)
        spans = tuple((max(r.start, paragraph.start), min(r.end, paragraph.end)) for r in inside if r.role == "prose")
        if not roles:
            parts.append(Part("skip", ()))
        elif "prose" in roles:
            parts.append(Part("prose", spans, title))
        elif "table" in roles:
            parts.append(Part("table", (), title))
        else:
            parts.append(Part("heading", (), title))
    return parts


def is_fragment(text: str) -> bool:
    """Whether a one-line paragraph is a title, heading, or bare list item rather than prose.

    Fragments ("U.S.-Japan Strategic Initiatives", "- Corporate Japan's Blow to
    US East Asia Policy") are never returned as answers on their own.
    """
    stripped = text.strip()
    if "\n" in stripped or "\r" in stripped:
        return False
    if stripped.startswith("#"):
        return True
    words = stripped.lstrip("-*•+ ").split()
    return 0 < len(words) <= 20 and not stripped.rstrip("\"'”’)").endswith(_SENTENCE_END)


def is_heading(text: str) -> bool:
    """Whether a paragraph is a title or section heading: a fragment that is not a list item."""
    return is_fragment(text) and not text.lstrip().startswith(("-", "*", "•", "+"))


def split_sentences(paragraph: Paragraph) -> list[tuple[int, int]]:
    """Sentence spans of a paragraph, as absolute ``(start, end)`` offsets in its file.

    Uses Bling Fire's sentence breaker, which knows abbreviations ("U.S.",
    "D.C.", "Dr.", "Corp.") and still splits "... the U.S. This summit ...".
    Line breaks inside a paragraph are treated as spaces, so wrapped lines do
    not end sentences.
    """
    import blingfire

    text = paragraph.text
    flat = text.replace("\r", " ").replace("\n", " ")
    _, offsets = blingfire.text_to_sentences_and_offsets(flat)
    spans = []
    cursor = 0
    for start, end in offsets:
        # Bling Fire reports character offsets; walk forward and skip whitespace
        # so each span is exact and in order even if its offsets drift.
        start = max(start, cursor)
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
            cursor = end
    if not spans:
        spans = [(0, len(text))]
    pieces = [piece for s, e in spans for piece in bounded(text, s, e, SENTENCE_CHARS)]
    return [(paragraph.start + s, paragraph.start + e) for s, e in pieces]


def line_of(text: str, offset: int) -> int:
    """1-based line number of ``offset`` (``\\r\\n``, ``\\r`` and ``\\n`` each end a line)."""
    head = text[:offset]
    return head.count("\n") + head.count("\r") - head.count("\r\n") + 1
