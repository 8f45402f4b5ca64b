from __future__ import annotations

from qa.text.sentences import sentence_spans


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def test_abbreviations_do_not_end_sentences() -> None:
    text = (
        "The U.N. sent Dr. Smith, e.g. to talk. Urban vs. rural areas differ. "
        "Mr. J. R. Brown agreed i.e. fully. It ended."
    )
    assert sentences(text) == [
        "The U.N. sent Dr. Smith, e.g. to talk.",
        "Urban vs. rural areas differ.",
        "Mr. J. R. Brown agreed i.e. fully.",
        "It ended.",
    ]


def test_list_items_are_sentences_of_their_own() -> None:
    text = "Key actions include:\n  • Roads and schools.\n  • Disarmament\n  1. United Nations (UN)"
    assert sentences(text) == [
        "Key actions include:",
        "• Roads and schools.",
        "• Disarmament",
        "1. United Nations (UN)",
    ]


def test_questions_and_exclamations_end_sentences() -> None:
    assert sentences("Why? Because! Then “Quoted.” Next") == [
        "Why?",
        "Because!",
        "Then “Quoted.”",
        "Next",
    ]


def test_spans_index_the_text() -> None:
    text = "  First one.  Second one.\n\nThird."
    for a, b in sentence_spans(text):
        assert text[a:b] == text[a:b].strip() and text[a:b]
