"""Watch mode: the index follows the corpus folder through edits, bursts and bad moments."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import SEED, FakeEmbedder, fake_build, fake_searcher, settings_for

from qa.index.owner import Index
from qa.index.watch import CorpusWatcher, WatchEvent
from qa.rank.search import Searcher
from qa.settings import Settings

CIVILIANS = "how do partnerships protect civilians"


def caught_up(watcher: CorpusWatcher, settings: Settings, seconds: float = 60) -> None:
    """Wait until the watcher is idle and the index matches the corpus (fails after `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if watcher.wait_until_idle(1) and watcher.index.status().fresh:
            time.sleep(1)  # a change still settling would make it busy again
            if watcher.wait_until_idle(0) and watcher.index.status().fresh:
                return
        time.sleep(0.1)
    raise AssertionError(f"the index did not catch up: {watcher.index.status().describe()}")


def watcher_of(settings: Settings, embedder: FakeEmbedder, **options: Any) -> CorpusWatcher:
    """The watcher of the index of `settings`, with the fake `embedder` (not started)."""
    return Index.open(settings, embedder=embedder).watch(**options)


@pytest.fixture
def watched(seed_corpus: Path, tmp_path: Path) -> Iterator[tuple[Settings, CorpusWatcher]]:
    settings = settings_for(seed_corpus, tmp_path / "index")
    fake_build(seed_corpus, settings.index_dir)
    events: list[WatchEvent] = []
    watcher = watcher_of(settings, FakeEmbedder(), on_event=events.append, settle_ms=200).start()
    caught_up(watcher, settings)
    yield settings, watcher
    watcher.stop()


class Asker:
    """Asks questions in a thread until stopped; every failure is kept."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher, self.answered = searcher, 0
        self.errors: list[BaseException] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> Asker:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.is_set():
            try:
                assert self.searcher.search(CIVILIANS, 3)
                self.searcher.search('"zeppelin"', 3)
                self.answered += 1
            except BaseException as error:
                self.errors.append(error)


def test_edits_additions_and_deletions_while_questions_are_asked(
    watched: tuple[Settings, CorpusWatcher],
) -> None:
    settings, watcher = watched
    corpus = settings.corpus_dir
    (corpus / "old-notes.txt").write_text("Old notes\n\nThe lighthouse keeper logged storms.\n")
    caught_up(watcher, settings)
    searcher = fake_searcher(settings.index_dir)
    assert searcher.search('"lighthouse"', 1)
    with Asker(searcher) as asker:
        seed = corpus / SEED.name
        seed.write_text(seed.read_text().replace("patrols", "zeppelin patrols"))
        (corpus / "depot.md").write_text("# Depot\n\nSeventeen striped zebras guard the depot.\n")
        (corpus / "old-notes.txt").unlink()
        (corpus / ".depot.md.swp").write_bytes(b"\x00vim swap")  # editor files are ignored
        (corpus / "depot.md~").write_text("a backup copy")
        caught_up(watcher, settings)
        answered_before_final_checks = asker.answered
    assert asker.errors == []
    assert answered_before_final_checks > 0
    assert "zeppelin" in searcher.search('"zeppelin"', 1)[0].text
    assert searcher.search('"striped zebras"', 1)[0].doc == "depot.md"
    assert searcher.search('"lighthouse"', 1) == []
    assert watcher.last is not None and watcher.last.error == ""


def test_a_burst_of_100_changes_and_a_half_written_file_end_in_the_final_corpus(
    watched: tuple[Settings, CorpusWatcher],
) -> None:
    settings, watcher = watched
    corpus = settings.corpus_dir
    builds_before = watcher.builds
    for number in range(100):
        (corpus / f"note-{number:03d}.txt").write_text(
            f"Note {number}\n\nThe tally for ledger {number} is marker{number}.\n"
        )
    with (corpus / "half.md").open("w") as handle:  # saved half-way, then finished
        handle.write("# Half\n\nThe first half mentions ")
        handle.flush()
        time.sleep(0.5)
        handle.write("quokkas at the harbour.\n")
    caught_up(watcher, settings)
    searcher = fake_searcher(settings.index_dir)
    assert searcher.search('"marker99"', 1)[0].doc == "note-099.txt"
    assert "quokkas at the harbour" in searcher.search('"quokkas"', 1)[0].text
    assert len(searcher.index.manifest.documents) == 102
    assert watcher.builds - builds_before < 50  # debounced: not a build a file


def test_a_corpus_folder_removed_and_restored_keeps_the_index(
    watched: tuple[Settings, CorpusWatcher],
) -> None:
    settings, watcher = watched
    searcher = fake_searcher(settings.index_dir)
    shutil.rmtree(settings.corpus_dir)
    deadline = time.monotonic() + 60
    while not (watcher.last and "does not exist" in watcher.last.error):
        assert time.monotonic() < deadline, "the missing folder was not reported"
        time.sleep(0.1)
    assert searcher.search(CIVILIANS, 3)  # the index survives its corpus
    settings.corpus_dir.mkdir()
    (settings.corpus_dir / "restored.md").write_text("# Restored\n\nThe archive came back.\n")
    caught_up(watcher, settings)
    assert [p.doc for p in searcher.search('"archive"', 3)] == ["restored.md"]
    assert list(searcher.index.manifest.documents) == ["peacekeeping-partnerships.txt"]
    assert list(searcher.latest().index.manifest.documents) == ["restored.md"]


def test_a_file_deleted_during_a_build_is_left_out_of_the_final_index(
    seed_corpus: Path, tmp_path: Path
) -> None:
    settings = settings_for(seed_corpus, tmp_path / "index")
    doomed = seed_corpus / "doomed.md"
    doomed.write_text("# Doomed\n\nThis file is deleted while it is being indexed.\n")

    class Slow(FakeEmbedder):
        def encode(self, texts, *, progress=False):  # type: ignore[no-untyped-def]
            doomed.unlink(missing_ok=True)  # deleted after it was read, before the swap
            return super().encode(texts)

    events: list[WatchEvent] = []
    watcher = watcher_of(settings, Slow(), on_event=events.append, settle_ms=200)
    try:
        caught_up(watcher.start(), settings)
    finally:
        watcher.stop()
    manifest = fake_searcher(settings.index_dir).index.manifest
    assert list(manifest.documents) == ["peacekeeping-partnerships.txt"]
    published = [name for event in events if event.info for name in event.info.added]
    assert "doomed.md" not in published  # never published: the build read the corpus again


def test_a_change_made_just_before_watching_begins_is_built(
    seed_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import watchfiles

    settings = settings_for(seed_corpus, tmp_path / "index")
    fake_build(seed_corpus, settings.index_dir)
    real_watch = watchfiles.watch

    def late_watch(*args: object, **kwargs: object) -> Iterator[set[tuple[object, str]]]:
        # The file lands after the watcher's first sync and before it subscribes: no event.
        (seed_corpus / "gap.md").write_text("# Gap\n\nA quokka crossed the gap.\n")
        return real_watch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(watchfiles, "watch", late_watch)
    watcher = watcher_of(settings, FakeEmbedder(), settle_ms=200).start()
    try:
        caught_up(watcher, settings, seconds=30)
    finally:
        watcher.stop()
    assert fake_searcher(settings.index_dir).search('"quokka"', 1)[0].doc == "gap.md"


@pytest.mark.filterwarnings("ignore::qa.errors.QAWarning")  # the build's, of the empty folder
def test_a_corpus_emptied_of_documents_is_followed_to_an_empty_index(
    watched: tuple[Settings, CorpusWatcher],
) -> None:
    """Item 7: with every document deleted, the old index kept answering from them."""
    from qa.errors import CorpusError

    settings, watcher = watched
    searcher = fake_searcher(settings.index_dir)
    (settings.corpus_dir / SEED.name).unlink()
    caught_up(watcher, settings)
    assert watcher.last is not None and watcher.last.info is not None
    assert watcher.last.info.removed == (SEED.name,) and watcher.last.info.documents == 0
    with pytest.raises(CorpusError, match=r"holds no documents.*add \.txt"):
        searcher.search(CIVILIANS, 3)
    (settings.corpus_dir / "back.md").write_text("# Back\n\nThe archive came back.\n")
    caught_up(watcher, settings)
    assert [p.doc for p in searcher.search('"archive"', 3)] == ["back.md"]


def test_a_rebuild_that_fails_on_a_full_disk_is_tried_again(
    seed_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 8: a rebuild that failed (disk full) waited for the next change of the corpus."""
    import errno

    import faiss

    settings = settings_for(seed_corpus, tmp_path / "index")
    fake_build(seed_corpus, settings.index_dir)
    real_write_index, full = faiss.write_index, [True]

    def write_index(*args: object) -> None:
        if full[0]:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write_index(*args)

    monkeypatch.setattr(faiss, "write_index", write_index)
    events: list[WatchEvent] = []
    watcher = watcher_of(
        settings, FakeEmbedder(), on_event=events.append, settle_ms=200, retry_seconds=0.5
    )
    (seed_corpus / "depot.md").write_text("# Depot\n\nSeventeen zebras guard the depot.\n")
    try:
        watcher.start()
        deadline = time.monotonic() + 60
        while not (watcher.last and "No space left on device" in watcher.last.error):
            assert time.monotonic() < deadline, "the failed rebuild was not reported"
            time.sleep(0.1)
        assert "previous index is unchanged" in events[0].error
        assert events[0].retry_seconds == 0.5  # then 1 s, 2 s, ... up to a minute
        time.sleep(2)
        assert watcher.last.retry_seconds > 0.5 and len(events) == 1  # retried, said once
        full[0] = False  # space is freed; the corpus does not change again
        caught_up(watcher, settings, seconds=30)
    finally:
        watcher.stop()
    assert fake_searcher(settings.index_dir).search('"zebras"', 1)[0].doc == "depot.md"
    assert events[-1].info is not None and events[-1].info.added == ("depot.md",)


class Recording:
    """A model that keeps every text it is handed, and is otherwise the model it wraps."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.texts = inner, list[str]()

    def __getattr__(self, name: str) -> Any:
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def encode(self, texts: Any, *, progress: bool = False) -> Any:
        self.texts += texts
        return self.inner.encode(texts, progress=progress)

    def encode_tokens(self, texts: Any, **options: Any) -> Any:
        self.texts += texts
        return self.inner.encode_tokens(texts, **options)


def test_the_first_watch_rebuild_after_qa_serve_embeds_only_what_changed(
    tmp_path: Path, real_embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28: after `qa build`, `qa serve`'s start-up and its watcher's first rebuild
    re-embedded every document although nothing had changed (the page's build and the CLI's
    disagreed).  The index is built by `qa build`, then opened as `qa serve` opens it (its
    start-up refresh, then its watcher), with the real model."""
    from qa.cli import main
    from qa.model import embedding
    from qa.web.serve import prepare

    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    notes = corpus / "notes.md"
    notes.write_text("# Notes\n\nThe harbour master counted eleven ferries on Monday.\n")
    assert main(["build", "--corpus", str(corpus), "--index", str(index_dir)]) == 0
    model = Recording(real_embedder)
    monkeypatch.setattr(embedding, "load_embedder", lambda *_: model)
    settings = Settings(corpus_dir=corpus, index_dir=index_dir)

    index = Index.open(settings)  # as `qa serve` does (qa.web.serve.serve)
    prepare(index)
    events: list[WatchEvent] = []
    watcher = index.watch(on_event=events.append, settle_ms=200).start()
    try:
        caught_up(watcher, settings)
        assert (model.texts, events) == ([], [])  # nothing changed: nothing embedded
        later = time.time() + 60
        os.utime(corpus / SEED.name, (later, later))  # saved again, the same bytes
        caught_up(watcher, settings)
        assert (model.texts, events) == ([], [])
        notes.write_text(notes.read_text() + "\nThe lighthouse keeper logged storms.\n")
        caught_up(watcher, settings)
    finally:
        watcher.stop()
    assert len(events) == 1 and events[0].info is not None
    info = events[0].info
    assert info.changed == ("notes.md",) and info.chunks_embedded == 1
    assert info.chunks_reused == info.chunks - 1
    assert model.texts and not [t for t in model.texts if "peacekeep" in t.lower()]
