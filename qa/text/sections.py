"""Cut a document into titled sections, the unit its citations name.

Sections: Markdown ATX headings (`#` to `######`, not inside code fences) give
sections and their nesting.  In plain text a heading is a short line without
sentence-ending punctuation that stands alone between blank lines, is not a
list item and is followed by body text (a paragraph that could not itself be a
heading); the first heading is the document title.  A heading with no text under
it is read as text, so no line is lost for looking like a heading.  Text before
the first heading forms a section named after the file.  The only lines dropped are
the "See also" link lines of scraped pages (`is_noise`); `noise_lines` lists them.

Not handled: setext Markdown headings (underlined with === or ---), tables as
structures, and headings inside HTML.

Not here: cutting sections into chunks (see `qa.text.chunking`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from qa.readers.corpus import Document
from qa.text.sentences import LIST_ITEM

_SEE_ALSO = re.compile(r"[^\S\n]*see also\b", re.IGNORECASE | re.MULTILINE)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING_MAX_CHARS = 120
_MD_HEADING_MAX_CHARS = 300  # a longer "# ..." line is read as text, not as a title
_HEADING_MAX_WORDS = 16
_NO_HEADING_END = tuple(".!?:;,…")
_SENTENCE_END = tuple(".!?…")


@dataclass(frozen=True)
class Section:
    """A titled part of a document; lines are 1-based and inclusive, heading included.

    `text` is the source lines `start_line`..`end_line` as they are in the file,
    so a reader can check a passage in its context.  `pages`, for a PDF only, is
    the (line, page number) where each page of the section begins there, the
    first being the page of `start_line`: `((3, 4), (9, 5))`.
    """

    doc: str
    title: str
    path: tuple[str, ...]
    start_line: int
    end_line: int
    text: str
    pages: tuple[tuple[int, int], ...] = ()

    @property
    def path_text(self) -> str:
        """What the model reads for the section as a unit of meaning: its heading path.

        >>> Section("a.md", "Uses", ("Guide", "Uses"), 3, 9, "").path_text
        'Guide › Uses'
        """
        return " › ".join(self.path)


@dataclass(frozen=True)
class Line:
    """One line of a document: its 1-based number and its text."""

    number: int
    text: str


def is_noise(line: str) -> bool:
    """A "See also" link line of a scraped page, the one kind of line left out.

    >>> is_noise("See also  Other page"), is_noise("See also the appendix for the figures.")
    (True, False)
    """
    return bool(_SEE_ALSO.match(line)) and not line.rstrip().endswith(_SENTENCE_END)


def noise_lines(text: str) -> list[int]:
    """The numbers of the lines of `text` that `is_noise` leaves out.

    >>> noise_lines("Intro\\nSee also  Other page\\nSee also the end.")
    [2]
    """
    found, line, last = [], 1, 0
    for match in re.finditer(r"^" + _SEE_ALSO.pattern, text, _SEE_ALSO.flags):
        line += text.count("\n", last, match.start())
        last = match.start()
        end = text.find("\n", last)
        if is_noise(text[last : len(text) if end < 0 else end]):
            found.append(line)
    return found


def _is_plain_heading(line: str) -> bool:
    stripped = line.strip()
    return (
        0 < len(stripped) <= _HEADING_MAX_CHARS
        and len(stripped.split()) <= _HEADING_MAX_WORDS
        and not stripped.endswith(_NO_HEADING_END)
        and (stripped[0].isupper() or stripped[0].isdigit())
        and not LIST_ITEM.match(line)
        and not is_noise(stripped)
    )


def markdown_heading(line: str) -> tuple[int, str] | None:
    """(level, title) of an ATX heading line, else None; read by hand, in linear time.

    >>> markdown_heading("## Owls ##"), markdown_heading("#hashtag"), markdown_heading("# C#")
    ((2, 'Owls'), None, (1, 'C#'))
    """
    rest = line.lstrip(" ")
    if len(line) - len(rest) > 3 or not rest.startswith("#"):
        return None
    after = rest.lstrip("#")
    level = len(rest) - len(after)
    if level > 6 or (after and after[0] not in " \t"):
        return None
    title = after.strip(" \t")
    unclosed = title.rstrip("#")
    if not unclosed or unclosed[-1] in " \t":  # a closing sequence: "## Owls ##"
        title = unclosed.rstrip(" \t")
    if not title or len(title) > _MD_HEADING_MAX_CHARS:
        return None
    return level, title


def _blocks(lines: list[Line]) -> Iterator[list[Line]]:
    """Runs of non-blank lines."""
    block: list[Line] = []
    for line in lines:
        if line.text.strip():
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


@dataclass
class _RawSection:
    title: str
    path: tuple[str, ...]
    start_line: int
    lines: list[Line]
    level: int = 0
    heading: Line | None = None


def _plain_sections(lines: list[Line], fallback: str) -> list[_RawSection]:
    sections = [_RawSection(fallback, (fallback,), 1, [])]
    blocks = list(_blocks(lines))
    candidates = [len(block) == 1 and _is_plain_heading(block[0].text) for block in blocks]
    # A heading must be followed by body text: a run of short lines is text, not titles.
    body_follows = [not candidate for candidate in candidates[1:]] + [False]
    for position, block in enumerate(blocks):
        if candidates[position] and body_follows[position]:
            title = block[0].text.strip()
            sections.append(_RawSection(title, (title,), block[0].number, []))
        else:
            sections[-1].lines += [*block, Line(0, "")]
    return sections


def _markdown_sections(lines: list[Line], fallback: str) -> list[_RawSection]:
    sections = [_RawSection(fallback, (fallback,), 1, [])]
    stack: list[tuple[int, str]] = []
    fence: str | None = None
    for line in lines:
        fence_match = _FENCE.match(line.text)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker[0] * len(marker)
            elif marker.startswith(fence):
                fence = None
        heading = None if fence or fence_match else markdown_heading(line.text)
        if heading:
            level, title = heading
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            path = tuple(t for _, t in stack)
            sections.append(_RawSection(title, path, line.number, [], level, line))
        else:
            sections[-1].lines.append(line)
    return _text_for_empty_headings(sections)


def _text_for_empty_headings(sections: list[_RawSection]) -> list[_RawSection]:
    """Sections whose heading has text under it, itself or in a deeper section after it;
    the heading line of any other becomes a line of text of the section before."""
    # Which to keep is decided from the end (a heading is kept for the deeper one after it),
    # and the others are folded in from the start: each line is moved once, so time and
    # memory stay linear in the number of headings.
    keep = [True] * len(sections)
    next_kept_level = 0
    for position in range(len(sections) - 1, 0, -1):
        part = sections[position]
        keep[position] = next_kept_level > part.level or any(
            line.text.strip() for line in part.lines
        )
        if keep[position]:
            next_kept_level = part.level
    kept = [sections[0]]
    for part, wanted in zip(sections[1:], keep[1:], strict=True):
        if wanted:
            kept.append(part)
        elif part.heading is not None:
            kept[-1].lines += [part.heading, *part.lines]
    return kept


def page_breaks(doc: Document, start_line: int, end_line: int) -> tuple[tuple[int, int], ...]:
    """Where each page of lines `start_line`..`end_line` begins, for a PDF; else ()."""
    if doc.layout is None or doc.layout.unit != "page":
        return ()
    return doc.layout.breaks(start_line, end_line)


def split_sections(doc: Document) -> list[tuple[Section, list[list[Line]]]]:
    """Sections of `doc`, each with its paragraphs (noise removed).

    A leading untitled section is kept only when it has text.
    """
    lines = [Line(i, text) for i, text in enumerate(doc.text.split("\n"), start=1)]
    fallback = PurePosixPath(doc.path).stem
    raw = (_markdown_sections if doc.is_markdown else _plain_sections)(lines, fallback)
    result = []
    for position, part in enumerate(raw):
        paragraphs = [
            kept
            for block in _blocks(part.lines)
            if (kept := [line for line in block if not is_noise(line.text)])
        ]
        if position == 0 and not paragraphs:
            continue
        end_line = raw[position + 1].start_line - 1 if position + 1 < len(raw) else len(lines)
        while end_line > part.start_line and (
            not lines[end_line - 1].text.strip() or is_noise(lines[end_line - 1].text)
        ):
            end_line -= 1
        source = "\n".join(line.text for line in lines[part.start_line - 1 : end_line])
        pages = page_breaks(doc, part.start_line, end_line)
        section = Section(doc.path, part.title, part.path, part.start_line, end_line, source, pages)
        result.append((section, paragraphs))
    return result
