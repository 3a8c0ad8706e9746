"""Writers for the documents the tests (and bench/formats.py) read: PDF, DOCX and HTML files made
on the spot from a list of blocks, so that no binary fixture is downloaded or committed.

A block is ``("heading", text)``, ``("p", text)`` or ``("table", [[cell, ...], ...])``.
PDFs use fpdf2 (a test extra) with the core Helvetica font in cp1252, which covers curly quotes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Block = tuple[str, Any]


def write_pdf(path: Path, blocks: Sequence[Block], *, header: str | None = None, footer: bool = False,
              columns: Sequence[Sequence[Block]] = (), page_break_every: int = 0,
              encrypt_password: str | None = None, font_size: float = 11) -> Path:
    """A PDF of ``blocks`` (A4, ``font_size`` points), optionally with a running header, a "Page N" footer on
    every page, a two-column section at the end (one list of blocks per column), a page break
    after every ``page_break_every`` blocks, and a user password."""
    from fpdf import FPDF

    class Document(FPDF):
        def header(self) -> None:
            if header:
                self.set_font("helvetica", size=9)
                self.cell(0, 8, header, align="C")
                self.ln(12)

        def footer(self) -> None:
            if footer:
                self.set_y(-15)
                self.set_font("helvetica", size=9)
                self.cell(0, 10, f"Page {self.page_no()}", align="C")

    pdf = Document()
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    for number, block in enumerate(blocks, start=1):
        _pdf_block(pdf, block, font_size)
        if page_break_every and number % page_break_every == 0 and number < len(blocks):
            pdf.add_page()
    if columns:
        pdf.set_font("helvetica", size=11)
        with pdf.text_columns(ncols=len(columns), gutter=10, text_align="LEFT", l_margin=pdf.l_margin) as cols:
            for i, column in enumerate(columns):
                if i:
                    cols.new_column()
                for _, text in column:
                    cols.write(text)
                    cols.ln()
                    cols.ln()
    if encrypt_password is not None:
        pdf.set_encryption(owner_password="owner", user_password=encrypt_password)
    pdf.output(str(path))
    return path


def _pdf_block(pdf: Any, block: Block, size: float) -> None:
    kind, content = block
    line = size * 0.46  # mm: about 1.3 line spacing
    if kind == "heading":
        pdf.set_font("helvetica", style="B", size=size + 3)
        pdf.multi_cell(0, line + 1.5, content, align="L")
    elif kind == "table":
        pdf.set_font("helvetica", size=size)
        for row in content:
            pdf.multi_cell(0, line, "    ".join(row), align="L")
    else:
        pdf.set_font("helvetica", size=size)
        pdf.multi_cell(0, line, content, align="L")
    pdf.ln(line * 0.8)


def write_docx(path: Path, blocks: Sequence[Block]) -> Path:
    """A DOCX of ``blocks``: headings styled Heading 1, paragraphs, tables."""
    import docx

    document = docx.Document()
    for kind, content in blocks:
        if kind == "heading":
            document.add_heading(content, level=1)
        elif kind == "table":
            table = document.add_table(rows=len(content), cols=len(content[0]))
            for r, row in enumerate(content):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        else:
            document.add_paragraph(content)
    document.save(str(path))
    return path


def write_html(path: Path, blocks: Sequence[Block], title: str = "", chrome: bool = True) -> Path:
    """An HTML page of ``blocks`` in ``<main>``, with (unless ``chrome`` is False) a navigation bar,
    a site header and footer, a script and a style that must not be read."""
    body = []
    for kind, content in blocks:
        if kind == "heading":
            body.append(f"<h2>{html.escape(content)}</h2>")
        elif kind == "table":
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in content)
            body.append(f"<table>{rows}</table>")
        else:
            body.append(f"<p>{html.escape(content)}</p>")
    main = "\n".join(body)
    chrome_top = ("<header><a href='/'>Site name</a></header><nav><a href='/'>Home</a> | <a href='/n'>News</a></nav>"
                  "<script>var tracking = 'do not index me';</script><style>p { color: red }</style>") if chrome else ""
    chrome_end = "<footer>Copyright 2024 Site name. All rights reserved.</footer>" if chrome else ""
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body>{chrome_top}<main>\n{main}\n</main>{chrome_end}</body></html>")
    path.write_text(page, encoding="utf-8")
    return path
