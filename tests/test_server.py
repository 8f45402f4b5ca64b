"""The running web app under load and attack: concurrent clients, file paths, binding, logs."""

from __future__ import annotations

import shutil
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from appserver import ROOT, Server, ask_concurrently, ask_mixed, start_app, stop_app

pytestmark = pytest.mark.model  # the app loads the real model

SECRET_QUESTION = "which sentinel question 7f3a9 mentions civilians"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("server")
    shutil.copytree(ROOT / "corpus", workdir / "corpus")
    (workdir / "secret.txt").write_text("outside the corpus: do not serve\n")
    running = start_app(workdir, workdir / "corpus", workdir / "index", "--mcp")
    yield running
    stop_app(running)


def test_concurrent_clients_get_answers_without_errors(server: Server) -> None:
    errors, answered = ask_concurrently(server.url, clients=4, total=100)
    assert errors == []
    assert answered == 100


def test_mcp_calls_survive_http_clients_that_each_open_a_session(server: Server) -> None:
    """Item 9: 31 of 1,200 MCP calls failed under mixed load: the MCP tool's calls share one
    session, which Gradio dropped from its 256 sessions of unread results while they ran."""
    http_failures, mcp_failures, mcp_calls = ask_mixed(server.url, clients=4, total=600)
    assert mcp_failures == []
    assert http_failures == []
    assert mcp_calls >= 100  # MCP calls ran all the while: 600 new sessions drop 256 twice
    assert "Traceback" not in server.log.read_text(errors="replace")


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(
    "path",
    [
        "gradio_api/file=../secret.txt",
        "gradio_api/file=../../../../etc/passwd",
        "gradio_api/file=/etc/passwd",
        "file=../secret.txt",
        "gradio_api/file=" + urllib.parse.quote("../corpus/peacekeeping-partnerships.txt"),
        "static/../../secret.txt",
        "assets/..%2F..%2Fsecret.txt",
    ],
)
def test_no_path_reaches_files_outside_the_app(server: Server, path: str) -> None:
    url = server.url + path
    code = status_of(url)
    if code == 200:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode("utf-8", "replace")
        assert "do not serve" not in body and "root:" not in body
        assert "Protection of civilians refers" not in body
    else:
        assert code in (400, 403, 404, 405)


def test_question_text_is_not_logged(server: Server) -> None:
    from gradio_client import Client

    passages = Client(server.url, verbose=False).predict(SECRET_QUESTION, 2, api_name="/search")
    assert passages
    assert "7f3a9" not in server.log.read_text(errors="replace")


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on `port`, read from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                words = [raw[i : i + 4][::-1] for i in range(0, len(raw), 4)]  # little-endian
                found.add(
                    socket.inet_ntop(
                        socket.AF_INET if len(raw) == 4 else socket.AF_INET6, b"".join(words)
                    )
                )
    return found


def test_the_app_listens_on_loopback_only(server: Server) -> None:
    port = urllib.parse.urlparse(server.url).port
    assert port is not None
    assert listening_addresses(port) == {"127.0.0.1"}


@pytest.mark.parametrize(
    "question",
    [
        "how do partnerships protect civilians 🕊️",
        "كيف تحمي الشراكات المدنيين؟ protect civilians",
        "protect\x07 civilians\x1b[31m",
        "how do partnerships protect civilians " * 270,  # about 10,000 characters
    ],
)
def test_odd_questions_through_the_api_are_answered(server: Server, question: str) -> None:
    from gradio_client import Client

    passages = Client(server.url, verbose=False).predict(question, 3, api_name="/search")
    assert len(passages) == 3
    assert any(p["section"] == "Protection of Civilians" for p in passages)


@pytest.mark.parametrize("question", ["", "   ", "?!…", "\x00\x01"])
def test_questions_without_words_get_a_message_not_a_traceback(
    server: Server, question: str
) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="type a few words") as raised:
        Client(server.url, verbose=False).predict(question, 3, api_name="/search")
    assert "Traceback" not in str(raised.value)


def test_more_than_ten_passages_gives_ten(server: Server) -> None:
    from gradio_client import Client

    passages = Client(server.url, verbose=False).predict("civilians", 1000, api_name="/search")
    assert len(passages) == 10


def test_the_app_runs_numpy_on_one_blas_thread_leaving_the_cores_to_the_model() -> None:
    # Between the model's runs numpy's BLAS threads spin on, taking the two cores from ONNX
    # Runtime's: a warm query took 11.1 ms instead of 5.7 (docs/performance.md, "Threads").
    import subprocess
    import sys

    probe = (
        "import os, runpy; os.environ.pop('OPENBLAS_NUM_THREADS', None); "
        "runpy.run_path('app.py'); "
        "import numpy; "  # import qa loads nothing heavy: numpy loads with the first search
        "from threadpoolctl import threadpool_info; "
        "print([p['num_threads'] for p in threadpool_info() "
        "if p['user_api'] == 'blas' and 'numpy' in p['filepath']])"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert found.stdout.strip() == "[1]", found.stdout
