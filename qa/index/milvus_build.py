"""Building for the Milvus back end: a collection per build, filled before it is swapped in.

    publish(settings, folder, build)   # fill the build's collection, swap, point, drop old

A build made with `Settings.backend == "milvus"` is written to its folder as any build (the
sentence and token vectors, the chunks' citations: what the second stage reads), and also to
one Milvus collection named for that folder: each chunk's row, id, document, section, lines,
its text (analysed, with Milvus's own BM25 function filling a sparse field) and its vector.
The text's analyzer follows the corpus's language (`corpus_language`, `analyzer`): Milvus
analyses a question with the field's analyzer, so its keyword candidates are found with the
stemmer and stop words qa's own keyword search uses for that language.
Only when the collection is complete and loaded is CURRENT swapped
(`qa.index.folder.swap`), so a reader never meets a half-filled one; then this index's row
in the `qa_current` collection is replaced by an upsert to name it (the server of the tests
has no aliases), and the collections of build folders that `swap` removed are dropped.

Not here: serving a build's candidates (see `qa.index.milvus`), the build folder (see
`qa.index.store`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.index.ann import EXACT_MAX
from qa.index.folder import swap
from qa.index.milvus import RECORD, client, collection_name, failed, index_key, unreachable
from qa.index.store import Build, write_failed
from qa.settings import Settings
from qa.text.chunking import Chunk
from qa.text.language import ENGLISH, document_language, function_words

POINTERS = "qa_current"  # one row per index folder: the collection of its live build
BATCH = 1000  # rows a request: ~2 MB of vectors and text, far below gRPC's 64 MB
TEXT_BYTES = 65535  # Milvus's VARCHAR limit
# The languages milvus-lite 2.5.1's stemmer filter takes (each tried; "arabic", "czech" and
# "polish" were not: the collection is created, but every insert fails).  Every one of
# `qa.text.language.LANGUAGES` is among them.
STEMMERS = frozenset(
    {
        *("danish", "dutch", "english", "finnish", "french", "german", "greek", "hungarian"),
        *("italian", "norwegian", "portuguese", "romanian", "russian", "spanish", "swedish"),
        *("tamil", "turkish"),
    }
)


def publish(settings: Settings, folder: Path, build: Build) -> None:
    """Fill the collection of build `folder`, record it there, swap the build in, point this
    index's row at it and drop the collections of removed builds.  On failure the folder
    and the collection are removed and the previous build stays live."""
    milvus = client(settings.milvus_uri)
    name = collection_name(settings.index_dir, folder)
    try:
        fill(milvus, name, build)
        record = {"uri": settings.milvus_uri, "collection": name}
        (folder / RECORD).write_text(json.dumps(record), encoding="utf-8")
    except OSError as error:
        _abandon(milvus, name, folder)
        raise write_failed(settings.index_dir, error) from error
    except Exception as error:  # the server's answer: MilvusException or gRPC's
        _abandon(milvus, name, folder)
        raise failed(milvus, settings.milvus_uri, f"fill the collection {name}", error) from None
    swap(settings.index_dir, folder)
    try:
        _point(milvus, settings.index_dir, name)
        _drop_removed(milvus, settings.index_dir)
    except Exception as error:
        raise failed(milvus, settings.milvus_uri, f"point at {name}", error) from None


def live_collection(settings: Settings) -> str | None:
    """The collection this index's pointer row names (what a reader without the build
    folder serves from); None before the first Milvus build."""
    milvus = client(settings.milvus_uri)
    try:
        if not milvus.has_collection(POINTERS):
            return None
        key = json.dumps(index_key(settings.index_dir))
        rows = milvus.query(POINTERS, filter=f"index_key == {key}", output_fields=["collection"])
    except Exception as error:
        raise unreachable(settings.milvus_uri, error) from None
    return str(rows[0]["collection"]) if rows else None


def fill(milvus: Any, name: str, build: Build) -> None:
    """Create collection `name` for `build` and fill it with every chunk; loaded when done."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("chunk", DataType.VARCHAR, max_length=64)
    schema.add_field("doc", DataType.VARCHAR, max_length=4096)
    schema.add_field("section", DataType.VARCHAR, max_length=4096)
    schema.add_field("start_line", DataType.INT64)
    schema.add_field("end_line", DataType.INT64)
    schema.add_field(
        "text",
        DataType.VARCHAR,
        max_length=TEXT_BYTES,
        enable_analyzer=True,
        analyzer_params=analyzer(corpus_language(build.chunks)),
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=build.manifest.dimension)
    schema.add_function(
        Function(
            "bm25", FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]
        )
    )
    indexes = milvus.prepare_index_params()
    # Exact up to the size where the FAISS back end is exact too (`qa.index.ann`).
    exact = len(build.chunks) <= EXACT_MAX
    indexes.add_index("dense", index_type="FLAT" if exact else "AUTOINDEX", metric_type="IP")
    indexes.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    milvus.create_collection(name, schema=schema, index_params=indexes)
    vectors = np.asarray(build.embeddings, dtype=np.float32)
    for start in range(0, len(build.chunks), BATCH):
        rows = [
            {
                "row": row,
                "chunk": chunk.hash,
                "doc": _clip(chunk.doc, 4096),
                "section": _clip(" > ".join(chunk.section_path), 4096),
                "start_line": chunk.start_line,
                "end_line": chunk.end_line,
                "text": _clip(chunk.text, TEXT_BYTES),
                "dense": vectors[row].tolist(),
            }
            for row, chunk in enumerate(build.chunks[start : start + BATCH], start)
        ]
        milvus.insert(name, rows)
    milvus.flush(name)
    milvus.load_collection(name)


def corpus_language(chunks: Sequence[Chunk]) -> str:
    """The language most of `chunks` are in: each document's language, told as the retriever
    tells it (`document_language`), counted once per chunk of it; English on a tie or for no
    chunks."""
    texts: dict[str, list[str]] = {}
    for chunk in chunks:
        texts.setdefault(chunk.doc, []).append(chunk.text)
    counts = Counter[str]()
    for doc_texts in texts.values():
        counts[document_language(doc_texts)] += len(doc_texts)
    return max(counts, key=lambda lang: (counts[lang], lang == ENGLISH), default=ENGLISH)


def analyzer(language: str) -> dict[str, Any]:
    """Milvus's analyzer for text in `language` (a name `language_of` gives): English's
    built-in one, else the stop words qa's keyword search drops for it (`function_words`,
    dropped before stemming, as there) and its stemmer; no stemmer, no stop words for a
    language Milvus cannot stem.

    >>> analyzer("english")
    {'type': 'english'}
    >>> analyzer("german")["filter"][2]
    {'type': 'stemmer', 'language': 'german'}
    >>> analyzer("klingon")
    {'type': 'standard'}

    The stop words are listed: milvus-lite 2.5.1 knows `_english_` alone, and takes
    `"_german_"` for a word of that spelling.
    """
    if language == ENGLISH:
        return {"type": "english"}  # what every build had before: English ones keep it
    if language not in STEMMERS:
        return {"type": "standard"}  # lowercased words
    stop = {"type": "stop", "stop_words": sorted(function_words(language))}
    return {
        "tokenizer": "standard",
        "filter": ["lowercase", stop, {"type": "stemmer", "language": language}],
    }


def _clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, on a character boundary."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def _abandon(milvus: Any, name: str, folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    # A server that is down keeps it; the next build drops it (`_drop_removed`).
    with contextlib.suppress(Exception):
        milvus.drop_collection(name)


def _point(milvus: Any, index_dir: Path, name: str) -> None:
    """Replace this index's pointer row (one upsert: readers see the old row or the new)."""
    from pymilvus import DataType, MilvusClient

    if not milvus.has_collection(POINTERS):
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("index_key", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("index_dir", DataType.VARCHAR, max_length=4096)
        schema.add_field("collection", DataType.VARCHAR, max_length=255)
        schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # a collection needs a vector
        indexes = milvus.prepare_index_params()
        indexes.add_index("unused", index_type="FLAT", metric_type="L2")
        milvus.create_collection(POINTERS, schema=schema, index_params=indexes)
    row = {
        "index_key": index_key(index_dir),
        "index_dir": _clip(str(index_dir.resolve()), 4096),
        "collection": name,
        "unused": [0.0, 0.0],
    }
    milvus.upsert(POINTERS, [row])


def _drop_removed(milvus: Any, index_dir: Path) -> None:
    """Drop this index's collections whose build folder is gone (as `swap` removes them)."""
    kept = {collection_name(index_dir, folder) for folder in index_dir.glob("build-*")}
    prefix = index_key(index_dir)
    for name in milvus.list_collections():
        if name.startswith(prefix) and name not in kept:
            milvus.drop_collection(name)
