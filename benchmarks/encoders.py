"""Encoder variants judged by retrieval, and where a build spends its time.

`compare` builds the seed document and the SQuAD development half at each
precision (fp32, int8; sentences run through the model on their own), next to
`SentenceTransformer.encode` of the same chunks in the same run, and scores Hit@1,
Hit@5 and MRR@10 on the SQuAD half and the seed development set, and the confidence
flags of the unanswerable sets, against the fp32 baseline.
`profile_build` times one build with cProfile and sums it by stage.
"""

from __future__ import annotations

import cProfile
import pstats
import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
# The baseline first: the others are judged against it.
VARIANTS = ("fp32", "int8")
# Unanswerable sets: (corpus name, question file); a flag is "no confident passage".
FLAG_SETS = (
    ("seed", "unanswerable_questions.jsonl"),
    ("seed", "ontopic_unanswerable_questions.jsonl"),
    ("seed", "dev_questions.jsonl"),
    ("multidoc", "multidoc_ontopic_unanswerable_questions.jsonl"),
)
BAR = 0.005  # a variant is accepted within this of the fp32 figures, with no flag changed


def compare(
    seed: Path, squad: Path, squad_file: Path, work: Path, reference: Any
) -> Iterator[list[dict[str, Any]]]:
    """Rows for bench.py, a list per variant as it is done: build speed, retrieval, flags."""
    from qa.eval.evaluate import evaluate
    from qa.eval.squad import squad_to_corpus
    from qa.rank.search import Searcher

    _, squad_questions = squad_to_corpus(squad_file, work / "squad-questions")
    multidoc = work / "multidoc"
    shutil.copytree(DATA / "multidoc", multidoc, dirs_exist_ok=True)
    corpora = {"seed": seed, "multidoc": multidoc, "squad": squad}
    baseline = None
    for precision in VARIANTS:
        rows = []
        label = precision
        built = {}
        for name, corpus in corpora.items():
            settings = _settings(corpus, work / f"{name}-{precision}", precision)
            built[name] = _timed_build(settings, reference if name != "multidoc" else None)
        scores = {}
        for name, path in (("squad", squad_questions), ("seed", DATA / "dev_questions.jsonl")):
            searcher = Searcher.open(built[name]["settings"])
            report = evaluate(path, searcher, k=10)
            scores[name] = (report.hit_at_1, report.hit_at_5, report.mrr_at_10)
        flags = {
            question_file: _flags(Searcher.open(built[name]["settings"]), DATA / question_file)
            for name, question_file in FLAG_SETS
        }
        if baseline is None:
            baseline = (scores, flags)
        changed = sum(
            a != b for key in flags for a, b in zip(flags[key], baseline[1][key], strict=True)
        )
        worst = max(
            abs(a - b)
            for name in scores
            for a, b in zip(scores[name], baseline[0][name], strict=True)
        )
        verdict = "accepted" if worst <= BAR and not changed else "rejected"
        squad_build = built["squad"]
        rows.append(
            _row(
                f"encoder {label}: build SQuAD dev half",
                squad_build["qa"],
                squad_build["st"],
                "chunks/s",
                f"{squad_build['chunks']} chunks; recipe column: SentenceTransformer.encode",
            )
        )
        rows.append(
            _row(
                f"encoder {label}: build seed document",
                built["seed"]["qa"],
                built["seed"]["st"],
                "chunks/s",
                "recipe column: SentenceTransformer.encode",
            )
        )
        for name, title in (("squad", "SQuAD dev half"), ("seed", "seed dev set")):
            figures = " / ".join(f"{v:.3f}" for v in scores[name])
            fp32 = " / ".join(f"{v:.3f}" for v in baseline[0][name])
            rows.append(
                _row(
                    f"encoder {label}: {title} Hit@1",
                    scores[name][0],
                    baseline[0][name][0],
                    "",
                    f"Hit@1 / Hit@5 / MRR@10 {figures} (fp32 {fp32}); recipe column: fp32",
                )
            )
        total = sum(len(v) for v in flags.values())
        rows.append(
            _row(
                f"encoder {label}: confidence flags changed",
                float(changed),
                None,
                "",
                f"of {total} questions of the unanswerable sets; largest quality change "
                f"{worst:.4f}: {verdict}",
            )
        )
        yield rows


def _settings(corpus: Path, index: Path, precision: str) -> Any:
    from qa.settings import Settings

    return Settings(corpus_dir=corpus, index_dir=index, precision=precision)


def _timed_build(settings: Any, reference: Any, repeats: int = 1) -> dict[str, Any]:
    """Build throughput of qa and of plain encode of the same chunks, interleaved."""
    from qa.index.build import build_index, load_index
    from qa.model.embedding import load_embedder

    load_embedder(settings.model, settings.precision).encode(["warm up"])
    ours, st, info = [], [], None
    for _ in range(repeats):
        shutil.rmtree(settings.index_dir, ignore_errors=True)
        info = build_index(settings, progress=False)
        ours.append(info.chunks / info.seconds)
        if reference is not None:
            chunks = [c.embed_text for c in load_index(settings).chunks]
            started = time.perf_counter()
            reference.encode(chunks, batch_size=32)
            st.append(len(chunks) / (time.perf_counter() - started))
    assert info is not None
    return {
        "settings": settings,
        "qa": statistics.median(ours),
        "st": statistics.median(st) if st else None,
        "chunks": info.chunks,
    }


def _flags(searcher: Any, path: Path) -> list[bool]:
    """For each question of `path`: True when no passage of the top 5 is confident."""
    from qa.eval.evaluate import read_questions

    return [
        not any(p.confident for p in searcher.search(q.question, 5)) for q in read_questions(path)
    ]


def _row(metric: str, qa: float, recipe: float | None, unit: str, note: str) -> dict[str, Any]:
    return {"metric": metric, "qa": qa, "recipe_value": recipe, "unit": unit, "note": note}


# Stages of a build: (file, function) pairs whose cumulative times they are.
STAGES = (
    ("reading files", (("corpus.py", "read_corpus_files"),)),
    ("sentence splitting", (("text.py", "sentence_spans"),)),
    ("counting word pieces (chunk sizes)", (("onnx_model.py", "count_tokens"),)),
    ("chunking in all (the two above included)", (("chunking.py", "chunk_document"),)),
    ("tokenising for the model", (("~", "encode_batch"),)),
    ("model (tokenising, runs, pooling)", (("onnx_model.py", "_encode"),)),
    ("hashing", (("chunking.py", "text_hash"), ("corpus.py", "file_sha256"))),
    ("writing the build", (("store.py", "write_build"),)),
    ("BM25 (when a Searcher opens, not in the build)", (("lexical.py", "__init__"),)),
)


def profile_build(corpus: Path, index: Path) -> list[tuple[str, float, float]]:
    """(stage, seconds, share of the build) of one default build of `corpus`, profiled."""
    from qa.index.build import build_index, load_index
    from qa.model.embedding import load_embedder
    from qa.rank.lexical import LexicalIndex
    from qa.settings import Settings

    settings = Settings(corpus_dir=corpus, index_dir=index)
    load_embedder(settings.model, settings.precision).encode(["warm up"])
    profiler = cProfile.Profile()
    profiler.enable()
    started = time.perf_counter()
    build_index(settings, progress=False)
    total = time.perf_counter() - started
    LexicalIndex([c.text for c in load_index(settings).chunks])
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    found = []
    for stage, names in STAGES:
        seconds = sum(
            cumulative
            for (path, _, function), (_, _, _, cumulative, _) in stats.items()
            if any(path.endswith(file) and part in function for file, part in names)
        )
        found.append((stage, seconds, seconds / total))
    found.append(("whole build (profiled)", total, 1.0))
    return found
