"""The declared development sets of `make fit`: three families of documents and questions.

- seed: the bundled essay (`corpus/`) with its development and paraphrased questions and
  its on-topic and off-topic questions that it does not answer (`tests/data/`);
- squad: the SQuAD development half (`../shared/eval/squad/`), every article together
  (fitted on all its questions, judged on a fixed sample of 1,000);
- qasper: the Qasper development papers (`../shared/eval/qasper/`), each asked alone.

`collect` indexes a family (only what changed is embedded) and gathers each question's
candidate chunks, their ranking features and which of them answer it: what `fit.py`
fits the ranking and the answer score on.  The multi-document set of `tests/data/` is
in no family: the tests judge the fitted numbers on it as on documents never seen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.eval.evaluate import Question, read_questions
from qa.eval.qasper import qasper_questions
from qa.eval.squad import squad_to_corpus
from qa.index.build import build_index
from qa.rank.fitted import Scorers
from qa.rank.ranking import features
from qa.rank.retrieval import Candidates
from qa.rank.search import Searcher, clean_question
from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared" / "eval"
SQUAD_JUDGED = 1000  # questions: every ranking of the judging asks each, so a fixed sample
SEED_SETS = (
    "dev_questions",
    "paraphrase_questions",
    "ontopic_unanswerable_questions",
    "unanswerable_questions",
)


@dataclass(frozen=True)
class Family:
    """A corpus, its index and its question files (`judged`: those it is judged on, all
    of them or a fixed sample); `source` says where they come from."""

    name: str
    source: str
    settings: Settings
    questions: tuple[Path, ...]
    judged: tuple[Path, ...]


@dataclass
class Asked:
    """One question of a family: its candidates, their ranking features, which answer it."""

    question: Question
    found: Candidates
    x: np.ndarray  # candidates × FEATURES
    right: np.ndarray  # bool per candidate; all False for an unanswerable question


def families(workdir: Path) -> list[Family]:
    """The three families, their corpora and indexes under `workdir`."""
    base = Settings.from_env()
    squad_corpus, squad_questions = squad_to_corpus(
        SHARED / "squad" / "squad-dev-half.json", workdir / "squad"
    )
    squad_sample = _sample(squad_questions, SQUAD_JUDGED)
    qasper_corpus, qasper = qasper_questions(SHARED / "qasper", workdir / "qasper")
    seed = tuple(DATA / f"{name}.jsonl" for name in SEED_SETS)
    return [
        Family(
            "seed",
            "corpus/ and tests/data/: " + ", ".join(SEED_SETS),
            base.with_overrides(corpus_dir=ROOT / "corpus", index_dir=workdir / "seed-index"),
            seed,
            seed,
        ),
        Family(
            "squad",
            "../shared/eval/squad/squad-dev-half.json",
            base.with_overrides(corpus_dir=squad_corpus, index_dir=workdir / "squad" / "index"),
            (squad_questions,),
            (squad_sample,),
        ),
        Family(
            "qasper",
            "../shared/eval/qasper/ (each paper asked alone)",
            base.with_overrides(corpus_dir=qasper_corpus, index_dir=workdir / "qasper" / "index"),
            (qasper,),
            (qasper,),
        ),
    ]


def _sample(questions: Path, size: int) -> Path:
    """A fixed random sample of `size` lines of `questions`, written beside it."""
    lines = questions.read_text(encoding="utf-8").splitlines(keepends=True)
    sample = questions.with_name(f"{questions.stem}-{size}.jsonl")
    sample.write_text("".join(random.Random(0).sample(lines, min(size, len(lines)))), "utf-8")
    return sample


def searcher_of(family: Family, scorers: Scorers | None = None) -> Searcher:
    """A Searcher over `family`'s index, built first (only what changed is embedded)."""
    build_index(family.settings, progress=False)
    return Searcher.open(family.settings, scorers=scorers)


def collect(family: Family, searcher: Searcher) -> list[Asked]:
    """Every question of `family` with its candidates (none is left out: a question whose
    answer is not among them is a miss for every ranking alike)."""
    asked = []
    for path in family.questions:
        for question in read_questions(path):
            documents = list(question.documents) if question.documents else None
            found = searcher.retriever.candidates(clean_question(question.question), 10, documents)
            if found is None:
                continue
            found = searcher.retriever.with_late_interaction(found, np.arange(len(found.rows)))
            chunks = [searcher.chunks[row] for row in found.rows]
            right = np.array(
                [bool(question.gold) and question.holds_answer(c.text, c.section) for c in chunks]
            )
            asked.append(Asked(question, found, features(found.evidence), right))
    return asked
