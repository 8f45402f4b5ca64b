"""A build's vectors: reused from the build before it where the model input is unchanged,
embedded otherwise.

Three kinds per build: one per chunk (its `embed_text`: section path and text), one per
sentence of a chunk, and one per section path.  With `sentence_vectors` "pooled" a
chunk's sentences are mean-pooled from the chunk's own forward pass (`qa.pooling`);
with "separate" each sentence is run through the model on its own.  The previous
build is the cache: its rows are keyed by the hash of what the model read.

Not here: choosing chunks (see `qa.chunking`) or writing the build (see `qa.store`).
"""

from __future__ import annotations

import numpy as np

from qa.chunking import Chunk, text_hash
from qa.embedding import Embedder, SpanEmbedder, Vectors
from qa.sections import Section
from qa.store import LoadedIndex


def cached_vectors(
    old: LoadedIndex | None, embedder: Embedder, encoder: dict[str, str]
) -> dict[str, Vectors]:
    """{key: vector} of each chunk, sentence and section path of `old`, if made the same way.

    A chunk's key is its hash; a pooled sentence's is its chunk's hash and its number
    (its vector depends on the chunk around it), a separate one's the hash of its text.
    """
    if old is None or (old.manifest.model, old.manifest.dimension, old.manifest.encoder) != (
        embedder.name,
        embedder.dimension,
        encoder,
    ):
        return {}
    cache = {chunk.hash: old.embeddings[row] for row, chunk in enumerate(old.chunks)}
    cache.update(zip(_sentence_keys(old.chunks, encoder), old.sentence_vectors, strict=True))
    titles = (section.path_text for section in old.sections)
    cache.update(zip(map(text_hash, titles), old.title_vectors, strict=True))
    return cache


def _sentence_keys(chunks: list[Chunk], encoder: dict[str, str]) -> list[str]:
    if encoder["sentence_vectors"] == "pooled":
        return [f"{c.hash}/{i}" for c in chunks for i in range(len(c.sentences))]
    return [text_hash(text) for chunk in chunks for text in chunk.sentence_texts()]


def _embed(
    texts: list[str], cache: dict[str, Vectors], embedder: Embedder, progress: bool
) -> Vectors:
    """Vectors of `texts`: cached ones reused, the rest embedded (and added to `cache`)."""
    keys = [text_hash(text) for text in texts]
    todo = {key: text for key, text in zip(keys, texts, strict=True) if key not in cache}
    fresh = embedder.encode(list(todo.values()), progress=progress and len(todo) > 64)
    cache.update(zip(todo, fresh, strict=True))
    return _rows(keys, cache, embedder.dimension)


def _rows(keys: list[str], cache: dict[str, Vectors], dimension: int) -> Vectors:
    if not keys:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.stack([cache[key] for key in keys]).astype(np.float32)


def _embed_pooled(
    chunks: list[Chunk], cache: dict[str, Vectors], embedder: SpanEmbedder, progress: bool
) -> None:
    """Embed each uncached chunk once, its sentences pooled from the same run, into `cache`."""
    todo = list({c.hash: c for c in chunks if c.hash not in cache}.values())
    # The model reads `embed_text`: the section path, a line break, then the chunk's text.
    shifts = [len(c.embed_text) - len(c.text) for c in todo]
    spans = [
        [(a + shift, b + shift) for a, b in c.sentences]
        for c, shift in zip(todo, shifts, strict=True)
    ]
    vectors, pooled = embedder.encode_with_spans(
        [c.embed_text for c in todo], spans, progress=progress and len(todo) > 32
    )
    cache.update(zip((c.hash for c in todo), vectors, strict=True))
    keys = [f"{c.hash}/{i}" for c in todo for i in range(len(c.sentences))]
    cache.update(zip(keys, pooled, strict=True))


def embed_all(
    sections: list[Section],
    chunks: list[Chunk],
    cache: dict[str, Vectors],
    embedder: Embedder,
    encoder: dict[str, str],
    progress: bool,
) -> tuple[Vectors, Vectors, Vectors]:
    """Vectors of the chunks, of their sentences and of the section paths."""
    titles = [section.path_text for section in sections]
    if encoder["sentence_vectors"] == "pooled" and isinstance(embedder, SpanEmbedder):
        # (encoder_of says "pooled" only for a SpanEmbedder that pools)
        _embed_pooled(chunks, cache, embedder, progress)
        chunk_vectors = _rows([c.hash for c in chunks], cache, embedder.dimension)
        sentences = _rows(_sentence_keys(chunks, encoder), cache, embedder.dimension)
        return chunk_vectors, sentences, _embed(titles, cache, embedder, False)
    # One pass over everything, so the progress bar covers all the work.
    sentence_texts = [text for chunk in chunks for text in chunk.sentence_texts()]
    texts = [c.embed_text for c in chunks] + sentence_texts + titles
    matrix = _embed(texts, cache, embedder, progress)
    first_title = len(chunks) + len(sentence_texts)
    return matrix[: len(chunks)], matrix[len(chunks) : first_title], matrix[first_title:]
