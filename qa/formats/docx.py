"""DOCX: paragraphs, headings and tables in document order, through python-docx.

    >>> from qa.formats import docx
    >>> docx.extract(Path("notes.docx").read_bytes()).text               # doctest: +SKIP
    'Minutes\\n\\nThe board met on 3 May.\\n\\nItem | Cost\\nRoof | 4,000'

A paragraph styled ``Title`` or ``Heading N`` is a heading; every other non-empty
paragraph is a paragraph; a table is one paragraph with a line per row, its cells
separated by `` | ``. Headers, footers, footnotes and comments are left out.
"""

from __future__ import annotations

import io
from typing import Any

from qa.formats.base import ExtractionFailed, LayerBuilder, TextLayer

VERSION = 1
LIBRARY = "python-docx"


def extract(data: bytes) -> TextLayer:
    """The text layer of a DOCX file's bytes.

    Raises:
        ExtractionFailed: not a readable DOCX file (damaged, truncated, another format), or no text.
    """
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        layer = LayerBuilder("docx")
        body = document.element.body
        for element in body.iterchildren():
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "p":
                paragraph = Paragraph(element, document)
                layer.add(paragraph.text, "heading" if _is_heading(paragraph) else "prose")
            elif tag == "tbl":
                layer.add("\n".join(_rows(Table(element, document))), "table", keep_lines=True)
    except Exception as exc:  # python-docx and its zip and XML readers fail in many ways on bad files
        raise ExtractionFailed(f"not a readable DOCX file, damaged or truncated ({type(exc).__name__})") from None
    built = layer.build()
    if not built.text.strip():
        raise ExtractionFailed("no text in the document")
    return built


def _is_heading(paragraph: Any) -> bool:
    try:
        name = paragraph.style.name if paragraph.style is not None else ""
    except (KeyError, ValueError):  # a style the document names but does not define
        name = ""
    return name == "Title" or name.startswith("Heading")


def _rows(table: Any) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if not cells or text != cells[-1]:  # a merged cell is repeated for every column it spans
                cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return rows
