"""`make bench` section `memory`: the peak memory of full builds, each beside the stated bound.

    python benchmarks/memory.py [1,5,20]              print the figures
    python benchmarks/memory.py build MODEL C I       build corpus C into index I (run by the
                                                      above, in a fresh process)

Each build runs in a fresh process with the default settings, and its peak resident
memory (the high-water mark, `ru_maxrss`) is measured from outside.  The text is unique
English-like prose (`corpora.markov_text`) of 1, 5 and 20 MB, in one file and cut into
1,000 files.  MODEL is "model", the real model, or "stand-in": the real tokenizer and
every step of a build as the model gives it (chunk, sentence and token vectors, the
token files), with token vectors looked up from a fixed table instead of the
network's forward pass, so that 20 MB build in minutes instead of hours.  The real
model is loaded in both, so the two differ only by ONNX Runtime's working memory
(about 45 MiB).

What grows with the text: the text itself (in the documents, sections and chunks), the
sentence vectors (1,536 bytes a sentence: 12.5 MB per MB of this text) and the chunk
vectors (1.5 MB per MB, and as much again in FAISS).  The token vectors (22 MB per MB)
go to files as they are made, and are never all in memory.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpora

# The stated bound (README, Reliability): measured on this machine, with headroom.
BASE_MIB, MIB_PER_MB = 300, 30
BOUND = f"{BASE_MIB} MiB + {MIB_PER_MB} MiB per MB of text"
MB = 1024 * 1024
SIZES = (1, 5, 20)
FILES = 1000
REAL_MODEL_UP_TO = 1  # MB: the real model takes about 2 minutes a MB on 2 cores


def bound(megabytes: float) -> float:
    return BASE_MIB + MIB_PER_MB * megabytes


def figures(
    run_child: Any, sizes: tuple[int, ...] = SIZES
) -> Iterator[tuple[str, float, float, str]]:
    """(metric, peak MiB, bound MiB, note) of each build, as it ends; `run_child(command)`
    gives (seconds, peak MiB) of a fresh process."""
    with tempfile.TemporaryDirectory(prefix="qa-memory-") as tmp:
        work = Path(tmp)
        for megabytes in sizes:
            one, many = work / f"{megabytes}-one", work / f"{megabytes}-many"
            corpora.markov_text(one / "text.md", megabytes, seed=megabytes)
            corpora.split_text(one / "text.md", many, FILES)
            size = (one / "text.md").stat().st_size / MB
            for label, corpus in (("one file", one), (f"{FILES:,} files", many)):
                models = ("model", "stand-in") if megabytes <= REAL_MODEL_UP_TO else ("stand-in",)
                for model in models:
                    index = work / "index"
                    command = [sys.executable, __file__, "build", model, str(corpus), str(index)]
                    seconds, peak = run_child(command)
                    shutil.rmtree(index, ignore_errors=True)
                    name = "real model" if model == "model" else "stand-in model"
                    metric = f"build peak memory, {megabytes} MB in {label} ({name})"
                    note = f"{size:.2f} MB of text, built in {seconds:.0f} s"
                    yield metric, peak, bound(size), note


def verdict(peak: float, limit: float) -> str:
    return "pass" if peak <= limit else "FAIL"


def stand_in() -> Any:
    """The real OnnxEmbedder, with a table lookup for the network's token vectors (see the
    module docstring); made in the build process only."""
    from qa.model.embedding import local_folder
    from qa.model.onnx_model import OnnxEmbedder
    from qa.settings import DEFAULT_MODEL

    table = np.random.default_rng(0).standard_normal((4096, 384)).astype(np.float32)

    class StandIn(OnnxEmbedder):
        def _hidden(self, ids: list[list[int]], width: int) -> tuple[Any, Any]:
            batch = np.zeros((len(ids), width), dtype=np.int64)
            for row, pieces in enumerate(ids):
                batch[row, : len(pieces)] = pieces
            return table[batch % len(table)], (batch > 0).astype(np.int64)

    embedder = StandIn(DEFAULT_MODEL, local_folder(DEFAULT_MODEL))
    embedder.name = "stand-in"
    return embedder


def build(model: str, corpus: str, index: str) -> None:
    from qa.index.build import build_index
    from qa.settings import Settings

    settings = Settings(corpus_dir=Path(corpus), index_dir=Path(index))
    embedder = stand_in() if model == "stand-in" else None
    build_index(settings, embedder=embedder, progress=False)


if __name__ == "__main__":
    if sys.argv[1:2] == ["build"]:
        build(*sys.argv[2:5])
    else:
        from bench import run_child

        sizes = tuple(int(x) for x in sys.argv[1].split(",")) if sys.argv[1:] else SIZES
        for metric, peak, limit, note in figures(run_child, sizes):
            print(f"{metric}: {peak:.0f} MiB, bound {limit:.0f} MiB ({BOUND}): "
                  f"{verdict(peak, limit)} ({note})", flush=True)  # fmt: skip
