"""Where an index lives: the local folder of today, or a Milvus server.

    >>> from qa.storage import Index, build
    >>> build([Path("seeds")], Path("index"), encoder)         # doctest: +SKIP
    >>> Index.open(Path("index")).manifest["counts"]            # doctest: +SKIP
    {'files': 2, 'paragraphs': 38, 'sentences': 71}

`base.Store` is the interface both backends implement: `local.Index` (the folder) and
`milvus.MilvusIndex` (a Milvus server, which the folder records). One module per concern:
`manifest` (what an index says of itself), `folder` (the local folder's layout and atomic
publishing), `local` (reading a generation: SQLite FTS5 and FAISS), `builder` (documents to a
generation), `milvus` (the store, its collections and aliases).
"""

from qa.storage.base import Store
from qa.storage.builder import BuildReport, Embedding, build, contexts, title_from_name, with_context
from qa.storage.folder import exists
from qa.storage.local import Index
from qa.storage.manifest import FORMAT_VERSION, VECTORS

__all__ = ["BuildReport", "Embedding", "FORMAT_VERSION", "Index", "Store", "VECTORS", "build", "contexts", "exists",
           "title_from_name", "with_context"]
