"""Sentence vectors from a passage's own forward pass: mean-pool the token vectors of a span.

A chunk's sentences are embedded for the highlights and the best-sentence
signal.  Running the model on each sentence again would double a build;
instead, each sentence's vector is the mean of the chunk's token vectors whose
characters lie inside the sentence, normalised to unit length.

A span with no token inside the model's reach (cut off at its maximum length),
or only partly inside it, gets a zero row: the caller encodes it on its own.

Not here: running the model (see `qa.model.onnx_model`) or choosing the spans (see
`qa.text.chunking`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

Spans = Sequence[tuple[int, int]]


class TokenOffsets(Protocol):
    """What `span_means` needs of a `tokenizers.Encoding`."""

    @property
    def offsets(self) -> list[tuple[int, int]]: ...

    @property
    def special_tokens_mask(self) -> list[int]: ...


def span_means(hidden: Any, encoding: TokenOffsets, spans: Spans, max_tokens: int) -> Any:
    """Unit mean of the rows of `hidden` (tokens × dimension) whose characters fall in each
    span; a zero row for a span the model did not see whole."""
    out = np.zeros((len(spans), hidden.shape[1]), dtype=np.float32)
    if not spans:
        return out
    offsets = np.array(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    special = np.array(encoding.special_tokens_mask, dtype=bool)
    tokens = np.flatnonzero(~special & (offsets[:, 1] > offsets[:, 0]))
    if not len(tokens):
        return out
    starts = offsets[tokens, 0]  # rising: word pieces come in reading order
    sums = np.vstack([np.zeros((1, hidden.shape[1])), np.cumsum(hidden[tokens], axis=0)])
    bounds = np.array(spans, dtype=np.int64).reshape(-1, 2)
    first = np.searchsorted(starts, bounds[:, 0], side="left")
    last = np.searchsorted(starts, bounds[:, 1], side="left")
    seen = last > first
    if len(offsets) >= max_tokens:  # cut: a span running past the last token is not whole
        seen &= bounds[:, 1] <= offsets[tokens[-1], 1]
    means = (sums[last[seen]] - sums[first[seen]]) / (last[seen] - first[seen])[:, None]
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    out[seen] = means / np.maximum(norms, 1e-12)
    return out
