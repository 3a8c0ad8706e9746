"""Document formats: PDF, HTML, DOCX and Markdown, made on the spot by tests/documents.py."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from documents import PRODUCERS, write_docx, write_html, write_pdf, write_pdf_by
from typer.testing import CliRunner

import qa
from qa.cli import app
from qa.corpus import Skipped, classify, read_document, split_paragraphs
from qa.formats import ExtractionFailed, extract, markdown
from qa.index import Index, build

PROSE = ("The committee met in Geneva on a cold morning and agreed on a budget of four million francs. "
         "Its chair said the plan would be reviewed every year by an independent panel of auditors. ")


def test_pdf_drops_running_headers_and_footers_joins_hyphens_and_reads_columns_in_order(tmp_path: Path):
    blocks = [("heading", "Annual Review"), ("p", "It was an extra-\nordinary year for the harbour.")]
    blocks += [("p", f"Section {i}. " + PROSE * 3) for i in range(12)]
    left = "Left column: " + "the ferry carried nine thousand people across the bay. " * 6
    right = "Right column: " + "the pier was rebuilt in stone after the storm. " * 6
    path = write_pdf(tmp_path / "review.pdf", blocks, header="ACME Harbour Board", footer=True,
                     columns=[[("p", left)], [("p", right)]])
    layer = extract("pdf", path.read_bytes())
    assert len(layer.pages) >= 2
    assert "ACME Harbour Board" not in layer.text and "Page 1" not in layer.text
    assert "It was an extraordinary year for the harbour." in layer.text
    # each column is read whole, the left one first, not line by line across the page
    assert f"{left.strip()}\n\n{right.strip()}" in layer.text
    paragraphs = layer.text.split("\n\n")
    assert paragraphs[0] == "Annual Review" and "Section 11." in layer.text
    # pages are 1-based stretches of the layer, in order, covering every paragraph
    assert [p.page for p in layer.pages] == list(range(1, len(layer.pages) + 1))
    assert all(a.end <= b.start for a, b in zip(layer.pages, layer.pages[1:]))
    assert layer.page_of(0) == 1 and layer.page_of(len(layer.text) - 1) == len(layer.pages)


def test_pdf_paragraph_running_over_a_page_break_stays_one_paragraph(tmp_path: Path):
    one_sentence = PROSE.replace(". ", ", ").replace("Its", "its") * 40  # the break falls mid-sentence
    path = write_pdf(tmp_path / "long.pdf", [("p", one_sentence), ("p", "The end.")], footer=True)
    layer = extract("pdf", path.read_bytes())
    assert len(layer.pages) == 2
    assert layer.text.count("\n\n") == 1  # two paragraphs, though the first covers two pages
    assert layer.text.startswith(one_sentence.strip()) and layer.page_of(layer.pages[1].start) == 2


def test_html_main_text_keeps_headings_and_drops_scripts_styles_and_navigation(tmp_path: Path):
    path = write_html(tmp_path / "page.html", [("heading", "Harbour news"), ("p", PROSE),
                                               ("table", [["Year", "Ships"], ["2023", "41"]])], title="The Harbour")
    layer = extract("html", path.read_bytes())
    assert layer.text.split("\n\n") == ["The Harbour", "Harbour news", PROSE.strip(), "Year | Ships\n2023 | 41"]
    assert [r.role for r in layer.regions] == ["heading", "heading", "prose", "table"]
    for chrome in ("Site name", "Home", "tracking", "color", "Copyright"):
        assert chrome not in layer.text


def test_docx_paragraphs_headings_and_table_rows_in_order(tmp_path: Path):
    table = ("table", [["Item", "Cost"], ["Roof", "4,000"]])
    blocks = [("heading", "Minutes"), ("p", PROSE), table, ("p", "Adjourned.")]
    path = write_docx(tmp_path / "minutes.docx", blocks)
    layer = extract("docx", path.read_bytes())
    assert layer.text.split("\n\n") == ["Minutes", PROSE.strip(), "Item | Cost\nRoof | 4,000", "Adjourned."]
    assert [r.role for r in layer.regions] == ["heading", "prose", "table", "prose"]


MARKDOWN = """---
title: Launch notes
---

# Launch notes

The rover launches from [Cape Canaveral](https://example.com/cape) in 2026. It carries two cameras.

```
pip install rover --version 2026.
```

| part | cost |
|------|------|
| wheel | 400 dollars. |

Setext heading
--------------

The second stage burns for six minutes.
"""


def test_markdown_front_matter_code_and_tables_are_never_answers_and_offsets_stay_in_the_source():
    paragraphs = split_paragraphs("notes.md", MARKDOWN)
    parts = classify(paragraphs, markdown.regions(MARKDOWN))
    roles = [(p.text.splitlines()[0], part.role) for p, part in zip(paragraphs, parts)]
    assert roles == [("---", "skip"), ("# Launch notes", "heading"), ("The rover launches from [Cape Canaveral]"
                     "(https://example.com/cape) in 2026. It carries two cameras.", "prose"), ("```", "skip"),
                     ("| part | cost |", "table"), ("Setext heading", "heading"),
                     ("The second stage burns for six minutes.", "prose")]
    assert parts[5].title == "Setext heading"
    for paragraph, part in zip(paragraphs, parts):
        for start, end in part.spans:
            assert MARKDOWN[start:end] in paragraph.text  # raw source, markup and all
    assert markdown.plain("from [Cape Canaveral](https://example.com/cape) in **2026**") == \
        "from Cape Canaveral in 2026"


def test_markdown_index_quotes_the_raw_source_and_never_code_or_tables(tmp_path: Path, fake_encoder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.md").write_text(MARKDOWN, encoding="utf-8")
    build([corpus], tmp_path / "index", fake_encoder)
    engine = qa.open_index(tmp_path / "index", encoder=fake_encoder)
    paragraphs = list(range(engine.index.manifest["counts"]["paragraphs"]))
    texts = [s.text for s in engine.index.sentences(paragraphs).values()]
    assert texts == ["The rover launches from [Cape Canaveral](https://example.com/cape) in 2026.",
                     "It carries two cameras.", "The second stage burns for six minutes."]
    answer = engine.ask("How much does a wheel cost?", min_score=0)
    assert answer.span is not None and "400" not in answer.span.text  # the table row is no answer
    cited = answer.span.citation
    assert MARKDOWN[cited.start:cited.end] == answer.span.text and cited.page is None
    assert engine.index.paragraph_at("notes.md", 7).text == "The second stage burns for six minutes."


@pytest.fixture
def mixed_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "mixed"
    corpus.mkdir()
    (corpus / "plain.txt").write_text("Gardens\n\nThe rose garden opened in 1921 beside the lake.\n", encoding="utf-8")
    blocks = [("heading", "Harbour report")] + [("p", f"Part {i}. " + PROSE * 2) for i in range(14)]
    blocks.append(("p", "The lighthouse keeper was Ada Quist, who served for thirty years."))
    write_pdf(corpus / "report.pdf", blocks, header="Harbour Board", footer=True)
    write_html(corpus / "page.html", [("heading", "Ferries"), ("p", "The night ferry leaves at eleven from pier 4.")])
    write_docx(corpus / "minutes.docx", [("heading", "Minutes"), ("p", "The board approved a new crane for the dock.")])
    return corpus


def test_a_mixed_folder_answers_from_every_format_and_every_citation_verifies(tmp_path: Path, mixed_corpus: Path,
                                                                               fake_encoder):
    report = build([mixed_corpus], tmp_path / "index", fake_encoder)
    assert report.files == 4 and not report.warnings
    engine = qa.open_index(tmp_path / "index", encoder=fake_encoder)
    expected = {"Who was the lighthouse keeper?": "report.pdf", "When does the night ferry leave?": "page.html",
                "What did the board approve for the docks?": "minutes.docx",
                "When did the rose garden open?": "plain.txt"}
    for question, file in expected.items():
        answer = engine.ask(question, min_score=0)
        assert answer.span is not None and answer.span.citation.file == file, question
        for cited, text in [(answer.span.citation, answer.span.text)] + [(h.citation, h.text) for h in answer.passages]:
            assert engine.index.layer(cited.file).text[cited.start:cited.end] == text
            assert (cited.page is not None) == cited.file.endswith(".pdf")
    keeper = engine.ask("Who was the lighthouse keeper?", min_score=0).span
    assert keeper is not None
    layer = engine.index.layer("report.pdf")
    page = next(p for p in layer.pages if p.page == keeper.citation.page)
    assert page.start <= keeper.citation.start < page.end and keeper.citation.page == len(layer.pages) > 1


def test_qa_show_prints_the_text_layer_and_checks_citations(tmp_path: Path, mixed_corpus: Path, fake_encoder,
                                                            monkeypatch: pytest.MonkeyPatch):
    build([mixed_corpus], tmp_path / "index", fake_encoder)
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "index"))
    runner = CliRunner()
    shown = runner.invoke(app, ["show", "report.pdf", "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert list(data) == ["file", "format", "text", "pages"] and data["format"] == "pdf"
    assert list(data["pages"][0]) == ["page", "start", "end", "ocr"] and data["pages"][0]["page"] == 1
    assert json.loads(runner.invoke(app, ["show", "page.html", "--json"]).stdout)["pages"] == []

    engine = qa.open_index(tmp_path / "index", encoder=fake_encoder)
    answer = engine.ask("Who was the lighthouse keeper?", min_score=0).to_dict()
    cited = answer["answer"]
    result = runner.invoke(app, ["show", f"report.pdf:p{cited['page']}:¶{cited['paragraph']}"])
    assert result.exit_code == 0 and "Ada Quist" in result.stdout and "unchanged" in result.stdout
    assert runner.invoke(app, ["show", f"report.pdf:p1:¶{cited['paragraph']}"]).exit_code == 2  # wrong page
    result = runner.invoke(app, ["show", "-", "--json"], input=json.dumps(answer))
    assert json.loads(result.stdout)["status"] == "unchanged"

    (mixed_corpus / "page.html").write_text("<main><p>Entirely new text.</p></main>", encoding="utf-8")
    ferry = engine.ask("When does the night ferry leave?", min_score=0).to_dict()
    result = runner.invoke(app, ["show", "-"], input=json.dumps(ferry))
    assert result.exit_code == 0 and "changed since it was indexed" in result.stderr
    assert "night ferry" in result.stdout  # the indexed text is still shown


def _scanned_pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # a page with marks but no text, as a scan has
    pdf.output(str(path))
    return path


def test_bad_documents_are_one_warning_each_and_the_rest_is_indexed(tmp_path: Path, fake_encoder,
                                                                    monkeypatch: pytest.MonkeyPatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("The rose garden opened in 1921 beside the lake.\n", encoding="utf-8")
    write_pdf(corpus / "locked.pdf", [("p", PROSE)], encrypt_password="secret")
    _scanned_pdf(corpus / "scan.pdf")
    whole = write_pdf(tmp_path / "whole.pdf", [("p", PROSE)] * 5).read_bytes()
    (corpus / "truncated.pdf").write_bytes(whole[: len(whole) // 3])
    (corpus / "garbage.pdf").write_bytes(b"%PDF-1.7\nnot really a pdf\n")
    (corpus / "broken.docx").write_bytes(b"PK\x03\x04 this is no zip file")
    with zipfile.ZipFile(corpus / "notword.docx", "w") as archive:
        archive.writestr("hello.txt", "a zip, but not a Word document")
    (corpus / "empty.html").write_text("<html><head><title>Nothing</title></head></html>", encoding="utf-8")
    with (corpus / "huge.pdf").open("wb") as handle:  # 200 MiB, sparse: skipped by size before it is read
        handle.truncate(200 << 20)
    warnings: list[str] = []
    report = build([corpus], tmp_path / "index", fake_encoder, max_file_bytes=10 << 20,
                   max_document_bytes=100 << 20, warn=warnings.append)
    assert report.files == 1
    assert len(warnings) == 8  # one each
    assert all(w.startswith("skipped ") for w in warnings)
    joined = "\n".join(warnings)
    assert "locked.pdf: encrypted PDF" in joined
    assert "scan.pdf: no text layer" in joined
    assert "huge.pdf: 200.0 MiB is over the 100 MiB limit (QA_MAX_DOCUMENT_MB)" in joined
    assert "empty.html: no text in the page's body" in joined
    for name in ("truncated.pdf", "garbage.pdf", "broken.docx", "notword.docx"):
        assert f"{name}: " in joined
    assert "Traceback" not in joined
    assert Index.open(tmp_path / "index").manifest["counts"]["files"] == 1


def test_read_document_reports_an_extraction_failure_as_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = _scanned_pdf(tmp_path / "scan.pdf")
    monkeypatch.setattr("qa.formats.ocr.shutil.which", lambda name: None)  # as on a machine without Tesseract
    with pytest.raises(Skipped, match=r"no text layer \(scanned\?\); install Tesseract .*apt-get install tesseract"):
        read_document(path, "scan.pdf")
    with pytest.raises(ExtractionFailed):
        extract("docx", b"not a zip")


def test_an_extractor_change_re_extracts_its_files_with_a_warning(tmp_path: Path, mixed_corpus: Path, fake_encoder,
                                                                  monkeypatch: pytest.MonkeyPatch):
    build([mixed_corpus], tmp_path / "index", fake_encoder)
    monkeypatch.setattr("qa.formats.pdf.VERSION", 99)
    warnings: list[str] = []
    report = build([mixed_corpus], tmp_path / "index", fake_encoder, warn=warnings.append)
    assert report.changes["updated"] == ["report.pdf"] and report.written
    assert any("re-extracting 1 pdf file" in w and "v99" in w for w in warnings)


def test_the_question_path_imports_no_format_library(tmp_path: Path, mixed_corpus: Path, fake_encoder):
    build([mixed_corpus], tmp_path / "index", fake_encoder)
    code = ("import sys, qa.cli, qa\n"
            f"engine = qa.open_index({str(tmp_path / 'index')!r})\n"
            "engine.search('lighthouse keeper', retriever=qa.Retriever.bm25)\n"
            "print(sorted(m for m in ('pdfminer', 'docx', 'selectolax', 'markdown_it', 'fpdf') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unchanged_documents_are_not_extracted_again(tmp_path: Path, mixed_corpus: Path, fake_encoder,
                                                     monkeypatch: pytest.MonkeyPatch):
    build([mixed_corpus], tmp_path / "index", fake_encoder)
    calls: list[str] = []
    real = extract

    def counting(fmt: str, data: bytes):
        calls.append(fmt)
        return real(fmt, data)

    monkeypatch.setattr("qa.formats.extract", counting)
    report = build([mixed_corpus], tmp_path / "index", fake_encoder)
    assert not report.written and calls == []  # nothing changed: every layer came from the index
    write_docx(mixed_corpus / "minutes.docx", [("heading", "Minutes"), ("p", "The board sold the old crane.")])
    report = build([mixed_corpus], tmp_path / "index", fake_encoder)
    assert calls == ["docx"] and report.changes["updated"] == ["minutes.docx"]
    stored = Index.open(tmp_path / "index").layer("page.html")
    assert [r.role for r in stored.regions] == ["heading", "prose"]  # headings survive the reuse
    build([mixed_corpus], tmp_path / "index", fake_encoder, rebuild=True)
    assert sorted(calls[1:]) == ["docx", "html", "pdf"]


def _lines(*rows: tuple[str, float, float, int]) -> list:
    from qa.formats.pdf import Line

    return [Line(text, x0, y, x0 + 6 * len(text), y + 10, box) for text, x0, y, box in rows]


def _paragraphs(lines: list) -> list:
    from qa.formats import pdf

    return pdf._paragraphs(lines, pdf.Style(size=10.0, leading=1.2, bold_body=False))


def test_pdf_paragraphs_split_at_a_first_line_indent_but_not_at_a_hanging_one():
    indented = _lines(("The first paragraph runs over a full line of text here ok.", 50, 700, 0),
                      ("It ends short.", 50, 688, 0),
                      ("Indented start of the second paragraph of text, a long one", 70, 676, 0),
                      ("and its second line.", 50, 664, 0))
    assert [len(p) for p in _paragraphs(indented)] == [2, 2]
    hanging = _lines(("• An item whose text is long enough to fill the whole line", 50, 700, 0),
                     ("continued under it.", 62, 688, 0), ("• Another item, long enough to fill the", 50, 676, 0))
    assert [len(p) for p in _paragraphs(hanging)] == [2, 1]  # each item a paragraph, its second line in it


def test_pdf_a_box_that_stops_mid_sentence_runs_on_into_the_next_just_below():
    lines = _lines(("The following declaration is", 50, 700, 0), ("invalid:", 50, 688, 1),
                   ("A new paragraph.", 50, 640, 2))
    assert [[line.text for line in p] for p in _paragraphs(lines)] == [
        ["The following declaration is", "invalid:"], ["A new paragraph."]]


@pytest.mark.parametrize(("args", "stdin", "expected"), [
    (["show", "nowhere.pdf"], None, "nowhere.pdf is not in the index"),
    (["show", "report.pdf:¶999"], None, "has no indexed paragraph 999"),
    (["show", "report.pdf:p99"], None, "has no page 99"),
    (["show", "-"], "not json", "standard input is not JSON"),
    (["show", "-"], '{"question": "q", "abstained": true, "answer": null, "passages": []}', "abstained"),
])
def test_qa_show_refuses_what_it_cannot_show_in_one_line(tmp_path: Path, mixed_corpus: Path, fake_encoder,
                                                         monkeypatch: pytest.MonkeyPatch, args, stdin, expected):
    build([mixed_corpus], tmp_path / "index", fake_encoder)
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "index"))
    result = CliRunner().invoke(app, args, input=stdin)
    assert result.exit_code == 2 and expected in result.stderr and "Traceback" not in result.stderr


# Paragraphs set by every producer, ragged and justified: a heading, paragraphs long enough to wrap
# and to cross a page, a footnote (a real one where the producer sets footnotes), a list.
SET = [("heading", "Harbour Report"),
       ("p", "The harbour board met on a cold morning in March and agreed on a budget of four million "
             "francs for the northern pier, after a long debate about the old lighthouse and its keeper."),
       ("note", "The budget was later raised by a tenth, to cover the cost of the stone."),
       ("p", "Its chair said that the plan would be reviewed every year by an independent panel of auditors, "
             "and that the panel would publish its findings within three months of each review, so that the "
             "people of the town could see how their money had been spent on the new works. " * 5),
       ("heading", "Ferries"),
       ("p", "The night ferry leaves at half past eleven and reaches the island before one in the morning, "
             "carrying cars, bicycles and the post. Tickets are sold on board, in cash only."),
       ("p", "- The day ferry runs every hour from seven."),
       ("p", "- The cargo ferry runs on Tuesdays and Fridays."),
       ("p", "When the harbour froze in the winter of 1963, the ferries stopped for eleven days, and the "
             "island was supplied by a small aircraft that landed on the beach at low tide.")]


def _producer_available(producer: str) -> bool:
    import importlib.util
    import shutil

    module = {"fpdf2": "fpdf", "reportlab": "reportlab", "weasyprint": "weasyprint"}.get(producer)
    return shutil.which("groff") is not None if producer == "groff" else importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("justified", [False, True], ids=["ragged", "justified"])
@pytest.mark.parametrize("producer", PRODUCERS)
def test_pdf_paragraphs_are_the_authors_whatever_the_producer(tmp_path: Path, producer: str, justified: bool):
    if not _producer_available(producer):
        pytest.skip(f"{producer} is not installed (groff: apt-get install groff)")
    path = write_pdf_by(producer, tmp_path / "report.pdf", SET, justified=justified, embed_font=justified,
                        header="Harbour Board | Annual Report", footer=True)
    layer = extract("pdf", path.read_bytes())
    # Compared without spaces: pdfminer reads a few words of groff's PDFs with a space inside ("bar ge").
    paragraphs = ["".join(p.split()) for p in layer.text.split("\n\n")]
    expected = ["".join(text.split()) for _, text in SET]
    assert len(layer.pages) >= 2  # the long paragraph runs over a page break, and stays one paragraph
    notes = [p for p in paragraphs if p.lstrip("0123456789*.") == expected[2]]  # after its mark, if any
    body = [p.rstrip("0123456789*") for p in paragraphs if p not in notes]  # without a footnote's call
    assert body == [text for (kind, _), text in zip(SET, expected) if kind != "note"]
    assert len(notes) == 1  # the footnote is a paragraph of its own, never inside body text
    assert "HarbourBoard|AnnualReport" not in "".join(paragraphs)
    assert [layer.text[r.start:r.end] for r in layer.regions if r.role == "heading"] == ["Harbour Report", "Ferries"]


def test_pdf_footnote_of_a_page_whose_last_paragraph_runs_on_is_kept_out_of_it(tmp_path: Path):
    if not _producer_available("groff"):
        pytest.skip("groff is not installed (apt-get install groff)")
    long = ("The pier was rebuilt in stone after the great storm, and the work took three summers to "
            "finish because the quarry could send only one barge a week. ") * 12
    blocks = [("p", "The harbour has a long history."), ("p", long), ("note", "The quarry closed in 1921.")]
    layer = extract("pdf", write_pdf_by("groff", tmp_path / "pier.pdf", blocks, justified=True).read_bytes())
    paragraphs = ["".join(p.split()) for p in layer.text.split("\n\n")]  # spaces aside, as above
    assert "".join(long.split()) in paragraphs  # whole, though it covers a page break
    assert "Thequarryclosedin1921." in paragraphs
    note = layer.text.index("The quarry closed")
    assert layer.page_of(note) == 1 == layer.page_of(layer.text.index("The pier was rebuilt"))


def test_pdf_code_in_a_monospaced_face_keeps_its_lines_and_is_never_an_answer():
    from qa.formats import pdf

    style = pdf.Style(size=10.0, leading=1.2, bold_body=False)
    lines = [pdf.Line("To build it, type:", 50, 700, 158, 710, 0),
             pdf.Line("$ ./configure", 50, 688, 128, 698, 1, mono=True),
             pdf.Line("$ make", 50, 676, 86, 686, 1, mono=True),
             pdf.Line("and wait.", 50, 664, 104, 674, 2)]
    assert [pdf._join(p) for p in pdf._paragraphs(lines, style)] == ["To build it, type:", "$ ./configure\n$ make",
                                                                     "and wait."]


def _scan(path: Path, text_pdf: Path, pages: int = 1) -> Path:
    """A PDF of images of ``text_pdf``'s first pages, as a scanner makes: no text layer at all."""
    import pypdfium2
    from fpdf import FPDF

    source = pypdfium2.PdfDocument(str(text_pdf))
    scan = FPDF(format=(105, 148))
    for number in range(pages):
        scan.add_page()
        scan.image(source[number].render(scale=200 / 72, grayscale=True).to_pil(), x=0, y=0, w=105)
    scan.output(str(path))
    return path


def _page_of_prose(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF(format=(105, 148))
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.multi_cell(0, 7, "The lighthouse keeper was Ada Quist. She kept the lamp for thirty years.")
    pdf.output(str(path))
    return path


def test_a_scanned_page_without_tesseract_is_one_warning_that_says_how_to_get_it(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch):
    import pypdfium2
    from fpdf import FPDF

    monkeypatch.setattr("qa.formats.ocr.shutil.which", lambda name: None)
    scan = _scan(tmp_path / "scan.pdf", _page_of_prose(tmp_path / "prose.pdf"))
    mixed = FPDF(format=(105, 148))  # a page of text, then the scanned page
    mixed.add_page()
    mixed.set_font("helvetica", size=12)
    mixed.multi_cell(0, 6, "The harbour board met in March. " * 12)
    mixed.add_page()
    mixed.image(pypdfium2.PdfDocument(str(scan))[0].render(scale=2).to_pil(), x=0, y=0, w=105)
    mixed.output(str(tmp_path / "mixed.pdf"))
    layer = extract("pdf", (tmp_path / "mixed.pdf").read_bytes())
    assert "harbour board" in layer.text and len(layer.pages) == 2
    assert layer.warnings and "page 2" in layer.warnings[0] and "apt-get install tesseract-ocr" in layer.warnings[0]
    assert not any(page.ocr for page in layer.pages)


@pytest.mark.skipif(__import__("shutil").which("tesseract") is None,
                    reason="Tesseract is not installed (apt-get install tesseract-ocr)")
def test_a_scanned_page_is_read_with_ocr_cited_by_page_and_marked(tmp_path: Path, fake_encoder,
                                                                 monkeypatch: pytest.MonkeyPatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _scan(corpus / "scan.pdf", _page_of_prose(tmp_path / "prose.pdf"))
    report = build([corpus], tmp_path / "index", fake_encoder)
    assert report.files == 1 and not report.warnings
    engine = qa.open_index(tmp_path / "index", encoder=fake_encoder)
    layer = engine.index.layer("scan.pdf")
    assert "lighthouse keeper was Ada Quist" in layer.text and layer.pages[0].ocr
    answer = engine.ask("Who was the lighthouse keeper?", min_score=0)
    assert answer.span is not None and answer.span.citation.page == 1
    data = answer.to_dict()["answer"]
    assert data["ocr"] is True and layer.text[data["start"]:data["end"]] == data["text"]
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "index"))
    shown = CliRunner().invoke(app, ["show", "scan.pdf"])
    assert shown.exit_code == 0 and "Ada Quist" in shown.stdout and "read with OCR" in shown.stderr
    assert json.loads(CliRunner().invoke(app, ["show", "scan.pdf", "--json"]).stdout)["pages"][0]["ocr"] is True


def test_markdown_hard_line_breaks_are_spaces_where_read_and_offsets_stay_in_the_file():
    source = "# Security\n\nReported by  \nthe security team\\\nin March.\n"
    paragraph = split_paragraphs("SECURITY.md", source)[1]
    assert markdown.plain(paragraph.text) == "Reported by the security team in March."
    assert source[paragraph.start:paragraph.end] == paragraph.text


def test_pdf_chapter_headings_atop_their_pages_are_kept_though_they_repeat_digits_aside(tmp_path: Path):
    blocks = [("heading", "Chapter 1"), ("p", PROSE * 2), ("heading", "Chapter 2"), ("p", PROSE * 2)]
    layer = extract("pdf", write_pdf(tmp_path / "book.pdf", blocks, page_break_every=2, footer=True).read_bytes())
    assert layer.text.split("\n\n")[::2] == ["Chapter 1", "Chapter 2"] and "Page 1" not in layer.text
