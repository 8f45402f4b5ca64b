"""Text from the corpus, the index or a question, made safe for the page: `esc`, `esc_name`.

Every such string goes through `esc`, so a document holding `<script>` shows as text;
file names and headings go through `esc_name`, so a line break or right-to-left mark in
one never reaches the page either.  Braces are escaped too: Gradio's HTML component runs
its content through a template engine.

    >>> esc("<b>{x}</b>")
    '&lt;b&gt;&#123;x&#125;&lt;/b&gt;'

Not here: any markup (see `qa.web.render`, `qa.web.context`, `qa.web.panel`).
"""

from __future__ import annotations

import html

from qa.text.sentences import harmless


def esc(text: str) -> str:
    """HTML-escaped text that no template engine will expand: `{{x}}` and `${x}` stay literal."""
    return (
        html.escape(text, quote=True)
        .replace("{", "&#123;")
        .replace("}", "&#125;")
        .replace("$", "&#36;")
    )


def esc_name(text: str) -> str:
    r"""A file name, heading or citation for the page: on one line, its control characters
    written out (`qa.text.sentences.harmless`), then escaped.

    >>> esc_name("a\n<b>\u202e.txt")
    'a\\x0a&lt;b&gt;\\u202e.txt'
    """
    return esc(harmless(text, one_line=True))
