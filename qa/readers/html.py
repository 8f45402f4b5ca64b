"""Read a saved web page (.html, .htm) with selectolax: its main content, with headings.

The main content is the page's `<main>`, else its `<article>`, else its
`<body>`; navigation, headers, footers, asides, forms, scripts and styles are
dropped.  Each heading (`h1`-`h6`) becomes a Markdown heading of its level;
each paragraph, list item, table row, preformatted block and quote becomes a
paragraph, numbered in order (headings count), so a passage is cited by its
paragraphs.  The page is tidied first (`qa.readers.markup`), so reading it takes
time linear in its length however deep its markup nests.

Not handled: text set straight in a `<div>` outside any paragraph when the
page also has paragraphs, pages built by JavaScript, frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qa.errors import CorpusError
from qa.readers.base import Reading, paragraphs_reading
from qa.readers.markup import BLOCK_TAGS, tidy
from qa.readers.text import decode


def read(name: str, raw: bytes) -> Reading:
    """The main content of a page as Markdown, one paragraph per block."""
    from selectolax.lexbor import LexborHTMLParser

    text, notes = decode(raw, name)
    tree = LexborHTMLParser(tidy(text))
    root = tree.css_first("main") or tree.css_first("article") or tree.body or tree.root
    if root is None:
        raise CorpusError("it holds no HTML content. Check that it is a web page.")
    blocks = [block for node in _outer_blocks(root) if (block := _block(node))]
    if not blocks:
        plain = " ".join(root.text(separator=" ").split())
        blocks = [plain] if plain else []
    if not blocks:
        raise CorpusError("it has no text in its main content")
    reading = paragraphs_reading(blocks)
    return Reading(reading.text, reading.layout, notes)


def _outer_blocks(root: Any) -> Iterator[Any]:
    """The blocks under `root` that are inside no other block, in order (one read of the
    tree: a block inside another is read with it)."""
    pending = list(reversed(list(root.iter())))
    while pending:
        node = pending.pop()
        if node.tag in BLOCK_TAGS:
            yield node
        else:
            pending += reversed(list(node.iter()))


def _block(node: Any) -> str:
    """One block as a line of Markdown."""
    tag = node.tag
    if tag == "tr":  # its own cells: a table inside one is read as part of that cell
        cells = [" ".join(cell.text(separator=" ").split()) for cell in node.iter()]
        return " | ".join(cell for cell in cells if cell)
    text = " ".join(node.text(separator=" ").split())
    if not text:
        return ""
    if tag[0] == "h" and tag[1:].isdigit():
        return "#" * int(tag[1:]) + " " + text
    return f"- {text}" if tag == "li" else text
