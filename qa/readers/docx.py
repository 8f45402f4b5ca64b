"""Read a Word document (.docx) with python-docx: its paragraphs, lists and tables in order.

A paragraph in a heading style ("Heading 1" to "Heading 6", or "Title")
becomes a Markdown heading of that level; a paragraph in a list style, or
numbered, becomes a list item; each table row becomes a line of its cells
joined by " | ".  Each block is a paragraph of the read text, numbered in
order (headings count), so a passage is cited by its paragraphs.

A file that would inflate past `qa.readers.zipped`'s limits is not read.

Not handled: headers, footers, footnotes, comments, text boxes and the older
binary `.doc` format.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from typing import Any

from qa.errors import CorpusError
from qa.readers.base import Reading, paragraphs_reading
from qa.readers.zipped import bounded_copy

_HEADING_STYLE = re.compile(r"heading\s*([1-9])", re.IGNORECASE)


def read(name: str, raw: bytes) -> Reading:
    """The body of a Word document as Markdown, one paragraph per block."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(bounded_copy(raw))
        blocks = [block for block in _blocks(document) if block]
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        detail = str(error).strip().split("\n")[0][:120] or type(error).__name__
        raise CorpusError(f"it is damaged or not a Word file ({detail}). Save it again.") from error
    if not blocks:
        raise CorpusError("it has no text")
    return paragraphs_reading(blocks)


def _blocks(document: Any) -> Iterator[str]:
    from docx.table import Table

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                yield " | ".join(_unique(cells))
        else:
            yield _paragraph(item)


def _unique(cells: list[str]) -> list[str]:
    """Cells without the copies Word gives a merged cell, and without empty ones."""
    kept: list[str] = []
    for cell in cells:
        if cell and (not kept or kept[-1] != cell):
            kept.append(cell)
    return kept


def _paragraph(paragraph: Any) -> str:
    text = " ".join(paragraph.text.split())
    if not text:
        return ""
    style = paragraph.style.name if paragraph.style is not None else ""
    heading = _HEADING_STYLE.fullmatch(style.strip())
    if heading:
        return "#" * min(int(heading.group(1)), 6) + " " + text
    if style == "Title":
        return "# " + text
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    if style.lower().startswith("list") or numbered:
        return "- " + text
    return text
