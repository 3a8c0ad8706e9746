"""Index vectors from token vectors: which tokens make a sentence's vector in one pass, the
model's window, and the same vectors whichever runtime (onnxruntime on the CPU, torch on a GPU)
ran the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa import late_chunking
from qa.late_chunking import Passage, embed, token_ranges

ROOT = Path(__file__).resolve().parents[1]


def word_tokenizer(words: list[str], window: int):
    """A real `tokenizers` tokenizer with one token per word, [CLS] and [SEP] around, cut at ``window``."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from tokenizers.processors import TemplateProcessing

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3}
    for word in words:
        vocab.setdefault(word, len(vocab))
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.post_processor = TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer.enable_truncation(max_length=window)
    return tokenizer, len(vocab)


def table_model(size: int, dimension: int = 8):
    """A 'model' whose token vectors are a fixed row per token id: pooled vectors are then plain means."""
    table = np.random.default_rng(0).normal(size=(size, dimension)).astype(np.float32)

    def run(ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        return table[ids]

    return table, run


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def test_token_ranges_find_each_sentences_pieces_and_refuse_what_the_window_cut():
    offsets = [(0, 0), (0, 3), (4, 7), (8, 11), (0, 0)]  # [CLS] one two thr [SEP], cut after "thr"
    special = [1, 0, 0, 0, 1]
    assert token_ranges(offsets, special, [(0, 7), (8, 11), (8, 20), None, (3, 4)]) == [
        [1, 2], [3], None, None, None]  # "three ..." ran past the window; a space has no pieces


def test_one_pass_pools_the_paragraph_and_its_sentences():
    context, text = "Moon", "It orbits Earth. It has no air."
    tokenizer, size = word_tokenizer(f"{context} {text}".replace(".", " .").split(), window=64)
    table, run = table_model(size)
    passage = Passage(context, text, ((0, 16), (17, 31)), ("It orbits Earth.", "It has no air."))
    vectors = embed(tokenizer, run, [passage], one_pass=True)
    ids = tokenizer.encode(f"{context}\n{text}").ids
    assert np.allclose(vectors.paragraphs[0], unit(table[ids].mean(axis=0)), atol=1e-6)
    first = tokenizer.encode(text[:16]).ids  # [CLS] It orbits Earth . [SEP]: the sentence alone, its own pass
    assert np.allclose(vectors.sentences[0], unit(table[first].mean(axis=0)), atol=1e-6)
    # In context: the context's and the sentence's pieces from the paragraph's pass, no [CLS]/[SEP].
    pieces = tokenizer.encode("Moon It has no air .").ids[1:-1]
    assert np.allclose(vectors.sentences_in_context[1], unit(table[pieces].mean(axis=0)), atol=1e-6)
    assert vectors.sentences.shape == vectors.sentences_in_context.shape == (2, table.shape[1])
    # By default the sentence is read again under its context, as sentence-transformers would.
    default = embed(tokenizer, run, [passage])
    again = tokenizer.encode("Moon\nIt has no air.").ids
    assert np.allclose(default.sentences_in_context[1], unit(table[again].mean(axis=0)), atol=1e-6)
    assert np.allclose(default.paragraphs, vectors.paragraphs) and np.allclose(default.sentences, vectors.sentences)


def test_a_sentence_past_the_window_gets_its_own_pass_never_a_vector_of_nothing():
    sentences = ["alpha beta gamma.", "delta epsilon zeta eta theta.", "iota kappa."]
    text = " ".join(sentences)
    spans, at = [], 0
    for sentence in sentences:
        spans.append((at, at + len(sentence)))
        at += len(sentence) + 1
    tokenizer, size = word_tokenizer(f"Title {text}".replace(".", " .").split(), window=8)  # cut inside the 2nd
    table, run = table_model(size)
    vectors = embed(tokenizer, run, [Passage("Title", text, tuple(spans), tuple(sentences)),
                                     Passage("", "iota kappa.", (None,), ("iota kappa.",))], one_pass=True)
    for i, sentence in enumerate(sentences[1:], start=1):  # past the window: its own pass, under the title
        own = tokenizer.encode(f"Title\n{sentence}").ids
        assert np.allclose(vectors.sentences_in_context[i], unit(table[own].mean(axis=0)), atol=1e-6)
    own = tokenizer.encode("iota kappa.").ids  # a sentence that could not be placed in its text
    assert np.allclose(vectors.sentences_in_context[3], unit(table[own].mean(axis=0)), atol=1e-6)
    assert np.all(np.isfinite(vectors.sentences)) and np.allclose(np.linalg.norm(vectors.sentences, axis=1), 1)
    assert np.allclose(np.linalg.norm(vectors.sentences_in_context, axis=1), 1)


def test_texts_run_one_by_one_on_several_threads_give_the_vectors_of_batches():
    import threading
    import time

    sentences = [f"{word} {word} ends." for word in ("alpha", "beta", "gamma", "delta")] + ["a much longer one ."]
    text = " ".join(sentences)
    spans, at = [], 0
    for sentence in sentences:
        spans.append((at, at + len(sentence)))
        at += len(sentence) + 1
    tokenizer, size = word_tokenizer(f"Title {text}".replace(".", " .").split(), window=64)
    table, plain = table_model(size)
    shapes, threads = [], set()

    def run(ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        shapes.append(ids.shape)
        threads.add(threading.get_ident())
        time.sleep(0.001)  # a model's run lets the other threads take texts meanwhile
        return plain(ids, mask, types)

    passages = [Passage("Title", text, tuple(spans), tuple(sentences)), Passage("", sentences[0], ((0, 16),),
                                                                              (sentences[0],))] * 40
    batched = embed(tokenizer, plain, passages)
    alone = embed(tokenizer, run, passages, batching=late_chunking.Batching(size=1, tokens=0, workers=3))
    assert {shape[0] for shape in shapes} == {1} and len(threads) > 1
    for kind in ("paragraphs", "sentences", "sentences_in_context"):
        assert np.allclose(getattr(batched, kind), getattr(alone, kind), atol=1e-6)


def test_no_passages_no_vectors():
    tokenizer, size = word_tokenizer([], window=8)
    assert embed(tokenizer, table_model(size)[1], []).paragraphs.shape[0] == 0


@pytest.mark.slow
def test_onnxruntime_and_torch_give_the_same_index_vectors(cache: Path):
    """The contract behind --device: what the CPU (onnxruntime) and a GPU (torch) build are the
    same vectors, so an index answers the same wherever it was built. Checked here with torch on
    the CPU, the code path a GPU takes."""
    from qa import late_chunking
    from qa.embedding import load_encoder
    from qa.index import Fresh

    encoder = load_encoder("all-MiniLM-L6-v2")
    text = (ROOT / "seeds").glob("*.txt")
    fresh = []
    for row, path in enumerate(sorted(text)):
        paragraph = " ".join(path.read_text(encoding="utf-8").split()[:400])  # past the 256-piece window
        sentences = [(i, s.strip() + ".") for i, s in enumerate(paragraph.split(". ")) if s.strip()]
        fresh.append(Fresh(row, "U.S.-Japan summit", paragraph, sentences))
    passages = [f.passage() for f in fresh]
    tokenizer = late_chunking.unpadded(encoder.model.tokenizer.backend_tokenizer, encoder.max_seq_length)
    for one_pass in (False, True):
        on_cpu = late_chunking.joined(encoder.embed_passages(passages, one_pass=one_pass, float32=True))
        in_torch = late_chunking.embed(tokenizer, encoder._torch_run(), passages, one_pass=one_pass)
        for kind in ("paragraphs", "sentences", "sentences_in_context"):
            assert float((getattr(on_cpu, kind) * getattr(in_torch, kind)).sum(axis=1).min()) >= 0.9999
        # The CPU's default, int8 weights: near the float vectors, and each text's own, whatever
        # else is embedded with it (an incremental build gets the vectors a full rebuild would).
        int8 = late_chunking.joined(encoder.embed_passages(passages, one_pass=one_pass))
        last = late_chunking.joined(encoder.embed_passages(passages[-1:], one_pass=one_pass))
        for kind in ("paragraphs", "sentences", "sentences_in_context"):
            assert float((getattr(int8, kind) * getattr(in_torch, kind)).sum(axis=1).min()) >= 0.98
            assert not np.allclose(getattr(int8, kind), getattr(in_torch, kind), atol=1e-4)  # int8 it was
            tail = getattr(int8, kind)[-len(getattr(last, kind)):]
            assert np.allclose(tail, getattr(last, kind), atol=1e-6)
    on_cpu = late_chunking.joined(encoder.embed_passages(passages, float32=True))
    # A paragraph's vector is sentence-transformers' own vector of the same text, window and all.
    reference = encoder.encode([p.embedded for p in passages])
    assert float((on_cpu.paragraphs * reference).sum(axis=1).min()) >= 0.9999
    alone = encoder.encode([t for p in passages for t in p.sentence_texts])
    assert float((on_cpu.sentences * alone).sum(axis=1).min()) >= 0.9999
    in_context = encoder.encode([f"{p.context}\n{t}" for p in passages for t in p.sentence_texts])
    assert float((on_cpu.sentences_in_context * in_context).sum(axis=1).min()) >= 0.9999
