"""The `qa` command as a user runs it: output, JSON, exit codes and one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from appserver import free_port
from fakes import DATA, fake_build

from qa.cli import main


@pytest.fixture
def index_args(seed_index: Path) -> list[str]:
    return ["--index", str(seed_index)]


def test_ask_prints_cited_passages_with_marked_answers(
    index_args: list[str], seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = seed_index.parent / "corpus"
    code = main(
        [
            "ask",
            "how do partnerships protect civilians",
            "-k",
            "2",
            "--corpus",
            str(corpus),
            *index_args,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("1. peacekeeping-partnerships.txt › Protection of Civilians, line")
    assert "2. " in out and "**" in out  # highlights marked when not on a terminal


def test_ask_json_lists_the_passage_fields(
    index_args: list[str], seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = seed_index.parent / "corpus"
    assert (
        main(["ask", "political will", "--json", "-k", "3", "--corpus", str(corpus), *index_args])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3
    assert {
        "text",
        "doc",
        "section",
        "section_path",
        "start_line",
        "end_line",
        "score",
        "confident",
        "highlights",
        "unmentioned",
        "citation",
    } <= set(rows[0])
    assert rows[0]["section"] == "Political Will and Commitment"


def test_ask_says_when_nothing_answers(
    index_args: list[str], seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = seed_index.parent / "corpus"
    assert (
        main(["ask", "What is the capital of France?", "--corpus", str(corpus), *index_args]) == 0
    )
    assert capsys.readouterr().out.startswith("No passage answers this confidently")


def test_ask_names_what_the_documents_never_mention(
    index_args: list[str], seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = seed_index.parent / "corpus"
    question = "What did NATO and the Dutch army do at Srebrenica in 1995?"
    assert main(["ask", question, "--corpus", str(corpus), *index_args]) == 0
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line == (
        "No passage answers this confidently (the documents never mention Dutch, "
        "Srebrenica, 1995); the closest are:"
    )
    assert main(["ask", question, "--json", "--corpus", str(corpus), *index_args]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["unmentioned"] == ["Dutch", "Srebrenica", "1995"]
    assert not any(row["confident"] for row in rows)


@pytest.fixture
def multidoc_args(tmp_path: Path, fake_cli: None) -> list[str]:
    """`--corpus` and `--index` of a copy of the eight-document corpus, indexed with the fake
    model."""
    shutil.copytree(DATA / "multidoc", tmp_path / "corpus")
    fake_build(tmp_path / "corpus", tmp_path / "index")
    return ["--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]


def test_ask_doc_answers_from_the_documents_named_only(
    multidoc_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    question = "how do I adjust the brakes and oil the chain of a bicycle"
    assert main(["ask", question, "--json", *multidoc_args]) == 0
    assert json.loads(capsys.readouterr().out)[0]["doc"] == "bicycle_maintenance.txt"
    assert main(["ask", question, "--json", "--doc", "sourdough.md", *multidoc_args]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {row["doc"] for row in rows} == {"sourdough.md"}
    argv = ["ask", "water", "-k", "10", "--doc", "first_aid", "--doc", "garden/composting.md"]
    assert main([*argv, *multidoc_args]) == 0
    out = capsys.readouterr().out
    cited = {line.split(" › ")[0].split(". ", 1)[1] for line in out.splitlines() if " › " in line}
    assert cited == {"first_aid.txt", "garden/composting.md"}


def test_ask_doc_with_a_name_not_in_the_index_is_one_line_naming_the_documents(
    multidoc_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "bread", "--doc", "sourdough.md", "--doc", "cakes.md", *multidoc_args]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("qa: error: No document 'cakes.md' in this index: name one of ")
    assert "sourdough.md" in captured.err and "garden/composting.md" in captured.err
    assert len(captured.err.splitlines()) == 1 and "Traceback" not in captured.err


@pytest.mark.model
def test_ask_builds_a_missing_index_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(Path(__file__).parent.parent / "corpus", tmp_path / "corpus")
    code = main(
        [
            "ask",
            "how do partnerships protect civilians",
            "-k",
            "1",
            "--corpus",
            str(tmp_path / "corpus"),
            "--index",
            str(tmp_path / "index"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "no index in" in captured.err and "building it now" in captured.err
    assert "Protection of Civilians" in captured.out.splitlines()[0]


def test_errors_are_one_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["build", "--corpus", str(tmp_path / "missing"), "--index", str(tmp_path / "index")])
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("qa: error: Corpus folder") and "--corpus" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_empty_question_is_a_clean_error(
    index_args: list[str], seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = seed_index.parent / "corpus"
    assert main(["ask", "  ", "--corpus", str(corpus), *index_args]) == 1
    assert "type a few words" in capsys.readouterr().err


def test_eval_reports_the_metrics(
    index_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(DATA / "dev_questions.jsonl"), *index_args]) == 0
    out = capsys.readouterr().out
    assert "Hit@1" in out and "MRR@10" in out and "flagged not confident: 3" in out


def test_eval_json_and_bad_file(
    index_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(DATA / "dev_questions.jsonl"), "--json", *index_args]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report[str(DATA / "dev_questions.jsonl")]["hit_at_1"] >= 0.93
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x", "gold": "not a list"}\n')
    assert main(["eval", str(bad), *index_args]) == 1
    assert "line 1" in capsys.readouterr().err


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["--help"],
        ["ask", "--help"],
        ["build", "--help"],
        ["eval", "--help"],
        ["serve", "--help"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
        assert "example" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    shown = capsys.readouterr().out
    assert "--doc NAME" in shown and "qa ask --doc " in shown


WATCH_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from fakes import FakeEmbedder
import qa.model.embedding
qa.model.embedding.load_embedder = lambda name, precision="fp32": FakeEmbedder()
from qa.cli import main
sys.exit(main(["build", "--watch", "--corpus", sys.argv[1], "--index", sys.argv[2]]))
"""


def test_build_watch_rebuilds_on_each_change_until_interrupted(
    seed_corpus: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / "watch.py"
    script.write_text(WATCH_SCRIPT.format(tests=str(Path(__file__).parent)))
    env = {**os.environ, "QA_MODEL": "fake-hash"}
    process = subprocess.Popen(
        [sys.executable, str(script), str(seed_corpus), str(tmp_path / "index")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("Indexed 1 document(s)")
    assert process.stdout.readline().startswith(f"Watching {seed_corpus}/ for changes")
    (seed_corpus / "depot.md").write_text("# Depot\n\nSeventeen zebras guard the depot.\n")
    line = process.stdout.readline()
    assert line.startswith("Indexed 2 document(s)") and "(added depot.md)" in line
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    assert process.stderr is not None and "qa: interrupted" in process.stderr.read()


def test_ask_into_a_closed_pipe_stops_quietly(seed_index: Path) -> None:
    """`qa ask … | head -c 10`: the reader goes away before qa writes."""
    import subprocess
    import sys

    folders = ["--corpus", str(seed_index.parent / "corpus"), "--index", str(seed_index)]
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "ask", "civilians", *folders],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=120) == 141
    assert err == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "civilians", "-k", "abc"], "argument -k: invalid int value: 'abc'"),
        (["ask"], "the following arguments are required: question"),
        (["serve", "--port", "99999"], "a port is a number from 1 to 65535, not '99999'"),
        (["nonsense"], "invalid choice: 'nonsense'"),
    ],
)
def test_bad_options_are_one_line_and_exit_code_1(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 1
    assert err.startswith("qa: error:") and message in err and len(err.splitlines()) == 1


def test_serve_where_it_cannot_listen_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert main(["serve", "--port", port, "--corpus", str(tmp_path), "--no-watch"]) == 1
        err = capsys.readouterr().err
        assert f"Cannot serve on 127.0.0.1:{port} (Address already in use)" in err
        assert len(err.splitlines()) == 1
    assert main(["serve", "--host", "no-such-host.invalid", "--corpus", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Cannot serve on no-such-host.invalid:7860" in err and len(err.splitlines()) == 1


def test_control_characters_in_a_document_are_shown_not_obeyed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_cli: None
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "trap.txt").write_text(
        "Trap\x1b]0;owned\x07\n\nThe zeppelin\x1b[2J lands\x1b[8m hidden\u202e at noon.\n"
    )
    assert main(["ask", '"zeppelin"', "--corpus", str(corpus), "--index", str(tmp_path / "i")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "Trap\\x1b]0;owned\\x07" in out and "zeppelin\\x1b[2J lands" in out


@pytest.fixture
def two_corpora(tmp_path: Path, fake_cli: None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding `./corpus` (the seed document) and `bees/`, a corpus of its
    own indexed in `bees-index/` by `qa build --corpus bees --index bees-index`."""
    from fakes import SEED

    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    shutil.copy(SEED, tmp_path / "corpus" / SEED.name)
    (tmp_path / "bees").mkdir()
    (tmp_path / "bees" / "bees.md").write_text("# Bees\n\nBees make honey in their hives.\n")
    assert main(["build", "--corpus", "bees", "--index", "bees-index"]) == 0
    return tmp_path


def indexed_documents(index: Path) -> list[str]:
    from qa.index.folder import current_folder
    from qa.index.manifest import read_manifest

    return list(read_manifest(current_folder(index)).documents)


def test_an_index_given_alone_answers_from_the_corpus_it_was_built_from(
    two_corpora: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 0: `qa ask --index I` rebuilt I from ./corpus, and the user's documents vanished."""
    capsys.readouterr()
    assert main(["ask", "what do bees make", "--json", "--index", "bees-index"]) == 0
    captured = capsys.readouterr()
    assert "building" not in captured.err and "out of date" not in captured.err
    assert json.loads(captured.out)[0]["doc"] == "bees.md"
    monkeypatch.setenv("QA_INDEX_DIR", "bees-index")  # the same through the environment
    assert main(["ask", "what do bees make", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["doc"] == "bees.md"
    (two_corpora / "bees" / "wasps.md").write_text("# Wasps\n\nWasps make paper nests.\n")
    assert main(["build", "--index", "bees-index"]) == 0  # refreshed from its own corpus
    assert indexed_documents(two_corpora / "bees-index") == ["bees.md", "wasps.md"]


def test_a_corpus_other_than_the_indexs_own_is_refused_unless_qa_build_names_both(
    two_corpora: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:  # a port free now, so that serve gets as far as the index
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    capsys.readouterr()
    for argv in (
        ["ask", "what do bees make", "--corpus", "corpus", "--index", "bees-index"],
        ["serve", "--port", port, "--corpus", "corpus", "--index", "bees-index"],
    ):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert "bees-index/ is the index of " in err and str(two_corpora / "bees") in err
        assert "not of corpus/" in err
        assert "qa build --corpus corpus --index bees-index" in err
    # An index left at its default (./index) is not replaced by a build of another corpus...
    assert main(["build", "--corpus", "bees"]) == 0
    assert main(["build", "--corpus", "corpus"]) == 1
    assert "index/ is the index of " in capsys.readouterr().err
    assert indexed_documents(two_corpora / "index") == ["bees.md"]
    monkeypatch.setenv("QA_CORPUS_DIR", "corpus")
    assert main(["ask", "what do bees make", "--index", "bees-index"]) == 1
    monkeypatch.delenv("QA_CORPUS_DIR")
    assert indexed_documents(two_corpora / "bees-index") == ["bees.md"]
    # ...but naming both is an explicit request to rebuild it from the new corpus.
    assert main(["build", "--corpus", "corpus", "--index", "bees-index"]) == 0
    assert indexed_documents(two_corpora / "bees-index") == ["peacekeeping-partnerships.txt"]


def test_asking_an_emptied_corpus_says_it_has_no_documents(
    tmp_path: Path, fake_cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 7: with every document deleted, the old index kept answering from them."""
    from fakes import SEED

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    folders = ["--corpus", str(corpus), "--index", str(index)]
    assert main(["build", *folders]) == 0
    shutil.rmtree(corpus)  # a removed folder: the index is kept, and says why it cannot follow
    assert main(["ask", "how do partnerships protect civilians", *folders]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert indexed_documents(index) == [SEED.name]
    corpus.mkdir()  # an emptied folder: the index follows it
    assert main(["ask", "how do partnerships protect civilians", *folders]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    last = captured.err.splitlines()[-1]
    assert last.startswith(f"qa: error: {corpus}/ holds no documents") and "add .txt" in last
    assert indexed_documents(index) == []
    assert main(["build", *folders]) == 0
    assert "holds no documents, so the index is empty: add .txt" in capsys.readouterr().err


def timed_lines(argv: list[str], env: dict[str, str], until: str) -> list[tuple[float, str]]:
    """Run `argv`, keeping each line it prints (stdout and stderr) with the seconds since it
    started, until a line holds `until` (then it is stopped) or it exits; fails after 300 s."""
    import os
    import signal
    import subprocess
    import threading
    import time

    started = time.monotonic()
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[tuple[float, str]] = []
    timer = threading.Timer(300, os.kill, (process.pid, signal.SIGKILL))
    timer.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.monotonic() - started, line.rstrip("\n")))
            if until in line:
                break
    finally:
        timer.cancel()
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
        process.wait(30)
    assert lines and until in lines[-1][1], "\n".join(line for _, line in lines)
    return lines


def longest_silence(lines: list[tuple[float, str]]) -> tuple[float, str]:
    """The longest wait without a line (from the start, then between lines), and what ended it."""
    before = [0.0] + [at for at, _ in lines[:-1]]
    return max((at - earlier, line) for earlier, (at, line) in zip(before, lines, strict=True))


@pytest.mark.model
def test_qa_serve_says_something_at_least_every_5_seconds_until_the_url(tmp_path: Path) -> None:
    """Issue 28: `qa serve` was silent for 8 s while it exported the model on a first run,
    and said nothing for 3–25 s on a later start before "serving".  Run as a user runs it, on
    a fresh machine (no exported model, no index), then again."""
    import os
    import sys

    shutil.copytree(Path(__file__).resolve().parents[1] / "corpus", tmp_path / "corpus")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        "QA_CACHE_DIR": str(tmp_path / "cache"),  # nothing exported yet
    }
    argv = [sys.executable, "-m", "qa.cli", "serve"]
    argv += ["--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]
    for run in ("first run", "a later start"):
        port = ["--port", str(free_port())]
        lines = timed_lines([*argv, *port], env, until="qa: serving http://127.0.0.1:")
        shown = "\n".join(f"{at:6.1f} s  {line}" for at, line in lines)
        silence, ended_by = longest_silence(lines)
        assert silence <= 5, f"{run}: {silence:.1f} s of silence before {ended_by!r}:\n{shown}"


@pytest.mark.model
def test_qa_build_says_something_at_least_every_5_seconds_on_a_first_run(tmp_path: Path) -> None:
    """Issue 28: `qa build` (and so `make index`) said nothing for 30 s on a first run while
    it exported the model, loaded it and embedded the corpus.  Run as a user runs it, on a
    fresh machine (no exported model, no index); then a later build, with nothing to embed,
    says no more than it did: the lines of quick stages are never said."""
    import os
    import sys

    shutil.copytree(Path(__file__).resolve().parents[1] / "corpus", tmp_path / "corpus")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        "QA_CACHE_DIR": str(tmp_path / "cache"),  # nothing exported yet
    }
    argv = [sys.executable, "-m", "qa.cli", "build"]
    argv += ["--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]
    lines = timed_lines(argv, env, until="Indexed 1 document(s)")
    shown = "\n".join(f"{at:6.1f} s  {line}" for at, line in lines)
    silence, ended_by = longest_silence(lines)
    assert silence <= 5, f"{silence:.1f} s of silence before {ended_by!r}:\n{shown}"
    assert lines[0][1] == "qa: preparing the model once (about 20 s)…", shown
    assert "(71 embedded, 0 reused)" in lines[-1][1]
    later = [line for _, line in timed_lines(argv, env, until="Indexed 1 document(s)")]
    assert "(0 embedded, 71 reused)" in later[-1]
    # Said only when the stage is slow (a busy machine): no first-run note, no progress.
    slow = ("qa: loading the model all-MiniLM-L6-v2…", "qa: building ", "qa: … still ")
    assert all(line.startswith(slow) for line in later[:-1]), later


@pytest.mark.model
def test_qa_ask_that_builds_first_says_something_at_least_every_5_seconds(tmp_path: Path) -> None:
    """Issue 28: `qa ask` on a fresh machine said it would build the index, then nothing for
    10 s while the model was exported; asked again, it says nothing before its answer."""
    import os
    import sys

    shutil.copytree(Path(__file__).resolve().parents[1] / "corpus", tmp_path / "corpus")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        "QA_CACHE_DIR": str(tmp_path / "cache"),  # nothing exported yet
    }
    argv = [sys.executable, "-m", "qa.cli", "ask", "-k", "1", "what is political will"]
    argv += ["--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]
    lines = timed_lines(argv, env, until="1. peacekeeping-partnerships.txt › Political Will")
    shown = "\n".join(f"{at:6.1f} s  {line}" for at, line in lines)
    silence, ended_by = longest_silence(lines)
    assert silence <= 5, f"{silence:.1f} s of silence before {ended_by!r}:\n{shown}"
    assert lines[0][1] == "qa: preparing the model once (about 20 s)…", shown
    assert any(line.startswith("qa: no index in ") for _, line in lines), shown
    again = timed_lines(argv, env, until="1. peacekeeping-partnerships.txt › Political Will")
    slow = ("qa: loading the model all-MiniLM-L6-v2…", "qa: … still ")
    assert all(line.startswith(slow) for _, line in again[:-1]), again


def on_a_terminal(argv: list[str], env: dict[str, str]) -> str:
    """What `argv` writes to a 100-column terminal (stdout and stderr), once it has exited."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    process = subprocess.Popen(argv, env=env, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(300) == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.model
def test_qa_build_on_a_terminal_draws_the_models_bar_and_says_its_lines_above_it(
    tmp_path: Path,
) -> None:
    """A build on a terminal keeps the model's progress bar (drawn over one line with \\r); a
    stage's line never starts on the bar's line, and the moving bar is a sign of life."""
    import os
    import re
    import sys

    shutil.copytree(Path(__file__).resolve().parents[1] / "corpus", tmp_path / "corpus")
    argv = [sys.executable, "-m", "qa.cli", "build"]
    argv += ["--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]
    shown = on_a_terminal(argv, {**os.environ, "HF_HUB_OFFLINE": "1"})
    # The bar moves over the 71 chunks (it is cleared at the end, so whether 100% is ever
    # drawn depends on how fast the last batch runs).
    assert re.search(r"Embedding: +\d+%\|[^\r\n]*\| \d+/71 ", shown), shown
    assert re.search(r"Embedding:[^\r\n]*qa: ", shown) is None, shown  # not glued to the bar
    lines = [line.split("\r")[-1] for line in shown.split("\r\n")]  # as the terminal shows
    assert lines[-2].startswith("qa: left out") and lines[-3].startswith("Indexed 1 document(s)")


def test_the_qa_command_runs_numpy_on_one_blas_thread(seed_index: Path) -> None:
    # As the app (tests/test_server.py): numpy's spinning BLAS threads made a warm query of
    # `qa serve` twice as slow (docs/performance.md, "Threads"), unless the user set it.
    # (FAISS's own OpenBLAS is an OpenMP build, which OPENBLAS_NUM_THREADS does not set.)
    import subprocess
    import sys

    folders = ["--corpus", str(seed_index.parent / "corpus"), "--index", str(seed_index)]
    probe = (
        "import os, sys; os.environ.pop('OPENBLAS_NUM_THREADS', None); "
        "from qa.cli import main; "
        f"assert main(['ask', '-k', '1', 'civilians', *{folders!r}]) == 0; "
        "from threadpoolctl import threadpool_info; "
        "print([p['num_threads'] for p in threadpool_info() "
        "if p['user_api'] == 'blas' and 'numpy' in p['filepath']])"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert found.stdout.strip().splitlines()[-1] == "[1]", found.stdout
