"""A Qasper folder as a question set (`qa/eval/qasper.py`): each paper asked alone,
evidence hits."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from evaldata import SHARED_EVAL, needed
from fakes import FakeEmbedder, fake_build, settings_for

from qa.errors import QAError
from qa.eval.evaluate import EvalReport, evaluate, read_questions, shares_stretch
from qa.eval.qasper import qasper_questions
from qa.index.build import build_index
from qa.model.embedding import Embedder
from qa.rank.fitted import Scorers, fitted_for
from qa.rank.ranking import Baseline, Ranking
from qa.rank.search import Searcher
from qa.settings import DEFAULT_MODEL, Settings

# Hit@1, Hit@5, MRR@10 and answerable questions flagged at most, with the numbers fitted
# without Qasper (`make fit` measured 0.464, 0.771, 0.592 and 24 of 179: README, "Retrieval
# quality"; the issue's goal, 0.55 / 0.90 / 0.68, is not reached).
QASPER_BARS = (0.45, 0.75, 0.58, 26)

PAPER_A = """# Counting Bees With Cameras

## Abstract

We count bees at the hive entrance with cameras and a small neural network.

## Data

We recorded 4,000 hours of video at twelve hives in Devon during two summers of fieldwork.

## Results

The network counts bees within three percent of a human observer on held-out hives.
"""
PAPER_B = """# Parsing Learner English

## Abstract

We parse sentences written by learners of English.

## Treebank

The treebank holds 5,124 sentences annotated by six students over one year of work.
"""


@pytest.fixture
def qasper(tmp_path: Path) -> Path:
    folder = tmp_path / "qasper"
    (folder / "corpus").mkdir(parents=True)
    (folder / "corpus" / "2001.00001.md").write_text(PAPER_A)
    (folder / "corpus" / "2001.00002.md").write_text(PAPER_B)
    rows = [
        {
            "question": "How much video did they record?",
            "paper": "2001.00001",
            "answerable": True,
            "evidence": [
                "We recorded 4,000 hours of video at twelve hives in Devon during two summers "
                "of fieldwork."
            ],
        },
        {
            "question": "How many sentences does the treebank hold?",
            "paper": "2001.00002",
            "answerable": True,
            "evidence": [
                "The treebank holds 5,124 sentences annotated by six students over one year of "
                "work."
            ],
        },
        {"question": "Who funded it?", "paper": "2001.00002", "answerable": False, "evidence": []},
    ]
    (folder / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_each_question_is_asked_of_its_own_paper_with_its_evidence_as_gold(
    qasper: Path, tmp_path: Path
) -> None:
    corpus, questions = qasper_questions(qasper, tmp_path / "out")
    assert corpus == qasper / "corpus"
    asked = read_questions(questions)
    assert [q.documents for q in asked] == [
        ("2001.00001.md",),
        ("2001.00002.md",),
        ("2001.00002.md",),
    ]
    assert asked[0].gold[0].startswith("We recorded 4,000 hours")
    assert asked[2].gold == ()  # not answerable


def test_evaluation_asks_each_paper_alone_and_scores_by_shared_stretch(
    qasper: Path, tmp_path: Path
) -> None:
    corpus, questions = qasper_questions(qasper, tmp_path / "out")
    fake_build(corpus, tmp_path / "index")
    searcher = Searcher.open(settings_for(corpus, tmp_path / "index"), embedder=FakeEmbedder())
    asked: list[object] = []

    def run(question: str, k: int, documents: list[str] | None = None) -> object:
        asked.append(documents)
        return searcher.search(question, k, documents=documents)

    report = evaluate(questions, run, k=5)  # type: ignore[arg-type]
    assert asked == [["2001.00001.md"], ["2001.00002.md"], ["2001.00002.md"]]
    assert report.answerable == 2 and report.unanswerable == 1
    assert report.hit_at_5 == 1.0


def test_a_hit_shares_fifty_characters_and_a_long_passage_never_counts() -> None:
    evidence = "The treebank holds 5,124 sentences annotated by six students over one year."
    assert shares_stretch("Intro. The treebank holds 5,124 sentences annotated by six.", evidence)
    assert not shares_stretch("The treebank holds 5,124 sentences.", evidence)  # 36 characters
    assert not shares_stretch(evidence + " filler" * 400, evidence)  # over 2,500 characters
    assert shares_stretch("Data.\n\nTool  kit", "Tool kit")  # short evidence: all of it


def test_a_folder_that_is_not_qasper_says_what_it_needs(tmp_path: Path) -> None:
    with pytest.raises(QAError, match=r"needs corpus/<paper>\.md and questions\.jsonl"):
        qasper_questions(tmp_path, tmp_path / "out")


QASPER = SHARED_EVAL / "qasper"


@pytest.fixture(scope="module")
def papers(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    """The Qasper development papers indexed with the real model; their question file."""
    needed("qasper/questions.jsonl")
    root = tmp_path_factory.mktemp("qasper")
    corpus, questions = qasper_questions(QASPER, root)
    settings = Settings(corpus_dir=corpus, index_dir=root / "index")
    build_index(settings, embedder=real_embedder, progress=False)
    return questions


def _asked(papers: Path, embedder: Embedder, ranking: Ranking, scorers: Scorers) -> EvalReport:
    settings = Settings(corpus_dir=QASPER / "corpus", index_dir=papers.parent / "index")
    searcher = Searcher.open(settings, embedder=embedder, ranking=ranking, scorers=scorers)
    return evaluate(papers, searcher, k=10)


def test_research_papers_asked_alone_beat_every_baseline_with_numbers_fitted_without_them(
    papers: Path, real_embedder: Embedder
) -> None:
    scorers = fitted_for(DEFAULT_MODEL).held_out["qasper"]  # fitted on the other families
    ranking = Ranking.of(scorers)
    qa = _asked(papers, real_embedder, ranking, scorers)
    assert qa.answerable == 179 and qa.unanswerable == 15
    assert qa.hit_at_1 >= QASPER_BARS[0], qa.describe()
    assert qa.hit_at_5 >= QASPER_BARS[1], qa.describe()
    assert qa.mrr_at_10 >= QASPER_BARS[2], qa.describe()
    assert qa.answerable_flagged <= QASPER_BARS[3], qa.describe()
    for baseline in Baseline:
        other = _asked(
            papers, real_embedder, replace(ranking, baseline=baseline, group=False), scorers
        )
        assert qa.hit_at_1 > other.hit_at_1, (baseline, other.describe())
        assert qa.hit_at_5 > other.hit_at_5, (baseline, other.describe())
        assert qa.mrr_at_10 > other.mrr_at_10, (baseline, other.describe())
