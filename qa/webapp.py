"""The Gradio web app: ask a question, read cited passages in context, rebuild the index.

`serve()` loads the saved index (building it first when missing or stale, unless
read-only) and serves the page; `make_app()` returns the page without serving it.
The search is also the API endpoint "search", returning `Passage.to_dict()` rows.

Not here: HTML (see `qa.web_render`), the swap of a rebuilt index (see `qa.web_state`),
ranking (see `qa.search`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import traceback
from typing import TYPE_CHECKING, Any

from qa.errors import QAError
from qa.settings import Settings
from qa.web_assets import CSS, HEADER, URL_JS, theme
from qa.web_render import index_html, message_html, progress_html, results_html
from qa.web_state import Rebuild, SearcherHolder, index_facts

if TYPE_CHECKING:
    import gradio as gr

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


def load_holder(settings: Settings) -> SearcherHolder:
    """The Searcher to start with; read-only never writes the index, it reports what is wrong."""
    from qa.search import Searcher, ensure_searcher

    if not settings.read_only:
        return SearcherHolder(ensure_searcher(settings))

    def load() -> Searcher:
        try:
            return Searcher(settings.index_dir, settings=settings)
        except QAError as error:
            raise QAError(f"{error} (this page is read-only)") from error

    try:
        return SearcherHolder(load())
    except QAError as error:
        return SearcherHolder(None, str(error), loader=load)


def make_app(settings: Settings, holder: SearcherHolder | None = None) -> gr.Blocks:
    """The page, over `holder` (loaded from `settings` when not given)."""
    import gradio as gr
    from gradio.events import api

    holder = holder or load_holder(settings)

    def answer(question: str, k: float) -> str:
        if not (question or "").strip():
            return message_html(QUESTION_HINT)
        try:
            searcher = holder.get()
            passages = searcher.search(question, _results_count(k))
            hits = [(p, _section_or_none(searcher, p)) for p in passages]
        except QAError as error:
            return message_html(str(error), error=True)
        except Exception:  # a bug: the log gets the traceback, the reader a sentence
            traceback.print_exc()
            return message_html(UNEXPECTED, error=True)
        return results_html(question.strip(), hits, _results_count(k))

    def answer_example(example: str, k: float) -> tuple[str, str]:
        return example, answer(example, k)

    def rerun(question: str, k: float) -> Any:
        return answer(question, k) if (question or "").strip() else gr.skip()

    def panel() -> str:
        from qa.index import index_status

        try:
            searcher = holder.get()
        except QAError as error:
            return index_html({}, None, str(error))
        try:
            status = index_status(settings.corpus_dir, settings.index_dir, settings)
        except QAError as error:
            return index_html(index_facts(searcher), None, str(error))
        fix = "Run `qa build` to update it." if settings.read_only else "Press Rebuild index."
        return index_html(index_facts(searcher), status, fix=fix)

    def on_load(request: gr.Request) -> tuple[Any, Any, str, str]:
        params = request.query_params
        question = (params.get("q") or "").strip()
        k = _results_count(params.get("k"), 5)
        if not question:
            return gr.skip(), gr.skip(), gr.skip(), panel()
        return question, k, answer(question, k), panel()

    # Gradio finds the request parameter by its type, and string annotations do not resolve here.
    on_load.__annotations__["request"] = gr.Request

    def rebuild() -> Any:
        # Not queued behind each other: a second click, from anyone, is told a rebuild runs.
        if not holder.rebuilding.acquire(blocking=False):
            busy = "A rebuild is already running: wait for it to finish."
            yield message_html(busy), gr.skip(), gr.skip()
            return
        try:
            job = Rebuild(settings, holder)
            job.start()
            while not job.wait(0.2):
                yield progress_html(*job.progress()), gr.skip(), gr.update(interactive=False)
            text = job.error or job.summary
            yield message_html(text, error=bool(job.error)), panel(), gr.update(interactive=True)
        finally:
            holder.rebuilding.release()

    def api_search(question: str, k: int = 5) -> list[dict[str, Any]]:
        """The `k` (1 to 10) passages that best answer `question`, best first, with citations."""
        try:
            passages = holder.get().search(question, _results_count(k))
        except QAError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return [p.to_dict() for p in passages]

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
            panel_view = gr.HTML(elem_id="qa-index", js_on_load=None)
            if not settings.read_only:
                rebuild_button = gr.Button("Rebuild index", size="sm", elem_id="qa-rebuild")
                rebuild_view = gr.HTML(elem_id="qa-rebuild-status", js_on_load=None)
                rebuild_button.click(
                    rebuild,
                    None,
                    [rebuild_view, panel_view, rebuild_button],
                    concurrency_limit=None,
                    concurrency_id="rebuild",
                    api_visibility="private",
                )

        search: dict[str, Any] = {
            "concurrency_limit": SEARCH_CONCURRENCY,
            "concurrency_id": "search",
            "api_visibility": "private",
        }
        for trigger in (question.submit, go.click):
            trigger(answer, [question, k], results, **search).then(
                None, [question, k], None, js=URL_JS
            )
        for chip in chips:
            chip.click(answer_example, [chip, k], [question, results], **search).then(
                None, [question, k], None, js=URL_JS
            )
        k.input(rerun, [question, k], results, trigger_mode="always_last", **search).then(
            None, [question, k], None, js=URL_JS
        )
        page.load(on_load, None, [question, k, results, panel_view], api_visibility="private")
        api(
            api_search,
            api_name="search",
            concurrency_limit=SEARCH_CONCURRENCY,
            concurrency_id="search",
        )
    blocks: gr.Blocks = page
    return blocks


def _section_or_none(searcher: Any, passage: Any) -> Any:
    try:
        return searcher.section_for(passage)
    except QAError:
        return None


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Build the index if needed, then serve the page until interrupted."""

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    holder = load_holder(settings)
    # Load the model while the server starts, so the first question does not wait for it.
    threading.Thread(target=_warm_up, args=(holder,), daemon=True).start()
    page = make_app(settings, holder)
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


def _warm_up(holder: SearcherHolder) -> None:
    with contextlib.suppress(QAError):  # the page shows the problem
        holder.get().embedder.encode(["warm up"])
