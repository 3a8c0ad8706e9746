"""Defaults in one place: a frozen settings object, overridable by ``QA_*`` variables.

    >>> from qa.settings import Settings
    >>> Settings.from_env().top_k
    5

Command-line flags override a field with ``dataclasses.replace``; nothing
mutates module state.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MIB = 1 << 20  # file sizes are said and limited in binary megabytes (MiB), as `ls -lh` shows them
MAX_QUESTION_CHARS = 2000
# The heuristic reader's threshold (``--reader heuristic``): every threshold from 0.337 to 0.402
# is best for `qa eval eval/seeds_gold.jsonl --calibrate` (it reports the middle, 0.369); the
# default keeps to the lenient side of that range. The trained reader's threshold is chosen on
# held-out SQuAD articles and stored in its model card (qa/models/reader/reader.json).
DEFAULT_MIN_SCORE = 0.35
# From this many vectors of one kind on, an index searches them approximately (IVF-Flat,
# memory-mapped) instead of exactly: measured with bench/scale.py (docs/scale.md).
APPROX_MIN_VECTORS = 100_000


class Retriever(str, Enum):
    """Which rankings feed the answer: lexical, dense, or both fused."""

    hybrid = "hybrid"
    dense = "dense"
    bm25 = "bm25"


class Reader(str, Enum):
    """What picks the answer: the trained model (a short span, a calibrated probability) or the
    hand-weighted sentence scorer it replaced (a whole sentence, kept for comparison)."""

    trained = "trained"
    heuristic = "heuristic"


class Fusion(str, Enum):
    """How dense and lexical rankings are combined: min-max CombSUM, or reciprocal rank fusion."""

    combsum = "combsum"
    rrf = "rrf"


class Device(str, Enum):
    """Where `qa index` runs the embedding model; questions always run on the CPU."""

    auto = "auto"  # CUDA when torch sees a GPU, else the CPU
    cpu = "cpu"
    cuda = "cuda"


@dataclass(frozen=True)
class Settings:
    """Every tunable default of `qa`.

    Attributes:
        corpus: folder indexed when no path is given (``QA_CORPUS``).
        index: folder holding the built index (``QA_INDEX``).
        model: sentence-transformers model name or path used to build (``QA_MODEL``).
        top_k: passages returned with an answer (``QA_TOP_K``).
        retriever: ranking used for retrieval (``QA_RETRIEVER``).
        fusion: how the rankings are fused (``QA_FUSION``); see docs/quality.md for the measurement.
        reader: what picks the answer (``QA_READER``): ``heuristic`` (the default: a whole
            sentence) or ``trained`` (a short span with a calibrated probability; not yet the
            default: on the seeds it silences too many right answers, see docs/reader.md).
        min_score: confidence below which `ask` abstains (``QA_MIN_SCORE``); None means the
            threshold stored with the index for this reader, else the reader's own default.
        max_file_mb: text, Markdown and HTML files larger than this many MiB are skipped when
            indexing (``QA_MAX_FILE_MB``).
        max_document_mb: PDF and DOCX files larger than this many MiB are skipped when indexing
            (``QA_MAX_DOCUMENT_MB``): their size is mostly images and fonts, not text.
        device: where indexing runs the model (``QA_DEVICE``): ``auto``, ``cpu`` or ``cuda``.
            A GPU runs the float weights (as ``float32`` does on the CPU); an index answers
            alike wherever it was built.
        one_pass: indexing pools each sentence's vector in context from its paragraph's pass
            instead of reading it again (``QA_ONE_PASS=1``): faster, slightly less accurate.
        float32: indexing on the CPU runs the model with its float weights, not int8 ones
            (``QA_FLOAT32=1``): the vectors sentence-transformers gives, about half as fast.
        approx_min_vectors: from this many vectors of one kind on, a build makes an approximate
            (IVF) index of them instead of an exact one (``QA_APPROX_MIN_VECTORS``).
        store: where a new index lives (``QA_STORE``): None for the index folder itself,
            ``milvus://HOST:PORT[/DB]`` or a Milvus Lite ``.db`` file (docs/milvus.md). The folder
            records it, so every other command finds the index there.
    """

    corpus: Path = Path("seeds")
    index: Path = Path("index")
    model: str = DEFAULT_MODEL
    top_k: int = 5
    retriever: Retriever = Retriever.hybrid
    fusion: Fusion = Fusion.combsum
    reader: Reader = Reader.heuristic
    min_score: float | None = None
    max_file_mb: float = 10.0
    max_document_mb: float = 100.0
    device: Device = Device.auto
    one_pass: bool = False
    float32: bool = False
    approx_min_vectors: int = APPROX_MIN_VECTORS
    store: str | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Defaults overridden by any ``QA_<FIELD>`` variable that is set and non-empty."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"QA_{f.name.upper()}", "").strip()
            if raw:
                values[f.name] = _parse(f.name, raw)
        return cls(**values)  # type: ignore[arg-type]


def cache_dir() -> Path:
    """Where `qa` keeps derived files (ONNX exports, benchmark corpora): ``$QA_CACHE``,
    else ``$XDG_CACHE_HOME/qa``, else ``~/.cache/qa``."""
    if os.environ.get("QA_CACHE"):
        return Path(os.environ["QA_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa"


def shipped_seeds(folder: Path | None = None) -> Path | None:
    """The news articles qa ships, when ``folder`` (default: the current one) is a checkout of qa:
    it holds qa's ``pyproject.toml`` and ``seeds/``. Only there does `qa ask` build the default
    index by itself; anywhere else nothing is indexed until `qa index` is run."""
    folder = Path.cwd() if folder is None else folder
    try:
        project = (folder / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    seeds = folder / "seeds"
    return seeds if re.search(r'^name = "qa"$', project, re.MULTILINE) and seeds.is_dir() else None


def _parse(name: str, raw: str) -> object:
    from qa.errors import BadInput

    try:
        if name in ("corpus", "index"):
            return Path(raw)
        if name in ("top_k", "approx_min_vectors"):
            return int(raw)
        if name in ("min_score", "max_file_mb", "max_document_mb"):
            return float(raw)
        if name == "retriever":
            return Retriever(raw)
        if name == "fusion":
            return Fusion(raw)
        if name == "reader":
            return Reader(raw)
        if name == "device":
            return Device(raw)
        if name in ("one_pass", "float32"):
            if raw.lower() not in ("0", "1", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
    except ValueError:
        raise BadInput(f"QA_{name.upper()}={raw!r} is not a valid value") from None
    return raw
