"""The Gradio web app: ask a question, read cited passages in context, rebuild the index.

`serve()` opens the saved index (building it first when missing or stale, unless
read-only), watches the corpus unless told not to, and serves the page.
`make_app()` returns the page without serving it: `_layout` places the
components and wires them to the `Handlers`, plain methods that can be tested
without a browser.  The search is also the API endpoint "search", returning
`Passage.to_dict()` rows.

Not here: HTML (see `qa.web.render`), what is kept between requests (see
`qa.web.state`), ranking (see `qa.search`), watching (see `qa.watch`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from qa.errors import QAError
from qa.settings import Settings
from qa.web.assets import CSS, HEADER, URL_JS, theme
from qa.web.render import index_html, message_html, progress_html, results_html
from qa.web.state import (
    Rebuild,
    SearcherHolder,
    corpus_status,
    describe_rebuild,
    describe_watch,
    index_facts,
)

if TYPE_CHECKING:
    import gradio as gr

    from qa.index import IndexStatus
    from qa.search import Passage, Searcher
    from qa.watch import CorpusWatcher, WatchEvent

EXAMPLES = (
    "how do partnerships protect civilians",
    "which organizations take part in peacekeeping partnerships",
    "why does political will matter",
    "what limits the resources of peacekeeping missions",
    "how does peacekeeping differ in urban and rural settings",
)
MAX_RESULTS = 10
SEARCH_CONCURRENCY = 8  # searches only read the shared index; a rebuild has its own slot
UNEXPECTED = "Something went wrong while searching; the server log says what. Try again."
QUESTION_HINT = "Type a question first, for example: how do partnerships protect civilians"


def _results_count(value: Any, default: int = 5) -> int:
    """A results count from the slider or a link, clamped to 1..10: `"12"` → 10."""
    try:
        return max(1, min(MAX_RESULTS, int(float(value))))
    except (TypeError, ValueError):
        return default


def _say_rebuilding(status: IndexStatus) -> None:
    print(f"qa: {status.describe()}; building it now…", file=sys.stderr, flush=True)


def load_holder(settings: Settings) -> SearcherHolder:
    """The Searcher to start with; read-only never writes the index, it reports what is wrong."""
    from qa.search import Searcher

    if not settings.read_only:
        return SearcherHolder(Searcher.open(settings, rebuild=True, before_build=_say_rebuilding))

    def load() -> Searcher:
        try:
            return Searcher.open(settings)
        except QAError as error:
            raise QAError(f"{error} (this page is read-only)") from error

    try:
        return SearcherHolder(load())
    except QAError as error:
        return SearcherHolder(None, str(error), loader=load)


class Handlers:
    """What the page does on each event, over one `SearcherHolder` (and the corpus watcher)."""

    def __init__(
        self, settings: Settings, holder: SearcherHolder, watcher: CorpusWatcher | None = None
    ) -> None:
        self.settings, self.holder, self.watcher = settings, holder, watcher

    def answer(self, question: str, k: float) -> str:
        """The result cards for `question`, or one friendly message."""
        if not (question or "").strip():
            return message_html(QUESTION_HINT)
        try:
            searcher = self.holder.get()
            passages = searcher.search(question, _results_count(k))
            hits = [(p, _section_or_none(searcher, p)) for p in passages]
        except QAError as error:
            return message_html(str(error), error=True)
        except Exception:  # a bug: the log gets the traceback, the reader a sentence
            traceback.print_exc()
            return message_html(UNEXPECTED, error=True)
        return results_html(question.strip(), hits, _results_count(k))

    def answer_example(self, example: str, k: float) -> tuple[str, str]:
        return example, self.answer(example, k)

    def rerun(self, question: str, k: float) -> Any:
        import gradio as gr

        return self.answer(question, k) if (question or "").strip() else gr.skip()

    def panel(self) -> str:
        """The index panel: the index that answers (the one in memory) against the corpus."""
        try:
            searcher = self.holder.get()
        except QAError as error:
            return index_html({}, None, str(error))
        note = ""
        if self.watcher is not None:
            note = describe_watch(self.watcher.last, str(self.settings.corpus_dir))
        try:
            status = corpus_status(self.settings, searcher)
        except QAError as error:
            return index_html(index_facts(searcher), None, str(error), note=note)
        fix = "Run `qa build` to update it." if self.settings.read_only else "Press Rebuild index."
        if self.watcher is not None:
            fix = "It is rebuilt in a moment."
        return index_html(index_facts(searcher), status, fix=fix, note=note)

    def on_load(self, params: Mapping[str, str]) -> tuple[Any, Any, Any, str]:
        """A `?q=...&k=...` link runs its question; the panel is filled in either way."""
        import gradio as gr

        question = (params.get("q") or "").strip()
        k = _results_count(params.get("k"), 5)
        if not question:
            return gr.skip(), gr.skip(), gr.skip(), self.panel()
        return question, k, self.answer(question, k), self.panel()

    def rebuild(self) -> Iterator[tuple[Any, Any, Any]]:
        """Progress while the index is rebuilt, then what changed and the new panel."""
        import gradio as gr

        # Not queued behind each other: a second click, from anyone, is told a rebuild runs.
        if not self.holder.rebuilding.acquire(blocking=False):
            busy = "A rebuild is already running: wait for it to finish."
            yield message_html(busy), gr.skip(), gr.skip()
            return
        try:
            job = Rebuild(self.settings, self.holder)
            job.start()
            while not job.wait(0.2):
                yield progress_html(*job.progress()), gr.skip(), gr.update(interactive=False)
            text = job.error or job.summary
            done = message_html(text, error=bool(job.error))
            yield done, self.panel(), gr.update(interactive=True)
        finally:
            self.holder.rebuilding.release()

    def api_search(self, question: str, k: int = 5) -> list[dict[str, Any]]:
        """The `k` (1 to 10) passages that best answer `question`, best first, with citations."""
        import gradio as gr

        try:
            passages = self.holder.get().search(question, _results_count(k))
        except QAError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return [p.to_dict() for p in passages]


def make_app(
    settings: Settings, holder: SearcherHolder | None = None, watcher: CorpusWatcher | None = None
) -> gr.Blocks:
    """The page, over `holder` (loaded from `settings` when not given)."""
    return _layout(settings, Handlers(settings, holder or load_holder(settings), watcher))


def _layout(settings: Settings, h: Handlers) -> gr.Blocks:
    """The page's components, in reading order, each wired to its handler."""
    import gradio as gr
    from gradio.events import api

    with gr.Blocks(title="qa · ask the documents", analytics_enabled=False) as page:
        gr.HTML(HEADER, elem_id="qa-header")
        with gr.Row(equal_height=True, elem_id="qa-ask"):
            question = gr.Textbox(
                label="Question",
                placeholder="Ask the documents a question, then press Enter",
                max_lines=1,
                autofocus=True,
                scale=6,
                min_width=220,
                elem_id="qa-question",
            )
            go = gr.Button("Search", variant="primary", scale=1, min_width=96, elem_id="qa-go")
        with gr.Row(elem_id="qa-examples"):
            chips = [gr.Button(text, size="sm", elem_classes="qa-chip") for text in EXAMPLES]
        k = gr.Slider(1, MAX_RESULTS, value=5, step=1, label="Number of results", elem_id="qa-k")
        results = gr.HTML(
            message_html("Results appear here, each with its citation."),
            elem_id="qa-results",
            js_on_load=None,
        )
        with gr.Accordion("Index", open=True, elem_id="qa-index-panel"):
            panel = gr.HTML(elem_id="qa-index", js_on_load=None)
            if not settings.read_only:
                _rebuild_controls(h, panel)
        _wire_search(h, question, go, chips, k, results)

        def on_load(request: gr.Request) -> tuple[Any, Any, Any, str]:
            return h.on_load(request.query_params)

        # Gradio finds the request parameter by its type; string annotations do not resolve here.
        on_load.__annotations__["request"] = gr.Request
        page.load(on_load, None, [question, k, results, panel], api_visibility="private")
        api(
            h.api_search,
            api_name="search",
            concurrency_limit=SEARCH_CONCURRENCY,
            concurrency_id="search",
        )
    blocks: gr.Blocks = page
    return blocks


def _rebuild_controls(h: Handlers, panel: Any) -> None:
    import gradio as gr

    button = gr.Button("Rebuild index", size="sm", elem_id="qa-rebuild")
    view = gr.HTML(elem_id="qa-rebuild-status", js_on_load=None)
    button.click(
        h.rebuild,
        None,
        [view, panel, button],
        concurrency_limit=None,
        concurrency_id="rebuild",
        api_visibility="private",
    )


def _wire_search(h: Handlers, question: Any, go: Any, chips: list[Any], k: Any, out: Any) -> None:
    """Enter, Search, an example or a new results count run the search and update the link."""
    search: dict[str, Any] = {
        "concurrency_limit": SEARCH_CONCURRENCY,
        "concurrency_id": "search",
        "api_visibility": "private",
    }
    for trigger in (question.submit, go.click):
        trigger(h.answer, [question, k], out, **search).then(None, [question, k], None, js=URL_JS)
    for chip in chips:
        chip.click(h.answer_example, [chip, k], [question, out], **search).then(
            None, [question, k], None, js=URL_JS
        )
    k.input(h.rerun, [question, k], out, trigger_mode="always_last", **search).then(
        None, [question, k], None, js=URL_JS
    )


def _section_or_none(searcher: Searcher, passage: Passage) -> Any:
    try:
        return searcher.section_for(passage)
    except QAError:
        return None


def serve(
    settings: Settings, host: str = "127.0.0.1", port: int = 7860, *, watch: bool = True
) -> None:
    """Build the index if needed, watch the corpus (unless read-only), serve until interrupted."""
    from qa.watch import CorpusWatcher

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    holder = load_holder(settings)
    # Load the model while the server starts, so the first question does not wait for it.
    threading.Thread(target=_warm_up, args=(holder,), daemon=True).start()
    watcher = None
    if watch and not settings.read_only:
        embedder = holder.get().embedder  # one model in memory, shared with the watcher
        watcher = CorpusWatcher(settings, embedder=embedder, on_event=_log_watch).start()
    page = make_app(settings, holder, watcher)
    page.queue(default_concurrency_limit=1)
    page.launch(
        server_name=host,
        server_port=port,
        css=CSS,
        theme=theme(),
        ssr_mode=False,
        footer_links=["api"],
        show_error=False,
    )


def _log_watch(event: WatchEvent) -> None:
    if event.info is not None:
        print(f"qa: {describe_rebuild(event.info)}", file=sys.stderr, flush=True)
    else:
        print(f"qa: the corpus changed but could not be indexed: {event.error}", file=sys.stderr)


def _warm_up(holder: SearcherHolder) -> None:
    with contextlib.suppress(QAError):  # the page shows the problem
        holder.get().embedder.encode(["warm up"])
