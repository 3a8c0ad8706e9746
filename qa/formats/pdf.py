"""PDF: the text layer with page boundaries, through pdfminer.six's layout analysis.

    >>> from qa.formats import pdf
    >>> layer = pdf.extract(Path("report.pdf").read_bytes())        # doctest: +SKIP
    >>> layer.pages[2]                                              # doctest: +SKIP
    Page(page=3, start=5120, end=7804)

pdfminer groups characters into lines and lines into text boxes, and orders the
boxes for reading (a left column before a right one). Each box is a paragraph,
split again where a line starts indented under a flush left edge. Lines are joined
with spaces, a word hyphenated at a line end is joined again, a paragraph that runs
on over a page break stays one paragraph, and lines repeated near the top or bottom
of most pages (running headers, footers, page numbers) are left out.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass

from qa.formats.base import ExtractionFailed, LayerBuilder, TextLayer

VERSION = 1
LIBRARY = "pdfminer.six"
MARGIN = 0.15  # share of the page height at top and bottom where running headers and footers live
_DIGITS = re.compile(r"\d+")
_END_OF_SENTENCE = tuple(".!?:;\"”’)]")


@dataclass(frozen=True)
class Line:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    box: int  # which of pdfminer's text boxes it came from

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1.0)


def extract(data: bytes) -> TextLayer:
    """The text layer of a PDF's bytes.

    Raises:
        ExtractionFailed: encrypted, damaged or truncated, or without a text layer (scanned).
    """
    pages = _read_lines(data)
    running = _running_lines(pages)
    texts: list[list[str]] = []
    open_ended: list[bool] = []
    for lines, height in pages:
        boxes = Counter(line.box for line in lines)
        paragraphs = _paragraphs([line for line in lines if not (_apart(line, boxes, height)
                                                                 and _key(line.text) in running)])
        texts.append([_join(p) for p in paragraphs])
        right = max((line.x1 for p in paragraphs for line in p), default=0.0)
        # The page's last line reaches the right edge of the text: its paragraph did not end there.
        open_ended.append(bool(paragraphs) and paragraphs[-1][-1].x1 >= right - paragraphs[-1][-1].height)
    # A paragraph that runs on over a page break: the joiner it continues with, by page.
    joiners: dict[int, str] = {}
    for number in range(1, len(texts)):
        before, after = texts[number - 1], texts[number]
        if before and after and _runs_on(before[-1], after[0], open_ended[number - 1]):
            joiners[number] = "" if before[-1].endswith("-") else " "
            if _hyphenated(before[-1], after[0]):
                before[-1] = before[-1][:-1]
    layer = LayerBuilder("pdf")
    for number, page in enumerate(texts):
        layer.start_page()
        for i, text in enumerate(page):
            if i == 0 and number in joiners:
                layer.extend(text, joiner=joiners[number])
            else:
                layer.add(text)
    built = layer.build()
    if not built.text.strip():
        raise ExtractionFailed("no text layer; OCR is not supported")
    return built


def _read_lines(data: bytes) -> list[tuple[list[Line], float]]:
    """Each page's text lines in pdfminer's reading order, and the page's height."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams, LTTextBox, LTTextLine
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    pages = []
    try:
        manager = PDFResourceManager()
        device = PDFPageAggregator(manager, laparams=LAParams())
        interpreter = PDFPageInterpreter(manager, device)
        for page in PDFPage.get_pages(io.BytesIO(data)):
            interpreter.process_page(page)
            layout = device.get_result()
            lines = []
            boxes = [item for item in layout if isinstance(item, LTTextBox)]
            for number, box in enumerate(boxes):
                for item in box:
                    if isinstance(item, LTTextLine):
                        text = item.get_text().strip()
                        if text:
                            lines.append(Line(text, item.x0, item.y0, item.x1, item.y1, number))
            pages.append((lines, float(layout.height)))
    except PDFPasswordIncorrect:
        raise ExtractionFailed("encrypted PDF (it needs a password)") from None
    except PDFEncryptionError as exc:
        raise ExtractionFailed(f"encrypted PDF ({exc})") from None
    except Exception as exc:  # pdfminer's many parse errors, and worse on damaged files
        raise ExtractionFailed(f"not a readable PDF, damaged or truncated ({type(exc).__name__})") from None
    if not pages:
        raise ExtractionFailed("not a readable PDF, damaged or truncated (no pages)")
    return pages


def _key(text: str) -> str:
    """What a running header or footer has in common from page to page: digits (page numbers) aside."""
    return " ".join(_DIGITS.sub("#", text).lower().split())


def _apart(line: Line, boxes: Counter[int], height: float) -> bool:
    """Whether a line could be a running header or footer: in the top or bottom margin, in a text
    box of its own (or of two lines), set apart from the body as headers are."""
    middle = (line.y0 + line.y1) / 2
    if height * MARGIN <= middle <= height * (1 - MARGIN):
        return False
    return boxes[line.box] <= 2


def _running_lines(pages: list[tuple[list[Line], float]]) -> set[str]:
    """Lines set apart in the top or bottom margin that repeat on at least half of the pages (and two)."""
    seen: Counter[str] = Counter()
    for lines, height in pages:
        boxes = Counter(line.box for line in lines)
        seen.update({_key(line.text) for line in lines if _apart(line, boxes, height)})
    need = max(2, (len(pages) + 1) // 2)
    return {key for key, count in seen.items() if count >= need}


def _paragraphs(lines: list[Line]) -> list[list[Line]]:
    """Consecutive lines of one text box form a paragraph, except where a line starts indented
    under the box's flush left edge after a line that stopped short (a first-line indent with no
    space between paragraphs); and a box that stops mid-sentence runs on into the next one when
    that one continues it just below, in lower case, in the same column."""
    groups: list[list[Line]] = []
    for group in _split_boxes(lines):
        previous = groups[-1] if groups else None
        if previous and _continues(previous, group):
            previous.extend(group)
        else:
            groups.append(group)
    return groups


def _continues(before: list[Line], after: list[Line]) -> bool:
    last, first = before[-1], after[0]
    height = max(last.height, first.height)
    return (not _join(before).endswith(_END_OF_SENTENCE) and _join(after)[:1].islower()
            and abs(first.x0 - before[0].x0) < 2 * height and 0 <= last.y0 - first.y1 < 1.5 * height)


def _split_boxes(lines: list[Line]) -> list[list[Line]]:
    groups: list[list[Line]] = []
    by_box: dict[int, list[Line]] = {}
    order: list[int] = []
    for line in lines:
        if line.box not in by_box:
            order.append(line.box)
        by_box.setdefault(line.box, []).append(line)
    for box in order:
        own = by_box[box]
        edges = Counter(round(line.x0) for line in own)
        left, flush = edges.most_common(1)[0]
        right = max(line.x1 for line in own)
        current: list[Line] = []
        for line in own:
            indent = line.x0 - left
            if current and len(own) >= 3 and flush >= 2 and line.height * 0.8 < indent < line.height * 4 \
                    and abs(current[-1].x0 - left) < 1.5 and current[-1].x1 < right - 1.5 * line.height:
                groups.append(current)
                current = []
            current.append(line)
        groups.append(current)
    return groups


def _join(lines: list[Line]) -> str:
    """The lines of a paragraph as one line: a word hyphenated at a line end is joined again."""
    text = ""
    for line in lines:
        part = " ".join(line.text.split())
        if not text:
            text = part
        elif _hyphenated(text, part):
            text = text[:-1] + part
        elif text.endswith("-"):
            text += part  # "U.S.-" / "designed": the hyphen belongs to the word
        else:
            text += " " + part
    return text


def _hyphenated(before: str, after: str) -> bool:
    """Whether a line ending ``before`` broke a word with a hyphen: "extra-" then "ordinary"."""
    return len(before) >= 2 and before.endswith("-") and before[-2].isalpha() and before[-2].islower() \
        and after[:1].islower()


def _runs_on(previous: str, text: str, open_ended: bool) -> bool:
    """Whether a page's first paragraph continues the last one of the page before: that one
    stopped mid-sentence, and this one starts in lower case or that one's last line was full."""
    return not previous.rstrip().endswith(_END_OF_SENTENCE) and (text[:1].islower() or open_ended)
