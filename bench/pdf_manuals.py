"""Real PDF manuals: are paragraph boundaries where their authors put them, and footnotes apart?

    apt-get install camlidl-doc r-doc-pdf          # the manuals, from Debian (.ci/run installs them)
    .venv/bin/python bench/pdf_manuals.py          # about a minute on 2 cores
    .venv/bin/python bench/pdf_manuals.py --check  # exit 1 below 0.95, or with a footnote inside body text
    .venv/bin/python bench/pdf_manuals.py --sample bench/pdf_manuals.jsonl  # draw a new sample to check by hand

The manuals are Debian's PDFs as their packages install them, made by other people's tools:
camlidl's user's manual (LaTeX, pdfTeX 0.13, 2002; footnotes, grammar, tables) and R's FAQ
and "An Introduction to R" (Texinfo, pdfTeX 1.40, 2023; running headers, lists, examples).

**Boundaries.** `bench/pdf_manuals.jsonl` holds two samples of places where one line of a manual
ends and the next begins, drawn at random from `qa`'s output: the "first" (by ``--sample``: 55
where `qa` put a paragraph boundary and 30 where it joined the lines, per manual), which the
rules for tables of contents, footnote marks and headings were then written against, and a
"held-out" one drawn after the last change to the rules (20 and 15 per manual, none of the
first's places). Each place was checked by hand and labelled ``break`` (a new paragraph,
heading, list item, table cell or code line starts; a line kept inside a code block counts as
one) or not. The benchmark extracts each manual again, finds each place in its text layer by
the text on either side, and counts the places where `qa` breaks as labelled.

**Footnotes.** A footnote is found apart from `qa`'s own rule (which goes by font size and place):
text lines below a short horizontal rule that starts at the left margin in the lower half of a
page, as TeX draws it, set smaller than the text above the rule. Each must lie in a paragraph
made of footnote text alone, never in one that also holds body text.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.formats import pdf  # noqa: E402

MANUALS = {
    "camlidl-1.04.doc.pdf": Path("/usr/share/doc/camlidl/camlidl-1.04.doc.pdf"),
    "R-FAQ.pdf": Path("/usr/share/R/doc/manual/R-FAQ.pdf"),
    "R-intro.pdf": Path("/usr/share/R/doc/manual/R-intro.pdf"),
}
SAMPLE = ROOT / "bench" / "pdf_manuals.jsonl"
BREAKS, JOINS = 55, 30  # per manual, in a new sample
SNIPPET = 40
PARAGRAPH, LINE = "\u00b6", "\u21b5"


def flat(text: str) -> str:
    """A text layer with each paragraph boundary as one ¶, each line kept inside one (code) as one ↵,
    and all other whitespace as one space."""
    return PARAGRAPH.join(LINE.join(" ".join(line.split()) for line in p.split("\n")) for p in text.split("\n\n"))


def places(data: bytes) -> list[tuple[str, str, int]]:
    """Every place one line ends and the next begins, in reading order: (end of the line, start of
    the next, page), from the same layout `qa` reads."""
    layouts = pdf._read(data)
    style, running = pdf._style(layouts), pdf._running_lines(layouts)
    found, previous = [], None
    for number, layout in enumerate(layouts, start=1):
        page = pdf._page(layout, style, running)
        for group in (page.flow, page.notes):
            lines = [line for paragraph in group for line in paragraph]
            if group is page.flow and lines and previous is not None:
                found.append((previous.text[-SNIPPET:], lines[0].text[:SNIPPET], number))
            for a, b in zip(lines, lines[1:]):
                found.append((a.text[-SNIPPET:], b.text[:SNIPPET], number))
            if group is page.flow and lines:
                previous = lines[-1]
    return found


def verdict(layer: str, before: str, after: str) -> bool | None:
    """Whether `qa` breaks between ``before`` and ``after`` in a flattened layer; None if not found."""
    head = re.escape(before[:-1]) + "-?" if before.endswith("-") else re.escape(before)
    match = re.search(head + f"({PARAGRAPH}|{LINE}| |)" + re.escape(after), layer)
    return None if match is None else match.group(1) in (PARAGRAPH, LINE)


def footnotes(data: bytes, layer: str) -> tuple[int, list[str]]:
    """Footnote lines found below a footnote rule, and those whose paragraph holds other text."""
    import io

    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTLine, LTRect, LTTextBox, LTTextLine

    count, inside = 0, []
    paragraphs = layer.split(PARAGRAPH)
    for page in extract_pages(io.BytesIO(data), laparams=LAParams(char_margin=pdf.CHAR_MARGIN)):
        lines = [line for box in page if isinstance(box, LTTextBox) for line in box
                 if isinstance(line, LTTextLine) and line.get_text().strip()]
        if not lines:
            continue
        left = min(line.x0 for line in lines)
        width = max(line.x1 for line in lines) - left
        rules = [item for item in page if isinstance(item, (LTLine, LTRect)) and item.height < 1.5
                 and abs(item.x0 - left) < 5 and 0.15 * width < item.width < 0.55 * width
                 and item.y0 < page.height * 0.5]
        if not rules:
            continue
        rule = max(rules, key=lambda item: item.y0)
        below = [line for line in lines if line.y1 <= rule.y0 + 1 and not pdf._page_number(line.get_text())]
        above = [line for line in lines if line.y0 > rule.y1]
        if not below or not above or size(below) >= size(above):
            continue  # a rule over text of the body's size: a table's or a box's, not a footnote rule
        texts = [" ".join(line.get_text().split()) for line in below]
        notes = re.sub(r"\W+", "", " ".join(texts))
        for text in texts:
            count += 1
            holder = next((p for p in paragraphs if text in p), None)
            if holder is not None and re.sub(r"\W+", "", holder) not in notes:
                inside.append(f"{text[:60]!r} in {holder[:80]!r}")
    return count, inside


def size(lines: list) -> float:
    """The font size most of these pdfminer lines' characters are set in."""
    from collections import Counter

    from pdfminer.layout import LTChar

    sizes = Counter(round(c.size, 1) for line in lines for c in line if isinstance(c, LTChar))
    return sizes.most_common(1)[0][0] if sizes else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 below 0.95 or with a footnote in body text")
    parser.add_argument("--sample", type=Path, help="draw a new sample of places into this file, to check by hand")
    args = parser.parse_args()
    missing = [str(path) for path in MANUALS.values() if not path.exists()]
    if missing:
        sys.exit(f"bench/pdf_manuals.py: missing {', '.join(missing)} (apt-get install camlidl-doc r-doc-pdf)")
    layers = {name: flat(pdf.extract(path.read_bytes(), ocr=False).text) for name, path in MANUALS.items()}
    if args.sample:
        rng = random.Random(21)
        with args.sample.open("w", encoding="utf-8") as out:
            for name, path in MANUALS.items():
                drawn = {True: [], False: []}
                for before, after, page in places(path.read_bytes()):
                    said = verdict(layers[name], before, after)
                    if said is not None:
                        drawn[said].append({"manual": name, "page": page, "before": before, "after": after,
                                            "break": said})
                for said, count in ((True, BREAKS), (False, JOINS)):
                    for item in rng.sample(drawn[said], min(count, len(drawn[said]))):
                        out.write(json.dumps(item, ensure_ascii=False) + "\n")
        print(f"wrote {args.sample}: label each place by hand ('break') before committing it")
        return
    items = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    print("| manual | places checked | right | breaks right | joins right | not found | footnote lines "
          "| footnote lines inside body text |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    total = right_all = 0
    inside_all: list[str] = []
    for name, path in MANUALS.items():
        mine = [item for item in items if item["manual"] == name]
        said = [(item, verdict(layers[name], item["before"], item["after"])) for item in mine]
        right = sum(s == item["break"] for item, s in said)
        breaks = [s == item["break"] for item, s in said if item["break"]]
        joins = [s == item["break"] for item, s in said if not item["break"]]
        lost = sum(s is None for _, s in said)
        notes, inside = footnotes(path.read_bytes(), layers[name])
        total, right_all = total + len(mine), right_all + right
        inside_all += inside
        print(f"| {name} | {len(mine)} | {right / max(len(mine), 1):.3f} | {sum(breaks)}/{len(breaks)} "
              f"| {sum(joins)}/{len(joins)} | {lost} | {notes} | {len(inside)} |")
    accuracy = right_all / max(total, 1)
    print(f"paragraph boundaries right: {right_all}/{total} ({accuracy:.3f}); footnote lines inside body text: "
          f"{len(inside_all)}")
    for sample in ("first", "held-out"):
        mine = [item for item in items if item.get("sample") == sample]
        right = sum(verdict(layers[item["manual"]], item["before"], item["after"]) == item["break"] for item in mine)
        print(f"  {sample} sample: {right}/{len(mine)} ({right / max(len(mine), 1):.3f})")
    for line in inside_all:
        print(f"  footnote inside body text: {line}", file=sys.stderr)
    if args.check and (accuracy < 0.95 or inside_all):
        sys.exit(f"bench/pdf_manuals.py: boundaries right {accuracy:.3f} (< 0.95?), "
                 f"{len(inside_all)} footnote lines inside body text")


if __name__ == "__main__":
    main()
