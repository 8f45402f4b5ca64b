"""A corpus of many documents, long and short, Markdown and plain text, with few headings.

The questions say which document answers them: the right document must come first,
not the longest one, and questions no document answers must not look answered.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fakes import DATA

from qa.eval.evaluate import evaluate
from qa.index.build import build_index
from qa.model.embedding import Embedder
from qa.rank.search import Searcher
from qa.settings import Settings

QUESTIONS = DATA / "multidoc_questions.jsonl"


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Searcher:
    root = tmp_path_factory.mktemp("multidoc")
    shutil.copytree(DATA / "multidoc", root / "corpus")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    info = build_index(settings, embedder=real_embedder, progress=False)
    assert info.documents == 8
    return Searcher.open(settings, embedder=real_embedder)


def rows() -> list[dict[str, object]]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]


def test_the_right_document_answers_not_the_longest(searcher: Searcher) -> None:
    sizes = {
        p.relative_to(DATA / "multidoc").as_posix(): p.stat().st_size
        for p in (DATA / "multidoc").rglob("*.*")
    }
    longest = sorted(sizes, key=sizes.get, reverse=True)[:2]  # type: ignore[arg-type]
    wrong = []
    for row in rows():
        if not row["gold"]:
            continue
        first = searcher.search(str(row["question"]), 3)[0]
        if first.doc != row["doc"]:
            wrong.append((row["question"], first.doc))
    assert wrong == [], f"longest documents are {longest}"


def test_sections_are_found_in_many_documents(searcher: Searcher) -> None:
    report = evaluate(QUESTIONS, searcher, k=10)
    assert report.hit_at_1 >= 0.85, report.describe()
    assert report.hit_at_3 >= 0.96, report.describe()
    # Measured 2 (README, "Honest confidence"): "How long should I keep a hand I hurt on a
    # hot pan under the cold tap?" (0.47) and "Where can I find out how hard to pump up my
    # wheels?" (0.33) share almost no content word with their answers.
    assert report.answerable_flagged <= 2, report.describe()


def test_questions_no_document_answers_are_not_confident(searcher: Searcher) -> None:
    for row in rows():
        if not row["gold"]:
            first = searcher.search(str(row["question"]), 1)[0]
            assert not first.confident, (row["question"], first.score)


def test_nested_markdown_citations_carry_the_heading_chain(searcher: Searcher) -> None:
    passages = searcher.search("How long does a queen bee take to develop from egg to adult?", 1)
    first = passages[0]
    assert first.doc == "beekeeping.md"
    assert len(first.section_path) >= 2 and first.section_path[-1] == first.section
    lines = (DATA / "multidoc" / first.doc).read_text(encoding="utf-8").split("\n")
    cited = " ".join(lines[first.start_line - 1 : first.end_line])
    assert " ".join(first.text.split()) in " ".join(cited.split())


def test_a_document_in_a_subfolder_is_cited_by_its_path(searcher: Searcher) -> None:
    docs = {section.doc for section in searcher.index.sections}
    assert "garden/composting.md" in docs
    assert all(not Path(doc).is_absolute() and ".." not in doc for doc in docs)


def test_on_topic_questions_no_document_answers_are_often_flagged(searcher: Searcher) -> None:
    # These documents are in no family of `make fit`: the shipped numbers never saw them.
    # Measured 29 of 40 (docs/retrieval.md, "Honest confidence"; 30 with the numbers fitted
    # with the two raw coverage features); 32 with the score before, whose bias was set on
    # the seed questions alone; 21 before the centred cosine.
    report = evaluate(DATA / "multidoc_ontopic_unanswerable_questions.jsonl", searcher, k=5)
    assert report.unanswerable == 40
    assert report.unanswerable_flagged >= 29, report.describe()


@pytest.mark.parametrize(
    "name", ["multidoc_questions.jsonl", "multidoc_ontopic_unanswerable_questions.jsonl"]
)
def test_scores_never_rise_down_the_list(searcher: Searcher, name: str) -> None:
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        scores = [p.score for p in searcher.search(json.loads(line)["question"], k=10)]
        assert scores == sorted(scores, reverse=True), (line, scores)
