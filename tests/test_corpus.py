from __future__ import annotations

from pathlib import Path

import pytest

from qa.corpus import (
    Skipped,
    discover,
    fold,
    is_fragment,
    is_heading,
    line_of,
    read_document,
    split_paragraphs,
    split_sentences,
)
from qa.errors import BadInput


def spans(text: str) -> list[str]:
    return [text[p.start:p.end] for p in split_paragraphs("f.txt", text)]


def test_blank_lines_separate_paragraphs_and_offsets_slice_exactly():
    text = "Title\n\nFirst line.\nstill first.\n\n\n  Second.  \n"
    paragraphs = split_paragraphs("f.txt", text)
    assert [p.text for p in paragraphs] == ["Title", "First line.\nstill first.", "Second."]
    assert [p.number for p in paragraphs] == [1, 2, 3]
    assert [p.line for p in paragraphs] == [1, 3, 7]
    assert all(text[p.start:p.end] == p.text for p in paragraphs)


def test_without_blank_lines_each_nonempty_line_is_a_paragraph():
    text = "One.\nTwo.\nThree."
    assert spans(text) == ["One.", "Two.", "Three."]
    assert [p.line for p in split_paragraphs("f.txt", text)] == [1, 2, 3]


def test_whitespace_only_lines_count_as_blank():
    assert spans("A.\n   \t\nB.\n") == ["A.", "B."]


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_line_endings_keep_offsets_into_the_raw_text(newline: str):
    text = newline.join(["Head", "", "Body one.", "Body two.", "", "Tail."])
    paragraphs = split_paragraphs("f.txt", text)
    assert [p.text.replace(newline, " ") for p in paragraphs] == ["Head", "Body one. Body two.", "Tail."]
    assert all(text[p.start:p.end] == p.text for p in paragraphs)
    assert [p.line for p in paragraphs] == [1, 3, 6]


def test_repeated_paragraphs_get_their_own_offsets():
    text = "Same words.\n\nSame words.\n\nSame words.\n"
    paragraphs = split_paragraphs("f.txt", text)
    assert [p.start for p in paragraphs] == [0, 13, 26]
    assert [p.line for p in paragraphs] == [1, 3, 5]


def test_repeated_sentences_get_their_own_offsets():
    text = "It rained. It rained. Then it stopped."
    paragraph = split_paragraphs("f.txt", text)[0]
    found = split_sentences(paragraph)
    assert [text[s:e] for s, e in found] == ["It rained.", "It rained.", "Then it stopped."]
    assert found[0] != found[1]


def test_sentences_respect_abbreviations_and_split_after_a_final_one():
    text = ("Talks in Washington, D.C. with Dr. Jeffrey Hornung of the Rand Corp. went on and "
            "the U.S. This summit was historic. “It ended,” he said.")
    paragraph = split_paragraphs("f.txt", "Intro\n\n" + text)[1]
    sentences = [paragraph.text[s - paragraph.start:e - paragraph.start] for s, e in split_sentences(paragraph)]
    assert sentences == [
        "Talks in Washington, D.C. with Dr. Jeffrey Hornung of the Rand Corp. went on and the U.S.",
        "This summit was historic.",
        "“It ended,” he said.",
    ]


def test_sentence_offsets_are_exact_after_curly_quotes_and_non_ascii():
    text = "Japan’s “new era” began — in 2024. Café owners… cheered. ✓ Done."
    paragraph = split_paragraphs("f.txt", text)[0]
    sentences = [text[s:e] for s, e in split_sentences(paragraph)]
    assert sentences[0] == "Japan’s “new era” began — in 2024."
    assert "".join(sentences).replace(" ", "") == text.replace(" ", "")


def test_wrapped_lines_do_not_end_a_sentence():
    text = "Intro\n\nThe leaders met in\nWashington to talk. They agreed.\n"
    paragraph = split_paragraphs("f.txt", text)[1]
    assert [text[s:e] for s, e in split_sentences(paragraph)] == [
        "The leaders met in\nWashington to talk.", "They agreed."]


@pytest.mark.parametrize(("text", "fragment", "heading"), [
    ("U.S.-Japan Strategic Initiatives", True, True),
    ("# The Moon", True, True),
    ("- Corporate Japan’s Blow to US East Asia Policy", True, False),
    ("China’s Response", True, True),
    ("The leaders met in Washington.", False, False),
    ("“The alliance is strong,” he said.", False, False),
])
def test_fragments_and_headings(text: str, fragment: bool, heading: bool):
    assert is_fragment(text) is fragment
    assert is_heading(text) is heading


def test_line_of_counts_all_newline_styles():
    assert line_of("a\r\nb\rc\nd", 7) == 4
    assert line_of("abc", 0) == 1


def test_fold_is_lenient_about_quotes_case_and_width():
    assert fold("Japan’s “NEW” Era") == "japan's \"new\" era"
    assert fold("ﬁne") == "fine"


def test_read_document_decodes_utf8_and_hashes_bytes(tmp_path: Path):
    path = tmp_path / "a.txt"
    path.write_bytes("Japan’s plan\r\n".encode())
    document, warning = read_document(path, "a.txt")
    assert warning is None
    assert document.text == "Japan’s plan\r\n"
    assert len(document.sha256) == 64


def test_read_document_falls_back_for_latin1(tmp_path: Path):
    path = tmp_path / "a.txt"
    path.write_bytes("Café au lait.".encode("latin-1"))
    document, warning = read_document(path, "a.txt")
    assert document.text == "Café au lait."
    assert warning and "not valid UTF-8" in warning


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty"), (b"  \n\n ", "empty"), (b"PK\x03\x04\x00\x00binary", "binary")])
def test_read_document_skips_empty_and_binary_files(tmp_path: Path, content: bytes, reason: str):
    path = tmp_path / "a.txt"
    path.write_bytes(content)
    with pytest.raises(Skipped, match=reason):
        read_document(path, "a.txt")


def test_read_document_skips_unreadable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "a.txt"
    path.write_text("text")

    def deny(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(Skipped, match="unreadable"):
        read_document(path, "a.txt")


def test_discover_walks_folders_skips_hidden_and_warns_on_other_files(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub" / "b.md").write_text("b")
    (tmp_path / ".hidden.txt").write_text("h")
    (tmp_path / ".git" / "c.txt").write_text("c")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    found, warnings = discover([tmp_path])
    assert [name for _, name in found] == ["a.txt", "sub/b.md"]
    assert len(warnings) == 1 and "image.png" in warnings[0]


def test_discover_accepts_single_files_and_rejects_missing_paths(tmp_path: Path):
    (tmp_path / "a.txt").write_text("a")
    assert [name for _, name in discover([tmp_path / "a.txt"])[0]] == ["a.txt"]
    with pytest.raises(BadInput, match="not found"):
        discover([tmp_path / "missing"])


def test_discover_rejects_two_files_cited_by_the_same_name(tmp_path: Path):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.txt").write_text("a")
    with pytest.raises(BadInput, match="'a.txt'"):
        discover([tmp_path / "x", tmp_path / "y"])


def test_discover_survives_a_symlink_loop(tmp_path: Path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert [name for _, name in discover([tmp_path])[0]] == ["a.txt"]


def test_a_text_without_blank_lines_or_full_stops_is_cut_into_bounded_units_at_the_best_boundary():
    from qa.corpus import PARAGRAPH_CHARS, SENTENCE_CHARS

    words = "river stone market winter harbour copper lantern meadow"
    text = ", ".join(f"{words} {i}" for i in range(600)) + "\n"  # 36,000 characters on one line
    paragraphs = split_paragraphs("long.txt", text)
    assert len(paragraphs) > 1 and all(len(p.text) <= PARAGRAPH_CHARS for p in paragraphs)
    assert all(text[p.start:p.end] == p.text for p in paragraphs)
    assert all(p.text.endswith(",") for p in paragraphs[:-1])  # cut after a comma, not inside a word
    assert "".join(p.text for p in paragraphs).replace(" ", "") == text.strip().replace(" ", "")
    for paragraph in paragraphs[:2]:
        sentences = split_sentences(paragraph)
        assert all(e - s <= SENTENCE_CHARS for s, e in sentences) and len(sentences) > 1
        assert all(text[s:e].strip() == text[s:e] for s, e in sentences)


def test_bounded_prefers_a_line_break_then_a_clause_then_a_comma_then_a_space():
    from qa.corpus import bounded

    assert bounded("alpha beta, gamma; delta\nepsilon zeta", 0, 36, 30) == [(0, 24), (25, 36)]
    assert bounded("alpha beta, gamma; delta epsilon zeta", 0, 37, 30) == [(0, 18), (19, 37)]
    assert bounded("alpha beta, gamma delta epsilon zeta", 0, 36, 30) == [(0, 23), (24, 36)]  # comma too early
    assert bounded("alphabetagammadeltaepsilonzeta", 0, 30, 12) == [(0, 12), (12, 24), (24, 30)]
