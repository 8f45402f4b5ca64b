"""A question and the documents to search, checked and cleaned before a search.

`clean_question` turns what a person typed into the text the model reads (printable, one
space between words, at most `MAX_QUESTION_CHARS`); `document_names` checks a list of
document names.  Both raise QueryError naming the fix.

Not here: whether a name is a document of the index (see `qa.rank.tables.IndexTables.rows_of`)
or answering the question (see `qa.rank.search`).
"""

from __future__ import annotations

from collections.abc import Sequence

from qa.errors import QueryError

MAX_QUESTION_CHARS = 2000  # the model reads ~256 word pieces; more text only costs time


def clean_question(question: str) -> str:
    """`question` printable, its words one space apart, at most `MAX_QUESTION_CHARS` long.

    >>> clean_question("  What\\tdid   the\\nmission do? ")
    'What did the mission do?'
    """
    if not isinstance(question, str):
        raise QueryError(f"The question must be text, not {type(question).__name__}")
    printable = "".join(c if c.isprintable() else " " for c in question[: MAX_QUESTION_CHARS * 2])
    cleaned = " ".join(printable.split())[:MAX_QUESTION_CHARS]
    if not any(c.isalnum() for c in cleaned):
        raise QueryError("The question has no words: type a few words about what you want to find")
    return cleaned


def document_names(documents: Sequence[str] | None) -> list[str] | None:
    """`documents` as a list of names; QueryError for a single string or an empty list."""
    if documents is None:
        return None
    if isinstance(documents, str) or not all(isinstance(d, str) for d in documents):
        raise QueryError(
            f"documents must be a list of document names, not {documents!r}: "
            'write documents=["report.pdf"]'
        )
    if not documents:
        raise QueryError("documents is empty: name at least one document, or pass None for all")
    return list(documents)
