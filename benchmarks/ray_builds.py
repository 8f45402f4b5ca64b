"""Ray build throughput against the local build of the same corpus, and what 10M chunks would
cost on N workers (`qa build --ray`, qa/index/ray_build.py).

    python benchmarks/ray_builds.py --megabytes 0.5

One machine, so no speed-up is expected: the pipeline's point is that the same code runs on a
cluster.  Figures: chunks a second of a full build, local and on a local Ray (with and without
Ray's start-up), an incremental build after one document changed, and the projection.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpora

PROJECTED_CHUNKS = 10_000_000
WORKERS = (1, 8, 64, 256)


def figures(
    work: Path, megabytes: float, repeats: int = 3, files: int = 16
) -> list[tuple[str, float, str]]:
    """(what, value, unit) of each figure, measured on a corpus of `megabytes` MB in `files`;
    full builds the median of `repeats`."""
    from qa.index.builder import make_build
    from qa.index.ray_build import ray_build, ray_session
    from qa.model.embedding import load_embedder
    from qa.settings import Settings

    corpus = work / "corpus"
    corpora.markov_text(work / "all.md", megabytes)
    corpora.split_text(work / "all.md", corpus, files)
    settings = Settings(corpus_dir=corpus, index_dir=work / "local")
    embedder = load_embedder(settings.model, settings.precision)
    embedder.encode(["warm up"])
    rows: list[tuple[str, float, str]] = []
    started = time.perf_counter()
    cold = ray_build(settings.with_overrides(index_dir=work / "cold"), embedder)
    cold_rate = cold.chunks / (time.perf_counter() - started)
    local_rates, ray_rates = [], []
    with ray_session(None) as workers:
        # Interleaved, each into a new folder: the machine's load hits both alike.
        for run in range(repeats):
            local = make_build(settings.with_overrides(index_dir=work / f"local-{run}"), embedder)
            local_rates.append(local.chunks / local.seconds)
            warm = ray_build(settings.with_overrides(index_dir=work / f"ray-{run}"), embedder)
            ray_rates.append(warm.chunks / warm.seconds)
        rows.append(
            (f"local build, {local.chunks} chunks", statistics.median(local_rates), "chunks/s")
        )
        rows.append(
            (f"Ray build, Ray running ({workers} CPUs)", statistics.median(ray_rates), "chunks/s")
        )
        rows.append(("Ray build, Ray started and stopped", cold_rate, "chunks/s"))
        edited = sorted(corpus.glob("*.md"))[0]
        edited.write_text(edited.read_text("utf-8") + "\n\nAn edited paragraph.\n", "utf-8")
        again = ray_build(settings.with_overrides(index_dir=work / "ray-0"), embedder)
        rows.append(
            (f"Ray incremental build, {again.chunks_embedded} chunks embedded", again.seconds, "s")
        )
    per_worker = statistics.median(ray_rates) / workers
    for count in WORKERS:
        hours = PROJECTED_CHUNKS / (per_worker * count) / 3600
        rows.append((f"10M chunks on {count} such worker CPU(s), projected", hours, "hours"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="qa-ray-bench-") as tmp:
        rows: Any = figures(Path(tmp), args.megabytes, args.repeats)
    for what, value, unit in rows:
        print(f"{what:<52} {value:>10.1f} {unit}")


if __name__ == "__main__":
    main()
