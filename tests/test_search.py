"""Retrieval with the real model: known answers, quality bars, phrases, highlights, confidence."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import DATA

from qa.errors import QueryError
from qa.evaluate import evaluate
from qa.search import Searcher

CIVILIANS = "how do partnerships protect civilians"


def test_protection_of_civilians_comes_first(seed_searcher: Searcher) -> None:
    passages = seed_searcher.search(CIVILIANS, k=5)
    first = passages[0]
    assert first.section == "Protection of Civilians"
    assert first.citation.startswith(
        "peacekeeping-partnerships.txt › Protection of Civilians, line"
    )
    assert first.confident and 0.5 <= first.score <= 1
    lines = (Path(__file__).parent.parent / "corpus" / first.doc).read_text().split("\n")
    cited = " ".join(lines[first.start_line - 1 : first.end_line])
    assert " ".join(first.text.split()) in " ".join(cited.split())


def test_passages_come_from_distinct_sections(seed_searcher: Searcher) -> None:
    passages = seed_searcher.search(CIVILIANS, k=8)
    assert len(passages) == 8
    assert len({p.section for p in passages}) == 8


def test_development_questions_reach_the_quality_bar(seed_searcher: Searcher) -> None:
    report = evaluate(DATA / "dev_questions.jsonl", seed_searcher, k=10)
    assert report.hit_at_1 >= 0.93, report.describe()
    assert report.hit_at_3 >= 0.97, report.describe()
    assert report.mrr_at_10 >= 0.95, report.describe()
    assert report.unanswerable_flagged == report.unanswerable == 3, report.describe()
    assert report.answerable_flagged == 0, report.describe()


def test_paraphrased_questions_are_answered_too(seed_searcher: Searcher) -> None:
    report = evaluate(DATA / "paraphrase_questions.jsonl", seed_searcher, k=10)
    assert report.hit_at_1 >= 0.8 and report.hit_at_3 >= 0.9, report.describe()
    assert report.answerable_flagged == 0, report.describe()


def test_questions_the_document_does_not_answer_are_flagged(seed_searcher: Searcher) -> None:
    report = evaluate(DATA / "unanswerable_questions.jsonl", seed_searcher, k=5)
    assert report.unanswerable_flagged == report.unanswerable == 20, report.describe()
    passages = seed_searcher.search("What is the capital of France?", k=5)
    assert len(passages) == 5 and not any(p.confident for p in passages)
    assert all(p.score < 0.5 for p in passages)


def test_highlights_are_the_answering_sentences(seed_searcher: Searcher) -> None:
    first = seed_searcher.search("Which organization contributes military capabilities?", 1)[0]
    assert first.section == "Types of Organizations Involved in Peacekeeping Partnerships"
    assert any("NATO contributes its military capabilities" in h.text for h in first.highlights)
    for passage in seed_searcher.search(CIVILIANS, 5):
        assert 1 <= len(passage.highlights) <= 2
        for highlight in passage.highlights:
            assert passage.text[highlight.start : highlight.end] == highlight.text


def test_a_quoted_phrase_filters_passages(seed_searcher: Searcher) -> None:
    passages = seed_searcher.search('"political will"', k=10)
    assert passages
    assert all("political will" in p.text.lower() for p in passages)
    assert len(passages) < 10 or all("political will" in p.text.lower() for p in passages)
    assert seed_searcher.search('"zeppelin fleet"', k=5) == []


@pytest.mark.parametrize("question", ["", "   ", "?!…", "\x00\x01"])
def test_a_question_without_words_is_refused(seed_searcher: Searcher, question: str) -> None:
    with pytest.raises(QueryError, match="type a few words"):
        seed_searcher.search(question)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_a_bad_k_is_refused(seed_searcher: Searcher, k: object) -> None:
    with pytest.raises(QueryError, match="k must be"):
        seed_searcher.search(CIVILIANS, k)  # type: ignore[arg-type]


def test_k_larger_than_the_index_returns_every_section(seed_searcher: Searcher) -> None:
    passages = seed_searcher.search(CIVILIANS, k=1000)
    assert 18 <= len(passages) <= len(seed_searcher.chunks)
    assert len({(p.doc, p.start_line) for p in passages}) == len(passages)


def test_a_passage_can_be_read_in_its_section(seed_searcher: Searcher) -> None:
    passage = seed_searcher.search(CIVILIANS, 1)[0]
    section = seed_searcher.section_for(passage)
    assert section.title == "Protection of Civilians"
    assert section.start_line <= passage.start_line <= passage.end_line <= section.end_line
    assert " ".join(passage.text.split()) in " ".join(section.text.split())
