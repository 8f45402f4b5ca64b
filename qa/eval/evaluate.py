"""Measure retrieval against a question set: Hit@1, Hit@3, MRR@10, nDCG@10 and confidence.

A question file holds one JSON object a line, its gold section titles, a text, or
evidence paragraphs, and optionally the documents to search (the others are left out):

    {"question": "How do peacekeepers keep people safe?", "gold": ["Protection of Civilians"]}
    {"question": "Which NFL team won Super Bowl 50?", "gold_text": "Super Bowl 50 was ..."}
    {"question": "Which data?", "documents": ["paper.md"], "evidence": ["We use ...", "..."]}

A passage is a hit when its section title is in `gold`; when it contains `gold_text` or
is contained in it (spacing aside); or when it shares a 50-character stretch with one of
the `evidence` paragraphs and is at most 2,500 characters long (Qasper's rule).  An empty
`gold` (or `evidence`) marks a question the corpus does not answer, which should come
back with no confident passage.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import QAError

SHOWN_MISSES = 20  # a SQuAD-sized set has hundreds; --json lists them all
STRETCH = 50  # characters an evidence hit shares with its paragraph (Qasper's rule)
LONGEST_HIT = 2500  # characters: a longer passage never counts as an evidence hit

if TYPE_CHECKING:
    from qa.rank.passage import Passage
    from qa.rank.ranking import Ranking
    from qa.rank.search import Searcher


class Gold(Enum):
    """What a question's gold is, and so what makes a passage a hit."""

    SECTIONS = "gold"  # section titles: a passage of one of them
    TEXT = "gold_text"  # one text: a passage inside it or holding it
    EVIDENCE = "evidence"  # paragraphs: a passage sharing a stretch with one


@dataclass(frozen=True)
class Question:
    question: str
    gold: tuple[str, ...]
    kind: Gold = Gold.SECTIONS
    documents: tuple[str, ...] | None = None  # the documents to search; None: all

    def holds_answer(self, text: str, section: str) -> bool:
        """Whether a passage (or chunk) of `text` in `section` answers the question."""
        if self.kind is Gold.SECTIONS:
            return section in self.gold
        if self.kind is Gold.TEXT:
            return same_text_span(text, self.gold[0])
        return any(shares_stretch(text, evidence) for evidence in self.gold)

    def is_hit(self, passage: Passage) -> bool:
        return self.holds_answer(passage.text, passage.section)


def same_text_span(text: str, gold: str) -> bool:
    """True when `text` contains `gold` or lies inside it, spacing aside (a text-gold hit).

    >>> same_text_span("Oolong is  rolled.", "Tea. Oolong is rolled. Then dried.")
    True
    """
    text, gold = " ".join(text.split()), " ".join(gold.split())
    return gold in text or text in gold


def shares_stretch(text: str, evidence: str, stretch: int = STRETCH) -> bool:
    """True when `text` (at most `LONGEST_HIT` characters) and `evidence` share `stretch`
    characters, spacing aside (all of `evidence` when it is shorter).

    >>> shares_stretch("We train on  news text.", "Models: we train on news text.", 15)
    True
    >>> shares_stretch("We test on tweets.", "Models: we train on news text.", 15)
    False
    """
    text, evidence = " ".join(text.split()), " ".join(evidence.split())
    if len(text) > LONGEST_HIT or not evidence:
        return False
    size = min(stretch, len(evidence))
    if len(text) < size:
        return False
    pieces = {text[i : i + size] for i in range(len(text) - size + 1)}
    return any(evidence[i : i + size] in pieces for i in range(len(evidence) - size + 1))


@dataclass(frozen=True)
class Miss:
    """An answerable question whose first passage was not a hit (or was flagged)."""

    question: str
    gold: tuple[str, ...]
    first: str
    rank: int | None  # rank of the first hit within k, if any
    flagged: bool


@dataclass(frozen=True)
class EvalReport:
    answerable: int
    unanswerable: int
    hit_at_1: float
    hit_at_3: float
    hit_at_5: float
    mrr_at_10: float
    ndcg_at_10: float
    unanswerable_flagged: int
    answerable_flagged: int
    misses: tuple[Miss, ...]

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["misses"] = [m.__dict__ | {"gold": list(m.gold)} for m in self.misses]
        return data

    def describe(self) -> str:
        lines = [
            f"answerable questions: {self.answerable}",
            f"  Hit@1 {self.hit_at_1:.3f}   Hit@3 {self.hit_at_3:.3f}   "
            f"Hit@5 {self.hit_at_5:.3f}   MRR@10 {self.mrr_at_10:.3f}   "
            f"nDCG@10 {self.ndcg_at_10:.3f}",
            f"  wrongly flagged not confident: {self.answerable_flagged}",
            f"unanswerable questions: {self.unanswerable}, "
            f"flagged not confident: {self.unanswerable_flagged}",
        ]
        if self.misses:
            lines.append("misses:")
        for miss in self.misses[:SHOWN_MISSES]:
            where = f"first hit at rank {miss.rank}" if miss.rank else "no hit in the list"
            flag = ", flagged not confident" if miss.flagged else ""
            wanted = " | ".join(miss.gold)
            wanted = wanted if len(wanted) <= 80 else wanted[:77] + "…"
            lines.append(
                f"  {miss.question!r}: got {miss.first!r} ({where}{flag}); wanted {wanted}"
            )
        if len(self.misses) > SHOWN_MISSES:
            lines.append(f"  … and {len(self.misses) - SHOWN_MISSES} more (--json lists them all)")
        return "\n".join(lines)


def read_questions(path: Path | str) -> list[Question]:
    """Questions from a JSON-lines file; QAError naming the line when one is malformed."""
    questions = []
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise QAError(f"Cannot read {path} ({error.strerror}): pass a JSON-lines file") from error
    except UnicodeDecodeError as error:
        raise QAError(
            f"{path} is not UTF-8 text (byte {error.start}): save it as UTF-8 JSON lines"
        ) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(_question(json.loads(line)))
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise QAError(
                f"{path} line {number} is not a question object ({error}): write "
                '{"question": "...", "gold": ["Section title"]}, '
                '{"question": "...", "gold_text": "..."} or '
                '{"question": "...", "evidence": ["..."], "documents": ["file.md"]}'
            ) from error
    if not questions:
        raise QAError(f"{path} holds no questions: add JSON lines with question and gold")
    return questions


def write_questions(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write question objects as JSON lines, as `read_questions` reads them (OSError as is:
    the caller knows which fix to name)."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def _question(row: dict[str, Any]) -> Question:
    """One line of a question file as a Question; TypeError when it is not one."""
    question, documents = row["question"], row.get("documents")
    if not isinstance(question, str):
        raise TypeError("question must be text")
    if documents is not None and (
        not isinstance(documents, list) or not all(isinstance(d, str) for d in documents)
    ):
        raise TypeError("documents must be a list of document names")
    within = tuple(documents) if documents else None
    if isinstance(row.get("gold_text"), str) and row["gold_text"].strip():
        return Question(question, (row["gold_text"],), Gold.TEXT, within)
    if "evidence" in row:
        evidence = row["evidence"]
        if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
            raise TypeError("evidence must be a list of paragraphs")
        return Question(question, tuple(e for e in evidence if e.strip()), Gold.EVIDENCE, within)
    gold = row.get("gold", [])
    if not isinstance(gold, list):
        raise TypeError("gold must be a list of section titles")
    return Question(question, tuple(str(g) for g in gold), Gold.SECTIONS, within)


def evaluate(
    path: Path | str,
    searcher: Searcher | Callable[..., Sequence[Passage]],
    k: int = 10,
) -> EvalReport:
    """Run every question of `path` through `searcher` and score the rankings.  A question
    that names its documents is asked of them only (`documents=` of `Searcher.search`)."""
    ask = searcher.search if hasattr(searcher, "search") else searcher

    def run(q: Question) -> Sequence[Passage]:
        if q.documents is None:
            return ask(q.question, k)
        return ask(q.question, k, documents=list(q.documents))

    questions = read_questions(path)
    hits1 = hits3 = hits5 = 0
    mrr = ndcg = 0.0
    flagged_yes = flagged_no = 0
    misses = []
    answerable = [q for q in questions if q.gold]
    for q in questions:
        passages = list(run(q))
        confident = any(p.confident for p in passages)
        if not q.gold:
            flagged_yes += not confident
            continue
        flagged_no += not confident
        relevant = [q.is_hit(p) for p in passages[:k]]
        rank = relevant.index(True) + 1 if True in relevant else None
        hits1 += rank == 1
        hits3 += rank is not None and rank <= 3
        hits5 += rank is not None and rank <= 5
        mrr += 1 / rank if rank else 0.0
        dcg = sum(1 / math.log2(i + 2) for i, hit in enumerate(relevant) if hit)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(k, sum(relevant) or 1)))
        ndcg += dcg / ideal if ideal else 0.0
        if rank != 1 or not confident:
            first = passages[0].section if passages else "(nothing)"
            misses.append(Miss(q.question, q.gold, first, rank, not confident))
    n = max(1, len(answerable))
    return EvalReport(
        answerable=len(answerable),
        unanswerable=len(questions) - len(answerable),
        hit_at_1=hits1 / n,
        hit_at_3=hits3 / n,
        hit_at_5=hits5 / n,
        mrr_at_10=mrr / n,
        ndcg_at_10=ndcg / n,
        unanswerable_flagged=flagged_yes,
        answerable_flagged=flagged_no,
        misses=tuple(misses),
    )


def ablation_rankings(model: str) -> list[tuple[str, Ranking]]:
    """The ranking variants of the README's ablation table for `model`: the baselines, then
    qa's parts (the variants by fewer features are fitted with qa's, `qa.rank.fitted`)."""
    from dataclasses import replace

    from qa.rank.fitted import Linear, fitted_for
    from qa.rank.ranking import FEATURES, Baseline, Ranking

    fitted = fitted_for(model)
    qa = Ranking.of(fitted.scorers)

    def chunks_by(linear: Linear) -> Ranking:
        """Single chunks ranked by `linear`, with or without the index's token vectors."""
        weights = linear.of(FEATURES)
        return Ranking(weights, weights, group=False)

    rows = [(b.value, replace(qa, baseline=b, group=False)) for b in Baseline]
    rows += [(name, chunks_by(linear)) for name, linear in fitted.variants.items()]
    return [
        *rows,
        ("+ lead section (qa, single chunks)", replace(qa, group=False)),
        ("+ passages, one per section first", replace(qa, section_penalty=1e6)),
        ("+ passages, a penalty per passage of a section (qa)", qa),
    ]
