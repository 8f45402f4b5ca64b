"""Cut documents into sections, and sections into chunks that the model reads whole.

Sections: Markdown ATX headings (`#` to `######`, not inside code fences) give
sections and their nesting.  In plain text a heading is a short line without
sentence-ending punctuation that stands alone between blank lines, is not a
list item and is not scraping noise; the first heading is the document title.
Text before the first heading forms a section named after the file.

Chunks: each paragraph is a chunk; a paragraph shorter than `min_tokens` joins
its neighbour (a lead-in line and its list), and one longer than the model reads
is split at sentence boundaries, then at word boundaries.  A chunk never crosses
a section.  Scraping noise lines ("See also ...") are dropped.

Not handled: setext Markdown headings (underlined with === or ---), tables as
structures, and headings inside HTML.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from qa.corpus import Document
from qa.text import LIST_ITEM, sentence_spans

TokenCounter = Callable[[str], int]
"""Number of word pieces in a text, without the model's special tokens."""

NOISE = re.compile(
    r"^\s*(?:see also\b|related(?: articles| posts)?\s*:|read (?:more|also|next)\b|also read\b"
    r"|advertisement\s*$|share this\b|click here\b)",
    re.IGNORECASE,
)
_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING_MAX_CHARS = 120
_HEADING_MAX_WORDS = 16
_NO_HEADING_END = tuple(".!?:;,…")


@dataclass(frozen=True)
class Section:
    """A titled part of a document; lines are 1-based and inclusive, heading included.

    `text` is the source lines `start_line`..`end_line` as they are in the file,
    so a reader can check a passage in its context.
    """

    doc: str
    title: str
    path: tuple[str, ...]
    start_line: int
    end_line: int
    text: str

    @property
    def path_text(self) -> str:
        """What the model reads for the section as a unit of meaning: its heading path.

        >>> Section("a.md", "Uses", ("Guide", "Uses"), 3, 9, "").path_text
        'Guide › Uses'
        """
        return " › ".join(self.path)


@dataclass(frozen=True)
class Chunk:
    """A piece of one section, small enough for the model to read whole.

    `text` is the source text shown to people (lines `start_line`..`end_line`
    of `doc`, noise lines left out); `embed_text` is what the model reads:
    the section path, then the text.
    """

    doc: str
    section: str
    section_path: tuple[str, ...]
    section_start: int
    start_line: int
    end_line: int
    text: str
    embed_text: str
    sentences: tuple[tuple[int, int], ...]
    """Character spans of the sentences of `text`: the candidates for answer highlights."""

    @property
    def hash(self) -> str:
        return text_hash(self.embed_text)

    def sentence_texts(self) -> list[str]:
        return [self.text[a:b] for a, b in self.sentences]


def text_hash(text: str) -> str:
    """The key of a text in the embedding cache."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Line:
    number: int
    text: str


def is_noise(line: str) -> bool:
    """Scraping noise that belongs in no answer: `is_noise("See also  Other page")` is True."""
    return bool(NOISE.match(line))


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


def _blocks(lines: list[_Line]) -> Iterator[list[_Line]]:
    """Runs of non-blank lines."""
    block: list[_Line] = []
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
    lines: list[_Line]


def _plain_sections(lines: list[_Line], fallback: str) -> list[_RawSection]:
    sections = [_RawSection(fallback, (fallback,), 1, [])]
    for block in _blocks(lines):
        if len(block) == 1 and _is_plain_heading(block[0].text):
            title = block[0].text.strip()
            sections.append(_RawSection(title, (title,), block[0].number, []))
        else:
            sections[-1].lines += [*block, _Line(0, "")]
    return sections


def _markdown_sections(lines: list[_Line], fallback: str) -> list[_RawSection]:
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
        heading = None if fence or fence_match else _MD_HEADING.match(line.text)
        if heading and (heading.group(2) or "").strip():
            level = len(heading.group(1))
            title = (heading.group(2) or "").strip()
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            sections.append(_RawSection(title, tuple(t for _, t in stack), line.number, []))
        else:
            sections[-1].lines.append(line)
    return sections


def split_sections(doc: Document) -> list[tuple[Section, list[list[_Line]]]]:
    """Sections of `doc`, each with its paragraphs (noise removed).

    A leading untitled section is kept only when it has text.
    """
    lines = [_Line(i, text) for i, text in enumerate(doc.text.split("\n"), start=1)]
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
        section = Section(doc.path, part.title, part.path, part.start_line, end_line, source)
        result.append((section, paragraphs))
    return result


@dataclass(frozen=True)
class _Piece:
    start_line: int
    end_line: int
    text: str
    tokens: int


def _cut(paragraph: list[_Line], budget: int, count: TokenCounter) -> list[_Piece]:
    """One paragraph as pieces of at most `budget` tokens, cut at sentences, then words."""
    text = "\n".join(line.text for line in paragraph)
    starts = [0]
    for line in paragraph[:-1]:
        starts.append(starts[-1] + len(line.text) + 1)

    def line_at(offset: int) -> int:
        index = max(i for i, start in enumerate(starts) if start <= offset)
        return paragraph[index].number

    def piece(a: int, b: int, tokens: int) -> _Piece:
        return _Piece(line_at(a), line_at(max(a, b - 1)), text[a:b], tokens)

    whole = count(text)
    if whole <= budget:
        return [piece(0, len(text), whole)]
    units: list[tuple[int, int, int]] = []
    for a, b in sentence_spans(text):
        tokens = count(text[a:b])
        if tokens <= budget:
            units.append((a, b, tokens))
            continue
        for word in re.finditer(r"\S+", text[a:b]):  # a sentence too long to read whole
            units.append((a + word.start(), a + word.end(), count(word.group())))
    pieces: list[_Piece] = []
    current: tuple[int, int, int] | None = None
    for a, b, tokens in units:
        if current and current[2] + tokens <= budget:
            current = (current[0], b, current[2] + tokens)
            continue
        if current:
            pieces.append(piece(*current))
        current = (a, b, tokens)
    if current:
        pieces.append(piece(*current))
    return pieces


def _context(path: tuple[str, ...], count: TokenCounter, limit: int) -> str:
    """The section path as the model reads it, cut to at most `limit` tokens."""
    words = " › ".join(path).split()
    while words and count(" ".join(words)) > limit:
        words = words[: max(1, len(words) * 3 // 4)] if len(words) > 1 else []
    return " ".join(words)


def chunk_document(
    doc: Document, count: TokenCounter, max_tokens: int = 256, min_tokens: int = 24
) -> tuple[list[Section], list[Chunk]]:
    """Sections and chunks of one document.

    `max_tokens` counts the model's two special tokens, as the model does.
    """
    sections: list[Section] = []
    chunks: list[Chunk] = []
    for section, paragraphs in split_sections(doc):
        sections.append(section)
        context = _context(section.path, count, max_tokens // 4)
        budget = max_tokens - 2 - (count(context) + 1 if context else 0)
        pieces = [p for paragraph in paragraphs for p in _cut(paragraph, budget, count)]
        for piece in _merge_short(pieces, budget, min_tokens):
            chunks.append(
                Chunk(
                    doc=doc.path,
                    section=section.title,
                    section_path=section.path,
                    section_start=section.start_line,
                    start_line=piece.start_line,
                    end_line=piece.end_line,
                    text=piece.text,
                    embed_text=f"{context}\n{piece.text}" if context else piece.text,
                    sentences=tuple(sentence_spans(piece.text)),
                )
            )
    return sections, chunks


def line_gap(previous_end: int, next_start: int) -> str:
    r"""What separates two neighbouring pieces of a source: a space, a line break or a blank line.

    >>> line_gap(5, 5), line_gap(5, 6), line_gap(5, 8)
    (' ', '\n', '\n\n')
    """
    if next_start == previous_end:
        return " "
    return "\n" if next_start == previous_end + 1 else "\n\n"


def _merge_short(pieces: list[_Piece], budget: int, min_tokens: int) -> list[_Piece]:
    """Join a piece shorter than `min_tokens` to the next one (or the previous one) if both fit."""

    def join(a: _Piece, b: _Piece) -> _Piece:
        gap = line_gap(a.end_line, b.start_line)
        return _Piece(a.start_line, b.end_line, a.text + gap + b.text, a.tokens + b.tokens)

    merged: list[_Piece] = []
    carry: _Piece | None = None
    for piece in pieces:
        if carry is not None:
            if carry.tokens + piece.tokens <= budget:
                piece = join(carry, piece)
            else:
                merged.append(carry)
            carry = None
        if piece.tokens < min_tokens:
            carry = piece
        else:
            merged.append(piece)
    if carry is not None:
        if merged and merged[-1].tokens + carry.tokens <= budget:
            merged[-1] = join(merged[-1], carry)
        else:
            merged.append(carry)
    return merged
