"""What an index records about itself: its format, what was embedded and how, artifact checksums.

    >>> from qa.storage.manifest import FORMAT_VERSION, VECTORS
    >>> FORMAT_VERSION, VECTORS
    (6, ('paragraphs', 'sentences', 'sentences_in_context'))

Also the small file helpers a build and a folder share: atomic replacement and fsync.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

# 2: files carry path, size and mtime; chunking carries a version. 3: sentences in context.
# 4: files carry their format, text layer and pages (PDF, HTML, DOCX); extractors in the manifest.
# 5: paragraphs carry their canonical copy; only canonical copies are in the lexical index.
# 6: a vector file may be an IVF (approximate) index; the manifest's "dense" says which, per kind.
# 7: pages say whether their text was read with OCR.
FORMAT_VERSION = 7
# What is embedded: paragraphs with their context, and sentences both alone and with it.
VECTORS = ("paragraphs", "sentences", "sentences_in_context")
# Where a build keeps each kind's vectors until they are indexed (`_Staged`), in its generation.
STAGED = {kind: f".{kind}.f32" for kind in VECTORS}
ARTIFACTS = ("store.sqlite", *(f"{kind}.faiss" for kind in VECTORS))
# Recorded in the manifest: an index built with other settings is rebuilt, not reused.
CHUNKING = {"version": 6,
            "bounds": "paragraphs <= 4000 characters, sentences <= 1000, cut at the best boundary",
            "lexical": "folded, dotted acronyms closed up, pronoun us dropped",
            "embedded": "context + paragraph; sentence alone and context + sentence",
            "paragraphs": "blank-line blocks, else lines", "sentences": "blingfire",
            "context": "file title, document title, section heading", "fragments": "<= 20 words, no end mark",
            "markdown": "parsed: headings are context; code, front matter and tables are never answers; "
                        "links reduced to their text where embedded and matched"}
# What `--one-pass` records instead: the in-context sentence vectors pooled from the paragraph's pass.
ONE_PASS = ("context + paragraph; sentence alone; context + sentence pooled from the paragraph's pass "
            "(late chunking; a sentence past the window gets its own pass)")


def rows_of(kind: str) -> str:
    """The table whose rows a kind of vector embeds."""
    return "paragraphs" if kind == "paragraphs" else "sentences"


def checksum(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def write_json(path: Path, data: dict[str, Any]) -> None:
    replace_text(path, json.dumps(data, indent=2, ensure_ascii=False))


def fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_text(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text`` and a newline, through a fsynced ``.tmp`` beside it.

    Neither is followed if it is a link: the rename replaces a link itself, and a link
    named like the temporary file is an error, not a way to write elsewhere.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)

