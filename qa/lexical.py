"""Keyword relevance: BM25 (bm25s) with English stemming and stop words, and phrase matching.

`LexicalIndex(texts).scores("question")` gives one BM25 score per text.
Not here: combining keyword and vector scores (see `qa.ranking`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

Scores = npt.NDArray[np.float32]
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern
_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”')


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def terms(text: str) -> list[str]:
    """Stemmed words of `text` without English stop words: "The partnerships" → ["partnership"].

    The same tokens as `bm25s.tokenize` with these settings, without its per-call overhead
    (it runs for every question and every sentence considered for a highlight).
    """
    stop = _stopwords()
    words = [word for word in _TOKEN.findall(text.lower()) if word not in stop]
    return [term for term in _stemmer().stemWords(words) if term]


class LexicalIndex:
    """BM25 over a fixed list of texts."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        if texts:
            tokens = bm25s.tokenize(
                list(texts), stopwords="en", stemmer=_stemmer(), show_progress=False
            )
            if tokens.vocab:  # texts of stop words only leave nothing to index
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
        unique = list(dict.fromkeys(query_terms))
        covered = np.zeros(self.size, dtype=np.float32)
        if not unique or not self._vocabulary:
            return covered
        pointers, rows = self._bm25.scores["indptr"], self._bm25.scores["indices"]
        total = 0.0
        for term in unique:
            i = self._vocabulary.get(term)
            found = rows[pointers[i] : pointers[i + 1]] if i is not None else rows[:0]
            weight = math.log(1 + (self.size - len(found) + 0.5) / (len(found) + 0.5))
            covered[found] += weight
            total += weight
        return np.round(covered / total, 4) if total else covered

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
