"""Index stage: build an index and open one to read. The code lives in `qa.storage`, one module per
concern; these are the names the rest of qa uses.

    >>> from qa.index import build, Index
    >>> build([Path("seeds")], Path("index"), encoder)         # doctest: +SKIP
    >>> Index.open(Path("index")).manifest["counts"]            # doctest: +SKIP
    {'files': 2, 'paragraphs': 38, 'sentences': 71}
"""

from qa.storage.builder import BuildReport, Embedding, Fresh, build, contexts, title_from_name, with_context
from qa.storage.folder import BUILDING, CURRENT, LOCK, MARKER, PREVIOUS, exists
from qa.storage.local import Index
from qa.storage.manifest import ARTIFACTS, CHUNKING, FORMAT_VERSION, VECTORS, rows_of

__all__ = ["ARTIFACTS", "BUILDING", "CHUNKING", "CURRENT", "FORMAT_VERSION", "LOCK", "MARKER", "PREVIOUS",
           "VECTORS", "BuildReport", "Embedding", "Fresh", "Index", "build", "contexts", "exists", "rows_of",
           "title_from_name", "with_context"]
