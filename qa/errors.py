"""The errors `qa` raises. The CLI turns each into one line and an exit code."""

from __future__ import annotations


class QAError(Exception):
    """Base of every error `qa` reports to users as a one-line message."""

    exit_code = 1


class BadInput(QAError):
    """The user's input (question, path, option, gold file) cannot be used."""

    exit_code = 2


class NotIndexed(BadInput):
    """A file that is not in the index was asked for (``qa show``, ``qa serve``'s ``/show``)."""


class IndexMissing(QAError):
    """No index exists where one was expected (an ``--index`` mistyped, or nothing indexed yet)."""

    exit_code = 2


class IndexCorrupt(QAError):
    """An index exists but its files are damaged or of an unknown format.

    Attributes:
        problem: what is wrong, without the advice to rebuild (for a build that is rebuilding anyway).
    """

    def __init__(self, message: str, problem: str | None = None):
        super().__init__(message)
        self.problem = problem or message


class IndexMismatch(QAError):
    """An index was built with a different model or settings than requested."""


class IndexBusy(QAError):
    """Another process is building the same index."""


class StoreUnavailable(QAError):
    """The store an index lives in (a Milvus server) cannot be reached, or is a version qa cannot use."""

    exit_code = 2


class ModelMissing(QAError):
    """A model `qa` ships (the trained reader) is missing or damaged."""


def explain(exc: Exception) -> str:
    """The one line `qa` says about an error it reports (the CLI prints it after ``qa: error:``):
    a `QAError`'s message, or an `OSError`'s reason and file."""
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return str(exc)
