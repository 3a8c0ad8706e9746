"""OCR for PDF pages without a text layer: Tesseract (Debian ``tesseract-ocr``) on pypdfium2's rendering.

    >>> from qa.formats import ocr
    >>> read = ocr.reader()                      # None when Tesseract is not installed
    >>> read(Path("scan.pdf").read_bytes(), 0)   # doctest: +SKIP
    ['First paragraph of page 1 as Tesseract read it.', ...]

A page is rendered at `DPI` in grey and handed to the ``tesseract`` program, whose TSV output
gives every word with its block, paragraph and line; each of Tesseract's paragraphs becomes
one paragraph of the text layer, a word hyphenated at a line end joined again.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

DPI = 300
LANGUAGE = "eng"
TIMEOUT = 120  # seconds for one page

Reader = Callable[[bytes, int], list[str]]


def reader() -> Reader | None:
    """A function reading page ``number`` (0-based) of a PDF's bytes into paragraphs, or None when
    the ``tesseract`` program or the pypdfium2 package is missing."""
    program = shutil.which("tesseract")
    if program is None:
        return None
    try:
        import pypdfium2  # noqa: F401
    except ImportError:
        return None

    def read(data: bytes, number: int) -> list[str]:
        return paragraphs(_tesseract(program, _render(data, number)))

    return read


def _render(data: bytes, number: int) -> bytes:
    """The page as a binary PGM image at `DPI`."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        bitmap = document[number].render(scale=DPI / 72, grayscale=True)
        pixels = bitmap.to_numpy()
        height, width = pixels.shape[:2]
        return f"P5\n{width} {height}\n255\n".encode() + pixels.reshape(height, width, -1)[:, :, 0].tobytes()
    finally:
        document.close()


def _tesseract(program: str, image: bytes) -> str:
    result = subprocess.run([program, "stdin", "stdout", "-l", LANGUAGE, "tsv"], input=image, capture_output=True,
                            timeout=TIMEOUT, check=False)
    if result.returncode != 0:
        return ""
    return result.stdout.decode("utf-8", "replace")


def paragraphs(tsv: str) -> list[str]:
    """Tesseract's TSV output as paragraphs: words of one (block, paragraph) joined, lines by spaces."""
    found: dict[tuple[int, int], list[list[str]]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        lines = found.setdefault((int(cells[2]), int(cells[3])), [])
        line = int(cells[4])
        while len(lines) < line:
            lines.append([])
        lines[line - 1].append(cells[11].strip())
    result = []
    for lines in found.values():
        text = ""
        for words in lines:
            part = " ".join(words)
            if not part:
                continue
            if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and part[:1].islower():
                text = text[:-1] + part
            else:
                text = f"{text} {part}" if text else part
        if text:
            result.append(text)
    return result
