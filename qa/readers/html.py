"""Read a saved web page (.html, .htm) with selectolax: its main content, with headings.

The main content is the page's `<main>`, else its `<article>`, else its
`<body>`; navigation, headers, footers, asides, forms, scripts and styles are
dropped.  Each heading (`h1`-`h6`) becomes a Markdown heading of its level;
each paragraph, list item, table row, preformatted block and quote becomes a
paragraph, numbered in order (headings count), so a passage is cited by its
paragraphs.

Not handled: text set straight in a `<div>` outside any paragraph when the
page also has paragraphs, pages built by JavaScript, frames.
"""

from __future__ import annotations

from typing import Any

from qa.errors import CorpusError
from qa.readers.base import Reading, paragraphs_reading
from qa.readers.text import decode

_DROPPED = "script, style, noscript, template, nav, header, footer, aside, form, svg, iframe"
_BLOCKS = "h1, h2, h3, h4, h5, h6, p, li, pre, blockquote, tr, dt, dd, figcaption"
_BLOCK_TAGS = {tag.strip() for tag in _BLOCKS.split(",")}


def read(name: str, raw: bytes) -> Reading:
    """The main content of a page as Markdown, one paragraph per block."""
    from selectolax.lexbor import LexborHTMLParser

    text, notes = decode(raw, name)
    tree = LexborHTMLParser(text)
    for node in tree.css(_DROPPED):
        node.decompose()
    root = tree.css_first("main") or tree.css_first("article") or tree.body or tree.root
    if root is None:
        raise CorpusError("it holds no HTML content. Check that it is a web page.")
    blocks = [block for node in root.css(_BLOCKS) if (block := _block(node))]
    if not blocks:
        plain = " ".join(root.text(separator=" ").split())
        blocks = [plain] if plain else []
    if not blocks:
        raise CorpusError("it has no text in its main content")
    reading = paragraphs_reading(blocks)
    return Reading(reading.text, reading.layout, notes)


def _block(node: Any) -> str:
    """One block as a line of Markdown; "" for one inside another block (read with it)."""
    parent = node.parent
    while parent is not None:
        if parent.tag in _BLOCK_TAGS:
            return ""
        parent = parent.parent
    tag = node.tag
    if tag == "tr":
        cells = [" ".join(cell.text(separator=" ").split()) for cell in node.css("th, td")]
        return " | ".join(cell for cell in cells if cell)
    text = " ".join(node.text(separator=" ").split())
    if not text:
        return ""
    if tag[0] == "h" and tag[1:].isdigit():
        return "#" * int(tag[1:]) + " " + text
    return f"- {text}" if tag == "li" else text
