"""PDF: paragraphs from the page layout, with page boundaries, through pdfminer.six.

    >>> from qa.formats import pdf
    >>> layer = pdf.extract(Path("report.pdf").read_bytes())        # doctest: +SKIP
    >>> layer.pages[2]                                              # doctest: +SKIP
    Page(page=3, start=5120, end=7804, ocr=False)

pdfminer gives each line of text with its position and its characters' fonts and sizes,
and orders text boxes for reading (a left column before a right one). Paragraphs are
found from that layout, not from any one producer's habits:

- the body's font size and line spacing are measured over the whole document; a line
  much larger than the body, or set bold on a line of its own, is a heading;
- a paragraph ends at a wider gap than the body's line spacing, at a first-line indent
  after a line that ended a sentence, before a list item, after a line of a table of
  contents or an index (dot leaders, then a page number), or after a line that stops
  short although the next line's first word would have fitted (a line of ragged text
  stops short only because the next word did not fit; one of justified text never does);
- lines repeated in the top or bottom margin from page to page (running headers,
  footers, page numbers), and a line set apart above where the text of other pages starts,
  are left out; lines in a smaller size below the body at the foot of a page are
  footnotes, kept as paragraphs of their own, never inside body text;
- a paragraph that runs on over a page or column break stays one paragraph, and a word
  hyphenated at a line end is joined again;
- lines set in a monospaced face (in a document whose body is not) are code: a block of
  them is one paragraph that keeps its lines, found by search but never an answer.

A page with no text layer (a scan) is read with OCR when Tesseract is installed (`ocr`);
its text becomes that page's text layer and the page is marked ``ocr``. A page whose text
layer is much shorter than what is drawn on it gets a warning.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from qa.formats.base import ExtractionFailed, LayerBuilder, TextLayer

VERSION = 2
LIBRARY = "pdfminer.six"
MARGIN = 0.12  # share of the page height at top and bottom where running headers and footers live
HEADING_SIZE = 1.12  # a line this much larger than the body's font size is a heading
NOTE_SIZE = 0.92  # lines at least this much smaller than the body, at the foot of a page, are footnotes
PARAGRAPH_GAP = 1.3  # a gap between baselines this many times the body's line spacing ends a paragraph
# pdfminer splits a line where two characters are further apart than char_margin times their width;
# justified text stretches spaces far past the default 2.0, and columns are apart by more than that anyway
# because a line is grouped from characters in drawing order.
CHAR_MARGIN = 6.0
_DIGITS = re.compile(r"\d+")
_ROMAN = re.compile(r"^[ivxlcdm]+$|^[IVXLCDM]+$")
_END_OF_SENTENCE = tuple(".!?:;\"”’)]")
_LEADERS = re.compile(r"(?:\.\s?){4,}\s*[\divxlcIVXLC]+$")  # a table of contents' or an index's line
_NOTE_MARK = re.compile(r"^(?:\d{1,3}|[*†‡§¶])\s?\S")  # how a footnote starts
_BULLET = re.compile(r"^(?:[•◦▪▫‣∙●○■□➢►*–-]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,4}[.)])\s")
_BOLD = re.compile(r"bold|black|heavy|semibold|demi|cmbx|sfbx|\bbx|,b$", re.IGNORECASE)
_MONO = re.compile(r"mono|courier|cmtt|cmsltt|sftt|typewriter|consol|menlo|inconsolata|\+tt|code", re.IGNORECASE)
_OCR_HINT = "install Tesseract to read it (Debian/Ubuntu: apt-get install tesseract-ocr; macOS: brew install tesseract)"


@dataclass(frozen=True)
class Line:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    box: int  # which of pdfminer's text boxes it came from
    size: float = 10.0  # its characters' most common font size
    bold: bool = False  # every letter of it set in a bold face
    mono: bool = False  # nearly all of it set in a monospaced face: a line of code

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1.0)


@dataclass
class PageLayout:
    """What one page holds: its text lines in reading order, and what is drawn besides text."""

    lines: list[Line]
    width: float
    height: float
    image_share: float = 0.0  # share of the page covered by images
    curves: int = 0  # vector paths drawn (text drawn as outlines shows here)


@dataclass
class Style:
    """The body text's measures, over the whole document."""

    size: float  # font size
    leading: float  # distance between baselines, as a multiple of the font size
    bold_body: bool  # the body itself is bold: boldness says nothing of headings
    mono_body: bool = False  # the body itself is monospaced: a typescript, not code
    text_top: float = float("inf")  # where the text starts on the page whose text starts lowest


@dataclass
class _Page:
    flow: list[list[Line]] = field(default_factory=list)  # body paragraphs, in reading order
    notes: list[list[Line]] = field(default_factory=list)  # footnote paragraphs
    ocr: list[str] | None = None  # paragraphs read with OCR, for a page without a text layer


def extract(data: bytes, ocr: bool = True) -> TextLayer:
    """The text layer of a PDF's bytes.

    Args:
        ocr: read pages without a text layer with Tesseract, when it is installed.

    Raises:
        ExtractionFailed: encrypted, damaged or truncated, or without a text layer (and no OCR).
    """
    layouts = _read(data)
    warnings: list[str] = []
    style = _style(layouts)
    running = _running_lines(layouts)
    pages = [_page(layout, style, running) for layout in layouts]
    thin = [number for number, layout in enumerate(layouts) if _thin(layout)]
    reader = _ocr_reader() if ocr and thin else None
    if thin:
        if reader is None:
            warnings.append(f"{_pages_said(thin)} {'has' if len(thin) == 1 else 'have'} little or no text layer "
                            f"for what is drawn (scanned?); " + (_OCR_HINT if ocr else "OCR is off"))
        else:
            for number in thin:
                pages[number].ocr = reader(data, number)
                pages[number].flow, pages[number].notes = [], []
            empty = [number for number in thin if not pages[number].ocr]
            if empty:
                warnings.append(f"{_pages_said(empty)}: no text layer, and OCR found no text")
    layer = _assemble(pages, style)
    if not layer.text.strip():
        if thin and ocr and reader is not None:
            raise ExtractionFailed("no text layer, and OCR found no text on its pages")
        raise ExtractionFailed("no text layer (scanned?); " + (_OCR_HINT if ocr else "OCR is off"))
    return TextLayer(layer.format, layer.text, layer.regions, layer.pages, tuple(warnings))


def _pages_said(numbers: list[int]) -> str:
    shown = ", ".join(str(n + 1) for n in numbers[:8]) + (", …" if len(numbers) > 8 else "")
    return f"page {shown}" if len(numbers) == 1 else f"{len(numbers)} pages ({shown})"


def _read(data: bytes) -> list[PageLayout]:
    """Each page's text lines in pdfminer's reading order, its size, and what else it draws."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams, LTChar, LTCurve, LTFigure, LTImage, LTTextBox, LTTextLine
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    def drawn(items: Iterable[object], area: float) -> tuple[float, int]:
        images, curves = 0.0, 0
        for item in items:
            if isinstance(item, LTImage):
                images += max(item.width, 0) * max(item.height, 0) / area
            elif isinstance(item, LTCurve):
                curves += 1
            if isinstance(item, LTFigure):
                more_images, more_curves = drawn(item, area)
                images, curves = images + more_images, curves + more_curves
        return images, curves

    pages = []
    try:
        manager = PDFResourceManager()
        device = PDFPageAggregator(manager, laparams=LAParams(char_margin=CHAR_MARGIN))
        interpreter = PDFPageInterpreter(manager, device)
        for page in PDFPage.get_pages(io.BytesIO(data)):
            interpreter.process_page(page)
            layout = device.get_result()
            lines = []
            boxes = [item for item in layout if isinstance(item, LTTextBox)]
            for number, box in enumerate(boxes):
                for item in box:
                    if not isinstance(item, LTTextLine):
                        continue
                    text = " ".join(item.get_text().split())
                    if not text:
                        continue
                    chars = [c for c in item if isinstance(c, LTChar) and not c.get_text().isspace()]
                    sizes = Counter(round(c.size, 1) for c in chars)
                    letters = [c for c in chars if c.get_text().isalpha()]
                    bold = bool(letters) and all(_BOLD.search(c.fontname or "") for c in letters)
                    mono = bool(chars) and sum(bool(_MONO.search(c.fontname or "")) for c in chars) >= 0.8 * len(chars)
                    size = sizes.most_common(1)[0][0] if sizes else item.height
                    lines.append(Line(text, item.x0, item.y0, item.x1, item.y1, number, size, bold, mono))
            area = max(float(layout.width) * float(layout.height), 1.0)
            images, curves = drawn(layout, area)
            pages.append(PageLayout(lines, float(layout.width), float(layout.height), min(images, 1.0), curves))
    except PDFPasswordIncorrect:
        raise ExtractionFailed("encrypted PDF (it needs a password)") from None
    except PDFEncryptionError as exc:
        raise ExtractionFailed(f"encrypted PDF ({exc})") from None
    except Exception as exc:  # pdfminer's many parse errors, and worse on damaged files
        raise ExtractionFailed(f"not a readable PDF, damaged or truncated ({type(exc).__name__})") from None
    if not pages:
        raise ExtractionFailed("not a readable PDF, damaged or truncated (no pages)")
    return pages


def _thin(layout: PageLayout) -> bool:
    """Whether a page's text layer is much shorter than what is drawn on it: a scan (an image over
    much of the page) or text drawn as outlines (many paths), with hardly any text."""
    chars = sum(len(line.text) for line in layout.lines)
    if chars == 0:
        return layout.image_share > 0 or layout.curves > 0
    return chars < 200 and (layout.image_share >= 0.3 or layout.curves >= 300)


def _style(pages: list[PageLayout]) -> Style:
    """The body's font size (the size most characters are set in) and its line spacing."""
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            sizes[line.size] += len(line.text)
    size = sizes.most_common(1)[0][0] if sizes else 10.0
    steps: Counter[float] = Counter()
    bold = mono = 0
    body = 0
    for page in pages:
        for a, b in zip(page.lines, page.lines[1:]):
            if abs(a.size - size) < 0.5 and abs(b.size - size) < 0.5 and _overlap(a, b) > 0:
                step = (a.y0 - b.y0) / size
                if 0.9 < step < 2.5:
                    steps[round(step * 20) / 20] += 1
        for line in page.lines:
            if abs(line.size - size) < 0.5:
                body += len(line.text)
                bold += len(line.text) if line.bold else 0
                mono += len(line.text) if line.mono else 0
    leading = steps.most_common(1)[0][0] if steps else 1.2
    top = min((max(line.y1 for line in page.lines) for page in pages if page.lines), default=float("inf"))
    return Style(size, leading, bold > body / 2, mono > body / 2, top)


def _key(text: str) -> str:
    """What a running header or footer has in common from page to page: digits (page numbers) aside."""
    return " ".join(_DIGITS.sub("#", text).lower().split())


def _in_margin(line: Line, height: float) -> bool:
    middle = (line.y0 + line.y1) / 2
    return not height * MARGIN <= middle <= height * (1 - MARGIN)


def _edge_lines(page: PageLayout) -> list[Line]:
    """The lines a running header or footer could be: the top and bottom lines of the page (two
    of each, for a header over a rule or a two-line footer), in its margins."""
    ordered = sorted(page.lines, key=lambda line: -line.y1)
    edges = ordered[:2] + ordered[-2:]
    return [line for line in edges if _in_margin(line, page.height)]


def _running_lines(pages: list[PageLayout]) -> set[str]:
    """Edge lines that repeat (digits aside) on two pages or more: a chapter's running header may
    stand on only a few of its pages."""
    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({_key(line.text) for line in _edge_lines(page)})
    return {key for key, count in seen.items() if count >= 2}


def _page_number(text: str) -> bool:
    bare = text.strip("-–—|[]() ").replace("Page", "").replace("page", "").strip()
    return bare.isdigit() or bool(_ROMAN.match(bare)) or bool(re.fullmatch(r"\d+\s*(of|/)\s*\d+", bare))


def _page(layout: PageLayout, style: Style, running: set[str]) -> _Page:
    """A page's body paragraphs and footnotes, without its running headers and footers."""
    edges = {id(line) for line in _edge_lines(layout)}
    top = max(layout.lines, key=lambda line: line.y1, default=None)
    lines = [line for line in layout.lines  # a heading ("Chapter 2" atop two pages) is no running header
             if not (id(line) in edges and (_key(line.text) in running or _page_number(line.text))
                     and line.size < style.size * HEADING_SIZE)
             and not (line is top and _header(line, layout, style))]
    body = [line for line in lines if line.size >= style.size * NOTE_SIZE]
    floor = min((line.y0 for line in body), default=None)
    notes = [line for line in lines if floor is not None and line.size < style.size * NOTE_SIZE
             and line.y1 <= floor + 1]
    noted = {id(line) for line in notes}
    flow = [line for line in lines if id(line) not in noted]
    notes.sort(key=lambda line: (-line.y1, line.x0))
    return _Page(_paragraphs(flow, style), _paragraphs(notes, style, notes=True))


def _header(line: Line, page: PageLayout, style: Style) -> bool:
    """Whether the top line of a page is a running header though it repeats on no other page (a
    chapter's only other page): in the top margin, set apart from what follows by more than a
    paragraph's gap, and smaller than the body or, in the body's size and not bold, above where
    the text starts on the page that starts lowest."""
    below = max((other.y0 for other in page.lines if other is not line), default=0.0)  # the next baseline
    if not _in_margin(line, page.height) or line.y0 - below <= PARAGRAPH_GAP * style.leading * style.size:
        return False
    return line.size < style.size * NOTE_SIZE or (line.size <= style.size and not line.bold
                                                  and line.y0 >= style.text_top)


def _overlap(a: Line, b: Line) -> float:
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def _code(line: Line, style: Style) -> bool:
    return line.mono and not style.mono_body


def _heading(line: Line, style: Style) -> bool:
    if line.size >= style.size * HEADING_SIZE:
        return True
    return line.bold and not style.bold_body and not line.mono and line.size >= style.size * NOTE_SIZE \
        and len(line.text) <= 120 and not line.text.endswith((".", ","))


def _columns(lines: list[Line]) -> list[tuple[float, float]]:
    """For each line, the left and right edges of its column: those of its pdfminer text box when
    that holds other lines, else of the lines about as wide as it that it shares most of its width with."""
    boxes: dict[int, list[Line]] = {}
    for line in lines:
        boxes.setdefault(line.box, []).append(line)
    edges = []
    for line in lines:
        same = boxes[line.box]
        if len(same) < 2:
            same = [other for other in lines
                    if _overlap(line, other) > 0.5 * max(line.x1 - line.x0, other.x1 - other.x0)]
        edges.append((min(other.x0 for other in same), max(other.x1 for other in same)))
    return edges


def _fits(line: Line, following: Line, right: float) -> bool:
    """Whether the first word of ``following`` would have fitted at the end of ``line``: then the
    line ended there on purpose (a paragraph's last line), not because the column was full."""
    if line.text.endswith("-"):
        return False
    width = (following.x1 - following.x0) / max(len(following.text), 1)
    word = following.text.split(" ", 1)[0]
    return right - line.x1 > (len(word) + 1) * width * 1.2 + 0.25 * line.size


def _paragraphs(lines: list[Line], style: Style, notes: bool = False) -> list[list[Line]]:
    """Lines in reading order grouped into paragraphs (see the module's docstring); with ``notes``,
    footnotes: a line that starts with a footnote's mark after one that ended a sentence starts one."""
    groups: list[list[Line]] = []
    columns = _columns(lines)
    for i, line in enumerate(lines):
        mark = notes and i > 0 and _NOTE_MARK.match(line.text) and lines[i - 1].text.endswith(_END_OF_SENTENCE)
        if groups and not mark and not _breaks(lines[i - 1], line, columns[i - 1], columns[i], style):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _breaks(a: Line, b: Line, column_a: tuple[float, float], column_b: tuple[float, float], style: Style) -> bool:
    """Whether a paragraph ends between line ``a`` and the next line ``b`` of a page."""
    heading_a, heading_b = _heading(a, style), _heading(b, style)
    if heading_a != heading_b or abs(a.size - b.size) > 0.1 * max(a.size, b.size):
        return True
    step = a.y0 - b.y0
    below = b.y1 <= a.y1 - 0.5 * a.size and _overlap(a, b) > 0 and step < 4 * a.size
    if _code(a, style) or _code(b, style):  # a block of code is one paragraph that keeps its lines
        return not (_code(a, style) and _code(b, style) and below
                    and step <= PARAGRAPH_GAP * style.leading * max(a.size, b.size))
    if heading_a:  # a heading over two lines is one heading; two headings are two
        return not below or step > PARAGRAPH_GAP * style.leading * a.size or _fits(a, b, column_a[1])
    if not below:  # a new column, or a box elsewhere on the page: as over a page break
        return not _runs_on(a, b, column_a[1], column_b[0])
    if step > PARAGRAPH_GAP * style.leading * max(a.size, b.size) or _LEADERS.search(a.text):
        return True
    left, right = column_a
    ended = a.text.endswith(_END_OF_SENTENCE)
    if _BULLET.match(b.text) and (ended or _fits(a, b, right) or _BULLET.match(a.text) or a.x0 > left + a.size):
        return True
    indented = b.size * 0.8 < b.x0 - left < b.size * 6 and b.x0 - a.x0 > 0.8 * b.size
    if indented and not _BULLET.match(a.text) and (ended or _fits(a, b, right)):
        return True
    return _fits(a, b, right)


def _runs_on(a: Line, b: Line, right: float, left: float) -> bool:
    """Whether ``b``, the first line of a page or column, continues the paragraph of ``a``, the last
    line before it: ``a`` stopped mid-sentence, and ``b`` starts in lower case or ``a`` was full;
    ``b`` not indented as a new paragraph."""
    if a.text.endswith(_END_OF_SENTENCE) or _BULLET.match(b.text):
        return False
    indented = b.size * 0.8 < b.x0 - left < b.size * 6
    return b.text[:1].islower() or (not _fits(a, b, right) and not indented)


def _assemble(pages: list[_Page], style: Style) -> TextLayer:
    """The text layer: each page's paragraphs in order, a paragraph that runs on over a page break
    continued on the next page, and a page's footnotes before the paragraph still open at its foot
    (so that they lie on their own page and never inside body text)."""
    # Which pages' first paragraph continues the last one of the page before, and with what joiner.
    joiners: dict[int, str] = {}
    for number in range(1, len(pages)):
        before, after = pages[number - 1].flow, pages[number].flow
        if before and after and pages[number - 1].ocr is None and pages[number].ocr is None:
            a, b = before[-1][-1], after[0][0]
            right = max(line.x1 for p in before for line in p)
            left = min(line.x0 for p in after for line in p)
            if not _heading(a, style) and not _heading(b, style) and abs(a.size - b.size) < 0.1 * a.size \
                    and _runs_on(a, b, right, left):
                joiners[number] = "" if _hyphenated(a.text, b.text) or a.text.endswith("-") else " "
    layer = LayerBuilder("pdf")
    pending: list[list[Line]] = []  # footnotes waiting for a paragraph that spans a whole page to end
    for number, page in enumerate(pages):
        layer.start_page(ocr=page.ocr is not None)
        for text in page.ocr or ():
            layer.add(text)
        notes_done = False
        for i, paragraph in enumerate(page.flow):
            continued = i == 0 and number in joiners
            open_at_foot = i == len(page.flow) - 1 and number + 1 in joiners
            if not continued:
                for note in pending:
                    layer.add(_join(note))
                pending = []
                if open_at_foot:
                    for note in page.notes:
                        layer.add(_join(note))
                    notes_done = True
            text = _join(paragraph)
            if continued:
                if joiners[number] == "" and _hyphenated(layer.last_text(), text):
                    layer.trim(1)
                layer.extend(text, joiner=joiners[number])
            elif _code(paragraph[0], style):  # found, never an answer, its lines kept
                layer.add(text, "table", keep_lines=True)
            else:
                layer.add(text, "heading" if _heading(paragraph[0], style) else "prose")
        if notes_done:
            continue
        if page.flow and number in joiners and number + 1 in joiners and len(page.flow) == 1:
            pending += page.notes  # the paragraph covers this page and goes on
        else:
            for note in page.notes:
                layer.add(_join(note))
    for note in pending:
        layer.add(_join(note))
    return layer.build()


def _join(lines: list[Line]) -> str:
    """The lines of a paragraph as one line (a word hyphenated at a line end joined again), but
    lines of code as they are."""
    text = ""
    for i, line in enumerate(lines):
        part = line.text
        if not text:
            text = part
        elif line.mono and lines[i - 1].mono:
            text += "\n" + part
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


def _ocr_reader():  # type: ignore[no-untyped-def]
    """A function reading one page with OCR, or None when Tesseract (or pypdfium2) is missing."""
    from qa.formats import ocr

    return ocr.reader()
