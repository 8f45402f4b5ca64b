"""The Milvus back end's serving side: a build's candidates from its collection
(`pip install 'qa[milvus]'`).

    candidate_source(loaded, embeddings)    # MilvusCandidates for a build made for Milvus
    MilvusCandidates(served, docs).rows(asked, depth=100, within=None)   # one hybrid search

A build made with `Settings.backend == "milvus"` (`qa.index.milvus_build`) records in its
folder (`milvus.json`) which collection on which server holds it; that build's candidates
are one `hybrid_search` (the question's vector and its text through Milvus's BM25, fused by
RRF), filtered by document when asked.  Its rows are the build folder's chunk rows, so the
second stage reads the folder's vectors for them as for FAISS candidates.  A qa process
serves from the collection of the build folder it loaded (so rows and vectors agree); the
pointer row (`qa.index.milvus_build.live_collection`) is for readers without the folder.

Not here: filling a collection (see `qa.index.milvus_build`), the second stage (see
`qa.rank.retrieval`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import QAError
from qa.index.candidates import Asked, CandidateSource, LocalCandidates
from qa.index.store import LoadedIndex

RECORD = "milvus.json"  # in a build folder: which collection, on which server, serves it
RRF_K = 60  # the usual constant of reciprocal rank fusion


@dataclass(frozen=True)
class Served:
    """Where a build's candidates are served from."""

    uri: str
    collection: str


def collection_of(folder: Path) -> Served | None:
    """The collection recorded in build `folder`, None for a build served by its own files."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        return Served(str(record["uri"]), str(record["collection"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise QAError(f"{folder / RECORD} cannot be read ({error}): run `qa build`") from None


def candidate_source(index: LoadedIndex, embeddings: np.ndarray) -> CandidateSource:
    """The source that serves `index`: its Milvus collection when it has one (`collection_of`),
    else its own FAISS file and BM25 (`LocalCandidates`)."""
    served = collection_of(index.folder)
    if served is not None:
        return MilvusCandidates(served, [chunk.doc for chunk in index.chunks])
    return LocalCandidates(index, embeddings)


def collection_name(index_dir: Path, folder: Path) -> str:
    """The collection of build `folder` of `index_dir`: letters, digits and underscores.

    >>> collection_name(Path("/i"), Path("/i/build-20260101T000000000000-7"))
    'qa_08cdee5c7f_20260101T000000000000_7'
    """
    return f"{index_key(index_dir)}{folder.name.removeprefix('build-').replace('-', '_')}"


def index_key(index_dir: Path) -> str:
    """The start of the names of the collections of `index_dir`."""
    return f"qa_{hashlib.sha256(str(index_dir.resolve()).encode()).hexdigest()[:10]}_"


def client(uri: str) -> Any:
    """A connected `pymilvus.MilvusClient` for `uri`, one a process; QAError naming the fix
    when pymilvus is missing or nothing answers there."""
    with _LOCK:
        if uri not in _CLIENTS:
            try:
                from pymilvus import MilvusClient
            except ImportError:
                raise QAError(
                    "QA_BACKEND=milvus needs pymilvus: run `pip install 'qa[milvus]'`"
                ) from None
            # qa reports a failed request itself, in one line (`failed`); pymilvus's own log
            # of it, a traceback printed to stderr, would repeat it.
            logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)
            try:
                # Its own connection (not one shared with other clients of `uri` in this
                # process), so that it has the keepalive options below.
                _CLIENTS[uri] = MilvusClient(
                    uri, timeout=10, dedicated=True, grpc_options=KEEPALIVE
                )
            except Exception as error:  # pymilvus raises MilvusException or gRPC's own
                raise unreachable(uri, error) from None
        return _CLIENTS[uri]


def unreachable(uri: str, error: BaseException) -> QAError:
    """The error for a Milvus that is down or unreachable."""
    detail = getattr(error, "message", None) or type(error).__name__
    return QAError(
        f"Cannot reach Milvus at {uri} (QA_MILVUS_URI; {detail}): start Milvus there or set "
        "QA_MILVUS_URI to one that runs, or use QA_BACKEND=faiss to serve from the index folder"
    )


# gRPC keepalive pings the server accepts.  pymilvus pings every 10 s, idle or not; a gRPC
# server with gRPC's defaults (milvus-lite's) allows a ping every 5 minutes during a call and
# one every 2 hours without one, and after 2 pings too many it ends the connection with
# "GOAWAY ... too_many_pings" (logged on stderr; seen after 140 s of an idle client): so no
# ping without a call, and one every 5 minutes at most during one.
KEEPALIVE = {"grpc.keepalive_time_ms": 300_000, "grpc.keepalive_permit_without_calls": False}

_CLIENTS: dict[str, Any] = {}
_LOCK = threading.Lock()


class MilvusCandidates:
    """A build's candidates from its Milvus collection: one hybrid search a question."""

    def __init__(self, served: Served, docs: list[str]) -> None:
        self._served = served
        self._docs = docs  # each row's document, for filters by document

    def rows(self, asked: Asked, depth: int, within: np.ndarray | None) -> list[int]:
        from pymilvus import AnnSearchRequest, RRFRanker

        where = ""
        if within is not None:
            names = sorted({self._docs[int(row)] for row in within})
            where = f"doc in {json.dumps(names, ensure_ascii=False)}"
        dense = AnnSearchRequest(
            [asked.query.tolist()], "dense", {"metric_type": "IP"}, limit=depth, expr=where
        )
        keywords = AnnSearchRequest(
            [asked.question], "sparse", {"metric_type": "BM25"}, limit=depth, expr=where
        )
        milvus = client(self._served.uri)
        name = self._served.collection
        try:
            found = milvus.hybrid_search(
                name, [dense, keywords], RRFRanker(RRF_K), limit=2 * depth, output_fields=["row"]
            )
        except Exception as error:
            raise failed(milvus, self._served.uri, f"search {name}", error) from None
        return [int(hit["entity"]["row"]) for hit in found[0]]


def failed(milvus: Any, uri: str, doing: str, error: BaseException) -> QAError:
    """The error for a request that failed: the server is unreachable, the collection is
    gone, or the server refused (its own words)."""
    try:
        collections = milvus.list_collections()
    except Exception:
        return unreachable(uri, error)
    name = doing.rsplit(" ", 1)[-1]
    if doing.startswith("search") and name not in collections:
        return QAError(
            f"The Milvus collection {name} of this build is gone from {uri} (dropped by hand "
            "or by two newer builds): run `qa build --backend milvus`, then ask again"
        )
    detail = getattr(error, "message", None) or str(error)
    return QAError(
        f"Milvus at {uri} (QA_MILVUS_URI) could not {doing} ({detail}): check its log, "
        "then run `qa build --backend milvus`"
    )
