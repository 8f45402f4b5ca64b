"""Turn a Qasper folder into a question file for `qa eval --qasper`: each paper asked alone.

The folder holds `corpus/<paper>.md` (one paper a file) and `questions.jsonl` (one reader's
question a line: `question`, `paper`, `answerable`, `evidence`).  Each question becomes a
JSON line that names its paper as the only document to search and its evidence paragraphs
as gold; an unanswerable one has no evidence:

    {"question": "Which dataset do they use?", "documents": ["1705.10272.md"],
     "evidence": ["We used the SemEval-2017 Task 6 data ..."]}

Not here: scoring (see `qa.eval.evaluate`, whose `shares_stretch` is Qasper's hit) or building
the index (see `qa.index.build`).
"""

from __future__ import annotations

import json
from pathlib import Path

from qa.errors import QAError
from qa.eval.evaluate import write_questions


def qasper_questions(folder: Path, out_dir: Path) -> tuple[Path, Path]:
    """The corpus folder of `folder` and a question file written to `out_dir`; QAError
    naming the fix when `folder` is not laid out as above."""
    corpus, source = folder / "corpus", folder / "questions.jsonl"
    if not corpus.is_dir() or not source.is_file():
        raise QAError(
            f"{folder}/ is not a Qasper folder: it needs corpus/<paper>.md and questions.jsonl"
        )
    papers = {path.stem: path.name for path in corpus.glob("*.md")}
    rows = []
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row["paper"] not in papers:
                raise QAError(
                    f"{source} line {number} asks paper {row['paper']!r}, not in {corpus}/"
                )
            evidence = [e for e in row["evidence"] if e.strip()] if row["answerable"] else []
            if row["answerable"] and not evidence:
                continue  # its evidence is a figure or a table only: nothing a passage can hold
            rows.append(
                {
                    "question": row["question"],
                    "documents": [papers[row["paper"]]],
                    "evidence": evidence,
                }
            )
    except OSError as error:
        raise QAError(f"Cannot read {source} ({error.strerror})") from error
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise QAError(
            f"{source} is not a Qasper question file ({error}): each line needs question, "
            "paper, answerable and evidence"
        ) from error
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        questions = out_dir / "questions.jsonl"
        write_questions(questions, rows)
    except OSError as error:
        raise QAError(
            f"Cannot write the Qasper questions to {out_dir}/ ({error.strerror}): "
            "pass --workdir with a folder you can write to"
        ) from error
    return corpus, questions
