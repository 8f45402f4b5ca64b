"""Small text utilities shared by the pipeline stages: sentence spans, list items, and
control characters written out (`harmless`).

`sentence_spans` cuts prose into sentences without being fooled by common
abbreviations ("U.N.", "e.g.", "vs.", "Dr.") or initials, nor by German ordinals
("am 3. Mai", "im 19. Jahrhundert"), and treats every list item ("• ...", "- ...",
"1. ...") as a sentence of its own.  It does not try to handle quotations spanning
sentences, or other languages' abbreviations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from qa.text.language import language_of

# C0 and C1 controls but tab and line feed, and the bidirectional embeddings and overrides.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The same, and whatever breaks a line: what a name, a one-line thing, must not hold.
_CONTROL_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def harmless(text: str, *, one_line: bool = False) -> str:
    r"""`text` with every control character written out, so a terminal or a page shows it and
    does not obey it; with `one_line`, tabs and line breaks too (for a file name).

    >>> harmless("a\x1b]0;pwned\x07b\u202e"), harmless("a\nb.txt", one_line=True)
    ('a\\x1b]0;pwned\\x07b\\u202e', 'a\\x0ab.txt')
    """

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return (_CONTROL_IN_LINE if one_line else _CONTROL).sub(escape, text)


LIST_ITEM = re.compile(r"^\s*(?:[•●▪◦‣∙·*+\-–—]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+\S")

# Words that end with a period without ending a sentence (compared in lower case).
ABBREVIATIONS = frozenset(
    {
        "e.g",
        "i.e",
        "vs",
        "v",
        "cf",
        "al",
        "etc",
        "approx",
        "dr",
        "mr",
        "mrs",
        "ms",
        "mx",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "no",
        "nos",
        "fig",
        "figs",
        "vol",
        "vols",
        "pp",
        "ed",
        "eds",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "est",
        "gen",
        "gov",
        "lt",
        "col",
        "sgt",
        "capt",
        "adm",
        "rev",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "art",
        "sec",
        "ch",
        "para",
    }
)

# German writes an ordinal as a number and a period ("am 3. Mai", "der 2. Weltkrieg", "im
# 19. Jahrhundert"), and capitalises the noun after it.  A period after 1-3 digits does not end
# a sentence when a month name follows or an article (or one joined to a preposition) comes
# before the number: an article before a number at the end of a sentence is rare.  Those words
# that are English too ("April", "die", "am") count only in a German text (`language_of`); the
# others ("Mai", "der", "im") in any, so a sentence too short to tell its language is cut right.
GERMAN_MONTHS = frozenset(
    {"januar", "jänner", "februar", "märz", "april", "mai", "juni", "juli", "august"}
    | {"september", "oktober", "november", "dezember"}
)
GERMAN_ARTICLES = frozenset(
    {"der", "die", "das", "den", "dem", "des", "am", "im", "vom", "zum", "zur", "beim", "ins"}
)
_ALSO_ENGLISH = frozenset({"april", "august", "september", "november", "die", "den", "am", "ins"})
_NUMBER_BEFORE = re.compile(r"(?:(?<!\w)(\w+)\s+)?(?<![\w.,])\d{1,3}$")
_WORD_AT = re.compile(r"\w+")

# A run of sentence-ending marks (and closing quotes or brackets) before a space.  The
# look-behind and possessive runs keep a long run of marks from being re-scanned at
# every position: splitting stays linear in the length of the text.
_BOUNDARY = re.compile(r"(?<![.!?…])[.!?…]++[\"'”’)\]]*+(?=\s)")
_WORD_BEFORE = re.compile(r"([\w.]+)$")
_NEXT_VISIBLE = re.compile(r"\S")
_LIST_MARKER = re.compile(r"\(?(?:\d{1,3}|[a-zA-Z])")
_LONGEST_ABBREVIATION = 40  # characters looked at before a period; longer words are not ones


def _is_abbreviation(text: str, period_at: int) -> bool:
    """True when the period at `period_at` closes an abbreviation or initial, not a sentence."""
    if text[period_at] != ".":
        return False
    match = _WORD_BEFORE.search(text, max(0, period_at - _LONGEST_ABBREVIATION), period_at)
    if not match:
        return False
    word = match.group(1).lower().strip(".")
    if word in ABBREVIATIONS:
        return True
    # Initials and dotted acronyms: "J." "U.N." "e.g." (a single letter between periods).
    return bool(re.fullmatch(r"(?:[a-z]\.)*[a-z]", word))


def _is_german_ordinal(text: str, period_at: int, next_at: int, german: Callable[[], bool]) -> bool:
    """True when the period at `period_at` follows a German ordinal ("am 3." before "Mai");
    `next_at` is where the next word starts, `german()` whether the text is German."""
    if not text[period_at - 1 : period_at].isdigit():
        return False  # most sentences: not worth a search
    number = _NUMBER_BEFORE.search(text, max(0, period_at - _LONGEST_ABBREVIATION), period_at)
    if not number:
        return False
    word_after = _WORD_AT.match(text, next_at)
    hints = {word_after.group().lower()} & GERMAN_MONTHS if word_after else set()
    hints |= {(number.group(1) or "").lower()} & GERMAN_ARTICLES
    return bool(hints) and (not hints <= _ALSO_ENGLISH or german())


def _sentences_in_line_group(
    text: str, offset: int, german: Callable[[], bool]
) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    lead = len(text) - len(text.lstrip())
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        visible = _NEXT_VISIBLE.search(text, end)
        if not visible:
            continue
        first = visible.group()
        # A new sentence starts with a capital, a digit, a quote or a bracket.
        if not (first.isupper() or first.isdigit() or first in "\"'“‘([" or not first.isalpha()):
            continue
        if _is_abbreviation(text, match.start()) and not first.isdigit():
            continue
        if match.group() == "." and _is_german_ordinal(
            text, match.start(), visible.start(), german
        ):
            continue
        if match.start() - lead <= 4 and _LIST_MARKER.fullmatch(text, lead, match.start()):
            continue  # the marker of a numbered list item: "1. United Nations"
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    result = []
    for a, b in spans:
        piece = text[a:b]
        stripped_left = len(piece) - len(piece.lstrip())
        stripped_right = len(piece) - len(piece.rstrip())
        if piece.strip():
            result.append((offset + a + stripped_left, offset + b - stripped_right))
    return result


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, in order, without surrounding spaces.

    >>> t = "The U.N. helps, e.g. with patrols. Dr. Lee agrees.\\n  • Roads.\\n  • Schools"
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['The U.N. helps, e.g. with patrols.', 'Dr. Lee agrees.', '• Roads.', '• Schools']
    """
    german = cache(lambda: language_of(text) == "german")  # asked only at a possible ordinal
    spans: list[tuple[int, int]] = []
    group_start = 0
    position = 0
    for line in text.splitlines(keepends=True):
        if LIST_ITEM.match(line) or not line.strip():
            if position > group_start:
                spans += _sentences_in_line_group(text[group_start:position], group_start, german)
            group_start = position
        position += len(line)
        if LIST_ITEM.match(line):
            # A list item is its own group: close it at the end of its line.
            spans += _sentences_in_line_group(text[group_start:position], group_start, german)
            group_start = position
    if position > group_start:
        spans += _sentences_in_line_group(text[group_start:position], group_start, german)
    return spans
