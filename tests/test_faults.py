"""Faults: a build killed at any stage, or searched during, leaves a usable, correct index."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from fakes import SEED, FakeEmbedder, fake_searcher, settings_for

from qa.index.build import build_index, load_index

BUILD_SCRIPT = """
import os, shutil, sys, time
sys.path.insert(0, {tests!r})
import faiss
import numpy as np
from fakes import FakeEmbedder
import qa.index.folder
import qa.index.build
from qa.settings import Settings

STAGE = sys.argv[3]


def pause_at(stage, real):
    def wrapper(*args, **kwargs):
        if stage == STAGE and stage != "write_index":
            print(stage, flush=True)
            time.sleep(60)
        result = real(*args, **kwargs)
        if stage == STAGE:
            print(stage, flush=True)
            time.sleep(60)
        return result
    return wrapper


class Embedder(FakeEmbedder):
    encode = pause_at("encode", FakeEmbedder.encode)


np.save = pause_at("np.save", np.save)  # after the first vector file is written
faiss.write_index = pause_at("write_index", faiss.write_index)  # all but the manifest
qa.index.folder.os.replace = pause_at("replace", os.replace)  # the new build is complete, not live
# live; old builds not yet removed
qa.index.folder.shutil.rmtree = pause_at("rmtree", shutil.rmtree)
settings = Settings(corpus_dir=sys.argv[1], index_dir=sys.argv[2], model="fake-hash")
qa.index.build.build_index(settings, embedder=Embedder(), progress=False)
print("finished", flush=True)
"""


def make_corpus(folder: Path, copies: int) -> None:
    folder.mkdir()
    text = SEED.read_text(encoding="utf-8")
    for i in range(copies):
        (folder / f"copy-{i:02d}.txt").write_text(text.replace("civilians", f"civilians{i}"))


# Where a build is killed, and whether the new index is live by then.
STAGES = [
    ("encode", False),
    ("np.save", False),
    ("write_index", False),
    ("replace", False),
    ("rmtree", True),
]


def test_a_build_killed_at_any_stage_leaves_a_whole_index(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    settings = settings_for(corpus, index)
    make_corpus(corpus, 3)
    script = tmp_path / "build.py"
    script.write_text(BUILD_SCRIPT.format(tests=str(Path(__file__).parent)))
    build_index(settings, embedder=FakeEmbedder(), progress=False)
    question = '"patrols"'
    for number, (stage, new_is_live) in enumerate(STAGES):
        before = fake_searcher(index).search(question, 3)
        edited = SEED.read_text().replace("patrols", f"patrols (round {number})")
        (corpus / "copy-00.txt").write_text(edited.replace("civilians", "civilians0"))
        process = subprocess.Popen(
            [sys.executable, str(script), str(corpus), str(index), stage],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == stage
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        load_index(settings)  # loads, and every checksum holds
        after = fake_searcher(index).search(question, 3)
        if new_is_live:
            assert any(f"round {number}" in p.text for p in after), stage
        else:
            assert after == before, stage
    info = build_index(settings, embedder=FakeEmbedder(), progress=False)
    assert info.chunks_reused > 0
    assert len(list(index.glob("build-*"))) <= 2  # what killed builds left is cleaned up
    assert not list(index.glob(".CURRENT.*"))


def test_searches_during_a_rebuild_are_answered(seed_corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    settings = settings_for(seed_corpus, index)
    build_index(settings, embedder=FakeEmbedder(), progress=False)
    searcher = fake_searcher(index)
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
            build_index(settings, embedder=FakeEmbedder(), progress=False)
    finally:
        done.set()
        thread.join()
    assert not errors and answered > 0
    fresh = fake_searcher(index)
    assert "zeppelin" in fresh.search('"zeppelin"', 1)[0].text
