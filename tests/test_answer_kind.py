"""The kind of answer a question asks for, and whether a text holds one
(`qa/rank/answer_kind.py`)."""

from __future__ import annotations

import pytest

from qa.rank.answer_kind import Kind, asked_kind, holds_kind


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many peacekeepers are deployed around the world today?", Kind.NUMBER),
        ("When was the first UN peacekeeping mission?", Kind.NUMBER),
        ("In which year did UN peacekeepers receive the Nobel Peace Prize?", Kind.NUMBER),
        ("What percentage of the budget goes to logistics?", Kind.NUMBER),
        ("Which country gives the most troops?", Kind.NAME),
        ("Who commands a UN peacekeeping force on the ground?", Kind.NAME),
        ("How do partnerships protect civilians?", None),
        ("What datasets do they use?", None),
        ("Why does my bread come out flat?", None),
    ],
)
def test_questions_asking_for_a_name_or_a_number_are_told_apart(
    question: str, kind: Kind | None
) -> None:
    assert asked_kind(question) is kind


def test_a_number_in_digits_or_words_counts() -> None:
    assert holds_kind("About 70,000 troops serve.", Kind.NUMBER, "How many troops?")
    assert holds_kind("It took three years.", Kind.NUMBER, "How long did it take?")
    assert not holds_kind("BIBREF3 reports that it took long.", Kind.NUMBER, "How long?")


def test_a_name_is_a_capital_that_opens_no_sentence_and_is_not_the_questions_own() -> None:
    question = "Which country in the UN gives the most troops?"
    assert not holds_kind("Countries give troops.\nTroops cost money.", Kind.NAME, question)
    assert not holds_kind("Members of the UN give troops.", Kind.NAME, question)
    assert holds_kind("Most troops come from Bangladesh and Nepal.", Kind.NAME, question)
