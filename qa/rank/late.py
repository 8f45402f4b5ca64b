"""Late interaction: a question compared with a chunk word piece by word piece.

ColBERT's MaxSim: for each word piece of the question (punctuation left out), its best
cosine with any token vector of the chunk, averaged over the question's pieces.  Both
sides are the model's last-layer token vectors, the ones mean pooling averages into the
chunk's vector, so a build gets them from the forward pass it runs anyway.  A question
matches a chunk that uses its words in the same sense, or their near-synonyms in
context, which one vector per chunk blurs and keywords cannot see.

Stored compactly (`TokenVectors`): each token vector is turned by a fixed random
orthogonal basis into `TOKEN_DIMENSION` dimensions, made unit length again, and kept
as int8 with one float32 scale: 132 bytes a token instead of 1,536.  On the README's
sets this keeps the ranking of full float vectors (a random rotation keeps cosines
in expectation; 128 dimensions keep them within a few hundredths).

A build writes them to files as the model gives them (`qa.index.token_files`), so it never holds
them all: they are the largest part of an index, about 22 MB per MB of text.

Not here: how the score is weighed against the other evidence (see `qa.rank.ranking`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]
Codes = npt.NDArray[np.int8]

TOKEN_DIMENSION = 128
_SEED = 0  # the basis is the same for every build of a model's dimension
# A build folder's token files: codes, scales, offsets, basis (read back by `qa.index.store`).
TOKEN_FILES = ("tokens.npy", "token_scales.npy", "token_offsets.npy", "token_basis.npy")


def token_basis(dimension: int) -> Array:
    """A `dimension` × min(dimension, TOKEN_DIMENSION) matrix of orthonormal columns.

    >>> basis = token_basis(384)
    >>> basis.shape, bool(np.allclose(basis.T @ basis, np.eye(128), atol=1e-5))
    ((384, 128), True)
    """
    square = np.random.default_rng(_SEED).standard_normal((dimension, dimension))
    orthogonal, _ = np.linalg.qr(square)
    return orthogonal[:, : min(dimension, TOKEN_DIMENSION)].astype(np.float32)


def compress(tokens: Array, basis: Array) -> tuple[Codes, Array]:
    """Token vectors (rows) as int8 codes in the basis, and the scale of each row."""
    turned = unit_rows(np.asarray(tokens, dtype=np.float32) @ basis)
    scales = np.maximum(np.abs(turned).max(axis=1), 1e-12) / 127
    codes = np.round(turned / scales[:, None]).astype(np.int8)
    return codes, scales.astype(np.float32)


@dataclass(frozen=True)
class TokenVectors:
    """Every chunk's token vectors, compressed: chunk i owns rows offsets[i]:offsets[i+1]."""

    codes: Codes  # tokens × TOKEN_DIMENSION
    scales: Array  # one per token
    offsets: npt.NDArray[np.int64]  # chunks + 1
    basis: Array  # the model's dimension × TOKEN_DIMENSION
    folder: Path | None = None  # where its TOKEN_FILES are, when mapped from them

    @classmethod
    def of(cls, per_chunk: Sequence[tuple[Codes, Array]], basis: Array) -> TokenVectors:
        """The store of chunks' `compress`ed token vectors, in chunk order."""
        width = basis.shape[1]
        codes = [c for c, _ in per_chunk] or [np.zeros((0, width), dtype=np.int8)]
        scales = [s for _, s in per_chunk] or [np.zeros(0, dtype=np.float32)]
        counts = [len(c) for c, _ in per_chunk]
        offsets = np.cumsum([0, *counts], dtype=np.int64)
        return cls(np.concatenate(codes), np.concatenate(scales), offsets, basis)

    def save(self, folder: Path) -> None:
        """Write the TOKEN_FILES into build `folder`: linked (or copied) when they are files
        already, so that saving never reads them into memory."""
        parts: tuple[npt.NDArray[Any], ...] = (self.codes, self.scales, self.offsets, self.basis)
        for name, part in zip(TOKEN_FILES, parts, strict=True):
            if self.folder is None:
                np.save(folder / name, part, allow_pickle=False)
                continue
            try:
                os.link(self.folder / name, folder / name)
            except OSError:  # a file system without hard links
                shutil.copyfile(self.folder / name, folder / name)

    def chunk(self, row: int) -> tuple[Codes, Array]:
        """Chunk `row`'s codes and scales (what a later build reuses)."""
        start, end = int(self.offsets[row]), int(self.offsets[row + 1])
        return np.asarray(self.codes[start:end]), np.asarray(self.scales[start:end])

    def matches(self, question: Array, rows: npt.NDArray[np.int64]) -> tuple[Array, Array]:
        """Per chunk of `rows`, from each of the question's token vectors (rows of `question`,
        in the model's space) and its best cosine with a token of the chunk: their mean
        (MaxSim, a ranking feature) and their least, how well the chunk matches the
        question's worst-matched piece (an answer-score feature: a chunk that lacks any
        of what the question asks about does not answer it).  0 for a chunk without
        tokens or a question without any."""
        mean = np.zeros(len(rows), dtype=np.float32)
        least = np.zeros(len(rows), dtype=np.float32)
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        lengths = ends - starts
        has = lengths > 0
        if len(question) == 0 or not has.any():
            return mean, least
        # One gather for all candidates: each chunk's rows are its start plus 0..length-1.
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        picks = np.repeat(starts, lengths) + within
        # Plain arrays over the maps: indexing an np.memmap costs ~0.4 ms a query in Python.
        codes, scales = np.asarray(self.codes), np.asarray(self.scales)
        tokens = codes[picks].astype(np.float32) * scales[picks, None]
        asked = unit_rows(np.asarray(question, dtype=np.float32) @ self.basis)
        cosines = asked @ tokens.T  # question pieces × candidate tokens
        first = (np.cumsum(lengths) - lengths)[has]
        best = np.maximum.reduceat(cosines, first, axis=1)  # question pieces × chunks
        mean[has], least[has] = best.mean(axis=0), best.min(axis=0)
        return mean, least


def unit_rows(rows: Array) -> Array:
    """`rows` scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit: Array = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit
