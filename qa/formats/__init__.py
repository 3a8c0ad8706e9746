"""Document formats: one backend per format, each turning a file into a `TextLayer`.

    >>> from qa.formats import format_of, extract
    >>> format_of(Path("report.PDF"))                            # doctest: +SKIP
    'pdf'
    >>> extract("pdf", Path("report.pdf").read_bytes()).pages    # doctest: +SKIP
    (Page(page=1, start=0, end=2817), ...)

Plain text and Markdown are cited in their own decoded text; PDF, HTML and DOCX in
the text layer their backend extracts, which the index stores. Each backend imports
its library only when it runs, so nothing here is imported on the question path.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from qa.formats.base import ExtractionFailed, Page, Region, TextLayer

SUFFIXES = {".txt": "text", ".md": "markdown", ".pdf": "pdf", ".html": "html", ".htm": "html", ".docx": "docx"}
# Formats whose text is extracted (not the file's own decoded text); their layer is stored in the index.
DERIVED = ("pdf", "html", "docx")
_BACKENDS = {"markdown": "qa.formats.markdown", "pdf": "qa.formats.pdf", "html": "qa.formats.html",
             "docx": "qa.formats.docx"}


def format_of(path_or_name: object) -> str | None:
    """The format a file name's suffix says (``text``, ``markdown``, ``pdf``, ``html``, ``docx``), or None."""
    name = str(path_or_name).lower()
    return next((fmt for suffix, fmt in SUFFIXES.items() if name.endswith(suffix)), None)


def backend(fmt: str) -> ModuleType:
    """The module that reads a format (not its library, which loads when it runs)."""
    return importlib.import_module(_BACKENDS[fmt])


def extract(fmt: str, data: bytes) -> TextLayer:
    """The text layer of a derived format's file bytes.

    Raises:
        ExtractionFailed: the file cannot be read as that format (the message says why).
    """
    return backend(fmt).extract(data)  # type: ignore[no-any-return]


def extractors() -> dict[str, str]:
    """What each format is read with, for the manifest: its backend's version and its library's.
    A change means re-extracting (and re-embedding) the files of that format."""
    from importlib import metadata

    result = {}
    for fmt in _BACKENDS:
        module = backend(fmt)
        try:
            library = f"{module.LIBRARY} {metadata.version(module.LIBRARY)}"
        except metadata.PackageNotFoundError:
            library = f"{module.LIBRARY} (not installed)"
        result[fmt] = f"qa {fmt} v{module.VERSION}, {library}"
    return result


__all__ = ["DERIVED", "SUFFIXES", "ExtractionFailed", "Page", "Region", "TextLayer", "extract", "extractors",
           "format_of"]
