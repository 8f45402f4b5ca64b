"""SQuAD files as a corpus and a question set (`qa/eval/squad.py`), passage-level gold, and the
retrieval bars on the SQuAD development half with the real model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from evaldata import needed
from fakes import fake_build, fake_searcher

from qa.errors import QAError
from qa.eval.evaluate import EvalReport, ablation_rankings, evaluate
from qa.eval.squad import squad_to_corpus
from qa.index.build import build_index
from qa.model.embedding import Embedder
from qa.rank.fitted import Scorers, fitted_for
from qa.rank.ranking import Baseline, Ranking
from qa.rank.search import Searcher
from qa.settings import DEFAULT_MODEL, Settings

SQUAD_DEV_HALF = "squad/squad-dev-half.json"  # under ../shared/eval
TINY = {
    "data": [
        {
            "title": "Zebra_Crossing",
            "paragraphs": [
                {
                    "context": "Zebra crossings were first painted in Slough in 1951.",
                    "qas": [{"question": "Where was the first zebra crossing painted?"}],
                },
                {
                    "context": "Belisha beacons are amber globes on black and white poles.",
                    "qas": [
                        {"question": "What colour are Belisha beacons?"},
                        {"question": "Is this unanswerable?", "is_impossible": True},
                    ],
                },
            ],
        },
        {
            "title": "Tea",
            "paragraphs": [
                {
                    "context": "Oolong tea is partly oxidised before it is rolled and dried.",
                    "qas": [{"question": "How is oolong tea processed?"}],
                }
            ],
        },
    ]
}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    return path


def test_each_article_becomes_a_markdown_document_and_each_question_a_gold_text(
    tiny: Path, tmp_path: Path
) -> None:
    corpus, questions = squad_to_corpus(tiny, tmp_path / "out")
    assert sorted(p.name for p in corpus.iterdir()) == ["Tea.md", "Zebra_Crossing.md"]
    text = (corpus / "Zebra_Crossing.md").read_text()
    assert text.startswith("# Zebra Crossing\n\nZebra crossings were first painted")
    assert "\n\nBelisha beacons are amber" in text
    rows = [json.loads(line) for line in questions.read_text().splitlines()]
    assert [r["question"] for r in rows] == [
        "Where was the first zebra crossing painted?",
        "What colour are Belisha beacons?",
        "How is oolong tea processed?",
    ]  # the unanswerable SQuAD 2.0 question is left out: its paragraph is not its answer
    assert rows[2]["gold_text"].startswith("Oolong tea is partly oxidised")


def test_a_sample_is_fixed(tiny: Path, tmp_path: Path) -> None:
    _, first = squad_to_corpus(tiny, tmp_path / "a", sample=2)
    _, second = squad_to_corpus(tiny, tmp_path / "b", sample=2)
    assert first.read_text() == second.read_text()
    assert len(first.read_text().splitlines()) == 2


def test_a_file_that_is_not_squad_is_refused_with_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"articles": []}')
    with pytest.raises(QAError, match="not in SQuAD format"):
        squad_to_corpus(bad, tmp_path / "out")


def test_a_passage_holding_the_gold_text_is_a_hit(tiny: Path, tmp_path: Path) -> None:
    corpus, questions = squad_to_corpus(tiny, tmp_path)
    fake_build(corpus, tmp_path / "index")
    report = evaluate(questions, fake_searcher(tmp_path / "index"), k=5)
    assert report.answerable == 3
    assert report.hit_at_5 == 1.0
    assert report.hit_at_1 >= 2 / 3


@pytest.fixture(scope="module")
def squad(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> tuple[Path, Path]:
    """The SQuAD development half indexed with the real model, and a fixed 1,000-question sample."""
    dev_half = needed(SQUAD_DEV_HALF)
    root = tmp_path_factory.mktemp("squad")
    corpus, questions = squad_to_corpus(dev_half, root, sample=1000)
    build_index(
        Settings(corpus_dir=corpus, index_dir=root / "index"),
        embedder=real_embedder,
        progress=False,
    )
    return root / "index", questions


def _report(
    index: Path, questions: Path, embedder: Embedder, ranking: Ranking, scorers: Scorers
) -> EvalReport:
    settings = Settings(corpus_dir=index.parent / "corpus", index_dir=index)
    searcher = Searcher.open(settings, embedder=embedder, ranking=ranking, scorers=scorers)
    return evaluate(questions, searcher)


def test_wikipedia_articles_reach_the_bar_above_every_baseline_with_numbers_fitted_without_them(
    squad: tuple[Path, Path], real_embedder: Embedder
) -> None:
    index, questions = squad
    scorers = fitted_for(DEFAULT_MODEL).held_out["squad"]  # fitted on the other families
    ranking = Ranking.of(scorers)
    qa = _report(index, questions, real_embedder, ranking, scorers)
    assert qa.hit_at_1 >= 0.85, qa.describe()
    assert qa.hit_at_5 >= 0.96, qa.describe()
    assert qa.mrr_at_10 >= 0.90, qa.describe()
    assert dict(ablation_rankings(DEFAULT_MODEL))[
        "+ passages, a penalty per passage of a section (qa)"
    ] == Ranking.fitted(DEFAULT_MODEL)
    for baseline in Baseline:
        variant = replace(ranking, baseline=baseline, group=False)
        other = _report(index, questions, real_embedder, variant, scorers)
        assert qa.hit_at_1 > other.hit_at_1, (baseline, other.describe())
        assert qa.hit_at_5 > other.hit_at_5, (baseline, other.describe())
        assert qa.mrr_at_10 > other.mrr_at_10, (baseline, other.describe())
