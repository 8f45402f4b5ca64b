"""Corpora and vectors for the benchmark, made here so that it needs no download.

`markov_corpus` writes documents of unique English-like paragraphs: an order-2
word chain trained on the seed document, so token lengths and vocabulary look
like the real thing and no two paragraphs (or sentences) repeat, which would
let the embedding cache skip work.  `synthetic_vectors` draws unit vectors
with a low-dimensional structure like sentence embeddings: a query's nearest
neighbour has cosine ~0.75 and a random pair ~0, not the uniform noise on
which no index can beat exact search.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "peacekeeping-partnerships.txt"


def _chain(text: str) -> dict[tuple[str, str], list[str]]:
    words = text.split()
    chain: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a, b, c in zip(words, words[1:], words[2:], strict=False):
        chain[(a, b)].append(c)
    return chain


def _sentence(chain: dict[tuple[str, str], list[str]], starts: list[tuple[str, str]],
              rng: random.Random) -> str:  # fmt: skip
    a, b = rng.choice(starts)
    words = [a, b]
    limit = rng.randint(12, 34)
    while len(words) < limit or not words[-1].endswith("."):
        followers = chain.get((a, b))
        if not followers or len(words) > 60:
            break
        a, b = b, rng.choice(followers)
        words.append(b)
    sentence = " ".join(words).rstrip(",;:")
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if sentence.endswith(".") else sentence + "."


def markov_corpus(
    folder: Path, documents: int, sections: int, paragraphs: int, seed: int = 0
) -> int:
    """Write `documents` .md files of `sections` × `paragraphs`; return the paragraph count."""
    text = SEED.read_text(encoding="utf-8")
    chain = _chain(text)
    starts = [key for key in chain if key[0][:1].isupper() and key[0].isalpha()]
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for d in range(documents):
        lines = [f"# Field report {d + 1}", ""]
        for s in range(sections):
            lines += [f"## Topic {d + 1}.{s + 1}: {rng.choice(starts)[0]} and partners", ""]
            for _ in range(paragraphs):
                count = rng.randint(3, 6)
                lines += [" ".join(_sentence(chain, starts, rng) for _ in range(count)), ""]
        (folder / f"report-{d + 1:03d}.md").write_text("\n".join(lines), encoding="utf-8")
    return documents * sections * paragraphs


def markov_text(path: Path, megabytes: float, seed: int = 0) -> None:
    """Write `megabytes` MB of unique English-like text to `path`: sections of eight
    paragraphs under a heading each, as `markov_corpus` writes them."""
    chain = _chain(SEED.read_text(encoding="utf-8"))
    starts = [key for key in chain if key[0][:1].isupper() and key[0].isalpha()]
    rng, size, section = random.Random(seed), int(megabytes * 1024 * 1024), 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        while out.tell() < size:
            section += 1
            lines = [f"## Topic {section}: {rng.choice(starts)[0]} and partners", ""]
            for _ in range(8):
                count = rng.randint(3, 6)
                lines += [" ".join(_sentence(chain, starts, rng) for _ in range(count)), ""]
            out.write("\n".join(lines) + "\n")


def split_text(path: Path, folder: Path, files: int) -> None:
    """The text of `path` cut into `files` files of about equal size in `folder`, each
    cut at a line break or a space: the same text, as many documents."""
    text = path.read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    start = 0
    for number in range(files):
        end = len(text) if number == files - 1 else len(text) * (number + 1) // files
        while 0 < end < len(text) and not text[end - 1].isspace():
            end += 1
        (folder / f"part-{number + 1:04d}.md").write_text(text[start:end], encoding="utf-8")
        start = max(start, end)


def edit_one_section(folder: Path) -> None:
    """Rewrite the first paragraph of the second section of the first document."""
    path = sorted(folder.glob("*.md"))[0]
    lines = path.read_text(encoding="utf-8").splitlines()
    headings = [i for i, line in enumerate(lines) if line.startswith("## ")]
    target = headings[1] + 2
    lines[target] = "An edited paragraph about logistics and rotation schedules. " + lines[target]
    path.write_text("\n".join(lines), encoding="utf-8")


def synthetic_vectors(count: int, queries: int, dimension: int = 384, seed: int = 0
                      ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(`count` index rows, `queries` held-out rows), float32 and unit length."""
    rng = np.random.default_rng(seed)
    latent = 48
    basis = rng.standard_normal((latent, dimension), dtype=np.float32) / np.sqrt(latent)
    centers = rng.standard_normal((max(8, count // 2000), latent), dtype=np.float32)

    def draw(rows: int) -> np.ndarray:
        out = np.empty((rows, dimension), dtype=np.float32)
        for start in range(0, rows, 100_000):  # in slices: 1M rows at once would need 3 GB
            n = min(100_000, rows - start)
            z = centers[rng.integers(0, len(centers), n)]
            z += rng.standard_normal((n, latent), dtype=np.float32)
            x = z @ basis
            x += (0.35 / np.sqrt(dimension)) * rng.standard_normal((n, dimension), dtype=np.float32)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            out[start : start + n] = x
        return out

    return draw(count), draw(queries)


def tiled_index(index: Any, copies: int, seed: int = 0) -> Any:
    """`index` (a LoadedIndex) repeated `copies` times as distinct documents, its vectors
    nudged apart, for timing queries at a corpus size too large to build for a benchmark."""
    from dataclasses import replace

    from qa.index.ann import make_vector_index
    from qa.rank.late import TokenVectors

    rng = np.random.default_rng(seed)

    def tile(matrix: Any) -> Any:
        out = np.tile(np.asarray(matrix), (copies, 1))
        out += rng.normal(0, 0.02, out.shape).astype(np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out.astype(np.float32)

    chunks = [replace(c, doc=f"{i}-{c.doc}") for i in range(copies) for c in index.chunks]
    sections = [replace(s, doc=f"{i}-{s.doc}") for i in range(copies) for s in index.sections]
    embeddings = tile(index.embeddings)
    offsets = np.cumsum([0] + [len(c.sentences) for c in chunks], dtype=np.int64)
    vectors, _ = make_vector_index(embeddings)
    tokens = index.tokens
    if tokens is not None:  # as large as the index's own would be: about 20 kB a chunk
        per_chunk = [tokens.chunk(row) for row in range(len(index.chunks))]
        tokens = TokenVectors.of(per_chunk * copies, tokens.basis)
    return replace(
        index,
        tokens=tokens,
        chunks=chunks,
        sections=sections,
        embeddings=embeddings,
        sentence_vectors=tile(index.sentence_vectors),
        title_vectors=tile(index.title_vectors),
        vectors=vectors,
        sentence_offsets=offsets,
    )
