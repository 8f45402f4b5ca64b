"""Turn a SQuAD-format file into a corpus folder and a question file, for `qa eval --squad`.

Each article becomes one Markdown document (`# Title`, then its paragraphs separated
by blank lines) and each question a JSON line whose gold is its paragraph's text, so
any passage containing the paragraph (or contained in it) counts as a hit:

    {"question": "Which NFL team won Super Bowl 50?", "gold_text": "Super Bowl 50 was ..."}

Not here: scoring (see `qa.eval.evaluate`) or building the index (see `qa.index.build`).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.eval.evaluate import write_questions


def read_squad(path: Path) -> list[dict[str, Any]]:
    """The articles of a SQuAD v1.1/v2.0 JSON file; QAError naming the fix when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        articles = data["data"]
        for article in articles:
            for paragraph in article["paragraphs"]:
                if not isinstance(paragraph["context"], str):
                    raise TypeError("a context is not text")
                for qa in paragraph["qas"]:
                    if not isinstance(qa["question"], str):
                        raise TypeError("a question is not text")
    except OSError as error:
        raise QAError(f"Cannot read {path} ({error.strerror}): pass a SQuAD JSON file") from error
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise QAError(
            f"{path} is not in SQuAD format ({error}): pass a file shaped like "
            '{"data": [{"title", "paragraphs": [{"context", "qas": [{"question"}]}]}]}'
        ) from error
    return list(articles)


def _file_name(title: str, taken: set[str]) -> str:
    stem = re.sub(r"[^\w.-]+", "_", title).strip("._") or "article"
    name, n = f"{stem}.md", 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.md"
    taken.add(name)
    return name


def squad_to_corpus(
    path: Path, out_dir: Path, *, sample: int | None = None, seed: int = 0
) -> tuple[Path, Path]:
    """Write `out_dir/corpus/*.md` and `out_dir/questions.jsonl`; return both paths.

    Unanswerable questions (SQuAD 2.0's `is_impossible`) are left out: their paragraph
    is not their answer.  `sample` keeps a fixed random sample of the questions.
    """
    articles = read_squad(path)
    corpus = out_dir / "corpus"
    try:
        corpus.mkdir(parents=True, exist_ok=True)
        written: set[str] = set()
        questions: list[dict[str, str]] = []
        for article in articles:
            title = " ".join(str(article.get("title", "")).replace("_", " ").split())
            name = _file_name(title, written)
            contexts = [" ".join(p["context"].split()) for p in article["paragraphs"]]
            text = f"# {title or name}\n\n" + "\n\n".join(contexts) + "\n"
            target = corpus / name
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
            for context, paragraph in zip(contexts, article["paragraphs"], strict=True):
                questions += [
                    {"question": q["question"].strip(), "gold_text": context}
                    for q in paragraph["qas"]
                    if not q.get("is_impossible") and q["question"].strip()
                ]
        for stale in set(p.name for p in corpus.glob("*.md")) - written:
            (corpus / stale).unlink()
        if sample is not None and sample < len(questions):
            questions = random.Random(seed).sample(questions, sample)
        question_file = out_dir / "questions.jsonl"
        write_questions(question_file, questions)
    except OSError as error:
        raise QAError(
            f"Cannot write the SQuAD corpus to {out_dir}/ ({error.strerror}): "
            "pass --workdir with a folder you can write to"
        ) from error
    return corpus, question_file
