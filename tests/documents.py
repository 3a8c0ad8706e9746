"""Writers for the documents the tests (and bench/formats.py) read: PDF, DOCX and HTML files made
on the spot from a list of blocks, so that no binary fixture is downloaded or committed.

A block is ``("heading", text)``, ``("p", text)``, ``("table", [[cell, ...], ...])`` or, for the
PDF writers that set them, ``("note", text)`` (a footnote to the paragraph before it).

PDFs come from four producers, each set ragged or justified (`PRODUCERS`, `write_pdf_by`):
fpdf2 (core Helvetica in cp1252, not embedded; or an embedded TrueType font), reportlab
(core Times, not embedded; or an embedded TrueType font), WeasyPrint (HTML and CSS, fonts
embedded, real footnotes) and groff (``-ms`` macros, Times not embedded, real footnotes).
fpdf2, reportlab and WeasyPrint are test extras; groff is Debian's ``groff`` package.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Block = tuple[str, Any]
FONTS = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core


def write_pdf(path: Path, blocks: Sequence[Block], *, header: str | None = None, footer: bool = False,
              columns: Sequence[Sequence[Block]] = (), page_break_every: int = 0,
              encrypt_password: str | None = None, font_size: float = 11, justified: bool = False,
              embed_font: bool = False, page_format: str = "A4") -> Path:
    """A PDF of ``blocks`` (``page_format``, ``font_size`` points), optionally with a running header, a "Page N"
    footer on every page, a two-column section at the end (one list of blocks per column), a page break
    after every ``page_break_every`` blocks, and a user password; ``justified`` text, and DejaVu Serif
    embedded instead of the core Helvetica with ``embed_font``."""
    from fpdf import FPDF

    family = "dejavu" if embed_font else "helvetica"

    class Document(FPDF):
        def header(self) -> None:
            if header:
                self.set_font(family, size=9)
                self.cell(0, 8, header, align="C")
                self.ln(12)

        def footer(self) -> None:
            if footer:
                self.set_y(-15)
                self.set_font(family, size=9)
                self.cell(0, 10, f"Page {self.page_no()}", align="C")

    pdf = Document(format=page_format)
    if embed_font:
        pdf.add_font("dejavu", fname=str(FONTS / "DejaVuSerif.ttf"))
        pdf.add_font("dejavu", style="B", fname=str(FONTS / "DejaVuSerif-Bold.ttf"))
    else:
        pdf.core_fonts_encoding = "windows-1252"
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    for number, block in enumerate(blocks, start=1):
        _pdf_block(pdf, block, font_size, family, "J" if justified else "L")
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


def _pdf_block(pdf: Any, block: Block, size: float, family: str = "helvetica", align: str = "L") -> None:
    kind, content = block
    line = size * 0.46  # mm: about 1.3 line spacing
    if kind == "heading":
        pdf.set_font(family, style="B", size=size + 3)
        pdf.multi_cell(0, line + 1.5, content, align="L")
    elif kind == "table":
        pdf.set_font(family, size=size)
        for row in content:
            pdf.multi_cell(0, line, "    ".join(row), align="L")
    else:
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, line, content, align=align)
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


# Every producer the tests and bench/formats.py set PDFs with, each ragged and justified.
PRODUCERS = ("fpdf2", "reportlab", "weasyprint", "groff")


def write_pdf_by(producer: str, path: Path, blocks: Sequence[Block], *, justified: bool = False,
                 embed_font: bool = False, header: str | None = None, footer: bool = False,
                 font_size: float = 11) -> Path:
    """A PDF of ``blocks`` set by ``producer`` (one of `PRODUCERS`): A5 pages, a running header and a
    page-number footer when asked. Footnotes (``("note", text)`` blocks) are real footnotes with
    WeasyPrint and groff, and a small paragraph of their own elsewhere."""
    if producer == "fpdf2":
        return write_pdf(path, [(k, c) if k != "note" else ("p", c) for k, c in blocks], header=header, footer=footer,
                         font_size=font_size, justified=justified, embed_font=embed_font, page_format="A5")
    if producer == "reportlab":
        return _reportlab(path, blocks, justified, embed_font, header, footer, font_size)
    if producer == "weasyprint":
        return _weasyprint(path, blocks, justified, header, footer, font_size)
    if producer == "groff":
        return _groff(path, blocks, justified, header, footer, font_size)
    raise ValueError(f"unknown PDF producer {producer!r}; one of {', '.join(PRODUCERS)}")


def _reportlab(path: Path, blocks: Sequence[Block], justified: bool, embed_font: bool, header: str | None,
               footer: bool, size: float) -> Path:
    from reportlab.lib.enums import TA_JUSTIFY, TA_LEFT
    from reportlab.lib.pagesizes import A5
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    regular, bold = "Times-Roman", "Times-Bold"
    if embed_font:
        pdfmetrics.registerFont(TTFont("DejaVuSerif", str(FONTS / "DejaVuSerif.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSerif-Bold", str(FONTS / "DejaVuSerif-Bold.ttf")))
        regular, bold = "DejaVuSerif", "DejaVuSerif-Bold"
    body = ParagraphStyle("body", fontName=regular, fontSize=size, leading=size * 1.25, spaceAfter=size * 0.6,
                          alignment=TA_JUSTIFY if justified else TA_LEFT)
    heading = ParagraphStyle("heading", parent=body, fontName=bold, fontSize=size * 1.4, leading=size * 1.7,
                             alignment=TA_LEFT, spaceBefore=size * 0.4)
    note = ParagraphStyle("note", parent=body, fontSize=size * 0.8, leading=size)

    def decorate(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 8)
        width, height = A5
        if header:
            canvas.drawCentredString(width / 2, height - 30, header)
        if footer:
            canvas.drawCentredString(width / 2, 25, str(document.page))
        canvas.restoreState()

    story: list[Any] = []
    for kind, content in blocks:
        text = html.escape(content if kind != "table" else " ".join("    ".join(row) for row in content))
        story.append(Paragraph(text, {"heading": heading, "note": note}.get(kind, body)))
    story.append(Spacer(1, 1))
    document = SimpleDocTemplate(str(path), pagesize=A5, topMargin=50, bottomMargin=50, leftMargin=45, rightMargin=45)
    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return path


def _weasyprint(path: Path, blocks: Sequence[Block], justified: bool, header: str | None, footer: bool,
                size: float) -> Path:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    body = []
    for kind, content in blocks:
        if kind == "heading":
            body.append(f"<h2>{html.escape(content)}</h2>")
        elif kind == "note" and body:  # called from the end of the block before it
            end = body[-1].rfind("</")
            body[-1] = f"{body[-1][:end]}<span class='note'>{html.escape(content)}</span>{body[-1][end:]}"
        elif kind == "table":
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in content)
            body.append(f"<table>{rows}</table>")
        else:
            body.append(f"<p>{html.escape(content)}</p>")
    margins = (f"@top-center {{ content: '{header}'; font-size: 8pt }}" if header else "") + \
        ("@bottom-center { content: counter(page); font-size: 8pt }" if footer else "")
    style = (f"@page {{ size: A5; margin: 18mm 15mm; {margins} }} "
             f"body {{ font-family: 'DejaVu Serif'; font-size: {size}pt; line-height: 1.3; "
             f"text-align: {'justify' if justified else 'left'} }} h2 {{ font-size: {size * 1.4}pt }} "
             f"p {{ margin: 0 0 0.6em 0 }} .note {{ float: footnote; font-size: {size * 0.8}pt; text-align: left }}")
    page = f"<html><head><meta charset='utf-8'><style>{style}</style></head><body>{''.join(body)}</body></html>"
    HTML(string=page).write_pdf(str(path))
    return path


def _groff(path: Path, blocks: Sequence[Block], justified: bool, header: str | None, footer: bool,
           size: float) -> Path:
    import subprocess

    def escape(text: str) -> str:
        text = text.replace("\\", "\\e")
        return "\n".join("\\&" + line if line[:1] in (".", "'") else line for line in text.split("\n"))

    source = [f".nr PS {size}p", f".nr VS {size * 1.25}p", ".nr PO 0.6i", ".nr LL 4.6i", ".nr LT 4.6i", ".nr HM 0.8i",
              ".nr FM 0.8i", ".nr PD 0.4v", f".ds CH {escape(header) if header else ''}",
              f".ds CF {'%' if footer else ''}", ".pl 8.27i"]
    for kind, content in blocks:
        if kind == "heading":
            source += [".SH", escape(content)]
        elif kind == "note":
            source += [".FS", escape(content), ".FE"]
        elif kind == "table":
            source += [".LP"] + [escape("    ".join(row)) + "\n.br" for row in content]
        else:
            source += [".LP" if justified else ".LP\n.na", escape(content)]
    result = subprocess.run(["groff", "-k", "-ms", "-Tpdf", "-P-pa5"], input="\n".join(source).encode(),
                            capture_output=True, check=True)
    path.write_bytes(result.stdout)
    return path
