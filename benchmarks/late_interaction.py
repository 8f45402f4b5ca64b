"""What late interaction would add to the ranking, and what it would cost: measured, not used.

    .venv/bin/python benchmarks/late_interaction.py ../shared/eval/squad/squad-dev-half.json

(about 15 minutes on two cores: the model reads every chunk and question once more.)

Late interaction (ColBERT's MaxSim) compares the question with a chunk word piece by word
piece instead of as two single vectors: for each word piece of the question (punctuation
left out), its best cosine with any token vector of the chunk, averaged.  Both sides are
the model's last-layer token vectors, the ones mean pooling averages into qa's vectors, so
a build already computes them; qa does not keep them.

This script adds that score, min-max scaled over a question's candidates, to the ranking
features and refits the weights the way `benchmarks/fit_fusion.py` does (every other
SQuAD article and the seed development questions), with and without it.  It prints the
candidate-level Hit@1 / MRR@10 of both on the SQuAD articles the fit did not see and on
the paraphrase and multi-document sets (a hit: the first candidate chunk is right), and
what keeping the token vectors would cost on disk.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fit_fusion import ROOT, VARIANTS, Example, fit, report, right_chunks

from qa.evaluate import read_questions
from qa.index import build_index
from qa.ranking import FEATURES, features, min_max
from qa.search import Searcher, _clean_question
from qa.settings import Settings
from qa.squad import squad_to_corpus

DATA = ROOT / "tests" / "data"
Tokens = Callable[[list[str]], list[np.ndarray]]


def token_model() -> Tokens:
    """Unit token vectors of texts (special tokens and punctuation left out), one matrix each."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    from qa.embedding import local_folder

    model = SentenceTransformer(str(local_folder("all-MiniLM-L6-v2")), device="cpu")
    vocabulary = model.tokenizer.get_vocab()
    punctuation = {i for piece, i in vocabulary.items() if not any(c.isalnum() for c in piece)}

    def tokens(texts: list[str]) -> list[np.ndarray]:
        found: Any = model.encode(texts, output_value="token_embeddings", batch_size=32)
        out = []
        for text, matrix in zip(texts, found, strict=True):
            ids = model.tokenizer(text, truncation=True, max_length=model.max_seq_length)
            vectors = matrix.float().numpy()
            keep = [
                i
                for i, piece in enumerate(ids["input_ids"][: len(vectors)])
                if piece not in punctuation and piece not in model.tokenizer.all_special_ids
            ]
            vectors = vectors[keep] if keep else vectors
            out.append(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
        return out

    return tokens


def collect(
    settings: Settings, questions: Path, tokens: Tokens
) -> tuple[list[Example], list[np.ndarray], tuple[int, int]]:
    """Examples as `fit_fusion.collect` makes them, each question's late-interaction scores
    of its candidates, and the number and size of the token vectors of the corpus's chunks."""
    build_index(settings, progress=False)
    searcher = Searcher.open(settings)
    chunk_tokens = [m.T.copy() for m in tokens([c.embed_text for c in searcher.chunks])]
    examples, late = [], []
    for question in read_questions(questions):
        found = searcher.retriever.candidates(_clean_question(question.question))
        if found is None or not question.gold:
            continue
        chunks = [searcher.chunks[row] for row in found.rows]
        right = right_chunks(chunks, question)
        if right.any():
            asked = tokens([question.question])[0]
            scores = [float((asked @ chunk_tokens[row]).max(axis=1).mean()) for row in found.rows]
            examples.append((chunks[int(np.argmax(right))].doc, features(found.evidence), right))
            late.append(min_max(np.array(scores, dtype=np.float32)))
    return examples, late, (sum(m.shape[1] for m in chunk_tokens), chunk_tokens[0].shape[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("squad", type=Path, help="a SQuAD-format JSON file")
    parser.add_argument("--workdir", type=Path, default=Path(".qa-eval/late"))
    args = parser.parse_args()
    tokens = token_model()
    base = Settings.from_env()
    corpus, questions = squad_to_corpus(args.squad, args.workdir / "squad")
    squad_index = args.workdir / "squad" / "index"
    sets = {
        "SQuAD": (base.with_overrides(corpus_dir=corpus, index_dir=squad_index), questions),
        "seed": (
            base.with_overrides(corpus_dir=ROOT / "corpus", index_dir=args.workdir / "seed"),
            DATA / "dev_questions.jsonl",
        ),
        "paraphrase": (
            base.with_overrides(corpus_dir=ROOT / "corpus", index_dir=args.workdir / "seed"),
            DATA / "paraphrase_questions.jsonl",
        ),
        "multi-document": (
            base.with_overrides(corpus_dir=DATA / "multidoc", index_dir=args.workdir / "md"),
            DATA / "multidoc_questions.jsonl",
        ),
    }
    found = {name: collect(settings, path, tokens) for name, (settings, path) in sets.items()}
    squad, squad_late, (token_count, dimension) = found["SQuAD"]
    docs = sorted({doc for doc, _, _ in squad})
    seen = set(docs[::2])

    def with_late(examples: list[Example], late: list[np.ndarray], used: bool) -> list[Example]:
        columns = [FEATURES.index(name) for name in VARIANTS["qa"]]
        return [
            (doc, np.column_stack([x[:, columns], s]) if used else x[:, columns], right)
            for (doc, x, right), s in zip(examples, late, strict=True)
        ]

    seed, seed_late, _ = found["seed"]
    split = [i for i, (doc, _, _) in enumerate(squad) if doc in seen]
    held = [i for i, (doc, _, _) in enumerate(squad) if doc not in seen]
    weights = [1.0] * len(split) + [len(split) / len(seed)] * len(seed)
    for used in (False, True):
        train = with_late([squad[i] for i in split], [squad_late[i] for i in split], used)
        w = fit(train + with_late(seed, seed_late, used), weights)
        label = "with late interaction" if used else "qa's features"
        print(f"{label}: weights {tuple(round(float(v), 2) for v in w)}")
        test = with_late([squad[i] for i in held], [squad_late[i] for i in held], used)
        print(f"    SQuAD, {len(held)} held-out questions: {report(test, w)}")
        for name in ("paraphrase", "multi-document"):
            examples, late, _ = found[name]
            scored = report(with_late(examples, late, used), w)
            print(f"    {name}, {len(examples)} questions: {scored}")
    chunk_vectors = sum(p.stat().st_size for p in squad_index.glob("build-*/embeddings.npy"))
    print(
        f"SQuAD half: {token_count:,} token vectors, {token_count * dimension * 2 / 1e6:.0f} MB "
        f"at float16, next to {chunk_vectors / 1e6:.1f} MB of chunk vectors"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
