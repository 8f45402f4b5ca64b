"""A build's vectors: reused from the build before it where the model input is unchanged,
embedded otherwise.

Three kinds per build: one per chunk (its `embed_text`: section path and text), one per
sentence of a chunk, and one per section path; and, when the model gives them, each chunk's
token vectors from the chunk's own forward pass, compressed (`qa.rank.late`). Each sentence
is run through the model on its own. The previous build is the cache: its rows are keyed by the
hash of what the model read.

Not here: choosing chunks (see `qa.text.chunking`) or writing the build (see `qa.index.store`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.index.store import LoadedIndex, write_failed
from qa.index.token_files import Rows, TokenWriter
from qa.model.embedding import Embedder, TokenEmbedder, Vectors
from qa.rank.late import TokenVectors, token_basis
from qa.text.chunking import Chunk, text_hash
from qa.text.sections import Section


def cached_vectors(
    old: LoadedIndex | None, embedder: Embedder, encoder: dict[str, str]
) -> dict[str, Vectors]:
    """{key: vector} of each chunk, sentence and section path of `old`, if made the same way.

    A chunk's key is its hash; a sentence's and a section path's the hash of its text.
    """
    if old is None or not _made_alike(old, embedder, encoder):
        return {}
    cache = {chunk.hash: old.embeddings[row] for row, chunk in enumerate(old.chunks)}
    sentences = (text for chunk in old.chunks for text in chunk.sentence_texts())
    cache.update(zip(map(text_hash, sentences), old.sentence_vectors, strict=True))
    titles = (section.path_text for section in old.sections)
    cache.update(zip(map(text_hash, titles), old.title_vectors, strict=True))
    return cache


def _made_alike(old: LoadedIndex, embedder: Embedder, encoder: dict[str, str]) -> bool:
    """Whether `old`'s vectors were made by this model, as it makes them now."""
    made = (old.manifest.model, old.manifest.dimension, old.manifest.encoder)
    return made == (embedder.name, embedder.dimension, encoder)


TokenCache = dict[str, Rows]  # chunk hash: where its compressed token vectors are


def cached_tokens(
    old: LoadedIndex | None, embedder: Embedder, encoder: dict[str, str]
) -> tuple[TokenCache, Vectors | None]:
    """{chunk hash: its rows} of `old`'s token vectors, if made the same way, and the basis
    they are in (a build that reuses them keeps it)."""
    if old is None or old.tokens is None or not _made_alike(old, embedder, encoder):
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
        texts = [c.embed_text for c in todo]
        vectors, added = embedder.encode_tokens(
            texts, progress=progress and len(todo) > 32, keep=writer.add
        )
        cache.update(zip((c.hash for c in todo), vectors, strict=True))
        tokens.update(zip((c.hash for c in todo), added, strict=True))
        return writer.finish([tokens[c.hash] for c in chunks])
    except OSError as error:
        raise write_failed(staging.parent, error) from error


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


def embed_all(
    sections: list[Section],
    chunks: list[Chunk],
    cache: dict[str, Vectors],
    embedder: Embedder,
    progress: bool,
) -> tuple[Vectors, Vectors, Vectors]:
    """Vectors of the chunks, of their sentences and of the section paths."""
    titles = [section.path_text for section in sections]
    # One pass over everything, so the progress bar covers all the work.
    sentence_texts = [text for chunk in chunks for text in chunk.sentence_texts()]
    texts = [c.embed_text for c in chunks] + sentence_texts + titles
    matrix = _embed(texts, cache, embedder, progress)
    first_title = len(chunks) + len(sentence_texts)
    return matrix[: len(chunks)], matrix[len(chunks) : first_title], matrix[first_title:]
