"""qa: extractive question answering over a folder of documents.

    >>> import qa
    >>> qa.build_index(["seeds"], "index")                     # doctest: +SKIP
    >>> engine = qa.open_index("index")                        # doctest: +SKIP
    >>> answer = engine.ask("what did Japan buy?")             # doctest: +SKIP
    >>> answer.span.text, answer.span.citation.paragraph       # doctest: +SKIP
    ('This includes Japan’s acquisition of 400 Tomahawk Cruise Missiles ...', 5)

Answers are sentences quoted verbatim; ``file_text[start:end] == answer.span.text``
for the cited file. ``answer.to_dict()`` is the ``qa ask --json`` object.
Importing `qa` is cheap: each name below is imported on first use, and models
load when first needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.errors import (
        BadInput,
        IndexBusy,
        IndexCorrupt,
        IndexMismatch,
        IndexMissing,
        ModelMissing,
        NotIndexed,
        QAError,
    )
    from qa.pipeline import QA, build_index, open_index
    from qa.settings import Reader, Retriever, Settings
    from qa.types import Answer, Citation, Hit, Span

_EXPORTS = {
    "QA": "qa.pipeline", "build_index": "qa.pipeline", "open_index": "qa.pipeline",
    "Answer": "qa.types", "Citation": "qa.types", "Hit": "qa.types", "Span": "qa.types",
    "Reader": "qa.settings", "Retriever": "qa.settings", "Settings": "qa.settings",
    "QAError": "qa.errors", "BadInput": "qa.errors", "IndexBusy": "qa.errors", "IndexCorrupt": "qa.errors",
    "IndexMismatch": "qa.errors", "IndexMissing": "qa.errors", "ModelMissing": "qa.errors",
    "NotIndexed": "qa.errors",
}
__all__ = [
    "QA", "Answer", "BadInput", "Citation", "Hit", "IndexBusy", "IndexCorrupt", "IndexMismatch",
    "IndexMissing", "ModelMissing", "NotIndexed", "QAError", "Reader", "Retriever", "Settings", "Span",
    "build_index", "open_index",
]


def __getattr__(name: str) -> Any:
    """Import public names lazily, so `qa --help` does not pay for the question path."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
