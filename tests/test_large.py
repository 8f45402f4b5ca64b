"""A 50 MB document builds in one process within a stated memory bound.

The vectors come from the fast fake embedder (64 dimensions), so the figure measures
qa's own reading, chunking, token counting (the real tokenizer) and storage.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fakes import SEED

pytestmark = pytest.mark.model  # the real tokenizer counts the tokens

MEMORY_BOUND_MIB = 1536
BUILD = """
import resource, sys, time
sys.path.insert(0, {tests!r})
from fakes import FakeEmbedder
from qa.embedding import load_embedder
from qa.index import build_index
from qa.settings import Settings

class Fake(FakeEmbedder):
    count_tokens = staticmethod(load_embedder().count_tokens)  # the real tokenizer

started = time.perf_counter()
settings = Settings(corpus_dir=sys.argv[1], index_dir=sys.argv[2], model="fake-hash")
info = build_index(settings, embedder=Fake(), progress=False)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(info.chunks, info.sections, round(peak), round(time.perf_counter() - started, 1))
"""


def test_a_50_mb_document_builds_within_the_memory_bound(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = SEED.read_text(encoding="utf-8")
    copies = 50 * 1024 * 1024 // len(seed) + 1
    with (corpus / "huge.txt").open("w", encoding="utf-8") as out:
        for number in range(copies):
            out.write(seed.replace("Protection of Civilians", f"Protection of Civilians {number}"))
            out.write("\n\n")
    assert (corpus / "huge.txt").stat().st_size >= 50 * 1024 * 1024
    script = tmp_path / "build.py"
    script.write_text(BUILD.format(tests=str(Path(__file__).parent)))
    done = subprocess.run(
        [sys.executable, str(script), str(corpus), str(tmp_path / "index")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    chunks, sections, peak_mib, seconds = (float(x) for x in done.stdout.split())
    print(
        f"\n50 MB: {chunks:.0f} chunks, {sections:.0f} sections, peak {peak_mib:.0f} MiB, "
        f"{seconds:.0f} s"
    )
    assert sections >= 18 * (copies - 1)
    assert peak_mib < MEMORY_BOUND_MIB
