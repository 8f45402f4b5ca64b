"""`make bench`: how fast qa answers, builds and scales, next to the usual recipe in the same run.

    python benchmarks/bench.py [--repeats 3] [--build-repeats 1] [--paragraphs 2000]
                               [--scale 10000,100000,1000000] [--skip app,scale]
                               [--only memory] [--memory-sizes 1,5,20]

Prints a table of medians (each qa figure beside the recipe's, with the
ratio) and writes it as JSON to benchmarks/results/bench-<time>.json.  The
recipe is LangChain + HuggingFaceEmbeddings + FAISS (see recipe.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import corpora
import encoders
import milvus as milvus_bench
import models
import ray_builds
import recipe

ROOT = corpora.ROOT
QUESTIONS = ROOT / "tests" / "data" / "dev_questions.jsonl"
QUESTION = "How do peacekeepers keep ordinary people safe?"
SECTIONS = (
    "cold",
    "warm",
    "app",
    "quality",
    "retrieval",
    "calibration",
    "build",
    "encoders",
    "profile",
    "incremental",
    "robustness",
    "memory",
    "scale",
    "models",
    "milvus",
    "ray",
)
SQUAD = ROOT.parent / "shared" / "eval" / "squad" / "squad-dev-half.json"


def median(values: list[float]) -> float:
    return float(statistics.median(values))


# Runs the command and reports its peak RSS: a child forked from this large process would
# inherit our high-water mark, so the measured process is started from a small launcher.
LAUNCHER = """
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - started
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def run_child(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of a fresh process; raise if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command], cwd=ROOT, capture_output=True, text=True
    )
    wall, rss_kib, code = done.stdout.split()
    if done.returncode or code != "0":
        raise RuntimeError(f"{' '.join(command[:4])} … failed: {done.stderr.strip()[-400:]}")
    return float(wall), int(rss_kib) / 1024


def qa_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "qa.cli", *args]


def questions() -> list[str]:
    return [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line]


class Bench:
    def __init__(self, work: Path, args: argparse.Namespace) -> None:
        self.work, self.args = work, args
        self.rows: list[dict[str, Any]] = []
        self.seed = work / "seed"
        self.seed.mkdir()
        shutil.copy(corpora.SEED, self.seed / corpora.SEED.name)
        self.qa_index, self.recipe_index = work / "qa-index", work / "recipe-index"

    def row(
        self,
        metric: str,
        qa: float | None,
        recipe_value: float | None,
        unit: str,
        target: str = "",
        note: str = "",
    ) -> None:
        ratio = qa / recipe_value if qa is not None and recipe_value else None
        self.rows.append(
            {
                "metric": metric,
                "qa": qa,
                "recipe": recipe_value,
                "ratio": ratio,
                "unit": unit,
                "target": target,
                "note": note,
            }
        )
        print(f"  {metric}: qa {fmt(qa)} {unit}, recipe {fmt(recipe_value)}", flush=True)

    def prepare(self) -> None:
        from qa.index.build import build_index

        print("Building the seed indexes (qa, recipe)…", flush=True)
        build_index(
            self.settings(self.seed, self.qa_index), progress=False
        )  # exports the ONNX model once
        recipe.build(self.seed, self.recipe_index)

    def cold(self) -> None:
        print("Cold ask…", flush=True)
        ours, theirs = [], []
        for _ in range(self.args.repeats):
            ours.append(
                run_child(
                    qa_cmd(
                        "ask", "--corpus", str(self.seed), "--index", str(self.qa_index), QUESTION
                    )
                )
            )
            theirs.append(
                run_child(
                    [
                        sys.executable,
                        str(ROOT / "benchmarks" / "recipe.py"),
                        "ask",
                        str(self.recipe_index),
                        QUESTION,
                    ]
                )
            )
        self.row(
            "cold ask wall",
            median([w for w, _ in ours]),
            median([w for w, _ in theirs]),
            "s",
            "≤ 0.8 s and ≤ 0.1× recipe",
        )
        self.row(
            "cold ask peak RSS",
            median([m for _, m in ours]),
            median([m for _, m in theirs]),
            "MiB",
            "≤ 250 MiB",
        )

    def warm(self) -> None:
        from qa.rank.search import Searcher

        print("Warm queries…", flush=True)
        searcher = Searcher.open(self.settings(self.seed, self.qa_index))
        store = recipe.load(self.recipe_index)
        qs = questions()
        for q in qs[:3]:
            searcher.search(q, 5)
            store.similarity_search(q, k=5)
        # One system at a time: ONNX Runtime's threads spin briefly after a run.
        ours = [
            timed(lambda q=q: searcher.search(q, 5)) for _ in range(self.args.repeats) for q in qs
        ]
        theirs = [
            timed(lambda q=q: store.similarity_search(q, k=5))
            for _ in range(self.args.repeats)
            for q in qs
        ]
        ms = 1000
        self.row(
            "warm query p50", ms * median(ours), ms * median(theirs), "ms", "≤ 5 ms with highlights"
        )
        self.row(
            "warm query p95",
            ms * float(np.percentile(ours, 95)),
            ms * float(np.percentile(theirs, 95)),
            "ms",
        )
        self.search_loop(qs, median(ours))
        self.warm_at_scale()

    def warm_at_scale(self) -> None:
        """Warm queries, highlights included, on the SQuAD half (~1,000 chunks) and on it
        repeated to 100k chunks (vectors nudged apart; an IVF index, as qa makes at that size)."""
        from qa.eval.evaluate import read_questions
        from qa.index.build import build_index, load_index
        from qa.rank.search import Searcher

        settings = self.settings(self.squad_corpus(), self.work / "warm-squad")
        build_index(settings, progress=False)
        index = load_index(settings)
        questions = [q.question for q in read_questions(self.work / "squad" / "questions.jsonl")]
        sample = questions[:: max(1, len(questions) // 200)]
        for label, searcher in (
            (f"{len(index.chunks):,} chunks (SQuAD dev half)", Searcher(index)),
            ("100k chunks", Searcher(corpora.tiled_index(index, 100_000 // len(index.chunks)))),
        ):
            print(f"Warm queries, {label}…", flush=True)
            for q in sample[:5]:
                searcher.search(q, 5)
            times = [timed(lambda q=q, s=searcher: s.search(q, 5)) for q in sample]
            self.row(
                f"warm query p50, {label}",
                1000 * median(times),
                1000 * float(np.percentile(times, 95)),
                "ms",
                "≤ 10 ms at 1–2k chunks",
                f"recipe column: p95; {type(searcher.index.vectors).__name__}",
            )

    def milvus(self) -> None:
        """Warm questions with candidates from Milvus (one hybrid search) against FAISS + BM25
        in the index folder, on the SQuAD half tiled to each size (benchmarks/milvus.py)."""
        from qa.eval.evaluate import read_questions
        from qa.index.build import build_index, load_index
        from qa.rank.search import Searcher

        settings = self.settings(self.squad_corpus(), self.work / "warm-squad")
        build_index(settings, progress=False)
        index = load_index(settings)
        questions = [q.question for q in read_questions(self.work / "squad" / "questions.jsonl")]
        sample = questions[:: max(1, len(questions) // 200)]
        with milvus_bench.server(self.work / "milvus") as uri:
            for size in self.args.milvus_sizes:
                tiled = corpora.tiled_index(index, max(1, round(size / len(index.chunks))))
                label = f"{len(tiled.chunks):,} chunks"
                print(f"Milvus and FAISS, {label}…", flush=True)
                local = Searcher(tiled)
                served = Searcher(
                    milvus_bench.on_milvus(tiled, uri, self.work / "milvus-index"),
                    embedder=local.embedder,
                )
                on_milvus, on_faiss = milvus_bench.timings([served, local], sample)
                for what, at in (("whole question", 0), ("candidates alone", 1)):
                    ours, theirs = on_milvus[at], on_faiss[at]
                    for name, p in (("p50", 50), ("p95", 95)):
                        self.row(
                            f"Milvus {what} {name}, {label}",
                            1000 * float(np.percentile(ours, p)),
                            1000 * float(np.percentile(theirs, p)),
                            "ms",
                            "",
                            "recipe column: FAISS + BM25 in the index folder",
                        )

    def ray(self) -> None:
        """`qa build --ray` on a local Ray against the local build of the same corpus, and 10M
        chunks projected on N workers (benchmarks/ray_builds.py)."""
        print("Ray builds…", flush=True)
        work, megabytes = self.work / "ray", self.args.ray_megabytes
        for what, value, unit in ray_builds.figures(work, megabytes, self.args.repeats):
            self.row(f"Ray: {what}", value, None, unit, "", "one machine: no speed-up expected")

    def search_loop(self, qs: list[str], searcher_p50: float) -> None:
        """`qa.search()` called in a loop: a kept Index and a `stat` a file, each call."""
        from qa import search

        settings = self.settings(self.seed, self.qa_index)
        search(qs[0], 5, settings=settings)
        loop = [
            timed(lambda q=q: search(q, 5, settings=settings))
            for _ in range(self.args.repeats)
            for q in qs
        ]
        self.row(
            "qa.rank.search() in a loop p50",
            1000 * median(loop),
            None,
            "ms",
            "≤ 1.2× warm query",
            f"{median(loop) / searcher_p50:.2f}× Searcher.search",
        )

    def app(self) -> None:
        print("App ready…", flush=True)
        times = []
        for _ in range(self.args.repeats):
            times.append(self.app_once())
        self.row("app ready", median(times), None, "s", "≤ 5 s", "python app.py → first answer")

    def app_once(self) -> float:
        port = free_port()
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        command = [
            sys.executable,
            str(ROOT / "app.py"),
            "--port",
            str(port),
            "--corpus",
            str(self.seed),
            "--index",
            str(self.qa_index),
        ]
        started = time.perf_counter()
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            while time.perf_counter() - started < 120:
                if server.poll() is not None:
                    raise RuntimeError(f"app.py exited with {server.returncode}")
                if ask_app(port):
                    return time.perf_counter() - started
                time.sleep(0.05)
            raise RuntimeError("app.py did not answer within 120 s")
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()

    def quality(self) -> None:
        """Hit@1 on the development questions and encode speed: fp32 ONNX, int8 ONNX, ST."""
        from qa.eval.evaluate import evaluate
        from qa.index.build import build_index, load_index
        from qa.model.embedding import SentenceTransformerEmbedder, load_embedder, local_folder
        from qa.model.onnx_export import quantize_int8
        from qa.model.onnx_model import OnnxEmbedder
        from qa.rank.search import Searcher

        print("Quality and encode speed: ONNX fp32, ONNX int8, sentence-transformers…", flush=True)
        fp32 = load_embedder()
        assert isinstance(fp32, OnnxEmbedder)
        int8_file = self.work / "int8.onnx"
        logging.disable(logging.WARNING)  # the quantizer's advice on pre-processing
        quantize_int8(fp32.path, int8_file)
        logging.disable(logging.NOTSET)
        folder = local_folder(fp32.name)
        embedders = {
            "onnx fp32": fp32,
            "onnx int8": OnnxEmbedder(fp32.name, folder, int8_file),
            "sentence-transformers": SentenceTransformerEmbedder(fp32.name),
        }
        hits, tops, speed = {}, {}, {}
        for label, embedder in embedders.items():
            index = self.work / f"q-{label.replace(' ', '-')}"
            settings = self.settings(self.seed, index)
            build_index(settings, embedder=embedder, progress=False)
            searcher = Searcher.open(settings, embedder=embedder)
            hits[label] = evaluate(QUESTIONS, searcher).hit_at_1
            tops[label] = [searcher.search(q, 1)[0].citation for q in questions()]
            texts = [c.embed_text for c in load_index(settings).chunks]
            embedder.encode(texts[:8])
            speed[label] = median(
                [len(texts) / timed(lambda e=embedder, t=texts: e.encode(t)) for _ in range(3)]
            )
        st = "sentence-transformers"
        for label in ("onnx fp32", "onnx int8"):
            same = sum(a == b for a, b in zip(tops[label], tops[st], strict=True))
            self.row(
                f"Hit@1, dev questions ({label})",
                hits[label],
                hits[st],
                "",
                "within 0.01 of sentence-transformers",
                f"same top passage as sentence-transformers on {same}/{len(tops[st])}",
            )
            self.row(
                f"encode seed chunks ({label})",
                speed[label],
                speed[st],
                "chunks/s",
                note="encode only, recipe column: SentenceTransformer.encode",
            )

    def retrieval(self) -> None:
        """The ablation table on the SQuAD development half, with the recipe in the same run."""
        from qa.eval.evaluate import ablation_rankings, evaluate, read_questions, same_text_span
        from qa.eval.squad import squad_to_corpus
        from qa.index.build import build_index
        from qa.rank.search import Searcher

        print("Retrieval on the SQuAD development half (every question)…", flush=True)
        corpus, questions = squad_to_corpus(SQUAD, self.work / "squad")
        settings = self.settings(corpus, self.work / "squad-index")
        build_index(settings, progress=False)
        lines = ["| ranking | Hit@1 | Hit@3 | Hit@5 | MRR@10 |", "|---|---|---|---|---|"]
        scores: dict[str, tuple[float, float, float, float]] = {}
        for name, ranking in ablation_rankings(settings.model):
            r = evaluate(questions, Searcher.open(settings, ranking=ranking))
            scores[name] = (r.hit_at_1, r.hit_at_3, r.hit_at_5, r.mrr_at_10)
        recipe.build(corpus, self.work / "squad-recipe")
        store = recipe.load(self.work / "squad-recipe")
        ranks = []
        for q in read_questions(questions):
            found = store.similarity_search(q.question, 10)
            hits = [same_text_span(d.page_content, q.gold[0]) for d in found]
            ranks.append(hits.index(True) + 1 if True in hits else 99)
        r_ = np.array(ranks)
        scores["LangChain recipe (1000-character chunks, dense)"] = (
            *(float(np.mean(r_ <= n)) for n in (1, 3, 5)),
            float(np.mean(np.where(r_ <= 10, 1 / r_, 0))),
        )
        for name, values in scores.items():
            lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
        print("\n".join(lines), flush=True)
        qa, lc = scores["+ and by the share of the section shown (qa)"], scores[name]
        for i, metric in ((0, "Hit@1"), (2, "Hit@5"), (3, "MRR@10")):
            self.row(f"SQuAD dev half {metric}", qa[i], lc[i], "", "above every baseline")

    def calibration(self) -> None:
        """A reliability diagram of the answer score per family, held out (calibration.py)."""
        import calibration
        from families import families

        print("Reliability of the answer score, each family held out…", flush=True)
        for family in families(self.work / "families"):
            bins = calibration.reliability(family)
            print(calibration.describe(family.name, bins), flush=True)
            total = sum(b.count for b in bins)
            gap = sum(b.count * abs(b.predicted - b.observed) for b in bins) / total
            self.row(f"calibration error, {family.name}", gap, None, "", "lower is better")

    def settings(self, corpus: Path, index: Path) -> Any:
        from qa.settings import Settings

        return Settings.from_env().with_overrides(corpus_dir=corpus, index_dir=index)

    def build(self) -> None:
        """Full builds with the default encoder, each next to SentenceTransformer.encode of the
        same chunks (interleaved: the machine's load hits both alike), and a cold `qa build`."""
        from qa.model.embedding import load_embedder
        from qa.settings import Settings

        defaults = Settings()
        load_embedder(defaults.model, defaults.precision).encode(["warm up"])
        reference = st_model()
        for label, corpus, repeats in (
            ("seed document", self.seed, self.args.repeats),
            ("SQuAD dev half", self.squad_corpus(), self.args.build_repeats),
        ):
            print(f"Full build of the {label}…", flush=True)
            ours, st, seconds = [], [], []
            for run in range(repeats):
                info, chunks = self.qa_build(corpus, self.work / f"b-{label[:4]}-{run}")
                ours.append(info.chunks / info.seconds)
                seconds.append(info.seconds)
                st.append(len(chunks) / timed(lambda c=chunks: reference.encode(c, batch_size=32)))
            self.row(
                f"build {label} vs SentenceTransformer.encode",
                median(ours),
                median(st),
                "chunks/s",
                "≥ 1.0× plain encode",
                f"{info.chunks} chunks; qa: whole build, sentences for highlights included; "
                f"{defaults.precision}, sentences run on their own",
            )
            if corpus == self.seed:
                seed_build = median(seconds)
        cold = [
            run_child(qa_cmd("build", "--corpus", str(self.seed), "--index", str(folder)))[0]
            for folder in (self.work / f"cold-build-{run}" for run in range(self.args.repeats))
        ]
        self.row(
            "cold `qa build` of the seed document",
            median(cold),
            None,
            "s",
            note=f"a fresh process; the build itself takes {seed_build:.2f} s of it",
        )

    def models(self) -> None:
        """Every supported model side by side (benchmarks/models.py): what the default is
        chosen by (docs/models.md)."""
        from qa.eval.evaluate import read_questions

        squad = self.squad_corpus()
        sample = [q.question for q in read_questions(self.work / "squad" / "questions.jsonl")]
        asked = {"seed": questions(), "squad": sample[:: max(1, len(sample) // 200)]}
        results = models.compare(self.seed, squad, asked, self.work / "models", run_child)
        units = {"chunks/s": "chunks/s", " ms": "ms", " s": "s", " MiB": "MiB"}
        for result in results:
            for key, value in result.items():
                unit = next((u for end, u in units.items() if key.endswith(end)), None)
                if unit and isinstance(value, float):
                    metric = f"{result['model']}: {key.removesuffix(' ' + unit)}"
                    self.row(metric, value, None, unit)
        print("\n" + models.markdown(results) + "\n", flush=True)

    def squad_corpus(self) -> Path:
        from qa.eval.squad import squad_to_corpus

        folder = self.work / "squad"
        if not folder.exists():
            squad_to_corpus(SQUAD, folder)
        return folder / "corpus"

    def encoders(self) -> None:
        """Each encoder variant: build throughput against plain encode, retrieval and flags."""
        print("Encoder variants: build speed, retrieval, confidence flags…", flush=True)
        variants = encoders.compare(
            self.seed, self.squad_corpus(), SQUAD, self.work / "encoders", st_model()
        )
        for rows in variants:
            for row in rows:
                self.row(**row)

    def profile(self) -> None:
        """Where a build of the SQuAD development half spends its time, by stage."""
        print("Profile of a build of the SQuAD development half…", flush=True)
        for stage, seconds, share in encoders.profile_build(
            self.squad_corpus(), self.work / "profile-index"
        ):
            self.row(
                f"build profile: {stage}", seconds, None, "s", note=f"{share:.1%} of the build"
            )

    def qa_build(self, corpus: Path, index: Path) -> tuple[Any, list[str]]:
        from qa.index.build import build_index, load_index

        settings = self.settings(corpus, index)
        info = build_index(settings, progress=False)
        chunks = [c.embed_text for c in load_index(settings).chunks]
        return info, chunks

    def incremental(self) -> None:
        from qa.index.build import build_index

        print("Incremental rebuild…", flush=True)
        corpus = self.work / "hundred"
        corpora.markov_corpus(corpus, 100, 4, max(1, self.args.paragraphs // 400), seed=7)
        index = self.work / "hundred-index"
        full = build_index(self.settings(corpus, index), progress=False)
        times = []
        for _ in range(self.args.repeats):
            corpora.edit_one_section(corpus)
            info = build_index(self.settings(corpus, index), progress=False)
            times.append(info.seconds)
        self.row(
            "incremental rebuild (1 section of 100 docs)",
            median(times),
            full.seconds,
            "s",
            "≤ 5% of the full build",
            "recipe column: qa's full build of that corpus",
        )

    def robustness(self) -> None:
        import robustness

        print("Hostile documents (see robustness.py)…", flush=True)
        for metric, value, unit, note in robustness.figures(run_child):
            self.row(metric, value, None, unit, note=note)

    def memory(self) -> None:
        """Peak memory of full builds of 1, 5 and 20 MB, in one file and in 1,000, each
        beside the stated bound (memory.py)."""
        import memory

        print(f"Peak memory of builds, against the bound {memory.BOUND}…", flush=True)
        for metric, peak, bound, note in memory.figures(run_child, self.args.memory_sizes):
            verdict = memory.verdict(peak, bound)
            note = f"{verdict}; recipe column: the bound; {note}"
            self.row(metric, peak, bound, "MiB", f"≤ {memory.BOUND}", note)
            print(f"    bound {bound:.0f} MiB: {verdict}", flush=True)

    def scale(self) -> None:
        import faiss

        from qa.index.ann import make_vector_index

        for count in self.args.scale:
            print(f"Scale: {count} vectors…", flush=True)
            matrix, queries = corpora.synthetic_vectors(count, 200, seed=count)
            exact = faiss.IndexFlatIP(matrix.shape[1])
            exact.add(matrix)
            _, truth = exact.search(queries, 10)
            started = time.perf_counter()
            index, kind = make_vector_index(matrix)
            built = time.perf_counter() - started
            _, rows = index.search(queries, 10)
            recall = float(
                np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, truth, strict=True)])
            )
            ours = latencies(index, queries)
            flat = latencies(exact, queries[:50])
            per_vector = len(faiss.serialize_index(index)) / count
            note = (
                f"{kind}; recall@10 {recall:.3f}; {per_vector:.0f} B/vector; built in {built:.0f} s"
            )
            self.row(
                f"scale {count:,} query p50",
                1000 * median(ours),
                1000 * median(flat),
                "ms",
                "1M: ≤ 20 ms, recall@10 ≥ 0.95",
                note + "; recipe column: exact search",
            )
            self.rows[-1].update(recall_at_10=recall, bytes_per_vector=per_vector, index_type=kind)


def st_model() -> Any:
    """Plain sentence-transformers, the baseline for build throughput."""
    from sentence_transformers import SentenceTransformer

    from qa.model.embedding import local_folder

    return SentenceTransformer(str(local_folder("all-MiniLM-L6-v2")), device="cpu")


def latencies(index: Any, queries: np.ndarray) -> list[float]:
    """Seconds per single-query search, one query at a time as a user asks."""
    return [timed(lambda q=q: index.search(q[None, :], 10)) for q in queries]


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ask_app(port: int) -> bool:
    """True once the app's "search" API answers a question (Gradio's HTTP API, two steps)."""
    import urllib.error
    import urllib.request

    base = f"http://127.0.0.1:{port}/gradio_api/call/search"
    for data in ([QUESTION], [QUESTION, 5]):
        request = urllib.request.Request(
            base, json.dumps({"data": data}).encode(), {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                event = json.loads(response.read())["event_id"]
            with urllib.request.urlopen(f"{base}/{event}", timeout=60) as response:
                body = response.read().decode()
        except (OSError, ValueError, KeyError, urllib.error.URLError):
            return False
        if "event: complete" in body:
            return True
    return False


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| metric | qa | recipe | ratio | target | note |", "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—"
        lines.append(
            f"| {r['metric']} | {fmt(r['qa'])} {r['unit']} | {fmt(r['recipe'])} | {ratio} "
            f"| {r['target']} | {r['note']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", 3)))
    parser.add_argument("--build-repeats", type=int, default=1, help="for the large corpus")
    parser.add_argument("--paragraphs", type=int, default=2000)
    parser.add_argument(
        "--scale",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[10_000, 100_000, 1_000_000],
    )
    parser.add_argument(
        "--memory-sizes",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        default=(1, 5, 20),
        help="MB of text of the memory section's builds",
    )
    parser.add_argument(
        "--milvus-sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[20_000, 200_000],
        help="chunks of the milvus section's collections",
    )
    parser.add_argument(
        "--ray-megabytes", type=float, default=0.5, help="MB of text of the ray section's corpus"
    )
    parser.add_argument("--skip", default="", help=f"comma-separated: {','.join(SECTIONS)}")
    parser.add_argument("--only", default="", help="comma-separated: run these sections alone")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    only = set(filter(None, args.only.split(",")))
    unknown = (skip | only) - set(SECTIONS)
    if unknown:
        parser.error(f"no section {', '.join(sorted(unknown))}: choose from {', '.join(SECTIONS)}")
    if only:
        skip |= set(SECTIONS) - only
    logging.getLogger("bm25s").disabled = True  # its DEBUG lines would bury the table
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        bench = Bench(Path(tmp), args)
        if {"cold", "warm", "app"} - skip:  # the sections that ask the seed indexes
            bench.prepare()
        for section in SECTIONS:
            if section not in skip:
                getattr(bench, section)()
    print()
    print(table(bench.rows))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"bench-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    meta = {
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "args": vars(args),
        "seconds": time.perf_counter() - started,
    }
    path.write_text(json.dumps({"meta": meta, "rows": bench.rows}, indent=1) + "\n")
    print(f"\n{len(bench.rows)} figures in {meta['seconds']:.0f} s → {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
