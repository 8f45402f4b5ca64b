"""Fit a model's ranking and answer score on the development sets; judge each family held out.

    make fit          # .venv/bin/python benchmarks/fit.py [--workdir .qa-eval/fit]
    QA_MODEL=multilingual-e5-small make fit    # its indexes in .qa-eval/fit-multilingual-e5-small

The families are those of `benchmarks/families.py` (the seed essay, the SQuAD development
half, the Qasper development papers).  For each family the ranking weights (a listwise
softmax over each question's candidates, every family weighing the same) and then the
answer score (a logistic regression of the first passage answering or not, each family
and, within it, answered and unanswered weighing the same; its bias then set so that on
average over the families at most 8% of the answered questions fall below 0.5) are
fitted on the *other* families, and the family is judged with them: those
leave-one-family-out figures predict documents nobody has seen, and are the ones the
README quotes.  The numbers shipped are fitted on all three.  Everything is written to
`qa/rank/weights/<model>.json` (`qa.rank.fitted`), with the held-out figures and the numbers fitted
without each family, which the quality tests use so that they judge a family with numbers
that never saw it.
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
from families import Asked, Family, collect, families, searcher_of
from scipy.optimize import minimize

from qa.eval.evaluate import EvalReport, Gold, evaluate
from qa.rank.confidence import ANSWER_FEATURES, answer_numbers
from qa.rank.fitted import DEFAULTS_FILE, WEIGHTS_DIR, Fitted, Linear, Scorers, weights_file
from qa.rank.ranking import FEATURES, Baseline, Ranking, relevance
from qa.rank.search import Searcher, clean_question
from qa.settings import Settings

LATE = FEATURES.index("late interaction")
FLAGGED_ANSWERABLE = 0.08  # the share of each family's answered examples the fit may flag
VARIANTS = {  # the ablation table's rankings of single chunks by fewer features
    "fitted fusion, keywords × coverage": FEATURES[:4],
    "+ section-title and section vectors": FEATURES[:6],
    "+ late interaction": FEATURES[:7],
}


def fit_ranking(data: dict[str, list[Asked]], used: tuple[str, ...] = FEATURES) -> Linear:
    """Weights of `used` (0 for the other features) maximising the softmax probability of
    the right candidates, each family weighing the same, with a little L2."""
    columns = [FEATURES.index(name) for name in used]
    examples, weights = [], []
    for asked in data.values():
        answered = [(a.x[:, columns], a.right) for a in asked if a.right.any()]
        examples += answered
        weights += [1 / len(answered)] * len(answered)
    total = sum(weights)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = 0.0, np.zeros_like(w)
        for (x, right), weight in zip(examples, weights, strict=True):
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            held = p[right].sum() + 1e-12
            value -= weight * np.log(held)
            grad -= weight * (p * right / held - p) @ x
        return value / total + 1e-3 * w @ w, grad / total + 2e-3 * w

    found = minimize(loss, np.zeros(len(columns)), jac=True, method="L-BFGS-B").x
    full = np.zeros(len(FEATURES))
    full[columns] = found
    return Linear(FEATURES, tuple(round(float(v), 3) for v in full))


def first_answers(
    asked: list[Asked], searcher: Searcher, ranking: Ranking, tokens: bool
) -> Iterator[tuple[np.ndarray, bool]]:
    """(answer numbers, answered) of each question's first candidate by `ranking`; for a
    question whose answering text is known (SQuAD's answer, Qasper's evidence paragraphs),
    the best candidate holding it and the best without it (the question with its paragraph
    taken away: on topic, not answered)."""
    for a in asked:
        evidence = a.found.evidence
        if not tokens:
            evidence = replace(evidence, late_interaction=None, weakest_match=None)
        order = np.argsort(-relevance(evidence, ranking), kind="stable")
        picks = [(int(order[0]), bool(a.question.gold))]
        if a.question.kind is not Gold.SECTIONS and a.right.any() and not a.right.all():
            picks = [
                (int(next(i for i in order if a.right[i])), True),
                (int(next(i for i in order if not a.right[i])), False),
            ]
        question = clean_question(a.question.question)
        for i, answered in picks:
            pieces = searcher.retriever.piece_coverage(a.found, [i])
            missing = searcher.retriever.kind_missing(question, a.found, [i])
            at = np.array([i], dtype=np.intp)
            yield answer_numbers(evidence, pieces, missing, at)[0], answered


def fit_answer(
    examples: dict[str, list[tuple[np.ndarray, bool]]], names: tuple[str, ...]
) -> Linear:
    """Logistic regression; each family, and within it answered and not, weighing the same."""
    x = np.array([e[0] for rows in examples.values() for e in rows])
    y = np.array([e[1] for rows in examples.values() for e in rows], dtype=float)
    weight = np.concatenate(
        [
            np.where(ys, 0.5 / max(ys.sum(), 1), 0.5 / max((~ys).sum(), 1))
            for ys in (np.array([e[1] for e in rows]) for rows in examples.values())
        ]
    )
    weight *= len(x) / weight.sum()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p = 1 / (1 + np.exp(-(x @ theta[:-1] + theta[-1])))
        value = -np.sum(weight * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
        g = weight * (p - y)
        n = len(x)
        return (
            value / n + 1e-3 * theta[:-1] @ theta[:-1],
            np.append(x.T @ g, g.sum()) / n + np.append(2e-3 * theta[:-1], 0),
        )

    w = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x[:-1]
    w = np.round(w, 3)
    # The confidence line: the lowest bias that leaves at most FLAGGED_ANSWERABLE of the
    # families' answered examples below 0.5 on average (flag few answers; then as many
    # non-answers as the evidence tells apart).
    answered = [np.array([float(e[0] @ w) for e in rows if e[1]]) for rows in examples.values()]

    def flagged(bias: float) -> float:
        return float(np.mean([np.mean(logits + bias < 0) for logits in answered]))

    candidates = np.sort(-np.concatenate(answered))
    bias = next(b for b in candidates if flagged(b + 1e-9) <= FLAGGED_ANSWERABLE)
    return Linear(names, tuple(float(v) for v in w), math.ceil((bias + 1e-9) * 1000) / 1000)


def _padded(linear: Linear, width: int) -> Linear:
    """`linear` with a weight of 0 for each feature its examples lacked: a model without token
    vectors (multilingual-e5-small) has no weakest match, even where the scorer names it."""
    return replace(linear, weights=linear.weights + (0.0,) * (width - len(linear.weights)))


def fit_scorers(data: dict[str, list[Asked]], searchers: dict[str, Searcher]) -> Scorers:
    """Ranking and answer score fitted on the families of `data`."""
    ranking = fit_ranking(data)
    no_late = [w if i != LATE else 0.0 for i, w in enumerate(ranking.weights)]
    used = tuple(f for f in FEATURES if f != "late interaction")
    ranking_without = fit_ranking(data, used) if any(no_late) else ranking
    answers = {}
    for tokens, linear in ((True, ranking), (False, ranking_without)):
        order = Ranking(linear.weights, linear.weights)
        examples = {
            name: list(first_answers(asked, searchers[name], order, tokens))
            for name, asked in data.items()
        }
        names = ANSWER_FEATURES if tokens else ANSWER_FEATURES[:-1]
        answers[tokens] = _padded(fit_answer(examples, names), len(names))
    return Scorers(ranking, ranking_without, answers[True], answers[False])


def judge(family: Family, searcher: Searcher, scorers: Scorers) -> dict[str, EvalReport]:
    """qa and the three baselines on every question file of `family`, with `scorers`."""
    qa = Ranking.of(scorers)
    rankings = {"qa": qa} | {b.value: replace(qa, baseline=b, group=False) for b in Baseline}
    reports = {}
    for name, ranking in rankings.items():
        ranked = Searcher(
            searcher.index, embedder=searcher.embedder, ranking=ranking, scorers=scorers
        )
        for path in family.judged:
            reports[f"{name}|{path.stem}"] = evaluate(path, ranked, k=10)
    return reports


def figures(reports: dict[str, EvalReport], ranking: str) -> dict[str, float]:
    """One ranking's figures over all of a family's question files."""
    mine = [r for key, r in reports.items() if key.split("|")[0] == ranking]
    n = sum(r.answerable for r in mine) or 1
    out = {
        name: round(sum(getattr(r, name) * r.answerable for r in mine) / n, 3)
        for name in ("hit_at_1", "hit_at_3", "hit_at_5", "mrr_at_10")
    }
    out["answerable"] = float(sum(r.answerable for r in mine))
    out["answerable_flagged"] = float(sum(r.answerable_flagged for r in mine))
    out["unanswerable"] = float(sum(r.unanswerable for r in mine))
    out["unanswerable_flagged"] = float(sum(r.unanswerable_flagged for r in mine))
    return out


def cell(report: EvalReport) -> str:
    """Hit@1 / Hit@3 / Hit@5 / MRR@10 and the flags of one question file."""
    if not report.answerable:
        return f"{report.unanswerable_flagged}/{report.unanswerable} unanswerable flagged"
    figures = (report.hit_at_1, report.hit_at_3, report.hit_at_5, report.mrr_at_10)
    text = " / ".join(f"{v:.3f}" for v in figures)
    text += f", {report.answerable_flagged}/{report.answerable} answerable flagged"
    if report.unanswerable:
        text += f", {report.unanswerable_flagged}/{report.unanswerable} unanswerable flagged"
    return text


def describe(family: str, rows: dict[str, dict[str, float]]) -> str:
    lines = [f"{family} (held out of the fit): Hit@1 / Hit@3 / Hit@5 / MRR@10; flagged"]
    for name, f in rows.items():
        flags = f"answerable {f['answerable_flagged']:.0f}/{f['answerable']:.0f}"
        if f["unanswerable"]:
            flags += f", unanswerable {f['unanswerable_flagged']:.0f}/{f['unanswerable']:.0f}"
        cells = " / ".join(f"{f[k]:.3f}" for k in ("hit_at_1", "hit_at_3", "hit_at_5", "mrr_at_10"))
        lines.append(f"  {name:24s} {cells}   {flags}")
    return "\n".join(lines)


def default_numbers() -> Fitted:
    """The model-independent numbers for a model never fitted (`qa.rank.fitted.defaults`): every
    ranking feature but the lead section weighs 1; the answer score is the logistic of
    8 × the closest cosine − 4 (credible above a cosine of 0.5)."""
    equal = tuple(0.0 if name == "lead section" else 1.0 for name in FEATURES)
    no_tokens = tuple(
        0.0 if name == "late interaction" else w for name, w in zip(FEATURES, equal, strict=True)
    )
    closest = tuple(8.0 if name == "closest cosine" else 0.0 for name in ANSWER_FEATURES)
    scorers = Scorers(
        Linear(FEATURES, equal),
        Linear(FEATURES, no_tokens),
        Linear(ANSWER_FEATURES, closest, -4.0),
        Linear(ANSWER_FEATURES[:-1], closest[:-1], -4.0),
    )
    note = (default_numbers.__doc__ or "").split(":", 1)[1].split("\n\n")[0]
    return Fitted("(defaults)", scorers, {"nothing": " ".join(note.split())})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where the families' corpora and indexes go (.qa-eval/fit, or fit-<model> for a "
        "model chosen by QA_MODEL: each model keeps its indexes)",
    )
    args = parser.parse_args()
    defaults = default_numbers()  # written first: the searchers below start from them
    defaults.write(WEIGHTS_DIR / DEFAULTS_FILE)
    chosen = Settings.from_env()
    workdir = args.workdir or Path(
        ".qa-eval/fit" if not chosen.model_given else f".qa-eval/fit-{Path(chosen.model).name}"
    )
    declared = families(workdir)
    searchers = {f.name: searcher_of(f, defaults.scorers) for f in declared}
    model = searchers["seed"].index.manifest.model
    data = {f.name: collect(f, searchers[f.name]) for f in declared}
    print(", ".join(f"{name}: {len(asked)} questions" for name, asked in data.items()), flush=True)
    held_out, measured = {}, {}
    for family in declared:
        others = {name: asked for name, asked in data.items() if name != family.name}
        held_out[family.name] = fit_scorers(others, searchers)
        reports = judge(family, searchers[family.name], held_out[family.name])
        rows = {name: figures(reports, name) for name in ["qa", *(b.value for b in Baseline)]}
        measured[family.name] = rows["qa"]
        measured |= {f"{family.name}: {name}": f for name, f in rows.items() if name != "qa"}
        print(describe(family.name, rows), flush=True)
        if len(family.judged) > 1:  # qa on each question file of the family
            for key, report in reports.items():
                if key.startswith("qa|"):
                    print(f"    {key[3:]}: {cell(report)}", flush=True)
    fitted = Fitted(
        model=model,
        scorers=fit_scorers(data, searchers),
        fitted_on={f.name: f.source for f in declared},
        date=datetime.date.today().isoformat(),
        variants={name: fit_ranking(data, used) for name, used in VARIANTS.items()},
        held_out=held_out,
        figures=measured,
    )
    path = weights_file(model)
    fitted.write(path)
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
