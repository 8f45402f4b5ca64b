"""The Gradio page: ask a question, read the answer and its sources, open the index panel.

`make_app()` returns the page without serving it (see `qa.web.serve`): `_layout`
places the components and wires them to the `Handlers`, plain methods that can
be tested without a browser.  The search is also the API endpoint and MCP tool
"search", returning `Passage.to_dict()` rows.

Not here: HTML (see `qa.web.render`, `qa.web.panel`), what is kept between
requests (see `qa.web.state`), ranking (see `qa.search`), serving (see `qa.web.serve`).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from qa.errors import QAError, QueryError
from qa.settings import Settings
from qa.web.assets import HEADER, URL_JS
from qa.web.examples import COUNT, example_questions
from qa.web.panel import index_html, progress_html, status_line
from qa.web.render import message_html, results_html
from qa.web.state import Rebuild, SearcherHolder, corpus_status, describe_watch, index_facts

if TYPE_CHECKING:
    import gradio as gr

    from qa.passage import Passage
    from qa.search import Searcher
    from qa.watch import CorpusWatcher

MAX_RESULTS = 10
SEARCH_CONCURRENCY = 8  # searches only read the shared index; a rebuild has its own slot
UNEXPECTED = "Something went wrong while searching; the server log says what. Try again."
QUESTION_HINT = "Type a question first, or press one of the examples."


def _results_count(value: Any, default: int = 5) -> int:
    """A results count from the slider or a link, clamped to 1..10: `"12"` → 10."""
    try:
        return max(1, min(MAX_RESULTS, int(float(value))))
    except (TypeError, ValueError):
        return default


def api_count(k: Any) -> int:
    """`k` of an API call: a whole number, at most 10 (below 1 the library refuses it, as `qa ask`).

    >>> api_count(3), api_count(25), api_count(2.0)
    (3, 10, 2)
    """
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int):
        raise QueryError(f"k must be a whole number from 1 to {MAX_RESULTS}, not {k!r:.40}")
    return min(k, MAX_RESULTS)


class Handlers:
    """What the page does on each event, over one `SearcherHolder` (and the corpus watcher)."""

    def __init__(
        self, settings: Settings, holder: SearcherHolder, watcher: CorpusWatcher | None = None
    ) -> None:
        self.settings, self.holder, self.watcher = settings, holder, watcher

    def answer(self, question: str, k: float) -> str:
        """The answer box and its sources for `question`, or one friendly message."""
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

    def panel(self) -> tuple[str, str]:
        """The index panel's one-line label and its HTML, of the index that answers."""
        try:
            searcher = self.holder.get()
        except QAError as error:
            return "No index", index_html({}, None, str(error))
        note = ""
        if self.watcher is not None:
            note = describe_watch(self.watcher.last, str(self.settings.corpus_dir))
        manifest = searcher.index.manifest
        counts = (len(manifest.documents), len(searcher.index.sections))
        rebuilding = self.holder.rebuilding.locked()
        try:
            status = corpus_status(self.settings, searcher)
        except QAError as error:
            html = index_html(index_facts(searcher), None, str(error), note=note)
            return status_line(counts, manifest.built_at, None), html
        fix = "Run `qa build` to update it." if self.settings.read_only else "Press Rebuild index."
        if self.watcher is not None:
            fix = "It is rebuilt in a moment."
        if rebuilding:
            fix = "Rebuilding now…"
        label = status_line(counts, manifest.built_at, status, rebuilding=rebuilding)
        return label, index_html(index_facts(searcher), status, fix=fix, note=note)

    def examples(self) -> list[str]:
        try:
            sections = self.holder.get().index.sections
        except QAError:
            sections = []
        return example_questions(self.settings.corpus_dir, sections)

    def on_load(self, params: Mapping[str, str]) -> list[Any]:
        """A `?q=...&k=...` link runs its question; the panel and the examples are filled in."""
        import gradio as gr

        label, html = self.panel()
        shown = self.examples()
        chips = [gr.update(value=text, visible=True) for text in shown]
        chips += [gr.update(visible=False)] * (COUNT - len(shown))
        question = (params.get("q") or "").strip()
        k = _results_count(params.get("k"), 5)
        found = [question, k, self.answer(question, k)] if question else [gr.skip()] * 3
        return [*found, html, gr.update(label=label), *chips]

    def rebuild(self) -> Iterator[tuple[Any, Any, Any, Any]]:
        """Progress while the index is rebuilt, then what changed and the new panel."""
        import gradio as gr

        # Not queued behind each other: a second click, from anyone, is told a rebuild runs.
        if not self.holder.rebuilding.acquire(blocking=False):
            busy = "A rebuild is already running: wait for it to finish."
            yield message_html(busy), gr.skip(), gr.skip(), gr.skip()
            return
        try:
            job = Rebuild(self.settings, self.holder)
            label, html = self.panel()  # says "Rebuilding now…", not "Press Rebuild index."
            starting = progress_html(*job.progress())
            yield starting, html, gr.update(interactive=False), gr.update(label=label)
            job.start()
            while not job.wait(0.2):
                yield progress_html(*job.progress()), gr.skip(), gr.skip(), gr.skip()
        finally:
            self.holder.rebuilding.release()
        label, html = self.panel()
        done = message_html(job.error or job.summary, error=bool(job.error))
        yield done, html, gr.update(interactive=True), gr.update(label=label)

    def api_search(self, question: str, k: int = 5) -> list[dict[str, Any]]:
        """The `k` (1 to 10) passages that best answer `question`, best first, with citations."""
        import gradio as gr

        try:
            passages = self.holder.get().search(question, api_count(k))
        except QAError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return [p.to_dict() for p in passages]


def make_app(
    settings: Settings, holder: SearcherHolder, watcher: CorpusWatcher | None = None
) -> gr.Blocks:
    """The page, over `holder` (see `qa.web.serve.load_holder`)."""
    return _layout(settings, Handlers(settings, holder, watcher))


def _layout(settings: Settings, h: Handlers) -> gr.Blocks:
    """The page's components, in reading order, each wired to its handler."""
    import gradio as gr
    from gradio.events import api

    from qa.search import MAX_QUESTION_CHARS

    with gr.Blocks(title="qa · ask the documents", analytics_enabled=False) as page:
        gr.HTML(HEADER, elem_id="qa-header")
        with gr.Row(elem_id="qa-ask"):
            question = gr.Textbox(
                label="Question",
                placeholder="Ask a question, press Enter",
                max_lines=1,
                max_length=MAX_QUESTION_CHARS,
                autofocus=True,
                scale=6,
                min_width=200,
                elem_id="qa-question",
            )
            go = gr.Button("Search", variant="primary", scale=0, min_width=96, elem_id="qa-go")
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
                _rebuild_controls(h, panel, accordion)
        _wire_search(h, question, go, chips, k, results)

        def on_load(request: gr.Request) -> list[Any]:
            return h.on_load(request.query_params)

        # Gradio finds the request parameter by its type; string annotations do not resolve here.
        on_load.__annotations__["request"] = gr.Request
        outputs = [question, k, results, panel, accordion, *chips]
        page.load(on_load, None, outputs, api_visibility="private")
        api(
            _tool(h),
            api_name="search",
            concurrency_limit=SEARCH_CONCURRENCY,
            concurrency_id="search",
        )
    blocks: gr.Blocks = page
    return blocks


def _tool(h: Handlers) -> Any:
    """The API endpoint and MCP tool, named `search`, with the docstring agents read."""

    def search(question: str, k: int = 5) -> list[dict[str, Any]]:
        """Search the documents: the passages that best answer a question, best first.

        Each passage has its text, a citation (document › section, lines), a score from
        0 to 1, whether it is a confident answer, and the sentences that answer.

        Args:
            question: the question, in plain words (at most 2,000 characters are read).
            k: how many passages to return, from 1 to 10.
        """
        return h.api_search(question, k)

    return search


def _rebuild_controls(h: Handlers, panel: Any, accordion: Any) -> None:
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
