from __future__ import annotations

from pathlib import Path

import pytest

import qa
from qa.errors import BadInput, IndexMismatch
from qa.settings import MAX_QUESTION_CHARS, Retriever


def verify(answer, corpus: Path) -> None:
    """Every citation in an answer slices its file to exactly the quoted text."""
    span = answer.span
    text = (corpus / span.citation.file).read_bytes().decode("utf-8")
    assert text[span.citation.start:span.citation.end] == span.text
    assert text[:span.citation.start].count("\n") + 1 == span.citation.line
    for hit in answer.passages:
        source = (corpus / hit.citation.file).read_bytes().decode("utf-8")
        assert source[hit.citation.start:hit.citation.end] == hit.text


def test_ask_quotes_the_short_answer_in_its_sentence_and_cites_it(tiny_index: Path, tiny_corpus: Path,
                                                                  fake_encoder):
    engine = qa.open_index(tiny_index, encoder=fake_encoder)
    answer = engine.ask("Who walked on the Moon?", min_score=0, reader=qa.Reader.trained)
    assert answer.span.text == "Neil Armstrong"
    assert answer.span.context.text == "Neil Armstrong walked on the Moon in 1969."
    assert (answer.span.citation.file, answer.span.citation.paragraph) == ("space/moon.md", 3)
    verify(answer, tiny_corpus)
    assert answer.span.score == engine.reader.probability(answer.span.evidence)


def test_the_trained_reader_puts_the_passage_of_its_answer_first(tiny_index: Path, fake_encoder):
    engine = qa.open_index(tiny_index, encoder=fake_encoder)
    for question in ("Who walked on the Moon?", "What colour are bananas?", "What is the capital of France?"):
        answer = engine.ask(question, min_score=0, reader=qa.Reader.trained)
        first = answer.passages[0].citation
        assert (first.file, first.paragraph) == (answer.span.citation.file, answer.span.citation.paragraph)
        unranked = engine.ask(question, min_score=0, reader=qa.Reader.trained, rerank=False)
        assert [h.citation for h in unranked.passages] == [h.citation for h in engine.search(question)]


def test_the_default_reader_quotes_the_whole_sentence(tiny_index: Path, tiny_corpus: Path, fake_encoder):
    answer = qa.open_index(tiny_index, encoder=fake_encoder).ask("Who walked on the Moon?")
    assert answer.span.text == answer.span.context.text == "Neil Armstrong walked on the Moon in 1969."
    verify(answer, tiny_corpus)


def test_ask_abstains_when_nothing_matches_but_lists_passages(tiny_index: Path, fake_encoder):
    answer = qa.open_index(tiny_index, encoder=fake_encoder).ask("What is the capital of France?")
    assert answer.abstained and answer.span is None
    assert answer.passages
    assert answer.to_dict()["answer"] is None


def test_to_dict_matches_the_documented_schema(tiny_index: Path, fake_encoder):
    data = qa.open_index(tiny_index, encoder=fake_encoder).ask("What colour are bananas?", min_score=0).to_dict()
    assert list(data) == ["question", "abstained", "answer", "passages"]
    assert list(data["answer"]) == ["text", "score", "file", "paragraph", "page", "line", "start", "end", "context"]
    assert list(data["answer"]["context"]) == ["text", "start", "end", "line"]
    assert list(data["passages"][0]) == ["file", "paragraph", "page", "line", "start", "end", "score", "text"]
    assert data["answer"]["page"] is None and data["passages"][0]["page"] is None  # pages are a PDF's only


def test_min_score_controls_abstention(tiny_index: Path, fake_encoder):
    engine = qa.open_index(tiny_index, encoder=fake_encoder)
    assert engine.ask("Who walked on the Moon?", min_score=1.0).abstained
    assert not engine.ask("What is the capital of France?", min_score=0.0).abstained


@pytest.mark.parametrize("retriever", list(Retriever))
def test_every_retriever_finds_the_passage(tiny_index: Path, fake_encoder, retriever):
    hits = qa.open_index(tiny_index, encoder=fake_encoder).search("bananas yellow", retriever=retriever)
    assert hits[0].citation.file == "fruit.txt" and hits[0].citation.paragraph == 3


def test_top_k_limits_passages(tiny_index: Path, fake_encoder):
    engine = qa.open_index(tiny_index, encoder=fake_encoder)
    assert len(engine.ask("Moon", top_k=2).passages) == 2
    with pytest.raises(BadInput, match="top_k"):
        engine.search("Moon", top_k=0)


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_empty_questions_are_rejected(tiny_index: Path, fake_encoder, question):
    with pytest.raises(BadInput, match="empty"):
        qa.open_index(tiny_index, encoder=fake_encoder).ask(question)


def test_long_questions_are_answered_from_their_start(tiny_index: Path, fake_encoder):
    question = "Who walked on the Moon? " + "x" * (MAX_QUESTION_CHARS * 2)
    answer = qa.open_index(tiny_index, encoder=fake_encoder).ask(question)
    assert len(answer.question) == MAX_QUESTION_CHARS


@pytest.mark.parametrize(("dimension", "fingerprint"), [(3, "x"), (64, "another model, same size")])
def test_an_encoder_of_another_model_is_refused(tiny_index: Path, dimension: int, fingerprint: str):
    class Other:
        name = "other"

    Other.dimension, Other.fingerprint = dimension, fingerprint
    with pytest.raises(IndexMismatch, match="built with fake-hash .* not other .*--rebuild --model other"):
        qa.open_index(tiny_index, encoder=Other())


def test_build_index_is_the_library_entry_point(tiny_corpus: Path, tmp_path: Path, fake_encoder):
    report = qa.build_index([tiny_corpus], tmp_path / "idx", encoder=fake_encoder)
    assert (report.files, report.paragraphs) == (2, 6)


@pytest.mark.parametrize("question", ["Who launched the rover?", "What did “they” say?", "When was it?"])
def test_short_answers_and_their_context_slice_the_file_exactly(tmp_path: Path, fake_encoder, question):
    """CRLF line ends, curly quotes, a phrase repeated in two paragraphs, text before and after:
    whatever the trained reader picks, its span and context are exact slices of the file."""
    from qa.index import build

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = ("Title line\r\n\r\nThey said “yes” in 2019.\r\nThen NASA launched the rover, they said “yes”.\r\n\r\n"
            "Later NASA launched the rover again, on 4 May 2021. Nothing else happened.\r\n")
    (corpus / "crlf.txt").write_bytes(text.encode("utf-8"))
    build([corpus], tmp_path / "index", fake_encoder)
    answer = qa.open_index(tmp_path / "index", encoder=fake_encoder).ask(question, min_score=0.0)
    verify(answer, corpus)
    context = answer.span.context
    assert text[context.start:context.end] == context.text
    assert context.start <= answer.span.citation.start < answer.span.citation.end <= context.end
    assert text[:context.start].count("\n") + 1 == context.line
    assert answer.span.text.strip() == answer.span.text and answer.span.text


def test_a_corpus_holding_each_file_twice_ranks_and_answers_as_if_held_once(tmp_path: Path, tiny_corpus: Path,
                                                                             fake_encoder):
    import shutil

    from qa import evaluate
    from qa.index import build

    twice = tmp_path / "twice"
    for copy in ("a", "b"):
        shutil.copytree(tiny_corpus, twice / copy)
    build([tiny_corpus], tmp_path / "once-index", fake_encoder)
    build([twice], tmp_path / "twice-index", fake_encoder)
    once = qa.open_index(tmp_path / "once-index", encoder=fake_encoder)
    doubled = qa.open_index(tmp_path / "twice-index", encoder=fake_encoder)
    assert doubled.index.manifest["counts"]["copies"] == once.index.manifest["counts"]["paragraphs"]
    for question in ("What colour are bananas?", "Who walked on the Moon?", "apples trees"):
        single, double = once.search(question, top_k=10), doubled.search(question, top_k=10)
        assert [(h.citation.file, h.citation.paragraph) for h in double] == \
               [(f"a/{h.citation.file}", h.citation.paragraph) for h in single]  # the first copy, once
        assert [h.score for h in double] == pytest.approx([h.score for h in single])
        assert doubled.ask(question, min_score=0).to_dict()["answer"]["score"] == \
               pytest.approx(once.ask(question, min_score=0).to_dict()["answer"]["score"])
    # Gold naming the second copy is answered by the first: the same passage.
    gold = evaluate.GoldQuestion("q1", "Who walked on the Moon?", ("Neil Armstrong",),
                                 frozenset({("b/space/moon.md", 3)}))
    (result,) = evaluate.run(doubled, [gold])
    assert result.answer["answer"]["file"] == "a/space/moon.md"
    assert evaluate.summarize([result])["citation_accuracy"] == 1.0
