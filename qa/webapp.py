"""The Gradio web app over a Searcher (a first page; see the web app issue for the full one)."""

from __future__ import annotations

import html

from qa.settings import Settings


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Build the index if needed, then serve the page until interrupted."""
    import gradio as gr

    from qa.search import ensure_searcher

    searcher = ensure_searcher(settings)

    def answer(question: str) -> str:
        from qa.errors import QAError

        try:
            passages = searcher.search(question, 5)
        except QAError as error:
            return f"<p>{html.escape(str(error))}</p>"
        return "".join(
            f"<div><b>{html.escape(p.citation)}</b><p>{html.escape(p.text)}</p></div>"
            for p in passages
        )

    with gr.Blocks(title="qa") as page:
        question = gr.Textbox(label="Question")
        results = gr.HTML()
        question.submit(answer, question, results, api_name="search")
    page.launch(server_name=host, server_port=port)
