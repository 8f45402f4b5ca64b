"""Finding documents and telling cheaply whether they changed (`qa/readers/corpus.py`)."""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes import refuse_to_open

from qa.errors import QAWarning
from qa.readers import corpus
from qa.readers.corpus import UNREADABLE, FileState, corpus_hashes, corpus_state, read_corpus


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
    scanned = corpus.Scan({path.name: path for path in listed}, ())
    monkeypatch.setattr(corpus, "scan", lambda folder, follow_links=False: scanned)
    assert [d.path for d in read_corpus(tmp_path)] == ["kept.txt"]
    assert list(corpus_state(tmp_path)) == ["kept.txt"]


def before_listing(
    monkeypatch: pytest.MonkeyPatch, folder: str, action: Callable[[str], object]
) -> None:
    """Run `action` on the folder named `folder` just before the corpus scan lists it."""
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if not isinstance(path, int) and Path(path).name == folder:
            action(path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_file_is_skipped_by_name_and_counts_as_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "good.txt").write_text("Good\n\nReadable words.\n")
    (tmp_path / "locked.txt").write_text("Locked\n\nSecret words.\n")
    refuse_to_open(monkeypatch, "locked.txt")
    with pytest.warns(QAWarning, match=r"Skipped locked\.txt: cannot read it \(Permission denied"):
        found = corpus.read_corpus_files(tmp_path)
    assert [d.path for d in found.documents] == ["good.txt"]
    assert found.files["locked.txt"] == UNREADABLE == corpus_hashes(tmp_path)["locked.txt"]


def test_utf16_and_utf32_files_with_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    text = "Rapport\r\n\r\nLe café ouvre à huit heures.\r\n"
    (tmp_path / "utf16.txt").write_bytes(text.encode("utf-16"))
    (tmp_path / "utf16be.txt").write_bytes(b"\xfe\xff" + text.encode("utf-16-be"))
    (tmp_path / "utf32.txt").write_bytes(text.encode("utf-32"))
    docs = read_corpus(tmp_path)
    assert [d.text for d in docs] == ["Rapport\n\nLe café ouvre à huit heures.\n"] * 3


def test_a_file_name_that_is_not_utf8_is_read_and_named_readably(tmp_path: Path) -> None:
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"Menu\n\nCoffee and cake.\n")
    with pytest.warns(QAWarning, match=r"caf\\xe9\.txt is not valid UTF-8"):
        [doc] = read_corpus(tmp_path)
    assert doc.path == "caf\\xe9.txt" and "Coffee" in doc.text
    assert list(corpus_hashes(tmp_path)) == ["caf\\xe9.txt"]


def test_a_file_name_with_control_characters_is_read_and_named_harmlessly(
    tmp_path: Path,
) -> None:
    """A newline or an escape sequence in a name would break a citation or a terminal."""
    (tmp_path / "a\nb.txt").write_text("Zebras\n\nZebras graze at dawn.\n", encoding="utf-8")
    (tmp_path / "\x1b[31mred\u202e.md").write_text("# Red\n\nTomatoes.\n", encoding="utf-8")
    with pytest.warns(QAWarning) as caught:
        docs = read_corpus(tmp_path)
    assert [d.path for d in docs] == ["\\x1b[31mred\\u202e.md", "a\\x0ab.txt"]
    assert "Zebras graze" in docs[1].text
    named = [str(w.message) for w in caught]
    assert any(m.startswith("The file name a\\x0ab.txt holds control characters") for m in named)
    assert not any(c in m for m in named for c in "\n\x1b\u202e")
    assert sorted(corpus_hashes(tmp_path)) == ["\\x1b[31mred\\u202e.md", "a\\x0ab.txt"]


def test_two_files_whose_names_read_the_same_once_escaped_are_both_accounted_for(
    tmp_path: Path,
) -> None:
    (tmp_path / "a\nb.txt").write_text("Zebras\n\nZebras graze.\n", encoding="utf-8")
    (tmp_path / "a\\x0ab.txt").write_text("Lions\n\nLions sleep.\n", encoding="utf-8")
    with pytest.warns(QAWarning) as caught:
        [doc] = read_corpus(tmp_path)
    assert doc.path == "a\\x0ab.txt"
    assert "Skipped a second file named a\\x0ab.txt" in "\n".join(str(w.message) for w in caught)


def test_a_folder_deleted_while_the_corpus_is_scanned_is_left_out_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kept.txt").write_text("Kept\n\nwords\n")
    (tmp_path / "drafts").mkdir()
    (tmp_path / "drafts" / "draft.txt").write_text("Draft\n\nwords\n")
    before_listing(monkeypatch, "drafts", shutil.rmtree)  # an editor removes its temporary folder
    assert [d.path for d in read_corpus(tmp_path)] == ["kept.txt"]  # and no warning


def refuse(path: str) -> None:
    raise PermissionError(errno.EACCES, "Permission denied", path)


def test_a_folder_that_cannot_be_listed_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kept.txt").write_text("Kept\n\nwords\n")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "diary.txt").write_text("Diary\n\nwords\n")
    # As `chmod 000 private` does for anyone but root.
    before_listing(monkeypatch, "private", refuse)
    with pytest.warns(QAWarning, match=r"Skipped the folder private/: cannot list it"):
        assert [d.path for d in read_corpus(tmp_path)] == ["kept.txt"]


def test_links_are_followed_inside_the_corpus_only(tmp_path: Path) -> None:
    corpus_dir, outside = tmp_path / "corpus", tmp_path / "outside"
    corpus_dir.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret\n\nPasswords live here.\n")
    (corpus_dir / "notes.txt").write_text("Notes\n\nShared words.\n")
    (corpus_dir / "secret.txt").symlink_to(outside / "secret.txt")
    (corpus_dir / "elsewhere").symlink_to(outside)
    (corpus_dir / "alias.txt").symlink_to(corpus_dir / "notes.txt")
    (corpus_dir / "loop").symlink_to(corpus_dir)
    with pytest.warns(QAWarning) as caught:
        docs = read_corpus(corpus_dir)
    assert [d.path for d in docs] == ["alias.txt", "notes.txt"]
    assert sorted(str(w.message).split(":")[0] for w in caught) == [
        "Skipped elsewhere",
        "Skipped secret.txt",
    ]
    followed = read_corpus(corpus_dir, follow_links=True)
    assert [d.path for d in followed] == [
        "alias.txt",
        "elsewhere/secret.txt",
        "notes.txt",
        "secret.txt",
    ]
