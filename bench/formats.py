"""Do PDF, HTML and DOCX copies of the seeds answer the seeds gold sets as well as the text?

    .venv/bin/python bench/formats.py            # about 8 minutes on 2 cores
    .venv/bin/python bench/formats.py --keep DIR # keep the converted files and indexes in DIR
    .venv/bin/python bench/formats.py --check    # exit 1 if a format, or the mixed folder, falls 0.02 behind

Each seed article is converted (by `tests/documents.py`, the writers the tests use) to a PDF
of several pages (13 pt, a running header and a "Page N" footer on every page), an HTML page
(inside <main>, with a site header, navigation, footer, script and style around it) and a
DOCX file (its headings styled as headings). A line of a seed is a paragraph there; the lines
`qa` reads as headings are written as headings.

The seeds are also set as PDFs by every producer of `tests/documents.py` (`PRODUCERS`: fpdf2,
reportlab, WeasyPrint, groff), each ragged and justified (``pdf:groff`` and ``pdf:groff-justified``),
on A5 pages with a running header and a page-number footer, the justified ones in an embedded
TrueType font where the producer can embed one (groff's Times never is). For these the bar is
the issue's: answer accuracy within 0.02 of the text on both gold sets, PDF pages right >= 0.98.

The gold sets cite ``000_….txt`` paragraph N. For a converted copy, the cited paragraph is
the paragraph of its text layer that holds the same text (whitespace aside); the mapping is
printed if any paragraph could not be found. Each format gets an index of its own (the two
articles, nothing else), and ``qa eval --reader heuristic`` runs on the mapped gold, so every
column asks the same questions of the same articles in one format. The "mixed" row indexes
all eight files in one folder, each gold citation accepting any copy of its paragraph, and
the "txt x4" row, the control, four identical .txt copies of each article: what holding every
paragraph four times does to retrieval and scores, formats aside.

Every answer and passage is then checked: ``text_layer[start:end] == text`` (the layer from
the index, as `qa show FILE` prints it), and for the PDF the cited page is checked against
pdfium's text of that page (another library than the one `qa` reads with): the answer's first
20 letters must be on it (letters only, so line breaks and hyphens do not matter; the page of an
answer is the page it starts on, and a sentence may go on over the break).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from documents import PRODUCERS, write_docx, write_html, write_pdf, write_pdf_by  # noqa: E402

from qa.corpus import is_heading, split_paragraphs  # noqa: E402
from qa.index import Index  # noqa: E402

FORMATS = ("txt", "pdf", "html", "docx")
SETTINGS = tuple(f"pdf:{producer}{style}" for producer in PRODUCERS for style in ("", "-justified"))
GOLD = ("eval/seeds_gold.jsonl", "eval/seeds_dev.jsonl")
METRICS = ("hit1", "hit5", "mrr10", "citation_accuracy", "answer_accuracy", "noans_abstained",
           "hasans_abstained", "overall_accuracy")
QA = [str(ROOT / ".venv/bin/qa")]
PAGE_PREFIX = 20  # letters of an answer's start looked for on its page (it may start at the page's foot)


def convert(seed: Path, folder: Path, fmt: str) -> Path:
    text = seed.read_text(encoding="utf-8")
    blocks = [("heading" if is_heading(p.text) else "p", p.text) for p in split_paragraphs(seed.name, text)]
    target = folder / f"{seed.stem}.{fmt.split(':')[0]}"
    if fmt.startswith("pdf:"):
        producer, justified = fmt[4:].removesuffix("-justified"), fmt.endswith("-justified")
        write_pdf_by(producer, target, blocks, justified=justified, embed_font=justified,
                     header="Korea Pro | Analysis", footer=True)
    elif fmt == "txt":
        target.write_text(text, encoding="utf-8")
    elif fmt == "pdf":
        write_pdf(target, blocks, header="Korea Pro | Analysis", footer=True, font_size=13)
    elif fmt == "html":
        write_html(target, blocks, title=blocks[0][1] if blocks[0][0] == "heading" else "")
    else:
        write_docx(target, blocks)
    return target


def squeeze(text: str) -> str:
    """Text without its whitespace, to find a paragraph in a layer: pdfminer reads a few words of
    groff's PDFs with a space inside ("Ho wever"), where pdfium reads them whole."""
    return "".join(text.split())


def paragraph_map(index: Index, fmt: str, folder: str = "") -> dict[tuple[str, int], str]:
    """(file.txt, N) -> "file.fmt#M": where each seed paragraph is in a format's text layer."""
    mapping = {}
    for seed in sorted((ROOT / "seeds").glob("*.txt")):
        name = f"{folder}{seed.stem}.{fmt.split(':')[0]}"
        rows = index.db.execute("SELECT p.number, p.text FROM paragraphs p JOIN files f ON f.id = p.file_id "
                                "WHERE f.name = ?", (name,)).fetchall()
        by_text = {squeeze(text): number for number, text in rows}
        for paragraph in split_paragraphs(seed.name, seed.read_text(encoding="utf-8")):
            number = by_text.get(squeeze(paragraph.text))
            if number is None:
                print(f"  {fmt}: {seed.name} ¶{paragraph.number} not found in {name}", file=sys.stderr)
            else:
                mapping[(seed.name, paragraph.number)] = f"{name}#{number}"
    return mapping


def mapped_gold(gold: Path, maps: list[dict[tuple[str, int], str]], target: Path) -> Path:
    with gold.open(encoding="utf-8") as source, target.open("w", encoding="utf-8") as out:
        for line in source:
            if not line.strip():
                continue
            item = json.loads(line)
            citations = []
            for c in item.get("citations", []):
                for mapping in maps:
                    where = mapping.get((c["file"], c["paragraph"]))
                    if where:
                        name, number = where.rsplit("#", 1)
                        citations.append({"file": name, "paragraph": int(number)})
            out.write(json.dumps({**item, "citations": citations}, ensure_ascii=False) + "\n")
    return target


def letters(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def check(index: Index, predictions: Path) -> dict[str, int]:
    """Every answer and passage against the stored text layer; PDF answers' pages against pdfium."""
    import pypdfium2

    counts = {"citations": 0, "verified": 0, "pdf_answers": 0, "pages_right": 0}
    page_text: dict[tuple[str, int], str] = {}
    for line in predictions.read_text(encoding="utf-8").splitlines():
        result = json.loads(line)
        quoted = ([result["answer"]] if result["answer"] else []) + result["passages"]
        for item in quoted:
            counts["citations"] += 1
            layer = index.layer(item["file"])
            counts["verified"] += layer.text[item["start"]:item["end"]] == item["text"]
        answer = result["answer"]
        if answer and answer["file"].endswith(".pdf"):
            counts["pdf_answers"] += 1
            key = (answer["file"], answer["page"])
            if key not in page_text:
                path = Path(next(f["path"] for f in index.manifest["files"] if f["name"] == answer["file"]))
                document = pypdfium2.PdfDocument(str(path))
                page_text[key] = letters(document[answer["page"] - 1].get_textpage().get_text_range())
                document.close()
            # The page of an answer is the page it starts on; a sentence may go on over the break.
            counts["pages_right"] += letters(answer["text"])[:PAGE_PREFIX] in page_text[key]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless PDF, HTML, DOCX, the mixed folder and the four copies are within 0.02 "
                             "of the text in every metric, every "
                             "citation verifies and every PDF answer's page is right (CI runs this)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="qa-formats-"))
    work.mkdir(parents=True, exist_ok=True)
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    rows = []
    maps: dict[str, dict[tuple[str, int], str]] = {}
    for fmt in (*FORMATS, "mixed", "txt x4", *SETTINGS):
        corpus = work / fmt.replace(" ", "").replace(":", "-")
        corpus.mkdir(exist_ok=True)
        for seed in seeds:
            if fmt == "txt x4":  # the control: four identical copies, as many as the mixed folder holds
                for copy in "abcd":
                    (corpus / copy).mkdir(exist_ok=True)
                    convert(seed, corpus / copy, "txt")
                continue
            for each in (FORMATS if fmt == "mixed" else (fmt,)):
                convert(seed, corpus, each)
        label = fmt.replace(" ", "").replace(":", "-")
        index_dir = work / f"index-{label}"
        subprocess.run([*QA, "index", str(corpus), "--index", str(index_dir)], check=True)
        index = Index.open(index_dir)
        if fmt == "mixed":
            fmt_maps = [paragraph_map(index, each) for each in FORMATS]
        elif fmt == "txt x4":
            fmt_maps = [paragraph_map(index, "txt", f"{copy}/") for copy in "abcd"]
        else:
            maps[fmt] = paragraph_map(index, fmt)
            fmt_maps = [maps[fmt]]
        for gold in GOLD:
            mapped = mapped_gold(ROOT / gold, fmt_maps, work / f"{label}-{Path(gold).name}")
            predictions = work / f"{label}-{Path(gold).stem}-predictions.jsonl"
            out = subprocess.run([*QA, "eval", str(mapped), "--index", str(index_dir), "--reader", "heuristic",
                                  "--json", "--out", str(predictions)], check=True, capture_output=True, text=True)
            summary = json.loads(out.stdout)
            rows.append((Path(gold).stem, fmt, summary, check(index, predictions)))
        index.close()
    failed: list[str] = []
    print(f"| set | format | {' | '.join(METRICS)} | citations verified | PDF answer pages right |")
    print("|---|---|" + "---:|" * (len(METRICS) + 2))
    for gold, fmt, summary, counts in rows:
        pages = f"{counts['pages_right']}/{counts['pdf_answers']}" if counts["pdf_answers"] else "–"
        values = " | ".join(f"{summary[m]:.3f}" for m in METRICS)
        print(f"| {gold} | {fmt} | {values} | {counts['verified']}/{counts['citations']} | {pages} |")
    for label, formats in (("pdf, html, docx", ("pdf", "html", "docx")), ("mixed", ("mixed",)),
                           ("txt x4", ("txt x4",))):
        worst = max(abs(s[m] - base[m]) for g, f, s, _ in rows if f in formats for g2, f2, base, _ in rows
                    if g == g2 and f2 == "txt" for m in METRICS)
        print(f"largest difference from the .txt originals in any metric, {label}: {worst:.3f}")
        if args.check and worst > 0.02:
            failed.append(f"{label} differ from the text by {worst:.3f}")
    worst = max(abs(s["answer_accuracy"] - base["answer_accuracy"]) for g, f, s, _ in rows if f in SETTINGS
                for g2, f2, base, _ in rows if g == g2 and f2 == "txt")
    right = sum(c["pages_right"] for _, f, _, c in rows if f in SETTINGS)
    answers = sum(c["pdf_answers"] for _, f, _, c in rows if f in SETTINGS)
    print(f"largest difference from the .txt originals in answer accuracy, PDFs of every producer: {worst:.3f}; "
          f"their PDF answer pages right: {right}/{answers} ({right / max(answers, 1):.3f})")
    if args.check and (worst > 0.02 or right < 0.98 * answers):
        failed.append(f"PDFs of other producers: answer accuracy {worst:.3f} from the text, pages right "
                      f"{right}/{answers}")
    for gold, fmt, _, counts in rows:
        if counts["verified"] != counts["citations"]:
            failed.append(f"{gold} {fmt}: a citation does not verify")
        if fmt not in SETTINGS and counts["pages_right"] != counts["pdf_answers"]:
            failed.append(f"{gold} {fmt}: a PDF answer's page is wrong")
    if args.check and failed:
        print("bench/formats.py: " + "; ".join(failed), file=sys.stderr)
        sys.exit(1)
    if not args.keep:
        print(f"(work folder {work}; --keep DIR keeps one)", file=sys.stderr)


if __name__ == "__main__":
    main()
