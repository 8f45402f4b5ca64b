"""Keyword side: the fast tokenizer matches bm25s's, and phrases match as people expect."""

from __future__ import annotations

import bm25s
from fakes import DATA, SEED

from qa.rank.lexical import (
    LexicalIndex,
    _stemmer,
    contains_phrase,
    content_terms,
    quoted_phrases,
    terms,
)


def test_terms_are_the_tokens_bm25s_indexes() -> None:
    texts = SEED.read_text(encoding="utf-8").split("\n")
    texts += (DATA / "paraphrase_questions.jsonl").read_text(encoding="utf-8").split("\n")
    for text in texts:
        [expected] = bm25s.tokenize(
            [text], stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
        )
        assert terms(text) == [t for t in expected if t], text


def test_bm25_ranks_the_text_with_the_rare_word_first() -> None:
    index = LexicalIndex(["the cat sat", "a dog barked at the cat", "zeppelins over the city"])
    scores = index.scores(terms("Zeppelin sightings"))
    assert scores.argmax() == 2 and scores[0] == scores[1] == 0
    assert not LexicalIndex(["some text"]).scores(terms("unrelated")).any()


def test_quoted_phrases_and_matching() -> None:
    assert quoted_phrases('what is "political will" and “rule of law”?') == [
        "political will",
        "rule of law",
    ]
    assert contains_phrase("Strong political\n  will matters", "political will")
    assert not contains_phrase("politically willing", "political will")


def test_the_wording_of_a_question_does_not_count_as_content_a_text_lacks() -> None:
    # "what" and "does" are in no text, so as terms they weighed as the rarest of all.
    index = LexicalIndex(["Cats purr when content.", "Dogs bark at night."])
    question = "What does a cat do when content?"
    assert index.coverage(content_terms(question))[0] == 1.0
    assert index.coverage(terms(question))[0] < 0.6
