"""What the page does on each event: `Handlers`, plain methods testable without a browser.

`Handlers` adds the question's events (an answer, an example, the results count, the
document choice, a `?q=` link, the API's search) to `IndexEvents`' (the panel, its poll,
a rebuild; see `qa.web.index_events`).  Every failure becomes one friendly message in
place of the results, a bug's traceback going to the server log only.

Not here: placing the components and wiring them (see `qa.web.app`), the HTML (see
`qa.web.render`), the API's values (see `qa.web.tool`) or ranking (see `qa.rank.search`).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qa.errors import QAError
from qa.web.documents import ALL, asked, document_choices, missing, missing_message
from qa.web.examples import COUNT, example_questions
from qa.web.index_events import IndexEvents
from qa.web.render import message_html, results_html
from qa.web.tool import MAX_RESULTS, api_count, api_documents

if TYPE_CHECKING:
    from qa.rank.passage import Passage
    from qa.rank.search import Searcher

UNEXPECTED = "Something went wrong while searching; the server log says what. Try again."
QUESTION_HINT = "Type a question first, or press one of the examples."


def _results_count(value: Any, default: int = 5) -> int:
    """A results count from the slider or a link, clamped to 1..10: `"12"` → 10."""
    try:
        return max(1, min(MAX_RESULTS, int(float(value))))
    except (TypeError, ValueError):
        return default


class Handlers(IndexEvents):
    """What the page does on each event, over one `Index` (and the corpus watcher)."""

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


def _section_or_none(searcher: Searcher, passage: Passage) -> Any:
    try:
        return searcher.section_for(passage)
    except QAError:
        return None
