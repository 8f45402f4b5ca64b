"""A passage's citation and its section in context, as HTML for the web app: no Gradio.

`citation_html` is a passage's citation (document › section · lines or pages); with the
passage's section, a toggle ("Read in context") that opens `section_html`, the whole
section with the passage's lines marked: a text file's lines numbered as in the file, a
PDF, HTML or Word section as read.  Everything from the corpus is escaped (`qa.web.escape`).

Not here: the answer box and the source cards around the citation (see `qa.web.render`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa.readers.base import Span
from qa.web.escape import esc, esc_name

if TYPE_CHECKING:
    from qa.rank.passage import Passage
    from qa.text.sections import Section


def lines_label(start: int, end: int) -> str:
    """`line 5` or `lines 5–7`."""
    return f"line {start}" if start == end else f"lines {start}–{end}"


def where(passage: Passage) -> str:
    """`pages 4–5` for a PDF, `paragraph 3` for HTML and Word, else `lines 5–7`."""
    if passage.span is not None:
        return passage.span.label
    return lines_label(passage.start_line, passage.end_line)


def _mark_line(line: str, sentences: Sequence[str]) -> str:
    """One source line, escaped, with the first occurrence of each answer sentence marked."""
    spans = sorted(
        (line.find(s), line.find(s) + len(s)) for s in sentences if s and line.find(s) >= 0
    )
    pieces, position = [], 0
    for start, end in spans:
        if start < position:
            continue
        pieces += [esc(line[position:start]), "<mark>", esc(line[start:end]), "</mark>"]
        position = end
    pieces.append(esc(line[position:]))
    return "".join(pieces)


def section_place(section: Section, rendered: bool = False) -> str:
    """`pages 4–5` for a section of a PDF, `lines 5–7` for a text file, and "" for an HTML
    or Word file (`rendered`: its lines are qa's reading of it, not the file's)."""
    if section.pages:
        return Span("page", section.pages[0][1], section.pages[-1][1]).label
    return "" if rendered else lines_label(section.start_line, section.end_line)


def section_html(section: Section, passage: Passage) -> str:
    """The whole section; the passage's lines carry class `qa-hit`.

    A text file's section is its lines as they are, numbered as in the file.  A PDF, HTML
    or Word section (a passage placed by a `Span`) is shown as read (`_rendered_rows`), with
    no line numbers: those of qa's reading would match nothing the reader can open.
    """
    rendered = passage.span is not None or bool(section.pages)
    sentences = [h.text.strip() for h in passage.highlights]
    rows = (_rendered_rows if rendered else _numbered_rows)(section, passage, sentences)
    title = " › ".join(section.path) or section.title
    place = section_place(section, rendered)
    where = f'<span class="qa-where">&nbsp;· {esc(place)}</span>' if place else ""
    return (
        f'<div class="qa-section" aria-label="Section in context">'
        f'<p class="qa-section-head">{esc_name(section.doc)} › <b>{esc_name(title)}</b>'
        f"{where}</p>"
        # Focusable, so a long section's lines scroll from the keyboard too.
        f'<div class="qa-lines{" qa-rendered" if rendered else ""}" tabindex="0">'
        f"{''.join(rows)}</div></div>"
    )


def _numbered_rows(section: Section, passage: Passage, sentences: Sequence[str]) -> list[str]:
    """The lines of a text file's section as they are, each with its number in the file."""
    rows = []
    for number, line in enumerate(section.text.split("\n"), start=section.start_line):
        hit = passage.start_line <= number <= passage.end_line
        body = _mark_line(line, sentences) if hit else esc(line)
        rows.append(
            f'<div class="{_classes(line, hit)}"><span class="qa-ln">{number}</span>'
            f'<span class="qa-src">{body}</span></div>'
        )
    return rows


def _classes(line: str, hit: bool, extra: str = "") -> str:
    return "qa-line" + extra + (" qa-hit" if hit else "") + ("" if line.strip() else " qa-blank")


_HEADING = re.compile(r"(#{1,6}) +(?=\S)")  # how the PDF, HTML and Word readers write one


def _rendered_rows(section: Section, passage: Passage, sentences: Sequence[str]) -> list[str]:
    """A PDF, HTML or Word section as read: `## 2.1 Data` a heading "2.1 Data", the lines of
    a paragraph flowing as one, `- item` (a list item of HTML or Word) a bulleted item, and
    in a PDF a separator row, `page 5`, where each of its pages begins, the first included."""
    pages = dict(section.pages)
    sentences = [" ".join(s.split()) for s in sentences]  # as the paragraph's lines flow
    rows: list[str] = []
    block: list[tuple[int, str]] = []  # the paragraph so far: (line number, text)
    for number, line in enumerate(section.text.split("\n"), start=section.start_line):
        heading = _HEADING.match(line)
        if number in pages or heading or not line.strip() or line.startswith("- "):
            rows += _paragraph(block, passage, sentences)
            block = []
        if number in pages:
            page = esc(f"page {pages[number]}")
            rows.append(
                f'<div class="qa-page-break" role="separator" aria-label="{page}">{page}</div>'
            )
        if heading:
            hit = passage.start_line <= number <= passage.end_line
            level = min(6, len(heading.group(1)) + 2)  # under the page's title and results
            rows.append(
                f'<div class="{_classes(line, hit, " qa-heading")}" role="heading" '
                f'aria-level="{level}"><span class="qa-src">{esc(line[heading.end() :])}'
                "</span></div>"
            )
        elif line.strip():
            block.append((number, line.strip()))
    return rows + _paragraph(block, passage, sentences)


def _paragraph(
    block: Sequence[tuple[int, str]], passage: Passage, sentences: Sequence[str]
) -> list[str]:
    """The lines of one paragraph as one row, its answer sentences marked if it is the
    passage's; a list item's dash a bullet."""
    if not block:
        return []
    hit = any(passage.start_line <= number <= passage.end_line for number, _ in block)
    text = " ".join(" ".join(line for _, line in block).split())
    item = text.startswith("- ")
    text = text[2:] if item else text
    body = ("• " if item else "") + (_mark_line(text, sentences) if hit else esc(text))
    classes = _classes(text, hit, " qa-para")
    return [f'<div class="{classes}"><span class="qa-src">{body}</span></div>']


def citation_html(passage: Passage, section: Section | None) -> str:
    """The citation; with its section, a toggle that shows it ("Read in context", then "Hide")."""
    path = esc_name(" › ".join(passage.section_path) or passage.section)
    place = esc(where(passage)).replace(" ", "&nbsp;")
    cite = (
        f'<cite class="qa-cite">{esc_name(passage.doc)} › <b>{path}</b>'
        f'<span class="qa-where">&nbsp;· {place}</span></cite>'
    )
    if section is None:
        return f'<div class="qa-cite-row">{cite}</div>'
    return (
        f'<details class="qa-context"><summary>{cite} <span class="qa-open">'
        '<span class="qa-show">Read<span class="qa-wide"> in context</span></span>'
        '<span class="qa-hide">Hide</span>'
        f"</span></summary>{section_html(section, passage)}</details>"
    )
