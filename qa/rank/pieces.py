"""How much of a question's content a text holds in similar words: the model's own word pieces.

`PieceCoverage.covered(question, texts)` gives, for each text, the mean over the
question's content word pieces (those of words that are not function words) of the
best cosine between that piece and any piece of the text, with the vectors the model
reads its input with (its word-piece embedding matrix, no forward pass).  A piece the
text holds counts 1; a near word ("safe" for "security", "troops" for "soldiers") counts
nearly as much; a word unlike any of the text ("drones", "reimburse") counts little.
Questions in other words than the text still find their content there; questions about
something the text does not say do not.

Without the model's files (a model qa cannot read them from) only the pieces themselves
count: 1 when the text holds one, 0 otherwise.  Without even its tokenizer, the words do.

Not here: what the coverage weighs in the answer score (see `qa.rank.confidence.answer_scores`).
"""

from __future__ import annotations

import functools
import json
import re
import struct
import threading
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.rank.late import unit_rows
from qa.rank.lexical import content_terms
from qa.text.language import ENGLISH

Ids = npt.NDArray[np.int32]
Vectors = npt.NDArray[np.float32]
_WORD = re.compile(r"\w\w")  # a content word has two word characters, as in `qa.rank.lexical`


class PieceCoverage:
    """A model's word pieces and their input vectors (unit rows), from its folder."""

    def __init__(self, tokenizer: Any | None, vectors: npt.NDArray[Any] | None) -> None:
        self._tokenizer = tokenizer
        self._vectors = vectors  # mapped from the weights file: a question reads its rows only
        self._words: dict[str, int] = {}  # without a tokenizer: each word's own number
        self._token_pieces: dict[str, tuple[int, ...]] = {}
        self._lock = threading.Lock()

    @classmethod
    def of_model(cls, folder: Path | None) -> PieceCoverage:
        """The coverage of the model in `folder` (None: a model without local files)."""
        if folder is None:
            return cls(None, None)
        return _of_folder(folder.resolve())

    def question_pieces(self, question: str, language: str = ENGLISH) -> Ids:
        """The pieces of the question's content words (function words of its `language` left
        out): "Which troops?" → the pieces of "troops"."""
        return self._content_pieces([question], [language])[0]

    def text_pieces(
        self, texts: Sequence[str], languages: Sequence[str] | None = None
    ) -> list[Ids]:
        """The distinct pieces of each text (all of them: a question's piece finds its best
        match among them, and a function word's is never much like a content word's).

        Each whitespace-separated token is tokenized once and remembered: the tokenizer
        splits at whitespace first, so the pieces are those of the whole text, and a
        corpus repeats its words, so a new chunk costs lookups (~0.1 ms, not ~0.3 ms).
        """
        if self._tokenizer is None:
            return [np.unique(ids) for ids in self._content_pieces(texts, languages)]
        known = self._token_pieces
        split = [text.split() for text in texts]
        new = list({token for tokens in split for token in tokens if token not in known})
        if new:
            encodings = self._encode(new)
            known.update((t, tuple(e.ids)) for t, e in zip(new, encodings, strict=True))
        return [
            np.unique(np.fromiter(chain.from_iterable(known[t] for t in tokens), dtype=np.int32))
            for tokens in split
        ]

    def _content_pieces(
        self, texts: Sequence[str], languages: Sequence[str] | None = None
    ) -> list[Ids]:
        languages = languages or [ENGLISH] * len(texts)
        if self._tokenizer is None:
            return [
                self._numbers(content_terms(text, lang))
                for text, lang in zip(texts, languages, strict=True)
            ]
        found = []
        for encoding, lang in zip(self._encode(texts), languages, strict=True):
            words: dict[int | None, str] = {}
            for token, word in zip(encoding.tokens, encoding.word_ids, strict=True):
                words[word] = words.get(word, "") + token.removeprefix("##")
            content = {word for word, text in words.items() if _is_content(text, lang)}
            pairs = zip(encoding.ids, encoding.word_ids, strict=True)
            found.append(np.array([i for i, word in pairs if word in content], dtype=np.int32))
        return found

    def covered(self, question: Ids, texts: Sequence[Ids]) -> npt.NDArray[np.float32]:
        """Per text (its distinct pieces), the mean over `question`'s pieces of the best
        cosine with one of the text's pieces; 0 for an empty text or question.

        >>> exact = PieceCoverage(None, None)
        >>> q = exact.question_pieces("Which troops patrol cities?")
        >>> texts = exact.text_pieces(["Troops patrol.", "Rivers"])
        >>> [round(float(v), 2) for v in exact.covered(q, texts)]
        [0.67, 0.0]
        """
        scores = np.zeros(len(texts), dtype=np.float32)
        lengths = np.array([len(t) for t in texts], dtype=np.int64)
        if len(question) == 0 or not lengths.any():
            return scores
        full = lengths > 0
        pieces = np.concatenate([t for t in texts if len(t)])
        if self._vectors is None:
            similar = (question[:, None] == pieces[None, :]).astype(np.float32)
        else:
            present, inverse = np.unique(pieces, return_inverse=True)
            asked, found = self._unit_rows(question), self._unit_rows(present)
            # einsum, not BLAS: BLAS's worker threads, once woken, spin on the two cores
            # the model runs on next (a question took 25 ms instead of 14 at 1,000 chunks).
            similar = np.einsum("ij,kj->ik", asked, found)[:, inverse]
        starts = np.cumsum(lengths[full]) - lengths[full]
        scores[full] = np.maximum.reduceat(similar, starts, axis=1).mean(axis=0)
        return np.clip(scores, 0, 1)

    def _unit_rows(self, ids: Ids) -> Vectors:
        vectors: Any = self._vectors  # the caller has checked that there are some
        return unit_rows(np.asarray(vectors[ids], dtype=np.float32))

    def _encode(self, texts: Sequence[str]) -> list[Any]:
        """The tokenizer's encodings, one text at a time: `encode_batch` wakes a pool of
        threads that then spin on the cores the model runs on next."""
        tokenizer: Any = self._tokenizer  # the callers have checked that there is one
        return [tokenizer.encode(text, add_special_tokens=False) for text in texts]

    def _numbers(self, words: list[str]) -> Ids:
        with self._lock:
            return np.array(
                [self._words.setdefault(w, len(self._words)) for w in words], dtype=np.int32
            )


def _is_content(word: str, language: str) -> bool:
    return bool(_WORD.search(word)) and bool(content_terms(word, language))


@functools.lru_cache(maxsize=4)
def _of_folder(folder: Path) -> PieceCoverage:
    """Shared by every Searcher over the same model."""
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.exists():
        return PieceCoverage(None, None)
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return PieceCoverage(tokenizer, _input_vectors(folder))


_DTYPES = {"F32": "<f4", "F16": "<f2"}


def _input_vectors(folder: Path) -> npt.NDArray[Any] | None:
    """The word-piece embedding matrix of the model's weights, mapped from its
    `model.safetensors` file (8 bytes of header length, a JSON header, the raw tensors);
    None without such a file or such a tensor.  Reading the whole file took 0.7 s at
    start-up; qa never unpickles weights, so a `.bin` file is not read either."""
    weights = folder / "model.safetensors"
    try:
        with weights.open("rb") as file:
            size = struct.unpack("<Q", file.read(8))[0]
            header = json.loads(file.read(size))
    except (OSError, ValueError, struct.error):
        return None
    names = [n for n in header if n.endswith("word_embeddings.weight")]
    if len(names) != 1 or header[names[0]].get("dtype") not in _DTYPES:
        return None
    tensor = header[names[0]]
    start, _ = tensor["data_offsets"]
    return np.memmap(
        weights,
        dtype=_DTYPES[tensor["dtype"]],
        mode="r",
        offset=8 + size + start,
        shape=tuple(tensor["shape"]),
    )
