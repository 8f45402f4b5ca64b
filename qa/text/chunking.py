"""Cut sections into chunks that the model reads whole.

Each paragraph of a section (`qa.text.sections.split_sections`) is a chunk; a paragraph
shorter than `min_tokens` joins its neighbour (a lead-in line and its list), and one
longer than the model reads is split at sentence boundaries, then at spaces, then
inside words.  A chunk never crosses a section and holds at most `CHARS_PER_TOKEN`
characters per word piece of the budget, whatever the text.  Chunking is linear in the
length of the text: the tokenizer never reads more than one chunk's worth of characters
at a time.

Not here: finding sections (see `qa.text.sections`).
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from qa.readers.base import Span
from qa.readers.corpus import Document
from qa.text.sections import Line, Section, split_sections
from qa.text.sentences import sentence_spans

TokenCounter = Callable[[str], int]
"""Number of word pieces in a text, without the model's special tokens."""

_WORD = re.compile(r"\S+")
CHARS_PER_TOKEN = 10
"""A chunk holds at most this many characters per word piece of its budget (prose: ~4-5)."""


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
    span: Span | None = None
    """The pages (PDF) or paragraphs (HTML, Word) the chunk comes from; None for text files."""

    @property
    def hash(self) -> str:
        return text_hash(self.embed_text)

    def sentence_texts(self) -> list[str]:
        return [self.text[a:b] for a, b in self.sentences]


def text_hash(text: str) -> str:
    """The key of a text in the embedding cache."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Piece:
    start_line: int
    end_line: int
    text: str
    tokens: int


def _cut(paragraph: list[Line], budget: int, count: TokenCounter) -> list[_Piece]:
    """One paragraph as pieces of at most `budget` tokens and `budget * CHARS_PER_TOKEN`
    characters, cut at sentences, then spaces, then inside words."""
    text = "\n".join(line.text for line in paragraph)
    starts = list(itertools.accumulate((len(line.text) + 1 for line in paragraph), initial=0))
    max_chars = budget * CHARS_PER_TOKEN

    def piece(a: int, b: int, tokens: int) -> _Piece:
        first, last = bisect.bisect_right(starts, a) - 1, bisect.bisect_right(starts, b - 1) - 1
        return _Piece(paragraph[first].number, paragraph[last].number, text[a:b], tokens)

    if len(text) <= max_chars and (whole := count(text)) <= budget:
        return [piece(0, len(text), whole)]
    spans = sentence_spans(text)
    pieces: list[_Piece] = []
    current: tuple[int, int, int] | None = None
    position = 0
    while position < len(spans):
        # Word pieces add up across spaces, so a run of sentences that fits as a whole is
        # taken with one count, as adding them one by one would: fewer tokenizer calls.
        end = _run_end(spans, position, current, budget, max_chars)
        if current and end > position + 1:
            tokens = count(text[spans[position][0] : spans[end - 1][1]])
            if current[2] + tokens <= budget:
                current, position = (current[0], spans[end - 1][1], current[2] + tokens), end
                continue
        for a, b, tokens in _units(text, spans[position], budget, max_chars, count):
            if current and current[2] + tokens <= budget and b - current[0] <= max_chars:
                current = (current[0], b, current[2] + tokens)
                continue
            if current:
                pieces.append(piece(*current))
            current = (a, b, tokens)
        position += 1
    if current:
        pieces.append(piece(*current))
    return pieces


def _run_end(
    spans: list[tuple[int, int]],
    position: int,
    current: tuple[int, int, int] | None,
    budget: int,
    max_chars: int,
) -> int:
    """The end of the run of sentences from `position` likely to fit after `current`,
    judged by the characters per token of `current`; `position` when there is none."""
    if current is None:
        return position
    room = (budget - current[2]) * (current[1] - current[0]) * 9 // (10 * max(1, current[2]))
    limit = min(current[0] + max_chars, spans[position][0] + room)
    end = position
    while end < len(spans) and spans[end][1] <= limit:
        end += 1
    return end


def _units(
    text: str, sentence: tuple[int, int], budget: int, max_chars: int, count: TokenCounter
) -> Iterator[tuple[int, int, int]]:
    """(start, end, tokens) of consecutive parts of a sentence, each within both bounds: the
    sentence, or runs of its words, or words, or parts of a word."""
    for start, end in _windows(text, *sentence, max_chars):
        tokens = count(text[start:end])
        if tokens <= budget:
            yield start, end, tokens
            continue
        for word in _WORD.finditer(text, start, end):
            yield from _parts(text, word.start(), word.end(), budget, count)


def _windows(text: str, a: int, b: int, size: int) -> Iterator[tuple[int, int]]:
    """`text[a:b]` cut into parts of at most `size` characters, at a space where there is one
    in the second half of the part."""
    while b - a > size:
        limit = a + size
        cut = max(text.rfind(" ", a + size // 2, limit), text.rfind("\n", a + size // 2, limit))
        end = cut if cut > a else limit
        yield a, end
        a = end
        while a < b and text[a].isspace():
            a += 1
    if a < b:
        yield a, b


def _parts(
    text: str, a: int, b: int, budget: int, count: TokenCounter
) -> Iterator[tuple[int, int, int]]:
    """A word of more than `budget` tokens, cut into parts that fit (or are one character),
    each part about as long as the word's characters per token allow."""
    tokens = count(text[a:b])
    if tokens <= budget or b - a == 1:
        yield a, b, tokens
        return
    size = max(1, min((b - a) * budget // tokens, (b - a) // 2))
    for start in range(a, b, size):
        yield from _parts(text, start, min(start + size, b), budget, count)


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
                    span=doc.layout.span(piece.start_line, piece.end_line) if doc.layout else None,
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

    def fit(a: _Piece, b: _Piece) -> bool:
        chars = len(a.text) + len(b.text) + 2
        return a.tokens + b.tokens <= budget and chars <= budget * CHARS_PER_TOKEN

    merged: list[_Piece] = []
    carry: _Piece | None = None
    for piece in pieces:
        if carry is not None:
            if fit(carry, piece):
                piece = join(carry, piece)
            else:
                merged.append(carry)
            carry = None
        if piece.tokens < min_tokens:
            carry = piece
        else:
            merged.append(piece)
    if carry is not None:
        if merged and fit(merged[-1], carry):
            merged[-1] = join(merged[-1], carry)
        else:
            merged.append(carry)
    return merged
