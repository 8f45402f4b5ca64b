"""The workers' side of a Ray build (`qa.index.ray_build`): the Ray Data actors, each loading
the model once, and the rows they send back.

`Chunking` chunks one document per row (`qa.text.chunking.chunk_document` with the model's
tokenizer); `Embedding` embeds one window of texts per row, with each text's token vectors
when the model gives them, sent back as raw float32 bytes and read back by `unpacked`.

Not here: starting Ray and the pipelines (see `qa.index.ray_build`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qa.model.embedding import TokenEmbedder, Vectors
from qa.text.chunking import chunk_document


class Embedding:
    """One Ray Data actor: the model, loaded once, embedding one window of texts per row."""

    def __init__(self, model: str, precision: str, tokens: bool, words_only: bool) -> None:
        from qa.model.embedding import load_embedder

        self.embedder = load_embedder(model, precision)
        self.tokens, self.words_only = tokens, words_only

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, list[Any]] = {"first": [], "vectors": [], "tokens": [], "lengths": []}
        for first, texts in zip(batch["first"], batch["texts"], strict=True):
            texts = [str(text) for text in texts]
            found: list[Vectors] = []
            if self.tokens and isinstance(self.embedder, TokenEmbedder):
                vectors, found = self.embedder.encode_tokens(texts, words_only=self.words_only)
            else:
                vectors = self.embedder.encode(texts)
            width = found[0].shape[1] if found else 0
            tokens = np.concatenate(found) if found else np.zeros((0, width), np.float32)
            out["first"].append(int(first))
            out["vectors"].append(np.ascontiguousarray(vectors, np.float32).tobytes())
            out["tokens"].append(np.ascontiguousarray(tokens, np.float32).tobytes())
            out["lengths"].append(np.array([len(t) for t in found], np.int64).tobytes())
        return {
            "first": np.array(out["first"], np.int64),
            **{key: np.array(out[key], dtype=object) for key in ("vectors", "tokens", "lengths")},
        }


class Chunking:
    """One Ray Data actor: the model's tokenizer, loaded once, chunking one document per row."""

    def __init__(self, model: str, precision: str, limits: tuple[int, int]) -> None:
        from qa.model.embedding import load_embedder

        self.embedder, self.limits = load_embedder(model, precision), limits

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        chunked = np.empty(len(batch["at"]), dtype=object)  # a (sections, chunks) pair each
        for row, doc in enumerate(batch["document"]):
            chunked[row] = chunk_document(doc, self.embedder.count_tokens, *self.limits)
        return {"at": np.asarray(batch["at"], np.int64), "chunked": chunked}


def unpacked(batch: dict[str, Any], at: int, dimension: int) -> tuple[int, Vectors, list[Vectors]]:
    """Row `at` of a worker's batch: (first text, its window's vectors, their token vectors)."""
    vectors = np.frombuffer(batch["vectors"][at], np.float32).reshape(-1, dimension)
    lengths = np.frombuffer(batch["lengths"][at], np.int64)
    flat = np.frombuffer(batch["tokens"][at], np.float32)
    width = len(flat) // max(1, int(lengths.sum()))
    tokens = flat.reshape(-1, width) if len(flat) else flat.reshape(0, 0)
    bounds = np.cumsum([0, *lengths.tolist()])
    rows = [tokens[bounds[i] : bounds[i + 1]].copy() for i in range(len(lengths))]
    return int(batch["first"][at]), vectors.copy(), rows
