"""`make bench` figures for hostile documents: chunking throughput, a 10 MB single-line
document, peak memory by shape of text, a 500-page PDF, and markup nested deep (20,000 and
40,000 empty Markdown headings, 50,000 and 100,000 nested HTML elements: twice the input
should cost twice the time and memory, not four times).  Chunking is timed with the real
tokenizer and with a fast counter (what the tests' fake model counts), so the
second figure is the chunker's own speed.

    python benchmarks/robustness.py              print the figures
    python benchmarks/robustness.py build C I    build corpus C into index I (run by the above)

The builds use the real tokenizer to count word pieces and a stand-in for the
model's vectors (a hash of each text), so the figures are qa's own work: reading,
chunking, counting, storing.  With the real model the build time is the embedding's.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "peacekeeping-partnerships.txt"
MB = 1024 * 1024


class StandInEmbedder:
    """The real tokenizer, and one-hot vectors from a hash of each text instead of the model."""

    name, dimension, max_tokens = "stand-in", 64, 256

    def __init__(self) -> None:
        from qa.model.embedding import load_embedder

        self.count_tokens = load_embedder().count_tokens

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Any:
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        rows[np.arange(len(texts)), [hash(text) % self.dimension for text in texts]] = 1.0
        return rows


def write(path: Path, shape: str, megabytes: int) -> None:
    """The seed essay repeated to `megabytes`, as paragraphs, as one line, or as one word."""
    seed = SEED.read_text(encoding="utf-8")
    unit = {"paragraphs": seed + "\n\n", "one line": " ".join(seed.split()) + " "}.get(shape, "x")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit * (megabytes * MB // len(unit) + 1), encoding="utf-8")


def write_pdf(path: Path, pages: int) -> None:
    """The seed essay set as a PDF of `pages` pages: 10 pt lines, a running header, page
    numbers, a 16 pt chapter heading and an outline entry every ten pages."""
    import textwrap

    from reportlab.pdfgen.canvas import Canvas

    words = " ".join(SEED.read_text(encoding="utf-8").split())
    lines = textwrap.wrap(words, 95)
    canvas = Canvas(str(path))
    for page in range(pages):
        canvas.setFont("Helvetica", 8)
        canvas.drawString(72, 810, "Peacekeeping partnerships — a long report")
        canvas.drawString(300, 30, str(page + 1))
        top = 780
        if page % 10 == 0:
            canvas.bookmarkPage(f"c{page}")
            canvas.addOutlineEntry(f"Chapter {page // 10 + 1}", f"c{page}", level=0)
            canvas.setFont("Helvetica-Bold", 16)
            canvas.drawString(72, top, f"Chapter {page // 10 + 1}")
            top -= 30
        canvas.setFont("Helvetica", 10)
        for row in range((top - 60) // 13):
            canvas.drawString(72, top - row * 13, lines[(page * 50 + row) % len(lines)])
        canvas.showPage()
    canvas.save()


def _fast_count(text: str) -> int:
    """Words and punctuation marks: the tests' stand-in for word pieces, nearly free."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def chunking_seconds(path: Path, count: Any) -> float:
    from qa.readers.corpus import Document
    from qa.text.chunking import chunk_document

    doc = Document(path.name, path.read_text(encoding="utf-8"), "0")
    started = time.perf_counter()
    chunk_document(doc, count)
    return time.perf_counter() - started


def figures(run_child: Any) -> list[tuple[str, float, str, str]]:
    """(metric, value, unit, note) rows; `run_child(command)` gives (seconds, peak MiB)."""
    from qa.model.embedding import load_embedder

    rows = []
    counters = {"real tokenizer": load_embedder().count_tokens, "fast counter": _fast_count}
    with tempfile.TemporaryDirectory(prefix="qa-robust-") as tmp:
        work = Path(tmp)
        for shape in ("paragraphs", "one line"):
            write(work / shape / "doc.txt", shape, 10)
            for label, count in counters.items():
                seconds = chunking_seconds(work / shape / "doc.txt", count)
                metric = f"chunking 10 MB, {shape}, {label}"
                rows.append((metric, 10 / seconds, "MB/s", f"{seconds:.1f} s"))
        for shape, megabytes in (("one line", 10), ("one line", 25), ("one word", 10)):
            corpus = work / f"c-{shape}-{megabytes}"
            write(corpus / "doc.txt", shape, megabytes)
            command = [sys.executable, __file__, "build", str(corpus), str(work / "i")]
            seconds, peak = run_child(command)
            label = f"build {megabytes} MB, {shape}"
            rows.append((f"{label}: time", seconds, "s", "stand-in vectors, real tokenizer"))
            rows.append((f"{label}: peak memory", peak, "MiB", f"{peak / megabytes:.0f} MiB/MB"))
        rows += _pdf_figures(run_child, work)
        rows += _nesting_figures(run_child, work)
    return rows


NESTED = {
    "empty Markdown headings": ("doc.md", "# Heading\n", (20_000, 40_000)),
    "nested <div><p> in a web page": ("page.html", "<div><p>x</p>", (50_000, 100_000)),
    "nested <ul><li> in a web page": ("page.html", "<ul><li>x", (50_000, 100_000)),
}


def _nesting_figures(run_child: Any, work: Path) -> list[tuple[str, float, str, str]]:
    """Builds of documents nested n and 2n deep: time and peak memory, each with its ratio."""
    rows = []
    for number, (label, (name, unit, sizes)) in enumerate(NESTED.items()):
        before: tuple[float, float] | None = None
        for n in sizes:
            corpus = work / f"nested-{number}-{n}"
            corpus.mkdir()
            (corpus / name).write_text(unit * n, encoding="utf-8")
            command = [sys.executable, __file__, "build", str(corpus), str(work / "nested-i")]
            seconds, peak = run_child(command)
            if before is None:
                ratios = ("", "")
            else:
                ratios = (f", {seconds / before[0]:.1f}x", f", {peak / before[1]:.1f}x")
            before = (seconds, peak)
            rows.append((f"build {n:,} {label}: time", seconds, "s", f"whole build{ratios[0]}"))
            rows.append((f"build {n:,} {label}: peak memory", peak, "MiB", f"RSS{ratios[1]}"))
    return rows


def _pdf_figures(run_child: Any, work: Path) -> list[tuple[str, float, str, str]]:
    corpus = work / "pdf"
    corpus.mkdir()
    write_pdf(corpus / "long.pdf", 500)
    size = (corpus / "long.pdf").stat().st_size / MB
    command = [sys.executable, __file__, "build", str(corpus), str(work / "pdf-index")]
    seconds, peak = run_child(command)
    note = f"{size:.1f} MB file; stand-in vectors, real tokenizer"
    return [
        ("build a 500-page PDF: time", seconds, "s", note),
        ("build a 500-page PDF: peak memory", peak, "MiB", note),
    ]


def build(corpus: str, index: str) -> None:
    from qa.index.build import build_index
    from qa.settings import Settings

    settings = Settings(corpus_dir=Path(corpus), index_dir=Path(index), model=StandInEmbedder.name)
    build_index(settings, embedder=StandInEmbedder(), progress=False)


if __name__ == "__main__":
    if sys.argv[1:2] == ["build"]:
        build(*sys.argv[2:4])
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench import run_child

        for metric, value, unit, note in figures(run_child):
            print(f"{metric}: {value:.1f} {unit} ({note})", flush=True)
