"""`qa eval`: measure retrieval on question files, or on a SQuAD file or Qasper folder made
into a corpus and indexed first; with `--ablation`, every ranking variant side by side.

It prints what `qa.eval` measures (a report per file, a Markdown table, or JSON); the
scoring and the conversions of SQuAD and Qasper are `qa.eval`'s, not this module's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.cli.parser import settings_from
from qa.errors import QAError

if TYPE_CHECKING:
    from qa.index.owner import Index


def run(args: argparse.Namespace) -> None:
    """Score each question file with each ranking variant; print a report, a table or JSON."""
    from qa.eval.evaluate import ablation_rankings, evaluate
    from qa.index.owner import Index
    from qa.rank.ranking import Ranking
    from qa.rank.search import Searcher

    if args.squad:
        index = _squad(args)
    elif args.qasper:
        index = _qasper(args)
    else:
        index = Index.open(settings_from(args))
    if not args.questions:
        raise QAError("Name a question file (JSON lines), or pass --squad FILE or --qasper DIR")
    variants: list[tuple[str, Ranking | None]] = [("qa", None)]
    if args.ablation:
        variants = list(ablation_rankings(index.settings.model))
    results: dict[str, dict[str, object]] = {}
    for name, ranking in variants:
        searcher = index.searcher() if ranking is None else Searcher(index.load(), ranking=ranking)
        results[name] = {str(p): evaluate(p, searcher, args.k) for p in args.questions}
    if args.json:
        payload = {n: {p: r.to_dict() for p, r in rs.items()} for n, rs in results.items()}  # type: ignore[attr-defined]
        print(json.dumps(payload if args.ablation else payload["qa"], indent=2))
    elif args.ablation:
        print(_ablation_table(results))
    else:
        for path, report in results["qa"].items():
            print(f"{path}\n{report.describe()}\n")  # type: ignore[attr-defined]


def _squad(args: argparse.Namespace) -> Index:
    """The index made of `args.squad`, built now; its questions join the list."""
    from qa.eval.squad import squad_to_corpus

    if args.sample is not None and args.sample < 1:
        raise QAError(f"--sample must be at least 1, not {args.sample}")
    workdir = args.workdir or Path(".qa-eval") / args.squad.stem
    corpus, questions = squad_to_corpus(args.squad, workdir, sample=args.sample)
    return _indexed(args, corpus, questions, workdir)


def _qasper(args: argparse.Namespace) -> Index:
    """An index of `args.qasper`'s papers, built now; its questions join the list."""
    from qa.eval.qasper import qasper_questions

    workdir = args.workdir or Path(".qa-eval") / args.qasper.resolve().name
    corpus, questions = qasper_questions(args.qasper, workdir)
    return _indexed(args, corpus, questions, workdir)


def _indexed(args: argparse.Namespace, corpus: Path, questions: Path, workdir: Path) -> Index:
    """`corpus` indexed in `workdir/index`, built now; `questions` join the list."""
    from qa.index.owner import Index

    settings = settings_from(args).with_overrides(corpus_dir=corpus, index_dir=workdir / "index")
    print(f"qa: indexing {corpus}/ (only what changed is embedded)…", file=sys.stderr, flush=True)
    index = Index.open(settings)
    index.build(progress=True)
    args.questions = [*args.questions, questions]
    return index


def _ablation_table(results: dict[str, dict[str, object]]) -> str:
    files = list(next(iter(results.values())))
    header = "| ranking | " + " | ".join(Path(f).stem for f in files)
    lines = [header + " |", "|---" * (len(files) + 1) + "|"]
    for name, reports in results.items():
        cells = [_cell(report) for report in reports.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(report: Any) -> str:
    if not report.answerable:
        return f"{report.unanswerable_flagged}/{report.unanswerable} flagged"
    cell = " / ".join(
        f"{value:.3f}"
        for value in (report.hit_at_1, report.hit_at_3, report.hit_at_5, report.mrr_at_10)
    )
    cell += f" ({report.answerable_flagged} wrongly flagged)" if report.answerable_flagged else ""
    if report.unanswerable:
        cell += f"; {report.unanswerable_flagged}/{report.unanswerable} unanswerable flagged"
    return cell
