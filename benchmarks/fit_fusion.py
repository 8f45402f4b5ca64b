"""Fit the ranking's feature weights (`qa.ranking.WEIGHTS`) and report them out of sample.

    .venv/bin/python benchmarks/fit_fusion.py ../shared/eval/squad/squad-dev-half.json

Indexes the SQuAD file's articles (like `qa eval --squad`) and the seed corpus, collects
every question's candidate chunks and their evidence, and fits one weight per feature by
maximising the softmax probability of the right chunks among the candidates (a listwise
loss, with a little L2).  The training questions are those of every other SQuAD article
in name order (the text of one paragraph) and the seed development questions (whose
gold is a section: the only set here whose documents have many sections, so the one
that can weigh section evidence), each half of the total weight.  It prints the weights
of each variant of the README's ablation table, then the candidate-level Hit@1 and
MRR@10 on the SQuAD articles it did not see; `qa eval --ablation` judges them on the
other sets (and `benchmarks/fit_confidence.py` then fits the answer score).  Refit when
the model or the features change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from qa.chunking import Chunk
from qa.evaluate import Question, read_questions
from qa.index import build_index
from qa.ranking import FEATURES, features
from qa.search import Searcher, _clean_question
from qa.settings import Settings
from qa.squad import squad_to_corpus

ROOT = Path(__file__).resolve().parent.parent
# (document, features, which candidates are right)
Example = tuple[str, np.ndarray, np.ndarray]
VARIANTS = {
    "plain keywords": ("chunk cosine", "best-sentence cosine", "chunk BM25", "section BM25"),
    "keywords × coverage": FEATURES[:6],
    "+ section-title vectors (qa without token vectors)": FEATURES[:7],
    "+ late interaction (qa)": (*FEATURES[:7], "late interaction"),
}


def collect(settings: Settings, questions: Path) -> list[Example]:
    """One example per question whose right chunk is among its candidates."""
    build_index(settings, progress=False)
    searcher = Searcher.open(settings)
    examples = []
    for question in read_questions(questions):
        found = searcher.retriever.candidates(_clean_question(question.question))
        if found is None or not question.gold:
            continue
        chunks = [searcher.chunks[row] for row in found.rows]
        right = right_chunks(chunks, question)
        if right.any():
            doc = chunks[int(np.argmax(right))].doc
            examples.append((doc, features(found.evidence), right))
    return examples


def right_chunks(chunks: list[Chunk], question: Question) -> np.ndarray:
    """Which of `chunks` answer `question`: they hold its gold text, or are in a gold section."""
    return np.array([question.holds_answer(chunk.text, chunk.section) for chunk in chunks])


def fit(examples: list[Example], weights: list[float], l2: float = 1e-3) -> np.ndarray:
    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for (_, x, right), weight in zip(examples, weights, strict=True):
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            total -= weight * np.log(p[right].sum() + 1e-12)
            grad -= weight * (p * right / (p[right].sum() + 1e-12) - p) @ x
        n = sum(weights)
        return total / n + l2 * w @ w, grad / n + 2 * l2 * w

    start = np.zeros(examples[0][1].shape[1])
    return minimize(loss, start, jac=True, method="L-BFGS-B").x  # type: ignore[no-any-return]


def report(examples: list[Example], w: np.ndarray) -> str:
    ranks = []
    for _, x, right in examples:
        order = np.argsort(-(x @ w), kind="stable")
        ranks.append(int(np.flatnonzero(right[order])[0]) + 1)
    r = np.array(ranks)
    return f"Hit@1 {np.mean(r == 1):.3f}  MRR@10 {np.mean(np.where(r <= 10, 1 / r, 0)):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("squad", type=Path, help="a SQuAD-format JSON file")
    parser.add_argument("--workdir", type=Path, default=Path(".qa-eval/fit"))
    args = parser.parse_args()
    corpus, questions = squad_to_corpus(args.squad, args.workdir / "squad")
    base = Settings.from_env()
    squad = collect(
        base.with_overrides(corpus_dir=corpus, index_dir=args.workdir / "squad" / "index"),
        questions,
    )
    seed = collect(
        base.with_overrides(corpus_dir=ROOT / "corpus", index_dir=args.workdir / "seed-index"),
        ROOT / "tests" / "data" / "dev_questions.jsonl",
    )
    docs = sorted({e[0] for e in squad})
    seen = set(docs[::2])
    train = [e for e in squad if e[0] in seen]
    test = [e for e in squad if e[0] not in seen]
    weights = [1.0] * len(train) + [len(train) / len(seed)] * len(seed)
    print(f"fitting on {len(train)} SQuAD questions of {len(seen)} articles + {len(seed)} seed")
    for name, used in VARIANTS.items():
        columns = [FEATURES.index(f) for f in used]
        picked = [(d, x[:, columns], r) for d, x, r in train + seed]
        w = fit(picked, weights)
        full = np.zeros(len(FEATURES))
        full[columns] = w
        held = [(d, x[:, columns], r) for d, x, r in test]
        print(f"{name}: {tuple(round(float(v), 2) for v in full)}")
        print(
            f"    held out ({len(test)} questions of {len(docs) - len(seen)} articles): "
            f"{report(held, w)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
