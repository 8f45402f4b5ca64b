"""The Gradio page: ask a question of all documents or some, read the answer and its sources,
open the index panel.

`make_app()` returns the page without serving it (see `qa.web.serve`): `_layout`
places the components and wires them to the `Handlers`, plain methods that can
be tested without a browser.  The search is also the API endpoint and MCP tool
"search", returning `Passage.to_dict()` rows (the tool as JSON: `tool_json`).

Not here: HTML (see `qa.web.render`, `qa.web.panel`), what is kept between
requests (see `qa.web.state`), ranking (see `qa.rank.search`), serving (see `qa.web.serve`).
"""

from __future__ import annotations

import hashlib
import json
import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qa.errors import QAError, QueryError
from qa.settings import Settings
from qa.web.assets import HEADER, URL_JS
from qa.web.documents import ALL, NORMALIZE_JS, asked, document_choices, missing, missing_message
from qa.web.examples import COUNT, example_questions
from qa.web.panel import index_html, progress_html, status_line
from qa.web.render import message_html, results_html
from qa.web.state import Rebuild, describe_watch, index_facts

if TYPE_CHECKING:
    import gradio as gr

    from qa.index.owner import Index
    from qa.index.watch import CorpusWatcher
    from qa.rank.passage import Passage
    from qa.rank.search import Searcher

MAX_RESULTS = 10
POLL_SECONDS = 5  # how often an open page asks whether its index or corpus changed
SEARCH_CONCURRENCY = 8  # searches only read the shared index; a rebuild has its own slot
UNEXPECTED = "Something went wrong while searching; the server log says what. Try again."
QUESTION_HINT = "Type a question first, or press one of the examples."
# A look at the index's document names: no model, no queue to wait in, no spinner.
_QUICK: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}


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


def api_documents(documents: Any) -> list[str] | None:
    """`documents` of an API call: None (all) or a list of names, as `Searcher.search` takes.

    >>> api_documents(None), api_documents(["a.md"])
    (None, ['a.md'])
    """
    if documents is None:
        return None
    if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
        raise QueryError(
            f"documents must be a list of document names, not {documents!r:.60}: "
            'send ["report.pdf"], or null for all documents'
        )
    return documents


def check_search(question: Any, k: Any = 5, documents: Any = None) -> None:
    """QueryError for values of a search API call that no index could answer, before it
    waits in the queue (see `qa.web.calls`): the question is not text, or as `api_count`
    and `api_documents` refuse them.

    >>> check_search(None)
    Traceback (most recent call last):
    qa.errors.QueryError: The question must be text, not null: send it as a string
    """
    if not isinstance(question, str):
        shown = json.dumps(question, default=repr)
        raise QueryError(f"The question must be text, not {shown:.40}: send it as a string")
    api_count(k)
    api_documents(documents)


API_CHECKS = {"search": check_search}  # what the guard checks of a call, by API name


class Handlers:
    """What the page does on each event, over one `Index` (and the corpus watcher)."""

    def __init__(self, index: Index, watcher: CorpusWatcher | None = None) -> None:
        self.index, self.settings, self.watcher = index, index.settings, watcher
        self.rebuilding = threading.Lock()  # one `Rebuild` at a time

    def searcher(self) -> Searcher:
        """The index's Searcher (`Index.searcher`); QAError saying why there is none."""
        try:
            return self.index.searcher()
        except QAError as error:
            if self.settings.read_only:
                raise QAError(f"{error} (this page is read-only)") from error
            raise

    def answer(self, question: str, k: float, documents: list[str] | None = None) -> str:
        """The answer box and its sources for `question` asked of the chosen `documents`
        (see `qa.web.documents`), or one friendly message."""
        if not (question or "").strip():
            return message_html(QUESTION_HINT)
        try:
            searcher = self.searcher()
            gone = missing(documents, searcher.documents)
            if gone:
                return message_html(missing_message(gone), error=True)
            passages = searcher.search(question, _results_count(k), documents=asked(documents))
            hits = [(p, _section_or_none(searcher, p)) for p in passages]
        except QAError as error:
            return message_html(str(error), error=True)
        except Exception:  # a bug: the log gets the traceback, the reader a sentence
            traceback.print_exc()
            return message_html(UNEXPECTED, error=True)
        return results_html(question.strip(), hits, _results_count(k), asked(documents))

    def answer_example(
        self, example: str, k: float, documents: list[str] | None = None
    ) -> tuple[str, str]:
        return example, self.answer(example, k, documents)

    def rerun(self, question: str, k: float, documents: list[str] | None = None) -> Any:
        import gradio as gr

        return self.answer(question, k, documents) if (question or "").strip() else gr.skip()

    def document_list(self, chosen: list[str] | None) -> Any:
        """The document choice's list as the index that answers holds it now (see
        `qa.web.documents`); what is chosen stays chosen."""
        import gradio as gr

        return gr.update(choices=self.choices(chosen))

    def choices(self, chosen: Sequence[str] | None) -> list[tuple[str, str]]:
        try:
            names = self.searcher().documents
        except QAError:
            names = []
        return document_choices(names, chosen)

    def panel(self) -> tuple[str, str]:
        """The index panel's one-line label and its HTML, of the index that answers."""
        try:
            searcher = self.searcher()
        except QAError as error:
            return "No index", index_html({}, None, str(error))
        note = ""
        if self.watcher is not None:
            note = describe_watch(self.watcher.last, str(self.settings.corpus_dir))
        manifest = searcher.index.manifest
        counts = (len(manifest.documents), len(searcher.index.sections))
        rebuilding = self.rebuilding.locked()
        try:
            status = self.index.status()
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

    def poll(self, shown: str) -> tuple[Any, Any, str]:
        """The index panel and its status line again, every `POLL_SECONDS` while the page is
        open, when they differ from what the page shows (`shown`, their digest, returned
        with them): a build swapped in by another process (or the watcher) is loaded now, as
        the next question would load it, so the line describes the index that answers; a
        corpus changed since reads "the corpus changed".  Cheap when nothing changed: the
        live build's pointer is read and the manifest and corpus files are `stat`ed; no
        vectors are read, no file hashed, no model run."""
        import gradio as gr

        try:
            label, html = self.panel()
        except Exception:  # a bug: the log gets the traceback; no error box every few seconds
            traceback.print_exc()
            return gr.skip(), gr.skip(), shown
        now = hashlib.sha256(f"{label}\n{html}".encode()).hexdigest()[:16]
        if now == shown:
            return gr.skip(), gr.skip(), shown
        return html, gr.update(label=label), now

    def examples(self) -> list[str]:
        try:
            sections = self.searcher().index.sections
        except QAError:
            sections = []
        return example_questions(self.settings.corpus_dir, sections)

    def on_load(self, params: Mapping[str, str], documents: Sequence[str] = ()) -> list[Any]:
        """A `?q=...&k=...&doc=...` link runs its question of its `documents` (all when
        none); the document list, the panel and the examples are filled in."""
        import gradio as gr

        label, html = self.panel()
        shown = self.examples()
        chips = [gr.update(value=text, visible=True) for text in shown]
        chips += [gr.update(visible=False)] * (COUNT - len(shown))
        chosen = asked(documents) or [ALL]
        choice = gr.update(choices=self.choices(chosen), value=chosen)
        question = (params.get("q") or "").strip()
        k = _results_count(params.get("k"), 5)
        if question:
            asked_now = [question, k, choice, self.answer(question, k, chosen)]
        else:
            asked_now = [gr.skip(), gr.skip(), choice, gr.skip()]
        return [*asked_now, html, gr.update(label=label), *chips]

    def rebuild(self) -> Iterator[tuple[Any, Any, Any, Any]]:
        """Progress while the index is rebuilt, then what changed and the new panel."""
        import gradio as gr

        # Not queued behind each other: a second click, from anyone, is told a rebuild runs.
        if not self.rebuilding.acquire(blocking=False):
            busy = "A rebuild is already running: wait for it to finish."
            yield message_html(busy), gr.skip(), gr.skip(), gr.skip()
            return
        try:
            job = Rebuild(self.index)
            label, html = self.panel()  # says "Rebuilding now…", not "Press Rebuild index."
            starting = progress_html(*job.progress())
            yield starting, html, gr.update(interactive=False), gr.update(label=label)
            job.start()
            while not job.wait(0.2):
                yield progress_html(*job.progress()), gr.skip(), gr.skip(), gr.skip()
        finally:
            self.rebuilding.release()
        label, html = self.panel()
        done = message_html(job.error or job.summary, error=bool(job.error))
        yield done, html, gr.update(interactive=True), gr.update(label=label)

    def api_search(
        self, question: str, k: int = 5, documents: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """The `k` (1 to 10) passages that best answer `question`, best first, with citations;
        from the named `documents` only, unless None."""
        import gradio as gr

        try:
            count, names = api_count(k), api_documents(documents)
            passages = self.searcher().search(question, count, documents=names)
        except QAError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return [p.to_dict() for p in passages]


def tool_json(passages: Sequence[Mapping[str, Any]]) -> str:
    """What the MCP tool `search` sends for the API's `passages`: a JSON object, whether the
    best passage answers (`answered`: it is confident), and the passages, closest first
    (when nothing answers, still the closest ones, each marked not confident).

    >>> tool_json([])
    '{"answered": false, "passages": []}'
    """
    answered = bool(passages) and bool(passages[0].get("confident"))
    return json.dumps({"answered": answered, "passages": list(passages)}, ensure_ascii=False)


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
            _tool(h),
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


def _tool(h: Handlers) -> Any:
    """The API endpoint and MCP tool, named `search`, with the docstring agents read."""

    def search(
        question: str, k: int = 5, documents: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Search the documents: the passages that best answer a question, best first.

        Each passage has its text, its document (`doc`), a citation (document › section,
        lines), a score from 0 to 1, whether it is a confident answer, and the sentences
        that answer.  As an MCP tool it returns JSON: {"answered": whether the best passage
        answers, "passages": [...]}; when nothing answers, the closest passages, none
        confident.

        Args:
            question: the question, in plain words (at most 2,000 characters are read).
            k: how many passages to return, from 1 to 10.
            documents: search only these documents, named as a passage's `doc` names them
                (a path under the corpus folder, such as "report.pdf"); null for all.
        """
        return h.api_search(question, k, documents)

    return search


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


def _section_or_none(searcher: Searcher, passage: Passage) -> Any:
    try:
        return searcher.section_for(passage)
    except QAError:
        return None
