"""qa: extractive question answering over a folder of documents.

    >>> import qa
    >>> qa.build_index(["seeds"], "index")                     # doctest: +SKIP
    >>> engine = qa.open_index("index")                        # doctest: +SKIP
    >>> answer = engine.ask("what did Japan buy?")             # doctest: +SKIP
    >>> answer.span.text, answer.span.citation.paragraph       # doctest: +SKIP
    ('This includes Japan’s acquisition of 400 Tomahawk Cruise Missiles ...', 5)

Answers are sentences quoted verbatim; ``file_text[start:end] == answer.span.text``
for the cited file. ``answer.to_dict()`` is the ``qa ask --json`` object.
Importing `qa` is cheap: models load when first needed.
"""

from qa.errors import BadInput, IndexBusy, IndexCorrupt, IndexMismatch, IndexMissing, QAError
from qa.pipeline import QA, build_index, open_index
from qa.settings import Retriever, Settings
from qa.types import Answer, Citation, Hit, Span

__all__ = [
    "QA",
    "Answer",
    "BadInput",
    "Citation",
    "Hit",
    "IndexBusy",
    "IndexCorrupt",
    "IndexMismatch",
    "IndexMissing",
    "QAError",
    "Retriever",
    "Settings",
    "Span",
    "build_index",
    "open_index",
]
