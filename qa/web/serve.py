"""Serving the page: open the index (building it first, saying so), watch the corpus, launch.

`serve()` opens the saved index (`prepare`: brought up to date when missing or stale,
unless read-only), watches the corpus unless told not to, and serves the page with
`start()`, with the MCP server when asked: its HTTP routes guarded (see
`qa.web.guard`), what each client session holds freed once it is done (see
`qa.web.sessions`).  It says each stage on stderr as it begins (`qa.stages`), and
while one is silent for a few seconds, that it is still going: preparing the model once
(the first run's export) or loading it, checking the index or building it (how far the
embedding is, what was indexed), starting the web server; then the URL, with how long
each stage took.

Not here: the page (see `qa.web.app`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from qa.errors import QAError
from qa.settings import Settings
from qa.stages import BuildReport, Stages, load_model
from qa.web.panel import plural
from qa.web.state import describe_rebuild

if TYPE_CHECKING:
    import gradio as gr

    from qa.index.owner import Index
    from qa.index.status import IndexInfo, IndexStatus
    from qa.index.watch import CorpusWatcher, WatchEvent

WEB_SERVER = "qa: starting the web server (Gradio: a few seconds)…"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def indexed_line(info: IndexInfo) -> str:
    """`qa: indexed 1 document, 18 sections, 60 chunks in 12.3 s`."""
    return (
        f"qa: indexed {plural(info.documents, 'document')}, {plural(info.sections, 'section')}, "
        f"{plural(info.chunks, 'chunk')} in {info.seconds:.1f} s"
    )


def prepare(index: Index, stages: Stages | None = None) -> None:
    """Unless the page is read-only (it never writes the index), bring the index it serves up
    to date, saying how on stderr (through `stages`), and load it.  A read-only page
    without a usable index says why on each request, and answers once there is one."""
    if index.settings.read_only:
        return
    stages = stages or Stages(_say)
    settings = index.settings
    stages.begin(
        "index",
        "checking the index",
        f"qa: checking {settings.index_dir}/ against the documents in {settings.corpus_dir}/…",
    )

    def rebuilding(status: IndexStatus) -> None:
        from qa.index.builder import document_files

        documents = plural(len(document_files(settings)), "document")
        stages.begin(
            "index",
            "building the index",
            f"qa: {status.describe()}; "
            f"{status.next_step()} ({documents} in {settings.corpus_dir}/)…",
        )

    opened = index.refresh(before_build=rebuilding, progress=BuildReport(stages))
    if opened.built is not None:
        stages.say(indexed_line(opened.built))
    index.searcher()  # QAError now, not on the first question, when it cannot answer
    stages.end()


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    watch: bool = True,
    mcp: bool = False,
) -> None:
    """Build the index if needed, watch the corpus (unless read-only), serve until interrupted.

    Given only an index, the page shows and watches the corpus that index was built from.
    """
    from qa.index.owner import Index

    index = Index.open(settings)
    index.refuse_another_corpus()  # before the model is prepared
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    with Stages(_say) as stages:
        if not settings.read_only:  # a read-only page loads it as it starts (`_warm_up`)
            _load_model(index, stages)
        prepare(index, stages)
        # Load the model while the server starts, so the first question does not wait for it.
        threading.Thread(target=_warm_up, args=(index,), daemon=True).start()
        watcher: CorpusWatcher | None = None
        if watch and not settings.read_only:
            watcher = index.watch(on_event=_log_watch).start()  # the index's model, shared
        stages.begin("web server", "starting the web server", WEB_SERVER)
        page = start(index, watcher, host=host, port=port, mcp=mcp)
    _say(
        f"qa: serving {page.local_url}"
        + (" (MCP tool `search` at gradio_api/mcp/)" if mcp else "")
        + f" (ready in {stages.elapsed():.1f} s: {stages.timings()})"
    )
    page.block_thread()


def _load_model(index: Index, stages: Stages) -> None:
    """The model, loaded now and said so: exported first on a first run (`qa.stages`)."""
    from qa.index.builder import document_files

    document_files(index.settings)  # a missing corpus folder is named before the model loads
    load_model(index, stages)


def start(
    index: Index,
    watcher: CorpusWatcher | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    mcp: bool = False,
) -> gr.Blocks:
    """The page over `index`, served by a background thread (`.close()` stops it), its
    requests guarded (see `qa.web.guard`), its queue bounded (`qa.web.busy`) and its
    sessions freed when done (`qa.web.sessions`)."""
    from starlette.middleware import Middleware

    from qa.web.app import make_app
    from qa.web.assets import CSS, theme
    from qa.web.busy import QUEUE_SIZE, Busy
    from qa.web.guard import RequestGuard
    from qa.web.sessions import Sessions
    from qa.web.tool import API_CHECKS

    page = make_app(index, watcher)
    page.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    guard = Middleware(RequestGuard, sessions=Sessions(page), checks=API_CHECKS)
    page.launch(
        server_name=host,
        server_port=port,
        css=CSS,
        theme=theme(),
        ssr_mode=False,
        footer_links=["api"],
        show_error=False,
        quiet=True,  # Gradio's hints (share=True, ...) are not for a `qa serve` user
        mcp_server=mcp,
        app_kwargs={"middleware": [guard, Middleware(Busy)]},  # the guard first
        prevent_thread_lock=True,
    )
    if mcp:
        _tool_results_as_json(page)
    return page


def _tool_results_as_json(page: gr.Blocks) -> None:
    """The MCP tool's passages sent as JSON (`qa.web.tool.tool_json`): Gradio sends a tool's
    returned list as its Python repr, which an agent cannot parse."""
    from qa.web.tool import tool_json

    server = page.mcp_server_obj
    if server is None:
        return
    gradios_own = server.postprocess_output_data

    def as_json(data: list[Any], root_url: str) -> list[Any]:
        content: list[Any] = []
        for output in data:
            if isinstance(output, list):
                content.append(server.types.TextContent(type="text", text=tool_json(output)))
            else:
                content.extend(gradios_own([output], root_url))
        return content

    server.postprocess_output_data = as_json  # type: ignore[method-assign]


def _log_watch(event: WatchEvent) -> None:
    if event.info is not None:
        _say(f"qa: {describe_rebuild(event.info)}")
    else:
        _say(f"qa: the corpus changed but could not be indexed: {event.error}")


def _warm_up(index: Index) -> None:
    with contextlib.suppress(QAError):  # the page shows the problem
        index.searcher().embedder.encode(["warm up"])
