"""A build's vectors: reused from the build before it where the model input is unchanged,
embedded otherwise.

Three kinds per build: one per chunk (its `embed_text`: section path and text), one per
sentence of a chunk, and one per section path; and, when the model gives them, each chunk's
token vectors from the chunk's own forward pass, compressed (`qa.late`). With
`sentence_vectors` "pooled" a chunk's sentences are mean-pooled from the chunk's own forward
pass (`qa.pooling`); with "separate" each sentence is run through the model on its own. The
previous build is the cache: its rows are keyed by the hash of what the model read.

Not here: choosing chunks (see `qa.chunking`) or writing the build (see `qa.store`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qa.chunking import Chunk, text_hash
from qa.embedding import Embedder, SpanEmbedder, TokenEmbedder, Vectors
from qa.late import Codes, TokenVectors, compress, token_basis
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


TokenCache = dict[str, tuple[Codes, Vectors]]  # chunk hash: its compressed token vectors


def cached_tokens(
    old: LoadedIndex | None, embedder: Embedder, encoder: dict[str, str]
) -> tuple[TokenCache, Vectors | None]:
    """{chunk hash: codes and scales} of `old`'s token vectors, if made the same way, and
    the basis they are in (a build that reuses them keeps it)."""
    if not cached_vectors(old, embedder, encoder) or old is None or old.tokens is None:
        return {}, None
    tokens = old.tokens
    return {chunk.hash: tokens.chunk(row) for row, chunk in enumerate(old.chunks)}, tokens.basis


def embed_tokens(
    chunks: list[Chunk],
    cache: dict[str, Vectors],
    tokens: TokenCache,
    basis: Vectors | None,
    embedder: Embedder,
    encoder: dict[str, str],
    progress: bool,
) -> TokenVectors | None:
    """The chunks' token vectors (None when the model gives none): reused from `tokens`,
    the rest from one forward pass each, which also puts the chunk's vector in `cache`."""
    if not isinstance(embedder, TokenEmbedder) or encoder.get("token_vectors", "none") == "none":
        return None
    turn = token_basis(embedder.dimension) if basis is None else basis
    todo = list({c.hash: c for c in chunks if c.hash not in tokens}.values())

    # Compressed as they come: a large corpus's float token vectors would not fit in memory.
    def keep(row: int, found: Vectors) -> None:
        tokens[todo[row].hash] = compress(found, turn)

    if encoder["sentence_vectors"] == "pooled" and isinstance(embedder, SpanEmbedder):
        _embed_pooled(todo, cache, embedder, progress, keep)
    else:
        vectors, compressed = embedder.encode_tokens(
            [c.embed_text for c in todo],
            progress=progress and len(todo) > 32,
            keep=lambda found: compress(found, turn),
        )
        cache.update(zip((c.hash for c in todo), vectors, strict=True))
        tokens.update(zip((c.hash for c in todo), compressed, strict=True))
    return TokenVectors.of([tokens[c.hash] for c in chunks], turn)


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
    chunks: list[Chunk],
    cache: dict[str, Vectors],
    embedder: SpanEmbedder,
    progress: bool,
    tokens: Callable[[int, Vectors], None] | None = None,
) -> None:
    """Embed each chunk not in `cache` (every chunk when `tokens` is given, which is
    called with each one's number and token vectors) once, its sentences pooled from the
    same run, into `cache`."""
    todo = list({c.hash: c for c in chunks if tokens is not None or c.hash not in cache}.values())
    # The model reads `embed_text`: the section path, a line break, then the chunk's text.
    shifts = [len(c.embed_text) - len(c.text) for c in todo]
    spans = [
        [(a + shift, b + shift) for a, b in c.sentences]
        for c, shift in zip(todo, shifts, strict=True)
    ]
    texts, shown = [c.embed_text for c in todo], progress and len(todo) > 32
    if tokens is not None:
        vectors, pooled = embedder.encode_with_spans(texts, spans, progress=shown, tokens=tokens)
    else:
        vectors, pooled = embedder.encode_with_spans(texts, spans, progress=shown)
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
