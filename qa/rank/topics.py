"""What every text of a document or section shares: mean vectors, taken once per index.

A document's topic is the mean of its chunk vectors (`document_topics`): what is left of a
text once its topic is taken away is what it says that the others do not
(`qa.rank.confidence.centred_cosine`).  A section's mean vector (`section_means`) says
what the section as a whole is about.

Not here: the cosines with the question (see `qa.rank.tables`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.rank.ranking import Array
from qa.text.chunking import Chunk

# A document's topic is the mean of its chunk vectors; a mean of fewer chunks is mostly
# those chunks themselves, so such documents take the mean of the whole corpus instead.
TOPIC_CHUNKS = 5


def document_topics(chunks: Sequence[Chunk], embeddings: np.ndarray) -> tuple[np.ndarray, Array]:
    """Each chunk's topic row and the topics: the mean vector of each document of at least
    `TOPIC_CHUNKS` chunks, then the mean of the whole corpus (for every other document).

    >>> from types import SimpleNamespace as C
    >>> chunks = [C(doc="a")] * 5 + [C(doc="b")]
    >>> vectors = np.array([[1.0, 0.0]] * 5 + [[0.0, 1.0]], dtype=np.float32)
    >>> rows, topics = document_topics(chunks, vectors)
    >>> rows.tolist(), [[round(float(v), 2) for v in topic] for topic in topics]
    ([0, 0, 0, 0, 0, 1], [[1.0, 0.0], [0.83, 0.17]])
    """
    names = sorted({chunk.doc for chunk in chunks})
    number = {name: i for i, name in enumerate(names)}
    doc_of = np.array([number[chunk.doc] for chunk in chunks], dtype=np.int64)
    sums = group_sums(embeddings, doc_of, len(names))
    counts = np.bincount(doc_of, minlength=len(names))
    large = counts >= TOPIC_CHUNKS
    topic_row = np.full(len(names), int(large.sum()), dtype=np.int64)
    topic_row[large] = np.arange(int(large.sum()))
    whole = sums.sum(axis=0) / max(len(chunks), 1)
    topics = np.vstack([sums[large] / counts[large, None], whole[None, :]]).astype(np.float32)
    return topic_row[doc_of], topics


def section_means(embeddings: np.ndarray, section_of: np.ndarray, sections: int) -> Array:
    """Each section's mean chunk vector, unit length (zero for a section without chunks).

    >>> vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    >>> means = section_means(vectors, np.array([0, 0, 1]), 3)
    >>> [[round(float(v), 2) for v in row] for row in means]
    [[0.71, 0.71], [1.0, 0.0], [0.0, 0.0]]
    """
    sums = group_sums(embeddings, section_of, sections)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    means: Array = (sums / np.maximum(norms, 1e-12)).astype(np.float32)
    return means


def group_sums(vectors: np.ndarray, group_of: np.ndarray, groups: int) -> np.ndarray:
    """The sum of each group's rows of `vectors` (float64; zero for a group without any).

    Chunks come document by document and section by section, so one pass sums each run
    of a group's rows.
    """
    sums = np.zeros((groups, vectors.shape[1]), dtype=np.float64)
    if len(vectors):
        starts = np.flatnonzero(np.r_[True, group_of[1:] != group_of[:-1]])
        np.add.at(sums, group_of[starts], np.add.reduceat(vectors, starts, dtype=np.float64))
    return sums


def topic_dots(vectors: np.ndarray, topics: Array, topic_of: np.ndarray) -> Array:
    """Each row of `vectors` dotted with its topic (`topics[topic_of[row]]`), in blocks, so
    that no copy of the topics as large as `vectors` is made."""
    dots = np.empty(len(vectors), dtype=np.float32)
    block = 16_384
    for start in range(0, len(vectors), block):
        rows = slice(start, start + block)
        dots[rows] = np.einsum("ij,ij->i", vectors[rows], topics[topic_of[rows]])
    return dots
