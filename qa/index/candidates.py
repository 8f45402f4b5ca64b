"""Where a question's first candidates come from: the `CandidateSource` a build serves them by.

    source = LocalCandidates(loaded, embeddings)    # or qa.index.milvus.MilvusCandidates
    source.rows(Asked(question, query, bm25), depth=100, within=None)   # [chunk rows]

`LocalCandidates` is the embedded default: the build folder's FAISS file for the nearest
vectors (or the vectors of a few documents by brute force) and the in-memory BM25 scores,
each retriever's best `depth`, dense first.  A build made with the Milvus back end
(`qa.index.milvus`) keeps a record of its collection beside its files, and is served by
Milvus's hybrid search instead (`qa.index.milvus.candidate_source` chooses).  Either way
the rows are rows of the loaded build, so the second stage (`qa.rank.retrieval`) ranks
them the same way.

Not here: the evidence of each candidate and its ranking (see `qa.rank.retrieval`), phrase
search (quoted phrases are found in the chunks' text by the retriever, on either back end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.index.store import LoadedIndex


@dataclass(frozen=True)
class Asked:
    """A question as a candidate source takes it: its text without quotes, its vector and
    the local BM25 score of every chunk of the build."""

    question: str
    query: np.ndarray
    keyword_scores: np.ndarray


class CandidateSource(Protocol):
    """The rows of a build worth ranking for a question."""

    def rows(self, asked: Asked, depth: int, within: np.ndarray | None) -> list[int]:
        """About `depth` best rows of each retriever (dense, keywords), best first, no row
        twice; only rows of `within` (sorted chunk rows of a few documents) when given."""
        ...


class LocalCandidates:
    """FAISS and BM25 over the loaded build folder: the default back end."""

    def __init__(self, index: LoadedIndex, embeddings: np.ndarray) -> None:
        self._vectors = index.vectors
        self._embeddings = embeddings
        self._count = len(index.chunks)

    def rows(self, asked: Asked, depth: int, within: np.ndarray | None) -> list[int]:
        allowed = np.arange(self._count) if within is None else within
        if within is None:
            _, nearest = self._vectors.search(asked.query.reshape(1, -1), depth)
            found = [int(r) for r in nearest[0] if r >= 0]
        else:  # a few documents: their vectors by brute force, exact
            cosines = self._embeddings[within] @ asked.query
            best = np.argpartition(-cosines, depth - 1)[:depth]
            found = [int(r) for r in within[best[np.argsort(-cosines[best], kind="stable")]]]
        scores = asked.keyword_scores
        keyword_best = allowed[np.argpartition(-scores[allowed], depth - 1)[:depth]]
        found += sorted((int(r) for r in keyword_best if scores[r] > 0), key=lambda r: -scores[r])
        return list(dict.fromkeys(found))
