"""Keyword relevance: BM25 (bm25s) with stemming and stop words of each text's language
(English unless told: `qa.text.language`), and phrase matching.

`LexicalIndex(texts).scores(terms("question"))` gives one BM25 score per text.
Not here: combining keyword and vector scores (see `qa.rank.ranking`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.text.language import ENGLISH, LANGUAGES, function_words

Scores = npt.NDArray[np.float32]
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern
_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”')


@lru_cache(maxsize=len(LANGUAGES))
def _stemmer(language: str = ENGLISH) -> Any:
    import Stemmer

    return Stemmer.Stemmer(language)


@lru_cache(maxsize=len(LANGUAGES))
def _stopwords(language: str = ENGLISH) -> frozenset[str]:
    """BM25's stop words: a short English list (bm25s's own), the full list elsewhere."""
    if language != ENGLISH:
        return function_words(language)
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def terms(text: str, language: str = ENGLISH) -> list[str]:
    """Stemmed words of `text` without stop words of its `language` (`qa.text.language`):
    "The partnerships" → ["partnership"].

    The same tokens as `bm25s.tokenize` with these settings, without its per-call overhead
    (it runs for every question and every sentence considered for a highlight).
    """
    return _stemmed(text, _stopwords(language), language)


def content_terms(text: str, language: str = ENGLISH) -> list[str]:
    """`terms` without function words (NLTK's stop list of `language`): what a question asks
    about.

    BM25's short English stop list keeps "what", "which", "does": words no document may
    contain, so they would weigh as the rarest content of every question.

    >>> content_terms("Which organizations does the UN work with?")
    ['organiz', 'un', 'work']
    >>> content_terms("Quelles organisations travaillent avec l'ONU ?", "french")
    ['quel', 'organis', 'travaillent', 'onu']
    """
    return _stemmed(text, function_words(language), language)


def _stemmed(text: str, stop: frozenset[str], language: str) -> list[str]:
    words = [word for word in _TOKEN.findall(text.lower()) if word not in stop]
    return [term for term in _stemmer(language).stemWords(words) if term]


def named_words(question: str, language: str = ENGLISH) -> list[str]:
    """The question's names and numbers: words with a digit, words in capitals, and words
    written with a capital except the first (which is capitalised anyway), once each; in
    German, whose nouns all have a capital, only the first two kinds.

    These carry what a question is specifically about and cannot be paraphrased, so
    a text that never mentions them cannot answer it, however close its topic.

    >>> named_words("What did the Dutch peacekeepers do in 1995 at the UN base in 1995?")
    ['Dutch', '1995', 'UN']
    >>> named_words("WHAT HAPPENED IN 1995?")
    ['1995']
    """
    # In a question written in capitals (or in German) a capital says nothing.
    cased = not question.isupper() and language != "german"
    named = [
        word
        for i, word in enumerate(_TOKEN.findall(question))
        if (cased and ((i > 0 and word[0].isupper()) or word.isupper()))
        or any(c.isdigit() for c in word)
    ]
    return list(dict.fromkeys(named))


class LexicalIndex:
    """BM25 over a fixed list of texts."""

    def __init__(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> None:
        """`languages`: each text's (`qa.text.language`), English when not given."""
        import bm25s

        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        languages = languages or [ENGLISH] * len(texts)
        tokens = [terms(text, lang) for text, lang in zip(texts, languages, strict=True)]
        if any(tokens):  # texts of stop words only leave nothing to index
            self._bm25.index(tokens, show_progress=False)

    def scores(self, query_terms: Sequence[str]) -> Scores:
        """BM25 score of every text for the (already stemmed) query terms; zeros if none match."""
        ids = [self._vocabulary.get(t) for t in query_terms]
        known = [i for i in ids if i is not None]
        if not known or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def coverage(self, query_terms: Sequence[str]) -> Scores:
        """The share of the question's distinct terms each text contains, weighted by rarity.

        Each term weighs its inverse document frequency over these texts; a term no text
        contains weighs the most, so a question about something the texts never mention
        is covered poorly everywhere.  1.0 means every term is present.

        >>> LexicalIndex(["cats purr", "dogs bark", "cats and dogs"]).coverage(["cat", "purr"])
        array([1.   , 0.   , 0.324], dtype=float32)
        """
        covered = np.zeros(self.size, dtype=np.float32)
        found = self.postings(query_terms)
        total = sum(weight for weight, _ in found)
        for weight, rows in found:
            covered[rows] += weight
        return np.round(covered / total, 4) if total else covered

    def postings(self, query_terms: Sequence[str]) -> list[tuple[float, np.ndarray]]:
        """Each distinct term's `coverage` weight and the rows of the texts that contain it.

        >>> [(weight, rows)] = LexicalIndex(["cat", "dog"]).postings(["cat", "cat"])
        >>> round(weight, 2), rows.tolist()
        (0.69, [0])
        """
        unique = list(dict.fromkeys(query_terms))
        if not unique or not self._vocabulary:
            return []
        pointers, rows = self._bm25.scores["indptr"], self._bm25.scores["indices"]
        found = []
        for term in unique:
            i = self._vocabulary.get(term)
            having = rows[pointers[i] : pointers[i + 1]] if i is not None else rows[:0]
            weight = math.log(1 + (self.size - len(having) + 0.5) / (len(having) + 0.5))
            found.append((weight, having))
        return found

    def unknown(self, query_terms: Sequence[str]) -> list[str]:
        """The terms that no text contains.

        >>> LexicalIndex(["cats purr", "dogs bark"]).unknown(["cat", "rwanda"])
        ['rwanda']
        """
        vocabulary = self._vocabulary
        return [term for term in query_terms if term not in vocabulary]

    @property
    def _vocabulary(self) -> dict[str, int]:
        vocabulary: dict[str, int] = getattr(self._bm25, "vocab_dict", None) or {}
        return vocabulary


def quoted_phrases(question: str) -> list[str]:
    """Phrases the user put in double quotes: 'what is "political will"' → ['political will']."""
    return [" ".join((a or b).split()) for a, b in _QUOTED.findall(question) if (a or b).strip()]


def contains_phrase(text: str, phrase: str) -> bool:
    """Case-insensitive phrase match that ignores differences in spacing and line breaks."""
    words = [re.escape(word) for word in phrase.split()]
    pattern = r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None
