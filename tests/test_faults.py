"""Faults: a build killed at any moment, or searched during, leaves a usable, correct index."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import SEED, FakeEmbedder

from qa.index import build_index, load_index
from qa.search import Searcher
from qa.settings import Settings

BUILD_SCRIPT = """
import sys, time
sys.path.insert(0, {tests!r})
from conftest import FakeEmbedder
from qa.index import build_index
from qa.settings import Settings

class Slow(FakeEmbedder):
    def encode(self, texts, *, progress=False):
        time.sleep(0.0005 * len(texts))  # stretch the build so kills land in every stage
        return super().encode(texts)

print("start", flush=True)
build_index(sys.argv[1], sys.argv[2], settings=Settings(model="fake-hash"), embedder=Slow(),
            progress=False)
print("done", flush=True)
"""


def make_corpus(folder: Path, copies: int) -> None:
    folder.mkdir()
    text = SEED.read_text(encoding="utf-8")
    for i in range(copies):
        (folder / f"copy-{i:02d}.txt").write_text(text.replace("civilians", f"civilians{i}"))


def run_build(script: Path, corpus: Path, index: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), str(corpus), str(index)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_a_build_killed_at_any_moment_leaves_the_previous_index(tmp_path: Path) -> None:
    settings = Settings(model="fake-hash")
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    make_corpus(corpus, 12)
    build_index(corpus, index, settings=settings, embedder=FakeEmbedder(), progress=False)
    question = "civilians3 protection"
    expected = Searcher(index, settings=settings, embedder=FakeEmbedder()).search(question, 3)
    script = tmp_path / "build.py"
    script.write_text(BUILD_SCRIPT.format(tests=str(Path(__file__).parent)))
    # Edit the corpus so a finished build would differ, then time one full build.
    (corpus / "copy-00.txt").write_text(SEED.read_text().replace("patrols", "zeppelins"))
    timing = tmp_path / "timing-index"
    shutil.copytree(index, timing)
    started = time.perf_counter()
    assert run_build(script, corpus, timing).wait(timeout=300) == 0
    duration = time.perf_counter() - started
    kills = 0
    for fraction in (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.97):
        process = run_build(script, corpus, index)
        assert process.stdout is not None and process.stdout.readline() == "start\n"
        time.sleep(duration * fraction)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        loaded = load_index(index, settings)  # verifies every checksum
        passages = Searcher(index, settings=settings, embedder=FakeEmbedder()).search(question, 3)
        if not any("zeppelins" in chunk.text for chunk in loaded.chunks):
            assert passages == expected  # still the previous index, whole
        else:
            (corpus / "copy-00.txt").write_text(SEED.read_text().replace("patrols", f"z{kills}"))
            expected = passages  # the build finished before the kill: the new index, whole
    assert kills >= 4
    info = build_index(corpus, index, settings=settings, embedder=FakeEmbedder(), progress=False)
    assert info.chunks_reused > 0
    assert len(list(index.glob("build-*"))) <= 2  # what killed builds left is cleaned up
    assert not list(index.glob(".CURRENT.*"))


def test_searches_during_a_rebuild_are_answered(seed_corpus: Path, tmp_path: Path) -> None:
    settings = Settings(model="fake-hash")
    index = tmp_path / "index"
    build_index(seed_corpus, index, settings=settings, embedder=FakeEmbedder(), progress=False)
    searcher = Searcher(index, settings=settings, embedder=FakeEmbedder())
    document = seed_corpus / SEED.name
    document.write_text(document.read_text().replace("patrols", "zeppelin patrols"))
    errors: list[BaseException] = []
    answered = 0
    done = threading.Event()

    def keep_searching() -> None:
        nonlocal answered
        while not done.is_set():
            try:
                assert searcher.search("how do partnerships protect civilians", 3)
                answered += 1
            except BaseException as error:
                errors.append(error)

    thread = threading.Thread(target=keep_searching)
    thread.start()
    try:
        for _ in range(3):
            build_index(
                seed_corpus, index, settings=settings, embedder=FakeEmbedder(), progress=False
            )
    finally:
        done.set()
        thread.join()
    assert not errors and answered > 0
    fresh = Searcher(index, settings=settings, embedder=FakeEmbedder())
    assert "zeppelin" in fresh.search('"zeppelin"', 1)[0].text
