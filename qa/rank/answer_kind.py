"""What kind of answer a question asks for, a name or a number, and whether a text holds one.

"Which country gives the most troops?" is answered by a name, "How many peacekeepers are
deployed?" by a number: a passage on the topic that holds neither ("Countries contributing
troops may face domestic financial pressures…") does not answer it, however close.  The
answer score weighs that (`qa.rank.confidence`).  Only English question words are read, and
only these two kinds: a question of any other shape asks for nothing in particular here.

Not here: finding the answer inside the text (qa has no reader model).
"""

from __future__ import annotations

import re
from enum import Enum

_NUMBER_QUESTION = re.compile(
    r"^(how (many|much|long|old|far|often|large|big|tall|high|fast|deep|wide)|when"
    r"|(in )?(what|which) (year|decade|century|date|percentage|percent|share|proportion"
    r"|fraction|number))\b|\b(in|by|since) (what|which) year\b",
    re.IGNORECASE,
)
_NAME_QUESTION = re.compile(
    r"^(who|whom|whose|(which|what) (countr(y|ies)|nations?|cit(y|ies)|organi[sz]ations?"
    r"|compan(y|ies)|persons?|people|teams?|universit(y|ies)|authors?))\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![^\W\d])\d|\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty"
    r"|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?|half|twice)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_SENTENCE_ENDS = ".!?:;•"


class Kind(Enum):
    NAME = "a name"
    NUMBER = "a number"


def asked_kind(question: str) -> Kind | None:
    """The kind of answer `question` asks for, if it asks for a name or a number.

    >>> [asked_kind(q) for q in ("How many troops?", "Who leads it?", "Why does it fail?")]
    [<Kind.NUMBER: 'a number'>, <Kind.NAME: 'a name'>, None]
    """
    text = question.strip()
    if _NUMBER_QUESTION.search(text):
        return Kind.NUMBER
    if _NAME_QUESTION.search(text):
        return Kind.NAME
    return None


def holds_kind(text: str, kind: Kind, question: str) -> bool:
    """Whether `text` holds an answer of `kind`: a number (in digits or words), or a name
    (a capitalised word that does not open a sentence, other than the question's own).

    >>> holds_kind("It began in the 1940s.", Kind.NUMBER, "When?")
    True
    >>> q = "Which country sends the most troops?"
    >>> holds_kind("Countries sending troops face costs.", Kind.NAME, q)
    False
    >>> holds_kind("Most troops come from Nepal.", Kind.NAME, q)
    True
    """
    if kind is Kind.NUMBER:
        return _NUMBER.search(text) is not None
    asked = {word.lower() for word in _WORD.findall(question)}
    for match in _WORD.finditer(text):
        word = match.group()
        capital = word[0].isupper() and len(word) > 1 and word.lower() not in asked
        if capital and not _opens(text, match.start()):
            return True
    return False


def _opens(text: str, at: int) -> bool:
    """Whether the word at `at` opens a sentence or a line (so its capital says nothing)."""
    i = at - 1
    while i >= 0 and text[i].isspace():
        if text[i] == "\n":
            return True
        i -= 1
    return i < 0 or text[i] in _SENTENCE_ENDS
