"""HTML: the main text of a page, through selectolax (the Lexbor HTML5 parser).

    >>> from qa.formats import html
    >>> html.extract(b"<title>T</title><nav>Home</nav><main><h1>Moon</h1><p>It orbits.</p></main>").text
    'T\\n\\nMoon\\n\\nIt orbits.'

The main text is ``<main>``, else the page's only ``<article>``, else ``<body>``;
scripts, styles, forms and navigation are dropped everywhere, and the site's
``<header>``, ``<footer>`` and ``<aside>`` when the main text is the whole body.
Headings ``<h1>``–``<h6>`` become headings, block elements paragraphs, tables one
paragraph with a line per row (cells separated by `` | ``), ``<pre>`` code.
"""

from __future__ import annotations

import re
from typing import Any

from qa.formats.base import ExtractionFailed, LayerBuilder, TextLayer

VERSION = 1
LIBRARY = "selectolax"
_DROP = {"script", "style", "noscript", "template", "svg", "iframe", "canvas", "form", "button", "select",
         "nav", "object", "embed", "head", "title", "meta", "link"}
_DROP_FROM_BODY = {"header", "footer", "aside"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = {"p", "div", "section", "article", "main", "li", "dt", "dd", "blockquote", "figure", "figcaption",
           "address", "ul", "ol", "dl", "header", "footer", "aside", "details", "summary", "caption", "center",
           "hr", "body", "html", "fieldset", "legend", "tbody", "thead"}
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def decode(data: bytes) -> str:
    """HTML bytes as text: a byte-order mark or ``<meta charset>`` decides, else UTF-8, else cp1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    declared = _CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), "replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def extract(data: bytes) -> TextLayer:
    """The text layer of an HTML page's bytes.

    Raises:
        ExtractionFailed: the page has no text in its body.
    """
    from selectolax.lexbor import LexborHTMLParser

    try:
        tree = LexborHTMLParser(decode(data))
    except Exception as exc:  # the parser is lenient; this is for what it still refuses
        raise ExtractionFailed(f"not readable HTML ({type(exc).__name__})") from None
    layer = LayerBuilder("html")
    title = " ".join(node.text().split()) if (node := tree.css_first("title")) is not None else ""
    heading = " ".join(node.text().split()) if (node := tree.css_first("h1")) is not None else ""
    if title and title != heading:  # the page's title, unless its first heading says it again
        layer.add(title, "heading")
    root = _main(tree)
    if root is not None:
        _Walker(layer, whole_body=root.tag == "body").walk(root)
    built = layer.build()
    if not any(region.role != "heading" for region in built.regions):
        raise ExtractionFailed("no text in the page's body")
    return built


def _main(tree: Any) -> Any:
    main = tree.css_first("main")
    if main is not None:
        return main
    articles = tree.css("article")
    return articles[0] if len(articles) == 1 else tree.body


class _Walker:
    """Collects inline text into the current paragraph and flushes it at every block boundary."""

    def __init__(self, layer: LayerBuilder, whole_body: bool):
        self.layer = layer
        self.drop = _DROP | (_DROP_FROM_BODY if whole_body else set())
        self.inline: list[str] = []

    def flush(self) -> None:
        if self.inline:
            self.layer.add("".join(self.inline))
            self.inline = []

    def walk(self, node: Any) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                self.inline.append(child.text(deep=False))
            elif tag in self.drop or _hidden(child):
                continue
            elif tag in _HEADINGS:
                self.flush()
                self.layer.add(child.text(), "heading")
            elif tag == "pre":
                self.flush()
                self.layer.add(child.text(), "skip", keep_lines=True)
            elif tag == "table":
                self.flush()
                rows = [" | ".join(" ".join(cell.text().split()) for cell in row.css("th, td"))
                        for row in child.css("tr")]
                self.layer.add("\n".join(row for row in rows if row.strip(" |")), "table", keep_lines=True)
            elif tag == "br":
                self.inline.append(" ")
            elif tag in _BLOCKS:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)


def _hidden(node: Any) -> bool:
    attributes = node.attributes
    return "hidden" in attributes or attributes.get("aria-hidden") == "true" or \
        attributes.get("role") in ("navigation", "banner", "contentinfo")
