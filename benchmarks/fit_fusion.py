"""Fit the ranking's feature weights (`qa.ranking.WEIGHTS`) on SQuAD articles, and check them.

    .venv/bin/python benchmarks/fit_fusion.py ../shared/eval/squad/squad-dev-half.json

Indexes the file's articles (like `qa eval --squad`), collects every question's candidate
chunks and their evidence, and fits one weight per feature by maximising the softmax
probability of the question's own paragraph among its candidates (a listwise loss, with a
little L2), on every other article in name order.  It prints the weights, then the
candidate-level Hit@1 / MRR@10 of the fitted weights on the articles it did not see,
so the figure that matters is out of sample.  Refit when the model or the features change.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from qa.index import build_index
from qa.ranking import FEATURES, features
from qa.search import Searcher, _clean_question
from qa.settings import Settings
from qa.squad import squad_to_corpus


def collect(searcher: Searcher, questions: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(document, features, is-gold) per question whose paragraph is among the candidates."""
    rows = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        question = json.loads(line)
        found = searcher.candidates(_clean_question(question["question"]))
        if found is None:
            continue
        gold = " ".join(question["gold_text"].split())
        texts = [" ".join(searcher.chunks[row].text.split()) for row in found.rows]
        hits = np.array([t in gold or gold in t for t in texts])
        if hits.any():
            doc = searcher.chunks[found.rows[int(np.argmax(hits))]].doc
            rows.append((doc, features(found.evidence), hits))
    return rows


def fit(data: list[tuple[str, np.ndarray, np.ndarray]], l2: float = 1e-3) -> np.ndarray:
    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for _, x, gold in data:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            total -= np.log(p[gold].sum() + 1e-12)
            grad -= (p * gold / (p[gold].sum() + 1e-12) - p) @ x
        return total / len(data) + l2 * w @ w, grad / len(data) + 2 * l2 * w

    return minimize(loss, np.zeros(data[0][1].shape[1]), jac=True, method="L-BFGS-B").x


def report(data: list[tuple[str, np.ndarray, np.ndarray]], w: np.ndarray) -> str:
    ranks = []
    for _, x, gold in data:
        order = np.argsort(-(x @ w), kind="stable")
        ranks.append(int(np.flatnonzero(gold[order])[0]) + 1)
    r = np.array(ranks)
    return f"Hit@1 {np.mean(r == 1):.3f}  MRR@10 {np.mean(np.where(r <= 10, 1 / r, 0)):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("squad", type=Path, help="a SQuAD-format JSON file")
    parser.add_argument("--workdir", type=Path, default=Path(".qa-eval/fit"))
    parser.add_argument(
        "--features", default="0,1,2,3,4,5", help="indices into qa.ranking.FEATURES to fit"
    )
    args = parser.parse_args()
    corpus, questions = squad_to_corpus(args.squad, args.workdir)
    settings = Settings.from_env().with_overrides(
        corpus_dir=corpus, index_dir=args.workdir / "index"
    )
    build_index(corpus, settings.index_dir, settings=settings, progress=False)
    data = collect(Searcher(settings.index_dir, settings=settings), questions)
    chosen = [int(i) for i in args.features.split(",")]
    data = [(doc, x[:, chosen], gold) for doc, x, gold in data]
    docs = sorted({doc for doc, _, _ in data})
    seen = set(docs[::2])
    train = [d for d in data if d[0] in seen]
    test = [d for d in data if d[0] not in seen]
    w = fit(train)
    weights = np.zeros(len(FEATURES))
    weights[chosen] = w
    for name, value in zip(FEATURES, weights, strict=True):
        print(f"{value:6.2f}  {name}")
    print(f"WEIGHTS = {tuple(round(float(v), 2) for v in weights)}")
    print(f"fitted on {len(train)} questions of {len(seen)} articles: {report(train, w)}")
    print(f"held out: {len(test)} questions of {len(docs) - len(seen)} articles: {report(test, w)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
