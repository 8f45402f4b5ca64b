"""The answering sentences of a passage (`qa/rank/highlight.py`)."""

from __future__ import annotations

from qa.rank.highlight import Highlight, answer_text, choose_highlights, segments

TEXT = "Roads matter. Patrols protect civilians. Budgets are tight."
SPANS = [(0, 13), (14, 40), (41, 59)]


def test_the_sentence_closest_to_the_question_is_highlighted() -> None:
    chosen = choose_highlights(TEXT, SPANS, [0.1, 0.6, 0.2], ["patrol"])
    assert chosen == (Highlight(14, 40, "Patrols protect civilians."),)
    assert all(TEXT[h.start : h.end] == h.text for h in chosen)


def test_a_second_sentence_nearly_as_good_is_highlighted_too_in_reading_order() -> None:
    chosen = choose_highlights(TEXT, SPANS, [0.58, 0.6, 0.1], [])
    assert [h.start for h in chosen] == [0, 14]


def test_keywords_lift_a_sentence_with_the_questions_words() -> None:
    chosen = choose_highlights(TEXT, SPANS, [0.3, 0.3, 0.32], ["budget", "tight"])
    assert chosen[0].text == "Budgets are tight."


def test_a_one_sentence_passage_gets_its_sentence_and_none_gets_nothing() -> None:
    assert choose_highlights("Only one.", [(0, 9)], [0.2], []) == (Highlight(0, 9, "Only one."),)
    assert choose_highlights("", [], [], ["x"]) == ()


def test_segments_cover_the_text_once_and_skip_bad_highlights() -> None:
    pieces = segments(
        TEXT, [Highlight(14, 40, "x"), Highlight(20, 30, "y"), Highlight(50, 99, "z")]
    )
    assert "".join(piece for piece, _ in pieces) == TEXT
    assert [piece for piece, marked in pieces if marked] == ["Patrols protect civilians."]


def test_an_answer_is_its_sentences_in_reading_order_with_gaps_marked() -> None:
    """Issue 28: sentences apart were glued into one paragraph."""
    marks = [Highlight(41, 59, "Budgets are tight."), Highlight(0, 13, "Roads matter.")]
    assert answer_text(TEXT, marks) == "Roads matter. … Budgets are tight."
    assert answer_text(TEXT, [*marks[1:], Highlight(14, 40, "Patrols protect civilians.")]) == (
        "Roads matter. Patrols protect civilians."
    )
    assert answer_text(TEXT, []) == ""


def test_a_list_of_bullets_ends_at_the_paragraph_after_it() -> None:
    lead = "Key organizations include:"
    following = "\n  1. United Nations (UN)\n  2. African Union (AU)\n\nThe UN is often first."
    assert answer_text(lead, [Highlight(0, len(lead), lead)], following) == (
        "Key organizations include: 1. United Nations (UN) 2. African Union (AU)"
    )


def test_a_sentence_that_announces_nothing_brings_nothing_after_it() -> None:
    """ "challenges posed by various conflicts" is not a list's lead-in."""
    lead = "Partnerships evolved in response to challenges posed by various conflicts."
    following = "\nCivil wars needed tailored approaches.\n\nMore later."
    assert answer_text(lead, [Highlight(0, len(lead), lead)], following) == lead
