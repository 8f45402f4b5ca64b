"""Large documents of any shape build in one process within a stated memory bound.

The bound is linear in the size of the text, whatever its shape: 200 MiB plus
25 MiB per MB of text.  The vectors come from the fast fake embedder (64
dimensions), so the figure measures qa's own reading, chunking, token counting
(the real tokenizer) and storage.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fakes import SEED

from qa.chunking import CHARS_PER_TOKEN

pytestmark = pytest.mark.model  # the real tokenizer counts the tokens

BASE_MIB, MIB_PER_MB = 200, 25
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


def write_document(path: Path, megabytes: int, paragraphs: bool) -> int:
    """The seed essay repeated to `megabytes`; without `paragraphs`, no blank line at all.

    Returns how many copies of the essay were written.
    """
    seed = SEED.read_text(encoding="utf-8")
    if not paragraphs:
        seed = "\n".join(line for line in seed.splitlines() if line.strip())
    copies = megabytes * 1024 * 1024 // len(seed) + 1
    with path.open("w", encoding="utf-8") as out:
        for number in range(copies):
            out.write(seed.replace("Protection of Civilians", f"Protection of Civilians {number}"))
            out.write("\n\n" if paragraphs else "\n")
    assert path.stat().st_size >= megabytes * 1024 * 1024
    return copies


@pytest.mark.parametrize(("megabytes", "paragraphs"), [(50, True), (25, False)])
def test_a_large_document_builds_within_the_memory_bound(
    tmp_path: Path, megabytes: int, paragraphs: bool
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    copies = write_document(corpus / "huge.txt", megabytes, paragraphs)
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
        f"\n{megabytes} MB: {chunks:.0f} chunks, {sections:.0f} sections, "
        f"peak {peak_mib:.0f} MiB, {seconds:.0f} s"
    )
    if paragraphs:
        assert sections >= 18 * (copies - 1)
    else:  # one paragraph, one section, cut into chunks of bounded size
        assert sections == 1 and chunks >= megabytes * 1024 * 1024 / (256 * CHARS_PER_TOKEN)
    assert peak_mib < BASE_MIB + MIB_PER_MB * megabytes
