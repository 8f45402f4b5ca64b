"""A build's vectors: reused from the build before it where the model input is unchanged,
embedded otherwise.

Three kinds per build: one per chunk (its `embed_text`: section path and text), one per
sentence of a chunk, and one per section path; and, when the model gives them, each chunk's
token vectors from the chunk's own forward pass, compressed (`qa.rank.late`). With
`sentence_vectors` "pooled" a chunk's sentences are mean-pooled from the chunk's own forward
pass (`qa.model.pooling`); with "separate" each sentence is run through the model on its own. The
previous build is the cache: its rows are keyed by the hash of what the model read.

Not here: choosing chunks (see `qa.text.chunking`) or writing the build (see `qa.index.store`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.index.store import LoadedIndex, write_failed
from qa.index.token_files import Rows, TokenWriter
from qa.model.embedding import Embedder, SpanEmbedder, TokenEmbedder, Vectors
from qa.rank.late import TokenVectors, token_basis
from qa.text.chunking import Chunk, text_hash
from qa.text.sections import Section


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


TokenCache = dict[str, Rows]  # chunk hash: where its compressed token vectors are


def cached_tokens(
    old: LoadedIndex | None, embedder: Embedder, encoder: dict[str, str]
) -> tuple[TokenCache, Vectors | None]:
    """{chunk hash: its rows} of `old`'s token vectors, if made the same way, and the basis
    they are in (a build that reuses them keeps it)."""
    if not cached_vectors(old, embedder, encoder) or old is None or old.tokens is None:
        return {}, None
    tokens, offsets = old.tokens, old.tokens.offsets
    rows = (Rows(tokens, int(offsets[i]), int(offsets[i + 1])) for i in range(len(old.chunks)))
    return dict(zip((c.hash for c in old.chunks), rows, strict=True)), tokens.basis


def embed_tokens(
    chunks: list[Chunk],
    cache: dict[str, Vectors],
    tokens: TokenCache,
    basis: Vectors | None,
    embedder: Embedder,
    encoder: dict[str, str],
    progress: bool,
    staging: Path,
) -> TokenVectors | None:
    """The chunks' token vectors (None when the model gives none), as files in `staging`
    (`qa.index.token_files`): reused from `tokens`, the rest from one forward pass each, which
    also puts the chunk's vector in `cache` (and where its token vectors are in `tokens`)."""
    if not isinstance(embedder, TokenEmbedder) or encoder.get("token_vectors", "none") == "none":
        return None
    try:
        writer = TokenWriter(staging, token_basis(embedder.dimension) if basis is None else basis)
        todo = list({c.hash: c for c in chunks if c.hash not in tokens}.values())

        def keep(row: int, found: Vectors) -> None:
            tokens[todo[row].hash] = writer.add(found)

        if encoder["sentence_vectors"] == "pooled" and isinstance(embedder, SpanEmbedder):
            _embed_pooled(todo, cache, embedder, progress, keep)
        else:
            texts = [c.embed_text for c in todo]
            vectors, added = embedder.encode_tokens(
                texts, progress=progress and len(todo) > 32, keep=writer.add
            )
            cache.update(zip((c.hash for c in todo), vectors, strict=True))
            tokens.update(zip((c.hash for c in todo), added, strict=True))
        return writer.finish([tokens[c.hash] for c in chunks])
    except OSError as error:
        raise write_failed(staging.parent, error) from error


def _sentence_keys(chunks: list[Chunk], encoder: dict[str, str]) -> list[str]:
    if encoder["sentence_vectors"] == "pooled":
        return [f"{c.hash}/{i}" for c in chunks for i in range(len(c.sentences))]
    return [text_hash(text) for chunk in chunks for text in chunk.sentence_texts()]


def _embed(
    texts: list[str], cache: dict[str, Vectors], embedder: Embedder, progress: bool
) -> Vectors:
    """Vectors of `texts`: cached ones reused, the rest embedded, each distinct text once."""
    keys = [text_hash(text) for text in texts]
    todo = {key: text for key, text in zip(keys, texts, strict=True) if key not in cache}
    fresh = embedder.encode(list(todo.values()), progress=progress and len(todo) > 64)
    return _spread(fresh, keys, {key: row for row, key in enumerate(todo)}, cache)


def _spread(
    fresh: Vectors, keys: list[str], first: dict[str, int], cache: dict[str, Vectors]
) -> Vectors:
    """The vector of each of `keys`: row `first[key]` of `fresh` for a key just embedded,
    else `cache[key]`.

    Made in `fresh` itself, grown to one row per key, so that a corpus's sentence
    vectors are never held twice.  Fresh rows come in the order of their keys' first
    places, so a row moves only down: filled from the last place back, no row is
    overwritten before it is read.
    """
    owned = fresh.base is None and fresh.dtype == np.float32 and fresh.flags.c_contiguous
    out = fresh if owned else np.array(fresh, dtype=np.float32)
    # Grown in place (the allocator remaps a large block); nothing else refers to it.
    out.resize((len(keys), out.shape[1]), refcheck=False)
    for place in range(len(keys) - 1, -1, -1):
        row = first.get(keys[place])
        out[place] = cache[keys[place]] if row is None else out[row]
    return out


def _rows(keys: list[str], cache: dict[str, Vectors], dimension: int) -> Vectors:
    """The vector of each of `keys` in `cache`; the matrix they are the rows of, in order,
    when they are (a first build's pooled sentences), so that it is not held twice."""
    if not keys:
        return np.zeros((0, dimension), dtype=np.float32)
    rows = [cache[key] for key in keys]
    whole = rows[0].base
    if (
        isinstance(whole, np.ndarray)
        and whole.shape == (len(rows), dimension)
        and whole.dtype == np.float32
    ):
        start, step = whole.ctypes.data, whole.strides[0]
        if all(row.ctypes.data == start + i * step for i, row in enumerate(rows)):
            return whole
    return np.stack(rows, dtype=np.float32)


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
