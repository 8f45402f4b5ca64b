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


def test_german_ordinals_do_not_end_sentences() -> None:
    assert sentences("Die Mission begann am 3. Mai 2004 in Haiti. Sie endete 2017.") == [
        "Die Mission begann am 3. Mai 2004 in Haiti.",
        "Sie endete 2017.",
    ]
    text = (
        "Der 2. Weltkrieg endete 1945. Die Stadt wurde im 19. Jahrhundert gegründet, und seit "
        "dem 1. April 2004 ist sie die Hauptstadt. Die Truppen kamen am 3. August zurück. Das "
        "Team belegte Platz 3. Danach fuhr es nach Hause."
    )
    assert sentences(text) == [
        "Der 2. Weltkrieg endete 1945.",
        "Die Stadt wurde im 19. Jahrhundert gegründet, und seit dem 1. April 2004 ist sie "
        "die Hauptstadt.",
        "Die Truppen kamen am 3. August zurück.",  # "am", "August": English words too
        "Das Team belegte Platz 3.",  # a number without an article before it ends a sentence
        "Danach fuhr es nach Hause.",
    ]


def test_english_numbers_before_a_capital_still_end_sentences() -> None:
    text = (
        "The mission began in 2003. The next year it grew. They met in room 12. April came "
        "early. I am 3. August is my month. I am 3. Die Hard is a film. Chapter 12. August was "
        "hot."
    )
    assert sentences(text) == [
        "The mission began in 2003.",
        "The next year it grew.",
        "They met in room 12.",
        "April came early.",
        "I am 3.",
        "August is my month.",
        "I am 3.",
        "Die Hard is a film.",
        "Chapter 12.",
        "August was hot.",
    ]
