"""Markdown: what each part of the source is, through markdown-it-py; offsets stay in the source.

    >>> from qa.formats import markdown
    >>> source = "---\\ntitle: x\\n---\\n# Moon\\n\\nIt orbits [Earth](https://e.org).\\n\\n```\\ncode\\n```\\n"
    >>> [r.role for r in markdown.regions(source)]
    ['skip', 'heading', 'prose', 'skip']
    >>> markdown.plain("It orbits [Earth](https://e.org).")
    'It orbits Earth.'

Markdown is not converted: citations quote the source as it is. The parse says which
lines are headings (context for what follows), which are fenced or indented code,
HTML blocks, rules or front matter (never indexed) and which are tables (found, but
never answers); `plain` reduces links, emphasis and inline code to their text for
what is embedded and matched, so a URL neither matches nor dilutes a sentence.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from qa.formats.base import Region, TextLayer

VERSION = 2
LIBRARY = "markdown-it-py"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_FRONT_MATTER_END = ("---", "...")
_SKIPPED = {"fence": "skip", "code_block": "skip", "html_block": "skip", "hr": "skip"}


@cache
def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


def layer(text: str) -> TextLayer:
    """The source itself, with its `regions`."""
    return TextLayer("markdown", text, tuple(regions(text)))


def regions(text: str) -> list[Region]:
    """The roles of the source's lines (see `qa.formats.base.ROLES`), as offset ranges, in order.

    Blank lines belong to no region; consecutive lines of one role (one heading) are one region.
    """
    lines = [(m.start(), m.start() + len(m.group().rstrip("\r\n"))) for m in _LINE.finditer(text)]
    roles: list[tuple[str, str]] = [("prose", "")] * len(lines)  # (role, heading title) by line
    front = _front_matter(text, lines)
    for number in range(front):
        roles[number] = ("skip", "")
    source = "\n" * front + "".join(m.group() for m in list(_LINE.finditer(text))[front:])
    tokens = _parser().parse(source)
    for i, token in enumerate(tokens):
        if token.map is None or token.level != 0 and token.type != "heading_open":
            continue
        first, last = token.map
        role = ""
        title = ""
        if token.type == "heading_open":
            role, title = "heading", plain(tokens[i + 1].content) if i + 1 < len(tokens) else ""
        elif token.type in _SKIPPED:
            role = _SKIPPED[token.type]
        elif token.type == "table_open":
            role = "table"
        if role:
            for number in range(first, min(last, len(lines))):
                roles[number] = (role, title)
    result: list[Region] = []
    previous = -2  # the last non-blank line's number
    for number, (start, end) in enumerate(lines):
        if not text[start:end].strip():
            continue
        role, title = roles[number]
        if result and number == previous + 1 and roles[previous] == roles[number]:
            result[-1] = Region(result[-1].start, end, role, title)
        else:
            result.append(Region(start, end, role, title))
        previous = number
    return result


def _front_matter(text: str, lines: list[tuple[int, int]]) -> int:
    """How many lines at the top are YAML front matter (``---`` ... ``---``), or 0."""
    if not lines or text[lines[0][0]:lines[0][1]].strip() != "---":
        return 0
    for number, (start, end) in enumerate(lines[1:], start=1):
        if text[start:end].strip() in _FRONT_MATTER_END:
            return number + 1
    return 0


def plain(text: str) -> str:
    """Inline Markdown reduced to its text: links and images to their text, emphasis and
    code marks dropped, inline HTML removed."""
    parsed = _parser().parseInline(text)
    if not parsed or not parsed[0].children:
        return text
    parts = []
    for child in parsed[0].children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")  # a hard break ("  " or "\\" at a line's end) is no end of anything read
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)
