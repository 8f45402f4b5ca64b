"""Large corpora of any shape build in one process within a stated memory bound.

The bound is linear in the size of the text, whatever its shape or number of files:
300 MiB plus 30 MiB per MB of text (README, Reliability; `make bench`, section
`memory`, measures it up to 20 MB with the real model and its stand-in).  The build
is the default one with the real tokenizer and every step the model's output goes
through (chunk, sentence and token vectors, the token files); only the network's
forward pass is replaced by a table lookup, so that megabytes build in seconds.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import SEED

from qa.text.chunking import CHARS_PER_TOKEN

pytestmark = pytest.mark.model  # the real tokenizer, and the model's ONNX file loaded

BASE_MIB, MIB_PER_MB = 300, 30
MB = 1024 * 1024
BUILD = """
import sys, time
import numpy as np
from qa.model.embedding import local_folder
from qa.index.build import build_index
from qa.model.onnx_model import OnnxEmbedder
from qa.settings import DEFAULT_MODEL, Settings

TABLE = np.random.default_rng(0).standard_normal((4096, 384)).astype(np.float32)


class StandIn(OnnxEmbedder):
    def _hidden(self, ids, width):  # the network's token vectors, looked up
        batch = np.zeros((len(ids), width), dtype=np.int64)
        for row, pieces in enumerate(ids):
            batch[row, : len(pieces)] = pieces
        return TABLE[batch % len(TABLE)], (batch > 0).astype(np.int64)


started = time.perf_counter()
embedder = StandIn(DEFAULT_MODEL, local_folder(DEFAULT_MODEL))
settings = Settings(corpus_dir=sys.argv[1], index_dir=sys.argv[2])
info = build_index(settings, embedder=embedder, progress=False)
# VmHWM, not ru_maxrss: a child's ru_maxrss starts at the RSS of the process that forked it
# (the test run's, hundreds of MiB once the real model is loaded).
status = open('/proc/self/status').read()
peak = int(status.split('VmHWM:')[1].split()[0]) / 1024
print(info.chunks, info.sections, round(peak), round(time.perf_counter() - started, 1))
"""


def unique_text(megabytes: float, paragraphs: bool) -> str:
    """The seed essay repeated to `megabytes`, each sentence of each copy numbered, so
    that no chunk or sentence repeats (a repeat is embedded once); without `paragraphs`,
    no blank line at all."""
    seed = SEED.read_text(encoding="utf-8")
    if not paragraphs:
        seed = "\n".join(line for line in seed.splitlines() if line.strip())
    copies = int(megabytes * MB) // len(seed) + 1
    parts = (re.sub(r"\.(\s)", rf" ({number}).\1", seed) for number in range(copies))
    return ("\n\n" if paragraphs else "\n").join(parts)


@pytest.mark.parametrize(
    ("megabytes", "shape"),
    [(3, "paragraphs"), (3, "one paragraph"), (3, "1,000 files")],
)
def test_a_large_document_builds_within_the_memory_bound(
    tmp_path: Path, megabytes: int, shape: str
) -> None:
    """Before the build streamed its tokenising and token vectors, 3 MB peaked at 590 to
    640 MiB."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = unique_text(megabytes, paragraphs=shape != "one paragraph")
    if shape == "1,000 files":
        paragraphs = text.split("\n\n")
        for number in range(1000):
            part = paragraphs[number::1000]
            (corpus / f"part-{number:04d}.txt").write_text("\n\n".join(part), encoding="utf-8")
    else:
        (corpus / "huge.txt").write_text(text, encoding="utf-8")
    script = tmp_path / "build.py"
    script.write_text(BUILD)
    done = subprocess.run(
        [sys.executable, str(script), str(corpus), str(tmp_path / "index")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    chunks, sections, peak_mib, seconds = (float(x) for x in done.stdout.split())
    size = sum(path.stat().st_size for path in corpus.iterdir()) / MB
    print(
        f"\n{size:.1f} MB, {shape}: {chunks:.0f} chunks, peak {peak_mib:.0f} MiB, {seconds:.0f} s"
    )
    assert size >= megabytes * 0.99
    assert chunks >= size * MB / (256 * CHARS_PER_TOKEN)  # all of it built, in bounded chunks
    if shape == "one paragraph":
        assert sections == 1
    assert peak_mib < BASE_MIB + MIB_PER_MB * size
