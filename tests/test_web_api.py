"""The web API and MCP tool of a running `qa serve --mcp`: bounds, clear errors, a real MCP client.

Issue 14, items 12 to 14: what a request may send and what the server keeps for it;
no uploads; a clear message, and a clean server log, for every bad call.  Issue 10,
defect 10: k=0 is refused by the web API as by `qa ask`.
"""

from __future__ import annotations

import ast
import asyncio
import http.client
import json
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from appserver import Server
from pages import corpus_server

pytestmark = pytest.mark.model  # the app loads the real model

QUESTION = "how do partnerships protect civilians"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from corpus_server(tmp_path_factory, "api", "--mcp")


def request(
    server: Server, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, str]:
    """(status, body) of one HTTP request to the server."""
    address = urllib.parse.urlparse(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def call(server: Server, payload: object) -> str:
    """POST /call/search with `payload`, then the event stream of its result."""
    status, body = request(
        server,
        "POST",
        "/gradio_api/call/search",
        json.dumps(payload).encode(),
        **{"Content-Type": "application/json"},
    )
    assert status == 200, body
    event = json.loads(body)["event_id"]
    return request(server, "GET", f"/gradio_api/call/search/{event}")[1]


def assert_log_clean(server: Server) -> None:
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def test_k_zero_is_refused_by_the_api_as_by_the_cli(server: Server, capsys: Any) -> None:
    """Issue 10, defect 10: the web API treated k=0 as 1 while `qa ask -k 0` refused it."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from qa.cli import main

    with pytest.raises(AppError) as raised:
        Client(server.url, verbose=False).predict(QUESTION, 0, api_name="/search")
    index = server.corpus.parent / "index"
    assert main(["ask", "-k", "0", "--corpus", str(server.corpus), "--index", str(index), "x"]) == 1
    cli = capsys.readouterr().err.strip().removeprefix("qa: error: ")
    assert cli == "k must be a whole number of at least 1, not 0"
    assert str(raised.value) == cli


@pytest.mark.parametrize("k", ["abc", None, [1, 2], 2.5])
def test_a_k_that_is_not_a_whole_number_gets_a_clear_error(server: Server, k: object) -> None:
    """Issue 14, item 14: "abc", null or a list silently returned 5 passages."""
    stream = call(server, {"data": [QUESTION, k]})
    assert stream.startswith("event: error")
    assert "k must be a whole number from 1 to 10" in stream
    assert_log_clean(server)


@pytest.mark.parametrize("data", [[QUESTION], []])
def test_a_call_with_missing_values_gets_a_clear_error(server: Server, data: list[str]) -> None:
    """Issue 14, item 14: a missing k gave {"error": null} and a traceback in the server log."""
    status, body = request(
        server,
        "POST",
        "/gradio_api/call/search",
        json.dumps({"data": data}).encode(),
        **{"Content-Type": "application/json"},
    )
    assert status == 422
    assert "with 2 values for search" in json.loads(body)["error"]
    assert_log_clean(server)


def test_an_unknown_function_gets_a_clear_error(server: Server) -> None:
    """Issue 14, item 14: an unknown fn_index was an HTTP 500 with a traceback."""
    payload = {"data": ["x", 3], "fn_index": 999, "session_hash": "abc"}
    status, body = request(
        server,
        "POST",
        "/gradio_api/queue/join",
        json.dumps(payload).encode(),
        **{"Content-Type": "application/json"},
    )
    assert (status, json.loads(body)) == (404, {"error": "There is no function with fn_index 999."})
    assert request(server, "GET", "/gradio_api/call/search/not-an-event")[0] == 404
    assert_log_clean(server)


def test_a_huge_question_is_refused_before_it_is_read(server: Server) -> None:
    """Issue 14, item 12: 5 MB questions were read whole and kept."""
    question = json.dumps({"data": ["civilians " * 500_000, 3]}).encode()
    status, body = request(
        server, "POST", "/gradio_api/call/search", question, **{"Content-Type": "application/json"}
    )
    assert status == 413 and "too large" in json.loads(body)["error"]

    def pieces() -> Iterator[bytes]:  # no Content-Length: the server has to count
        yield b'{"data": ["'
        for _ in range(100):
            yield b"civilians " * 10_000
        yield b'", 3]}'

    address = urllib.parse.urlparse(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
    connection.request(
        "POST",
        "/gradio_api/call/search",
        body=pieces(),
        encode_chunked=True,
        headers={"Content-Type": "application/json"},
    )
    assert connection.getresponse().status == 413
    connection.close()
    assert len(call(server, {"data": ["civilians " * 200, 1]})) > 0  # a long question still works


def test_unread_results_are_not_kept_forever(server: Server) -> None:
    """Issue 14, item 12: results nobody reads were all kept (2,000 by Gradio's default)."""
    events = []
    for _ in range(300):
        status, body = request(
            server,
            "POST",
            "/gradio_api/call/search",
            json.dumps({"data": ["peace", 1]}).encode(),
            **{"Content-Type": "application/json"},
        )
        assert status == 200
        events.append(json.loads(body)["event_id"])
    assert request(server, "GET", f"/gradio_api/call/search/{events[0]}")[0] == 404
    status, stream = request(server, "GET", f"/gradio_api/call/search/{events[-1]}")
    assert status == 200 and stream.startswith("event: complete")
    assert_log_clean(server)


def test_uploads_are_refused(server: Server, tmp_path: Path) -> None:
    """Issue 14, item 13: /gradio_api/upload took a 50 MB file though the app takes none."""
    boundary = "qa-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\n{'x' * 10_000}\r\n--{boundary}--\r\n"
    ).encode()
    status, answer = request(
        server,
        "POST",
        "/gradio_api/upload",
        body,
        **{"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert (status, json.loads(answer)) == (403, {"error": "This app takes no file uploads."})


def test_an_mcp_client_lists_the_search_tool_and_gets_cited_passages(server: Server) -> None:
    """Issue 10: `qa serve --mcp` offers search(question, k) to agents."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def use_the_tool() -> tuple[list[Any], Any]:
        async with (
            streamable_http_client(f"{server.url}gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = (await session.list_tools()).tools
            result = await session.call_tool("search", {"question": QUESTION, "k": 3})
            return tools, result

    # Its own thread: a browser test's Playwright may hold this thread's event loop.
    with ThreadPoolExecutor(1) as thread:
        tools, result = thread.submit(asyncio.run, use_the_tool()).result()
    tool = next(t for t in tools if t.name == "search")
    assert set(tool.inputSchema["properties"]) == {"question", "k", "documents"}
    assert tool.inputSchema["required"] == ["question"]
    assert "citation" in (tool.description or "")
    assert not result.isError
    passages = ast.literal_eval(result.content[0].text)  # Gradio sends the list as its repr
    assert len(passages) == 3
    assert passages[0]["citation"].startswith(
        "peacekeeping-partnerships.txt › Protection of Civilians, line"
    )
    assert passages[0]["confident"] and passages[0]["highlights"]


def outputs(stream: str) -> Any:
    """The values of a `complete` event of an API call's stream."""
    assert stream.startswith("event: complete"), stream[:300]
    return json.loads(stream.split("data:", 1)[1])


def test_documents_is_optional_and_restricts_the_search(server: Server) -> None:
    """A call written before `documents` existed still gets its passages; a list asks those."""
    from gradio_client import Client

    before = outputs(call(server, {"data": [QUESTION, 2]}))[0]
    assert len(before) == 2 and before == outputs(call(server, {"data": [QUESTION, 2, None]}))[0]
    asked = ["peacekeeping-partnerships.txt"]
    rows = outputs(call(server, {"data": [QUESTION, 2, asked]}))[0]
    assert rows == before  # the corpus has one document: asking it changes nothing
    client = Client(server.url, verbose=False)
    assert client.predict(QUESTION, 2, documents=["peacekeeping-partnerships"], api_name="/search")
    assert_log_clean(server)


@pytest.mark.parametrize(
    ("documents", "message"),
    [
        (["handbook.pdf"], "No document 'handbook.pdf' in this index: name one of "),
        ("peacekeeping-partnerships.txt", "documents must be a list of document names"),
        ([3], "documents must be a list of document names"),
        ([], "documents is empty"),
    ],
)
def test_a_bad_document_list_gets_a_clear_error(
    server: Server, documents: object, message: str
) -> None:
    stream = call(server, {"data": [QUESTION, 2, documents]})
    assert stream.startswith("event: error")
    assert message in json.loads(stream.split("data:", 1)[1])["error"]
    assert_log_clean(server)


def test_an_mcp_client_can_ask_one_document(server: Server) -> None:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def use_the_tool() -> tuple[Any, Any]:
        async with (
            streamable_http_client(f"{server.url}gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            asked = {"question": QUESTION, "k": 2, "documents": ["peacekeeping-partnerships.txt"]}
            found = await session.call_tool("search", asked)
            wrong = await session.call_tool("search", {**asked, "documents": ["handbook.pdf"]})
            return found, wrong

    with ThreadPoolExecutor(1) as thread:
        found, wrong = thread.submit(asyncio.run, use_the_tool()).result()
    assert not found.isError
    passages = ast.literal_eval(found.content[0].text)
    assert [p["doc"] for p in passages] == ["peacekeeping-partnerships.txt"] * 2
    assert wrong.isError and "No document 'handbook.pdf'" in wrong.content[0].text
