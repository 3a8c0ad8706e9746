"""The local index folder's layout: qa's mark, CURRENT and PREVIOUS, the build lock, generations.

    >>> from qa.storage.folder import exists
    >>> exists(Path("index"))                                   # doctest: +SKIP
    True

Layout of an index folder::

    index/
      qa-index.json      marks the folder as qa's: qa writes and removes only in folders holding it
      CURRENT            name of the live generation (replaced atomically)
      PREVIOUS           the generation it replaced, kept for readers until the next build
      gen-<time>-<8>/    one complete build (see `qa.storage.local`)

A build writes a new generation and only then points CURRENT at it, so a
reader sees either the old index or the new one, never a mix. A folder becomes
an index only when it is new or empty, and clean-up removes only generations
qa made, file by file, never through a link.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from qa.errors import BadInput, IndexBusy
from qa.storage.manifest import ARTIFACTS, STAGED, fsync_dir, replace_text, write_json

CURRENT = "CURRENT"
PREVIOUS = "PREVIOUS"
LOCK = ".lock"
STORE = "store.json"  # in a folder whose index lives elsewhere (Milvus): where, and under what name
MARKER = "qa-index.json"
# The mark's own version is the folder layout's (this file, CURRENT, PREVIOUS, .lock, generations),
# not the generations' format, which each manifest carries.
MARK = {"made_by": "qa", "layout_version": 1,
        "note": "qa writes, replaces and removes files only in folders holding this file, and only its own"}
BUILDING = "BUILDING"  # in a generation until its manifest is written: what a killed build leaves
# The names `new_generation` gives; earlier versions' tempfile.mkdtemp names have the same shape.
_GENERATION = re.compile(r"gen-[0-9]{8}T[0-9]{6}-[a-z0-9_]{8}")
# Everything a build writes into a generation: clean-up removes these names and nothing else.
_GENERATION_FILES = (*ARTIFACTS, "store.sqlite-journal", "manifest.json.tmp", "manifest.json", BUILDING,
                     *STAGED.values())


def publish(folder: Path, generation: Path) -> None:
    """Point CURRENT at ``generation`` atomically, then remove all but it and the one it replaced.

    The replaced generation (named in PREVIOUS) stays until the next build, so a
    reader that opened it a moment before the switch can finish its question.
    """
    replaced = pointed(folder, CURRENT)
    replace_text(folder / PREVIOUS, replaced if names_generation(folder, replaced) else "")
    replace_text(folder / CURRENT, generation.name)
    fsync_dir(folder)
    remove_unpublished(folder)


def pointed(folder: Path, pointer: str) -> str:
    """The name that CURRENT or PREVIOUS holds, unchecked; "" when it is absent or not a plain file."""
    path = folder / pointer
    if path.is_symlink() or not path.is_file():
        return ""
    with path.open("rb") as handle:
        return handle.read(100).decode("utf-8", "replace").strip()


def names_generation(folder: Path, name: str) -> bool:
    """Whether a name read from CURRENT or PREVIOUS may name a generation: a name qa gives, and
    not a link's, so that following it never leads out of ``folder``."""
    return bool(_GENERATION.fullmatch(name)) and not (folder / name).is_symlink()


def claim(folder: Path) -> None:
    """Make sure qa may write in ``folder``: it carries qa's mark, or gets it (see `marked`).

    Raises:
        BadInput: the folder holds files qa did not make; then nothing is written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if not marked(folder):
        write_json(folder / MARKER, MARK)


def marked(folder: Path) -> bool:
    """Whether ``folder`` carries qa's mark; False for one that may get it: an empty folder, or one
    holding only what an earlier qa wrote before it marked its folders. A link given as the folder
    is followed: what counts is the folder it leads to.

    Raises:
        BadInput: the folder holds anything else.
    """
    mark = folder / MARKER
    if not mark.is_symlink() and mark.is_file():
        try:
            data = json.loads(mark.read_text(encoding="utf-8"))
        except ValueError:
            data = None  # not qa's mark
        if isinstance(data, dict) and data.get("made_by") == "qa":
            return True
    foreign = [path.name for path in sorted(folder.iterdir()) if not _unmarked_but_ours(path)]
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise BadInput(f"{folder} is not empty and not a qa index (it holds {foreign[0]}{more}); "
                       "give --index (or QA_INDEX) a new or empty folder")
    return False


def _unmarked_but_ours(path: Path) -> bool:
    """Whether an entry of an unmarked folder is one that qa made: CURRENT or PREVIOUS naming a
    generation, an empty .lock, a generation, or the mark another build is writing this moment."""
    if path.name not in (CURRENT, PREVIOUS, LOCK, f"{MARKER}.tmp"):
        return _is_generation(path)
    if path.is_symlink() or not path.is_file():
        return False
    if path.name == LOCK:
        return path.stat().st_size == 0
    if path.name == f"{MARKER}.tmp":
        return True
    name = pointed(path.parent, path.name)
    return names_generation(path.parent, name) or (path.name == PREVIOUS and name == "")


def new_generation(folder: Path) -> Path:
    """A new, empty generation folder, marked unfinished until its manifest is written."""
    while True:
        generation = folder / f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
        try:
            generation.mkdir()
        except FileExistsError:
            continue
        (generation / BUILDING).touch()
        return generation


def _is_generation(path: Path) -> bool:
    """Whether ``path`` is a generation that qa made: named as qa names them, a real folder
    (not a link), holding only files a build writes, with a manifest, the unfinished-build
    mark, or nothing (a build killed as it began)."""
    if not _GENERATION.fullmatch(path.name) or path.is_symlink() or not path.is_dir():
        return False
    entries = list(path.iterdir())
    if not all(p.name in _GENERATION_FILES and not p.is_symlink() and p.is_file() for p in entries):
        return False
    return not entries or any(p.name in ("manifest.json", BUILDING) for p in entries)


def remove_generation(generation: Path) -> None:
    """Remove a generation that qa made: the files a build writes, by name, then the folder if
    that emptied it. Its manifest and mark go last, so that a removal cut short leaves a
    generation that `_is_generation` still recognises."""
    for name in _GENERATION_FILES:
        with contextlib.suppress(FileNotFoundError):
            (generation / name).unlink()
    with contextlib.suppress(OSError):
        generation.rmdir()


def remove_unpublished(folder: Path) -> None:
    """Remove the generations qa made that are neither current nor previous: old ones, and killed
    builds'. Nothing else in the folder is touched, whatever its name."""
    keep = {pointed(folder, CURRENT), pointed(folder, PREVIOUS)}
    for path in folder.iterdir():
        if path.name not in keep and _is_generation(path):
            remove_generation(path)


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(folder / LOCK, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
    with open(fd, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusy(f"another build of {folder} is running; try again when it ends") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def exists(folder: Path) -> bool:
    """Whether ``folder`` holds a published index.

    Raises:
        BadInput: ``folder`` holds files that qa did not make, so no index can be built there.
    """
    if (folder / CURRENT).is_file() or (folder / STORE).is_file():
        return True
    if folder.is_dir():
        marked(folder)
    return False

