"""The Gradio page: ask a question of all documents or some, read the answer and its sources,
open the index panel.

`make_app()` returns the page without serving it (see `qa.web.serve`): `_layout`
places the components and wires them to the `Handlers` (see `qa.web.handlers`).  The
search is also the API endpoint and MCP tool "search" (see `qa.web.tool`), returning
`Passage.to_dict()` rows.

Not here: what each event does (see `qa.web.handlers`, `qa.web.index_events`), HTML (see
`qa.web.render`, `qa.web.panel`), what is kept between requests (see `qa.web.state`),
ranking (see `qa.rank.search`), serving (see `qa.web.serve`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qa.settings import Settings
from qa.web.assets import HEADER, URL_JS
from qa.web.documents import ALL, NORMALIZE_JS
from qa.web.examples import COUNT
from qa.web.handlers import Handlers, _results_count
from qa.web.render import message_html
from qa.web.tool import API_CHECKS, MAX_RESULTS, api_count, search_tool, tool_json

if TYPE_CHECKING:
    import gradio as gr

    from qa.index.owner import Index
    from qa.index.watch import CorpusWatcher

# Imported from here by `qa.web.serve` and the tests: the page's handlers and its API.
__all__ = [
    "API_CHECKS",
    "MAX_RESULTS",
    "Handlers",
    "_results_count",
    "api_count",
    "make_app",
    "tool_json",
]

POLL_SECONDS = 5  # how often an open page asks whether its index or corpus changed
SEARCH_CONCURRENCY = 8  # searches only read the shared index; a rebuild has its own slot
# A look at the index's document names: no model, no queue to wait in, no spinner.
_QUICK: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}


def make_app(index: Index, watcher: CorpusWatcher | None = None) -> gr.Blocks:
    """The page, over `index` (see `qa.web.serve.prepare`)."""
    return _layout(index.settings, Handlers(index, watcher))


def _layout(settings: Settings, h: Handlers) -> gr.Blocks:
    """The page's components, in reading order, each wired to its handler."""
    import gradio as gr
    from gradio.events import api

    with gr.Blocks(title="qa · ask the documents", analytics_enabled=False) as page:
        gr.HTML(HEADER, elem_id="qa-header")
        question, documents, go = _ask_row(h)
        with gr.Row(elem_id="qa-examples"):
            chips = [
                gr.Button("", visible=False, elem_classes="qa-chip", size="md")
                for _ in range(COUNT)
            ]
        results = gr.HTML(
            message_html("The answer appears here, with the passages it comes from."),
            elem_id="qa-results",
            js_on_load=None,
        )
        k = gr.Slider(1, MAX_RESULTS, value=5, step=1, label="Number of sources", elem_id="qa-k")
        with gr.Accordion("Index", open=False, elem_id="qa-index-panel") as accordion:
            panel = gr.HTML(elem_id="qa-index", js_on_load=None)
            if not settings.read_only:
                _rebuild_controls(h, panel, accordion, documents)
        _wire_search(h, question, documents, go, chips, k, results)
        # What the page shows of the panel (`Handlers.poll`), kept in the page: a gr.State
        # would make every API client hold a heartbeat and its session open.
        shown = gr.Textbox(visible=False)
        gr.Timer(POLL_SECONDS).tick(h.poll, shown, [panel, accordion, shown], **_QUICK)

        def on_load(request: gr.Request) -> list[Any]:
            params = request.query_params
            return h.on_load(params, params.getlist("doc"))

        # Gradio finds the request parameter by its type; string annotations do not resolve here.
        on_load.__annotations__["request"] = gr.Request
        outputs = [question, k, documents, results, panel, accordion, *chips]
        page.load(on_load, None, outputs, api_visibility="private")
        api(
            search_tool(h.api_search),
            api_name="search",
            concurrency_limit=SEARCH_CONCURRENCY,
            concurrency_id="search",
        )
    blocks: gr.Blocks = page
    return blocks


def _ask_row(h: Handlers) -> tuple[Any, Any, Any]:
    """The question, the documents to ask and the Search button, on one line (two on a phone)."""
    import gradio as gr

    from qa.rank.search import MAX_QUESTION_CHARS

    with gr.Row(elem_id="qa-ask"):
        question = gr.Textbox(
            label="Question",
            placeholder="Ask a question, press Enter",
            max_lines=1,
            max_length=MAX_QUESTION_CHARS,
            autofocus=True,
            scale=3,
            min_width=200,
            elem_id="qa-question",
        )
        # Its own column, not the question's form box: on a phone the question then has
        # the first line and the documents share the second with the button.
        with gr.Column(scale=1, min_width=240, elem_id="qa-documents-column"):
            documents = gr.Dropdown(
                h.choices([ALL]),
                value=[ALL],
                multiselect=True,
                label="Documents",
                elem_id="qa-documents",
            )
        go = gr.Button("Search", variant="primary", scale=0, min_width=96, elem_id="qa-go")
    return question, documents, go


def _rebuild_controls(h: Handlers, panel: Any, accordion: Any, documents: Any) -> None:
    import gradio as gr

    button = gr.Button("Rebuild index", size="md", elem_id="qa-rebuild")
    view = gr.HTML(elem_id="qa-rebuild-status", js_on_load=None)
    button.click(
        h.rebuild,
        None,
        [view, panel, button, accordion],
        concurrency_limit=None,
        concurrency_id="rebuild",
        api_visibility="private",
    ).then(h.document_list, documents, documents, **_QUICK)


def _wire_search(
    h: Handlers, question: Any, documents: Any, go: Any, chips: list[Any], k: Any, out: Any
) -> None:
    """Enter, Search, an example, a new results count or document choice run the search and
    update the link; opening the document list brings it up to date with the index."""
    search: dict[str, Any] = {
        "concurrency_limit": SEARCH_CONCURRENCY,
        "concurrency_id": "search",
        "api_visibility": "private",
    }
    asked = [question, k, documents]
    for trigger in (question.submit, go.click):
        trigger(h.answer, asked, out, **search).then(None, asked, None, js=URL_JS)
    for chip in chips:
        chip.click(h.answer_example, [chip, k, documents], [question, out], **search).then(
            None, asked, None, js=URL_JS
        )
    k.input(h.rerun, asked, out, trigger_mode="always_last", **search).then(
        None, asked, None, js=URL_JS
    )
    documents.focus(h.document_list, documents, documents, **_QUICK)
    documents.input(None, documents, documents, js=NORMALIZE_JS, **_QUICK).then(
        h.rerun, asked, out, trigger_mode="always_last", **search
    ).then(None, asked, None, js=URL_JS)
