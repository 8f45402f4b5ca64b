"""`make bench BENCH_ARGS="--only models"`: every supported model in the same run.

For each model of `qa.settings.MODELS`: a full build of the seed document and of the SQuAD
development half (chunks per second, the whole build: chunks, sentences and section
titles), warm query medians on both (highlights included), a cold `qa ask` in a fresh
process (wall time and peak memory), and the quality `make fit` measured with each family
held out of the fit (`qa/rank/weights/<model>.json`): Hit@1 / Hit@5 / MRR@10 and the
share of answerable and unanswerable questions flagged "not answered".
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FAMILIES = ("seed", "squad", "qasper")


def compare(
    seed: Path,
    squad: Path,
    questions: dict[str, list[str]],
    work: Path,
    run_child: Callable[[list[str]], tuple[float, float]],
) -> list[dict[str, Any]]:
    """One dict of figures per model (`questions`: "seed" and "squad" question samples)."""
    from qa.settings import MODELS

    return [_one(model, seed, squad, questions, work / model, run_child) for model in MODELS]


def _one(
    model: str,
    seed: Path,
    squad: Path,
    questions: dict[str, list[str]],
    work: Path,
    run_child: Callable[[list[str]], tuple[float, float]],
) -> dict[str, Any]:
    import sys

    from qa.index.owner import Index
    from qa.rank.fitted import fitted_for
    from qa.settings import Settings

    print(f"Model {model}: builds, warm queries, a cold ask…", flush=True)
    out: dict[str, Any] = {"model": model}
    for label, corpus in (("seed", seed), ("squad", squad)):
        index = Index.open(Settings(corpus_dir=corpus, index_dir=work / label, model=model))
        info = index.build()
        out[f"build {label} chunks/s"] = info.chunks / info.seconds
        out[f"{label} chunks"] = info.chunks
        searcher = index.searcher()
        for q in questions[label][:3]:
            searcher.search(q, 5)
        out[f"warm {label} p50 ms"] = 1000 * statistics.median(
            _timed(lambda q=q, s=searcher: s.search(q, 5)) for q in questions[label]
        )
    ask = [sys.executable, "-m", "qa.cli", "ask", "--index", str(work / "seed"), "-k", "3"]
    cold = [run_child([*ask, questions["seed"][0]]) for _ in range(3)]
    out["cold ask s"] = statistics.median(wall for wall, _ in cold)
    out["cold ask MiB"] = statistics.median(rss for _, rss in cold)
    fitted = fitted_for(model)
    out["fitted"] = fitted.date or "(not fitted: defaults)"
    for family in FAMILIES:
        out[family] = fitted.figures.get(family, {})
    return out


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def markdown(results: list[dict[str, Any]]) -> str:
    """The side-by-side table of `compare`'s figures, as docs/models.md shows it."""
    names = [r["model"] for r in results]
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]

    def line(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")

    for family in FAMILIES:
        line(f"{family}, held out: Hit@1 / Hit@5 / MRR@10", lambda r, f=family: _quality(r[f]))
        line(f"{family}: flagged answerable / unanswerable", lambda r, f=family: _flags(r[f]))
    line("build, seed (chunks/s)", lambda r: f"{r['build seed chunks/s']:.1f}")
    line("build, SQuAD half (chunks/s)", lambda r: f"{r['build squad chunks/s']:.1f}")
    line("warm query p50, seed (ms)", lambda r: f"{r['warm seed p50 ms']:.1f}")
    line(
        "warm query p50, SQuAD half (ms)",
        lambda r: f"{r['warm squad p50 ms']:.1f} ({r['squad chunks']:,} chunks)",
    )
    line("cold `qa ask` (s)", lambda r: f"{r['cold ask s']:.2f}")
    line("cold `qa ask` peak memory (MiB)", lambda r: f"{r['cold ask MiB']:.0f}")
    line("fitted on", lambda r: str(r["fitted"]))
    return "\n".join(lines)


def _quality(f: dict[str, float]) -> str:
    if not f:
        return "not fitted"
    return " / ".join(f"{f[k]:.3f}" for k in ("hit_at_1", "hit_at_5", "mrr_at_10"))


def _flags(f: dict[str, float]) -> str:
    if not f:
        return "not fitted"
    answered = f"{f['answerable_flagged']:.0f}/{f['answerable']:.0f}"
    if not f.get("unanswerable"):
        return answered
    return f"{answered} / {f['unanswerable_flagged']:.0f}/{f['unanswerable']:.0f}"
