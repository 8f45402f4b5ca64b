"""Finding documents and telling cheaply whether they changed (`qa/corpus.py`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from qa import corpus
from qa.corpus import FileState, corpus_hashes, corpus_state, read_corpus


def settle(path: Path) -> None:
    """Date a file a minute back, as if saved long before it is looked at."""
    old = time.time() - 60
    os.utime(path, (old, old))


def test_an_unchanged_corpus_is_checked_without_reading_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a.txt", "b.md"):
        (tmp_path / name).write_text(f"{name}\n\nwords\n")
        settle(tmp_path / name)
    first = corpus_state(tmp_path)
    assert {name: state.sha256 for name, state in first.items()} == corpus_hashes(tmp_path)
    hashed: list[Path] = []
    real = corpus.file_sha256
    monkeypatch.setattr(corpus, "file_sha256", lambda p: hashed.append(p) or real(p))
    assert corpus_state(tmp_path, first) == first
    assert hashed == []
    (tmp_path / "b.md").write_text("b.md\n\nother words, longer\n")
    second = corpus_state(tmp_path, first)
    assert hashed == [tmp_path / "b.md"]
    assert second["a.txt"] is first["a.txt"] and second["b.md"] != first["b.md"]


def test_a_file_hashed_just_after_a_write_is_hashed_again(tmp_path: Path) -> None:
    """A same-size write within the same mtime tick would otherwise go unseen."""
    document = tmp_path / "a.txt"
    document.write_text("version 1\n")
    state = corpus_state(tmp_path)["a.txt"]
    assert not state.settled
    stat = document.stat()
    document.write_text("version 2\n")  # same size
    os.utime(document, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same mtime
    again = corpus_state(tmp_path, {"a.txt": state})["a.txt"]
    assert again.sha256 != state.sha256


def test_a_settled_state_is_trusted() -> None:
    assert FileState(1, 0, "x", hashed_ns=3_000_000_000).settled
    assert not FileState(1, 0, "x", hashed_ns=1_000_000).settled


def test_a_file_deleted_between_listing_and_reading_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kept.txt").write_text("Kept\n\nwords\n")
    listed = [tmp_path / "gone.txt", tmp_path / "kept.txt"]
    monkeypatch.setattr(corpus, "document_paths", lambda folder: listed)
    assert [d.path for d in read_corpus(tmp_path)] == ["kept.txt"]
    assert list(corpus_state(tmp_path)) == ["kept.txt"]
