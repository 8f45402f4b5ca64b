"""`make bench`'s milvus section: warm questions with their candidates from Milvus (one hybrid
search: dense + BM25, RRF) against the embedded FAISS + BM25, on the same build.

The SQuAD half's build is tiled to each size (`corpora.tiled_index`) and put in a Milvus
collection as `qa build --backend milvus` fills one (`qa.index.milvus_build`); the server is
milvus-lite 2.5.1's C++ binary in .tools/milvus-lite (`make milvus`), on this machine, so the
figures include its gRPC round trip but no network.  Each size gives the whole question (the
model, both stages, highlights) and the candidate step alone, p50 and p95.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / ".tools" / "milvus-lite" / "milvus_lite" / "lib"


@contextlib.contextmanager
def server(folder: Path) -> Iterator[str]:
    """milvus-lite's server on a free port with its data in `folder`; its URI.  Stopped by pid."""
    from pymilvus import MilvusClient

    if not (LIB / "milvus").is_file():
        raise SystemExit(f"{LIB / 'milvus'} is missing: run `make milvus`, or --skip milvus")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LD_LIBRARY_PATH": str(LIB)}
    command = [str(LIB / "milvus"), str(folder / "milvus.db"), f"127.0.0.1:{port}", "ERROR"]
    process = subprocess.Popen(
        command, env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                MilvusClient(uri, timeout=2).close()
                break
            except Exception:
                time.sleep(0.2)
        else:
            raise SystemExit(f"milvus-lite did not answer at {uri} in 60 s")
        yield uri
    finally:
        process.terminate()
        process.wait(timeout=30)


def on_milvus(index: Any, uri: str, folder: Path) -> Any:
    """`index` (a LoadedIndex) served by a Milvus collection filled as a build fills one."""
    from qa.index.milvus import RECORD, client
    from qa.index.milvus_build import fill

    name = f"qa_bench_{len(index.chunks)}"
    milvus = client(uri)
    if milvus.has_collection(name):
        milvus.drop_collection(name)
    fill(milvus, name, index)
    build = folder / f"build-bench-{len(index.chunks)}"
    build.mkdir(parents=True, exist_ok=True)
    (build / RECORD).write_text(json.dumps({"uri": uri, "collection": name}), encoding="utf-8")
    return replace(index, folder=build)


def timings(searchers: list[Any], questions: list[str]) -> list[tuple[list[float], list[float]]]:
    """For each searcher, seconds per whole question and per candidate step alone; the
    searchers take turns on each question, so the machine's load hits them alike."""
    from qa.index.candidates import Asked
    from qa.rank.lexical import terms
    from qa.text.language import language_of

    for searcher in searchers:
        for question in questions[:5]:  # warm
            searcher.search(question, 5)
    found: list[tuple[list[float], list[float]]] = [([], []) for _ in searchers]
    for question in questions:
        for searcher, (whole, step) in zip(searchers, found, strict=True):
            started = time.perf_counter()
            searcher.search(question, 5)
            whole.append(time.perf_counter() - started)
            retriever = searcher.retriever
            query, _ = retriever._encode(question)
            scores = retriever._chunk_bm25.scores(terms(question, language_of(question)))
            asked = Asked(question, query, scores)
            started = time.perf_counter()
            retriever._source.rows(asked, 100, None)
            step.append(time.perf_counter() - started)
    return found
