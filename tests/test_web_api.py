"""The web API and MCP tool of a running `qa serve --mcp`: bounds, clear errors, a real MCP client.

Issue 14, items 12 to 14: what a request may send and what the server keeps for it;
no uploads; a clear message, and a clean server log, for every bad call.  Issue 10,
defect 10: k=0 is refused by the web API as by `qa ask`.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from appserver import ROOT, Server
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


def post(server: Server, path: str, body: bytes, kind: str = "application/json") -> tuple[int, str]:
    accept = "application/json, text/event-stream"  # what an MCP client accepts
    return request(server, "POST", path, body, **{"Content-Type": kind, "Accept": accept})


@pytest.mark.parametrize("k", ["abc", None, [1, 2], 2.5])
@pytest.mark.parametrize("route", ["call", "run"])
def test_a_k_that_is_not_a_whole_number_gets_a_clear_error(
    server: Server, k: object, route: str
) -> None:
    """Issue 14, item 14: "abc", null or a list silently returned 5 passages; then item 11:
    /run/search answered them 500, and /call/search only in the result's stream."""
    status, body = post(
        server, f"/gradio_api/{route}/search", json.dumps({"data": [QUESTION, k]}).encode()
    )
    assert status == 422
    assert "k must be a whole number from 1 to 10" in json.loads(body)["error"]
    assert_log_clean(server)


@pytest.mark.parametrize("data", [[QUESTION], []])
@pytest.mark.parametrize("route", ["call", "run", "api"])
def test_a_call_with_missing_values_gets_a_clear_error(
    server: Server, data: list[str], route: str
) -> None:
    """Issue 14, item 14: a missing k gave {"error": null} and a traceback in the server log;
    item 11: /run/search still did."""
    status, body = post(server, f"/gradio_api/{route}/search", json.dumps({"data": data}).encode())
    assert status == 422
    assert "with 2 to 3 values for search" in json.loads(body)["error"]
    assert_log_clean(server)


DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_BUT_SMALL = b'{"data": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"  # 60 KB
ROUTES = ["call/search", "run/search", "call/v2/search", "queue/join", "mcp/"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("body", "kind", "status", "message"),
    [
        (DEEP, "application/json", 413, "too large"),
        (DEEP_BUT_SMALL, "application/json", 400, "nests 30,001 levels deep: at most 64"),
        (
            b"question=peace&k=3",
            "application/x-www-form-urlencoded",
            415,
            "Content-Type: application/json",
        ),
        (b'{"data": ["peace", 3]}', "text/plain", 415, "Content-Type: application/json"),
        (b"peace, 3", "application/json", 400, "not JSON"),
    ],
)
def test_a_body_that_is_not_the_json_a_route_reads_gets_a_clear_error(
    server: Server, route: str, body: bytes, kind: str, status: int, message: str
) -> None:
    """Item 11: deep JSON was a 500 with a traceback (Python's parser gives up near 1,000
    levels); a body sent as form or text got Pydantic's field list, or no reason at all."""
    answer = post(server, f"/gradio_api/{route}", body, kind)
    assert answer[0] == status
    error = json.loads(answer[1])["error"]
    if isinstance(error, dict):  # the MCP endpoint answers in JSON-RPC: a parse error
        error, message = error["message"], message.replace("not JSON", "Parse error")
    assert message in error
    assert_log_clean(server)


@pytest.mark.parametrize(
    ("route", "payload", "message"),
    [
        ("call/search", {"data": [None, 3]}, "The question must be text, not null"),
        ("run/search", {"data": [QUESTION, [1]]}, "k must be a whole number from 1 to 10, not [1]"),
        ("call/search", {"data": [QUESTION, 3, None, "extra"]}, "with 2 to 3 values for search"),
        ("run/search", {"data": [QUESTION, 0]}, "k must be a whole number of at least 1, not 0"),
        ("run/search", {"data": ["?!", 3]}, "type a few words"),
        ("api/search", {"data": [QUESTION, 3, ["handbook.pdf"]]}, "No document 'handbook.pdf'"),
        ("call/v2/search", {"k": 3}, "search takes question, k, documents: question is missing"),
        (
            "call/v2/search",
            {"question": QUESTION, "zzz": 1},
            "search takes question, k, documents: not zzz",
        ),
        (
            "call/v2/search",
            {"question": QUESTION, "k": "abc"},
            "k must be a whole number from 1 to 10",
        ),
        ("call/v2/search", {"data": [QUESTION, 3]}, "not data"),
        ("call/nothing", {"data": [QUESTION, 3]}, "There is no API endpoint /nothing"),
        ("run/search", {"data": [QUESTION, 3], "fn_index": 999}, "no function with fn_index 999"),
    ],
)
def test_every_bad_call_gets_a_4xx_and_a_clear_message(
    server: Server, route: str, payload: object, message: str
) -> None:
    """Item 11: /run/search without k, and any /call/v2/ call that did not fit, were a 500
    with a traceback in the server log."""
    status, body = post(server, f"/gradio_api/{route}", json.dumps(payload).encode())
    assert 400 <= status < 500
    assert message in json.loads(body)["error"]
    assert_log_clean(server)


def test_a_good_call_by_every_route_is_answered(server: Server) -> None:
    """The guard's checks refuse bad calls only: each route still answers a good one."""
    status, body = post(
        server, "/gradio_api/run/search", json.dumps({"data": [QUESTION, 2]}).encode()
    )
    assert status == 200 and len(json.loads(body)["data"][0]) == 2
    status, body = post(
        server, "/gradio_api/call/v2/search", json.dumps({"question": QUESTION}).encode()
    )
    event = json.loads(body)["event_id"]
    assert len(outputs(request(server, "GET", f"/gradio_api/call/v2/search/{event}")[1])[0]) == 5
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


def test_a_stream_of_a_session_that_never_joined_gets_a_clear_error(server: Server) -> None:
    """Item 11: it was a 200 stream saying "404: Not Found", and a traceback in the log."""
    status, body = request(server, "GET", "/gradio_api/queue/data?session_hash=never-joined")
    assert status == 404
    assert "join the queue first" in json.loads(body)["error"]
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
    found = json.loads(result.content[0].text)  # JSON, not the list's Python repr
    assert found["answered"] is True
    passages = found["passages"]
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
    """Names are checked against the index when the search runs (an error event in the
    result's stream); a value that is not a list of names is refused before (a 422)."""
    payload = json.dumps({"data": [QUESTION, 2, documents]}).encode()
    status, body = post(server, "/gradio_api/call/search", payload)
    if status == 200:
        stream = request(server, "GET", f"/gradio_api/call/search/{json.loads(body)['event_id']}")
        assert stream[1].startswith("event: error")
        body = stream[1].split("data:", 1)[1]
    else:
        assert status == 422
    assert message in json.loads(body)["error"]
    assert_log_clean(server)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"question": QUESTION, "k": "abc"}, "'abc' is not of type 'integer'"),
        ({"question": QUESTION, "k": [1]}, "[1] is not of type 'integer'"),
        ({"question": None}, "None is not of type 'string'"),
        ({"k": 3}, "'question' is a required property"),
        ({"question": QUESTION, "zzz": 1}, "Parameter `zzz` is not a valid key-word argument"),
        ({"question": QUESTION, "k": 0}, "k must be a whole number of at least 1, not 0"),
    ],
)
def test_an_mcp_call_with_bad_arguments_gets_a_clear_error(
    server: Server, arguments: dict[str, Any], message: str
) -> None:
    """Item 11, the MCP tool: a tool's refusal is a result marked isError, with the reason
    (MCP's own way: the agent reads it and can try again), and the log stays clean."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def use_the_tool() -> Any:
        async with (
            streamable_http_client(f"{server.url}gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool("search", arguments)

    with ThreadPoolExecutor(1) as thread:
        result = thread.submit(asyncio.run, use_the_tool()).result()
    assert result.isError
    assert message in result.content[0].text
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
    passages = json.loads(found.content[0].text)["passages"]
    assert [p["doc"] for p in passages] == ["peacekeeping-partnerships.txt"] * 2
    assert wrong.isError and "No document 'handbook.pdf'" in wrong.content[0].text


def mcp_search(server: Server, arguments: dict[str, Any]) -> Any:
    """The result of one call of the MCP tool `search`."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def use_the_tool() -> Any:
        async with (
            streamable_http_client(f"{server.url}gradio_api/mcp/") as (read, write, *_),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool("search", arguments)

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, use_the_tool()).result()


def test_the_mcp_tool_returns_json_passages_as_docs_web_describes(server: Server) -> None:
    """Issue 28: the tool returned the list's Python repr, which an agent cannot parse as JSON."""
    result = mcp_search(server, {"question": QUESTION, "k": 2})
    found = json.loads(result.content[0].text)
    assert set(found) == {"answered", "passages"}
    first = found["passages"][0]
    fields = {"text", "doc", "section", "section_path", "start_line", "end_line", "span"}
    fields |= {"score", "confident", "highlights", "unmentioned", "citation"}
    assert set(first) == fields
    assert first["doc"] == "peacekeeping-partnerships.txt"
    assert first["section"] == "Protection of Civilians"
    assert 1 <= first["start_line"] <= first["end_line"] and first["span"] is None
    assert 0.5 <= first["score"] <= 1 and first["text"]


def test_a_question_the_documents_do_not_answer_still_gets_the_closest_passages(
    server: Server,
) -> None:
    """The unanswered case: `answered` is false, every passage is marked not confident, and
    the closest passages still come, for the agent to judge."""
    question = "What did the 1994 Rwanda tribunal decide?"  # names the document never mentions
    found = json.loads(mcp_search(server, {"question": question, "k": 3}).content[0].text)
    assert found["answered"] is False
    assert len(found["passages"]) == 3
    assert not any(p["confident"] for p in found["passages"])
    assert "Rwanda" in found["passages"][0]["unmentioned"]


def test_the_mcp_snippet_of_docs_web_runs_as_written(server: Server) -> None:
    """The Python snippet of docs/web.md's MCP section, run as written against this server
    with the installed `mcp` client (only its address changed)."""
    docs = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    section = docs.split("## Search as an MCP tool", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert "http://127.0.0.1:7860/" in snippet
    snippet = snippet.replace("http://127.0.0.1:7860/", server.url)
    ran = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    printed = ran.stdout.strip()
    assert printed.startswith("True ['peacekeeping-partnerships.txt › Protection of Civilians")
    assert printed.count("peacekeeping-partnerships.txt ›") == 3
