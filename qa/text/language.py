"""Which language a text is written in, told by its function words ("the", "les", "und").

`language_of(text)` names one of `LANGUAGES` (Snowball's names, as PyStemmer takes them):
the language whose function words (NLTK's lists, shipped by bm25s) make up most of the
text's words, and English unless another clearly wins.  Keyword search stems and drops
stop words by it (`qa.rank.lexical`); nothing else depends on it.

    >>> language_of("Comment les partenariats protègent-ils les civils ?")
    'french'
    >>> language_of("How do partnerships protect civilians?")
    'english'
    >>> language_of("UNMISS 2011")
    'english'

Not here: stemming (see `qa.rank.lexical`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

ENGLISH = "english"
LANGUAGES = (
    ENGLISH,
    "french",
    "german",
    "spanish",
    "italian",
    "portuguese",
    "dutch",
    "danish",
    "swedish",
    "norwegian",
    "russian",
    "turkish",
)
_WORD = re.compile(r"(?u)\b\w+\b")
SAMPLE = 400  # words read: a document's language shows in its first paragraphs
DOCUMENT_CHUNKS = 8  # a document's language is told by its first chunks (`document_language`)
MARGIN = 2  # function words another language needs beyond English's to be preferred


@lru_cache(maxsize=len(LANGUAGES))
def function_words(language: str) -> frozenset[str]:
    """The function words of `language` (NLTK's stop list for it)."""
    import bm25s.stopwords as lists

    name = "STOPWORDS_EN_PLUS" if language == ENGLISH else f"STOPWORDS_{language.upper()}"
    return frozenset(getattr(lists, name))


def language_of(text: str) -> str:
    """The language of `text`: English unless another language's function words outnumber
    English's among its words by `MARGIN` ("What type of company is Van Gend en Loos?" has
    four Dutch ones, "is", "of", "van", "en", but three English: it is English)."""
    words = _WORD.findall(text[: SAMPLE * 12].lower())[:SAMPLE]
    counts = {lang: sum(word in function_words(lang) for word in words) for lang in LANGUAGES}
    best = max(LANGUAGES, key=lambda lang: counts[lang])  # the first of a tie: English
    return best if counts[best] >= counts[ENGLISH] + MARGIN else ENGLISH


def document_language(texts: Sequence[str]) -> str:
    """The language of a document whose chunks' texts are `texts`, in order: that of its
    first `DOCUMENT_CHUNKS` (what the retriever and Milvus's analyzer both go by)."""
    return language_of(" ".join(texts[:DOCUMENT_CHUNKS]))
