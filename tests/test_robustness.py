"""A hostile corpus and a hostile disk: every build and every question ends in an answer or
one clear line, and nothing is silently lost or left behind.

The tests run as root, whom file permissions do not stop: an unreadable or read-only
file is simulated by making the system call fail as it fails for other users.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fakes import FakeEmbedder, fake_searcher, refuse_to_open, settings_for

from qa import search as qa_search
from qa.cli import main
from qa.errors import IndexCorruptError, QAError, QAWarning
from qa.index import builder
from qa.index.build import build_index, index_status, load_index
from qa.index.folder import build_lock, current_folder
from qa.text import chunking
from qa.web.state import describe_rebuild

QUESTION = '"patrols"'


def build(corpus: Path, index_dir: Path):  # type: ignore[no-untyped-def]
    return build_index(settings_for(corpus, index_dir), embedder=FakeEmbedder(), progress=False)


def ask(corpus: Path, index_dir: Path, question: str = QUESTION) -> int:
    return main(["ask", question, "-k", "1", "--corpus", str(corpus), "--index", str(index_dir)])


def test_an_unchanged_file_is_not_chunked_again(seed_corpus: Path, tmp_path: Path) -> None:
    (seed_corpus / "a.txt").write_text("Alpha\n\nThe first note.\n")
    (seed_corpus / "b.txt").write_text("Beta\n\nThe second note.\n")
    build(seed_corpus, tmp_path / "index")
    first = fake_searcher(tmp_path / "index").search(QUESTION, 3)
    (seed_corpus / "b.txt").write_text("Beta\n\nThe second note, edited.\n")
    chunked: list[str] = []
    real = chunking.chunk_document
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            builder, "chunk_document", lambda doc, *a: chunked.append(doc.path) or real(doc, *a)
        )
        info = build(seed_corpus, tmp_path / "index")
    assert chunked == ["b.txt"] and info.changed == ("b.txt",)
    assert fake_searcher(tmp_path / "index").search(QUESTION, 3) == first
    assert "edited" in fake_searcher(tmp_path / "index").search('"edited"', 1)[0].text


def test_every_document_without_text_and_every_skipped_file_is_named(
    seed_corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_cli: None,
) -> None:
    (seed_corpus / "empty.txt").write_text("\n\n  \n")
    (seed_corpus / "links.txt").write_text("See also  One Page\nSee also  Another Page\n")
    (seed_corpus / "scan.txt").write_bytes(b"\x00\x01binary")
    (seed_corpus / "locked.txt").write_text("Locked\n\nSecret words.\n")
    refuse_to_open(monkeypatch, "locked.txt")
    with pytest.warns(QAWarning):
        info = build(seed_corpus, tmp_path / "index")
    assert sorted(note.split(" ")[0 if "Skipped" not in note else 1] for note in info.warnings) == [
        "empty.txt",
        "links.txt",
        "locked.txt:",
        "scan.txt:",
    ]
    assert any("empty.txt is empty" in note for note in info.warnings)
    assert any('links.txt holds only "See also"' in note for note in info.warnings)
    assert info.left_out == (
        "links.txt lines 1, 2",
        "peacekeeping-partnerships.txt lines 51, 107, 153",
    )
    summary = describe_rebuild(info)
    assert all(note in summary for note in info.warnings) and "links.txt lines 1, 2" in summary
    assert main(["build", "--corpus", str(seed_corpus), "--index", str(tmp_path / "i2")]) == 0
    err = capsys.readouterr().err
    for name in ("empty.txt", "links.txt", "scan.txt", "locked.txt"):
        assert f"qa: warning: {name}" in err or f"qa: warning: Skipped {name}" in err


def test_an_unreadable_file_is_skipped_everywhere_and_never_triggers_a_rebuild(
    seed_corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_cli: None,
) -> None:
    (seed_corpus / "locked.txt").write_text("Locked\n\nSecret words.\n")
    refuse_to_open(monkeypatch, "locked.txt")
    index_dir = tmp_path / "index"
    assert ask(seed_corpus, index_dir) == 0
    first = capsys.readouterr()
    assert "Skipped locked.txt: cannot read it" in first.err and "Traceback" not in first.err
    assert "Protection of Civilians" in first.out
    assert index_status(settings_for(seed_corpus, index_dir)).fresh  # the skipped file was seen
    assert ask(seed_corpus, index_dir) == 0
    again = capsys.readouterr()
    assert "building" not in again.err and "Protection of Civilians" in again.out
    settings = settings_for(seed_corpus, index_dir)
    assert qa_search(QUESTION, 1, settings=settings)[0].section == "Protection of Civilians"


def test_a_file_name_that_is_not_utf8_builds_and_is_cited(
    seed_corpus: Path, tmp_path: Path
) -> None:
    with open(os.path.join(os.fsencode(seed_corpus), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"Menu\n\nCoffee and zeppelin cake.\n")
    for _ in range(2):
        with pytest.warns(QAWarning, match=r"caf\\xe9\.txt is not valid UTF-8"):
            build(seed_corpus, tmp_path / "index")
    [passage] = fake_searcher(tmp_path / "index").search('"zeppelin"', 1)
    assert passage.citation.startswith("caf\\xe9.txt")
    assert len(list((tmp_path / "index").glob("build-*"))) == 2  # the live one and the previous


def test_ask_answers_from_the_index_it_has_while_another_process_builds(
    seed_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_cli: None
) -> None:
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir)
    (seed_corpus / "new.txt").write_text("New\n\nFresh words about zeppelins.\n")
    with build_lock(index_dir):  # another build holds the lock
        code = ask(seed_corpus, index_dir)
    captured = capsys.readouterr()
    assert code == 0 and "Protection of Civilians" in captured.out
    assert "out of date (added new.txt)" in captured.err
    assert "Another build" in captured.err and "answering from it as it is" in captured.err


def test_ask_with_no_index_waits_for_the_build_another_process_started(
    seed_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_cli: None
) -> None:
    # Two first runs at once: the second used to fail with "Another build … is running".
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    holding, release = threading.Event(), threading.Event()

    def other_build() -> None:
        with build_lock(index_dir):
            holding.set()
            release.wait(10)

    other = threading.Thread(target=other_build)
    other.start()
    holding.wait(10)
    threading.Timer(0.5, release.set).start()
    code = ask(seed_corpus, index_dir)
    other.join()
    captured = capsys.readouterr()
    assert code == 0 and "Protection of Civilians" in captured.out, captured.err
    assert "Another build" not in captured.err
    # It says it waits for that build, not that it builds one of its own.
    assert "another process is building it: waiting for that build" in captured.err
    assert "building it now" not in captured.err


def test_ask_answers_from_a_stale_index_in_a_read_only_folder(
    seed_corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_cli: None,
) -> None:
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir)
    (seed_corpus / "new.txt").write_text("New\n\nFresh words about zeppelins.\n")
    real_write = Path.write_bytes

    def read_only(self: Path, data: bytes) -> int:  # the index folder is read-only
        if self.parent == index_dir:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", read_only)
    assert ask(seed_corpus, index_dir) == 0
    captured = capsys.readouterr()
    assert "Protection of Civilians" in captured.out
    assert "Cannot write to" in captured.err and "answering from it as it is" in captured.err
    settings = settings_for(seed_corpus, index_dir)
    with pytest.warns(QAWarning, match="answering from it as it is"):
        assert qa_search(QUESTION, 1, settings=settings)


def test_a_current_pointer_of_garbage_bytes_is_repaired(
    seed_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_cli: None
) -> None:
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir)
    (index_dir / "CURRENT").write_bytes(b"\xff\xfe\x80 build")
    with pytest.raises(IndexCorruptError, match="CURRENT holds bytes that are not text"):
        load_index(settings_for(seed_corpus, index_dir))
    assert ask(seed_corpus, index_dir) == 0
    assert "damaged (CURRENT holds bytes" in capsys.readouterr().err
    (index_dir / "CURRENT").write_bytes(b"\xff\xfe\x80 build")
    for _ in range(3):
        assert main(["build", "--corpus", str(seed_corpus), "--index", str(index_dir)]) == 0
    assert len(list(index_dir.glob("build-*"))) == 2  # repaired: no folder added per attempt
    assert load_index(settings_for(seed_corpus, index_dir)).chunks


def test_a_disk_full_when_current_is_written_leaves_the_old_index_and_nothing_else(
    seed_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir)
    before = sorted(index_dir.iterdir())
    (seed_corpus / "new.txt").write_text("New\n\nFresh words about zeppelins.\n")
    real_write = Path.write_text

    def disk_full(self: Path, text: str, *args: object, **kwargs: object) -> int:
        if self.name.startswith(".CURRENT."):
            real_write(self, text[:2], *args, **kwargs)  # type: ignore[arg-type]
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(QAError, match=r"No space left on device.*previous index is unchanged"):
        build(seed_corpus, index_dir)
    assert sorted(index_dir.iterdir()) == before  # no .CURRENT.<pid>, no new build folder
    assert "zeppelin" not in " ".join(
        c.text for c in load_index(settings_for(seed_corpus, index_dir)).chunks
    )


def test_a_read_only_lock_file_is_enough_to_build(
    seed_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir)
    lock = index_dir / ".lock"
    real_open, real_os_open = open, os.open

    def no_write(path: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if str(path) == str(lock) and any(m in str(args[:1]) for m in "aw+"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    def no_write_os(path: object, flags: int, *args: object) -> int:
        if str(path) == str(lock) and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_os_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr("builtins.open", no_write)
    monkeypatch.setattr(os, "open", no_write_os)
    (seed_corpus / "new.txt").write_text("New\n\nFresh words about zeppelins.\n")
    assert build(seed_corpus, index_dir).added == ("new.txt",)


def test_a_lock_that_is_a_folder_is_one_clear_line(
    seed_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_cli: None
) -> None:
    index_dir = tmp_path / "index"
    (index_dir / ".lock").mkdir(parents=True)
    assert main(["build", "--corpus", str(seed_corpus), "--index", str(index_dir)]) == 1
    err = capsys.readouterr().err
    assert "is a folder, not a lock file: remove it" in err and len(err.splitlines()) == 1
    assert not list(index_dir.glob("build-*"))


def test_a_manifest_nested_deep_is_damage_not_a_crash(
    seed_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_cli: None
) -> None:
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir)
    [folder] = index_dir.glob("build-*")
    (folder / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(IndexCorruptError, match=r"manifest\.json is unreadable"):
        load_index(settings_for(seed_corpus, index_dir))
    assert ask(seed_corpus, index_dir) == 0
    captured = capsys.readouterr()
    assert "damaged" in captured.err and "Protection of Civilians" in captured.out


@pytest.mark.parametrize(
    "content", [b"\xff\xfe not utf-8 \x80\n", ("[" * 100_000 + "]" * 100_000).encode()]
)
def test_eval_on_a_file_it_cannot_read_is_one_line(
    seed_corpus: Path,
    tmp_path: Path,
    content: bytes,
    capsys: pytest.CaptureFixture[str],
    fake_cli: None,
) -> None:
    build(seed_corpus, tmp_path / "index")
    questions = tmp_path / "questions.jsonl"
    questions.write_bytes(content)
    assert main(["eval", str(questions), "--index", str(tmp_path / "index")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"qa: error: {questions}") and len(err.splitlines()) == 1


def test_the_web_panel_and_rebuild_skip_an_unreadable_file(
    seed_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_cli: None
) -> None:
    from qa.index.owner import Index
    from qa.web.state import Rebuild

    index_dir = tmp_path / "index"
    settings = settings_for(seed_corpus, index_dir)
    build(seed_corpus, index_dir)
    (seed_corpus / "locked.txt").write_text("Locked\n\nSecret words.\n")
    refuse_to_open(monkeypatch, "locked.txt")
    index = Index.open(settings, embedder=FakeEmbedder())
    assert index.status().added == ("locked.txt",)
    rebuild = Rebuild(index)
    with pytest.warns(QAWarning, match=r"Skipped locked\.txt"):
        rebuild.start()
        assert rebuild.wait(120)
    assert rebuild.error == ""
    assert "Warning: Skipped locked.txt: cannot read it (Permission denied)" in rebuild.summary
    assert index.status().fresh


CLI_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from fakes import FakeEmbedder
import qa.model.embedding
fake = lambda name, precision="fp32": FakeEmbedder()
qa.model.embedding.load_embedder = sys.modules["qa.rank.search"].load_embedder = fake
from qa.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_qa(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`qa ARGV` with the fake model in a process of its own, killed (and failing the test)
    if it has not finished after a minute: a FIFO opened for reading blocks forever."""
    script = tmp_path / "qa_cli.py"
    script.write_text(CLI_SCRIPT.format(tests=str(Path(__file__).parent)))
    env = {**os.environ, "QA_MODEL": "fake-hash"}
    return subprocess.run(
        [sys.executable, str(script), *argv], capture_output=True, text=True, env=env, timeout=60
    )


def test_fifos_in_the_index_folder_are_refused_without_hanging(
    seed_corpus: Path, tmp_path: Path
) -> None:
    """Item 13: a FIFO named CURRENT, .lock or manifest.json hung `qa ask` and `qa build`."""
    index_dir = tmp_path / "index"
    folders = ["--corpus", str(seed_corpus), "--index", str(index_dir)]
    build(seed_corpus, index_dir)
    (index_dir / "CURRENT").unlink()
    os.mkfifo(index_dir / "CURRENT")
    asked = run_qa(tmp_path, "ask", QUESTION, "-k", "1", *folders)
    assert asked.returncode == 0 and "patrols" in asked.stdout
    assert "damaged (CURRENT is a FIFO, not a file)" in asked.stderr  # then rebuilt
    assert (index_dir / "CURRENT").is_file()
    manifest = current_folder(index_dir) / "manifest.json"
    manifest.unlink()
    os.mkfifo(manifest)
    asked = run_qa(tmp_path, "ask", QUESTION, "-k", "1", *folders)
    assert asked.returncode == 0 and "patrols" in asked.stdout
    assert "(manifest.json is a FIFO, not a file)" in asked.stderr
    (index_dir / ".lock").unlink()
    os.mkfifo(index_dir / ".lock")
    (seed_corpus / "new.txt").write_text("New\n\nFresh words about zeppelins.\n")
    built = run_qa(tmp_path, "build", *folders)
    assert built.returncode == 1 and len(built.stderr.splitlines()) == 1
    assert f"{index_dir / '.lock'} is a FIFO, not a lock file: remove it, then retry" in (
        built.stderr
    )


def test_links_in_the_index_folder_that_lead_elsewhere_are_not_loaded(
    seed_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_cli: None
) -> None:
    """Item 13: a build folder linked from outside the index folder was loaded and answered."""
    outside = tmp_path / "outside"  # a build of the same corpus, when it held bees.md
    (seed_corpus / "bees.md").write_text("# Bees\n\nBees guard their patrols of honey.\n")
    build(seed_corpus, outside)
    (seed_corpus / "bees.md").unlink()
    [foreign] = outside.glob("build-*")
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir)
    (index_dir / "build-elsewhere").symlink_to(foreign, target_is_directory=True)
    (index_dir / "CURRENT").write_text("build-elsewhere\n")
    with pytest.raises(IndexCorruptError, match="build-elsewhere is a link, not a build folder"):
        load_index(settings_for(seed_corpus, index_dir))
    assert ask(seed_corpus, index_dir, "bees honey patrols") == 0
    captured = capsys.readouterr()
    assert "build-elsewhere is a link" in captured.err and "bees.md" not in captured.out
    assert load_index(settings_for(seed_corpus, index_dir)).manifest.documents.keys() == {
        "peacekeeping-partnerships.txt"
    }
    pointer = tmp_path / "pointer"
    pointer.write_text(foreign.name + "\n")
    (index_dir / "CURRENT").unlink()
    (index_dir / "CURRENT").symlink_to(pointer)
    with pytest.raises(IndexCorruptError, match="CURRENT is a link, not a file"):
        load_index(settings_for(seed_corpus, index_dir))
