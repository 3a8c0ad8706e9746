"""Small typed records passed between the pipeline's stages.

Every record is a frozen dataclass; the ones users see (`Citation`, `Hit`,
`Answer`) carry a ``to_dict()`` whose output is exactly the documented JSON
schema, so ``json.dumps(answer.to_dict())`` is the whole of ``--json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Paragraph:
    """A block of a source file, with offsets into the file's decoded text.

    Attributes:
        file: path relative to the corpus root, with ``/`` separators.
        number: 1-based paragraph number within the file (headings count).
        start: offset of the first character in the decoded file text.
        end: offset one past the last character.
        line: 1-based line of ``start``.
        text: ``file_text[start:end]``, verbatim.
        heading: True when the paragraph looks like a section heading.
    """

    file: str
    number: int
    start: int
    end: int
    line: int
    text: str
    heading: bool = False


@dataclass(frozen=True)
class Sentence:
    """A sentence inside a paragraph; offsets are into the file's text."""

    paragraph: int  # index into the index's paragraph table
    start: int
    end: int
    line: int
    text: str


@dataclass(frozen=True)
class Citation:
    """Where a quoted span lives: ``file_text[start:end]`` is the span, where ``file_text`` is the
    decoded file for text and Markdown, and the text layer `qa` extracted (``qa show FILE``) for
    PDF, HTML and DOCX. ``page`` is the 1-based PDF page of ``start``; None for other formats.
    ``ocr``: that page's text was read with OCR (it had no text layer); only then is it in `to_dict`."""

    file: str
    paragraph: int
    line: int
    start: int
    end: int
    page: int | None = None
    ocr: bool = False

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "file": self.file,
            "paragraph": self.paragraph,
            "page": self.page,
            "line": self.line,
            "start": self.start,
            "end": self.end,
        }
        if self.ocr:
            result["ocr"] = True
        return result


@dataclass(frozen=True)
class Hit:
    """A retrieved passage (one paragraph) with its fused retrieval score (blended with its best
    sentence's when passages are reranked; with the trained reader, the passages it read come
    first, by the probability of the answer it found in each, and keep their scores)."""

    citation: Citation
    score: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.citation.to_dict(), "score": round(self.score, 6), "text": self.text}


@dataclass(frozen=True)
class Context:
    """The sentence(s) around an answer: ``file_text[start:end]`` is ``text``; ``line`` is the
    1-based line of ``start``."""

    text: str
    start: int
    end: int
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end, "line": self.line}


@dataclass(frozen=True)
class Span:
    """The extracted answer: verbatim text, its confidence and where it is.

    Attributes:
        text: the short answer, ``file_text[citation.start:citation.end]``.
        score: the confidence: with the trained reader, the calibrated probability that the
            answer is right.
        citation: where ``text`` is.
        context: the sentence(s) that hold it (the answer itself for the heuristic reader,
            which quotes whole sentences).
        evidence: what the trained reader's score was computed from (its raw logits and the
            cheap scorer's confidence; see `qa.reader.trained.FEATURES`); not in `to_dict`.
    """

    text: str
    score: float
    citation: Citation
    context: Context
    evidence: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def on_page(self, page: int | None, ocr: bool = False) -> Span:
        """The same span, its citation naming ``page`` (read with OCR if ``ocr``)."""
        return replace(self, citation=replace(self.citation, page=page, ocr=ocr))

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "score": round(self.score, 6), **self.citation.to_dict(),
                "context": self.context.to_dict()}


@dataclass(frozen=True)
class Answer:
    """What `ask` returns: a span, or an abstention, plus supporting passages."""

    question: str
    span: Span | None
    passages: list[Hit] = field(default_factory=list)

    @property
    def abstained(self) -> bool:
        return self.span is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "abstained": self.abstained,
            "answer": self.span.to_dict() if self.span else None,
            "passages": [hit.to_dict() for hit in self.passages],
        }
