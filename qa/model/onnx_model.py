"""Run a sentence-transformers model with ONNX Runtime: encode fast, without torch.

The model is the fused export `qa.model.onnx_export` makes once and caches; a process
needs only `onnxruntime`, `tokenizers` and numpy.  Vectors are the
sentence-transformers ones (cosine > 0.999): the same tokenizer, truncation at the
model's `max_seq_length`, pooling from its `1_Pooling/config.json`, then unit length.

`precision="int8"` runs an int8 copy of the export (dynamic quantisation of the
weights, made once next to it): faster, its cosines within about 0.01 of fp32
(see the README's Performance section for what that does to retrieval).
`encode_tokens` also gives each text's token vectors from the same forward pass.

Not here: exporting the model or making its int8 copy (see `qa.model.onnx_export`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError
from qa.model.onnx_export import exported_model, quantized_model, read_config
from qa.rank.late import unit_rows
from qa.settings import PRECISIONS

Vectors = np.ndarray[Any, np.dtype[np.float32]]
TokenSink = Callable[[int, Vectors], None]  # a text's number and its token vectors
_BATCH = 32
_BATCH_TOKENS = 1024
# Tokenised at once: a few thousand chunks or sentences, a few MB of word pieces.
_WINDOW_CHARS = 1 << 18
_WINDOW_TEXTS = 4096


class OnnxEmbedder:
    """A sentence-transformers model run by ONNX Runtime; thread-safe after construction.

    `precision` is "fp32" (the export) or "int8" (its quantised copy);
    `onnx_file` replaces the cached export with another one of the same model.
    """

    def __init__(
        self,
        name: str,
        model_dir: Path,
        onnx_file: Path | None = None,
        *,
        precision: str = "fp32",
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if precision not in PRECISIONS:
            raise ModelError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        config = read_config(model_dir)
        self.name = name
        self.precision = precision
        self.dimension: int = config["dimension"]
        self.max_tokens: int = config["max_tokens"]
        self._pooling: str = config["pooling"]
        self._lowercase: bool = config["lowercase"]
        self._model_dir = model_dir
        if onnx_file is None:
            quantized = precision == "int8"
            onnx_file = (quantized_model if quantized else exported_model)(name, model_dir)
        self.path = onnx_file
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # The file pads every input to 128 and cuts at 128; the model reads up to max_tokens.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens)
        self._counter: Any = None
        self._punctuation: set[int] | None = None  # filled on first use
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # The file is fused already; the extra online passes only cost start-up time (~0.1 s).
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        try:
            self._session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelError(f"ONNX Runtime cannot load {self.path} ({error})") from error
        self._inputs = {i.name for i in self._session.get_inputs()}

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Unit rows; inputs sorted by length and padded per batch to the longest."""
        return self._encode(texts, progress)

    def encode_tokens(
        self,
        texts: Sequence[str],
        *,
        words_only: bool = False,
        progress: bool = False,
        keep: Callable[[Vectors], Any] | None = None,
    ) -> tuple[Vectors, list[Any]]:
        """Unit rows of `texts`, and each text's token vectors from the same forward pass
        (unit rows, special tokens left out; with `words_only` also the pieces without a
        letter or digit), for late interaction (`qa.rank.late`); passed through `keep` as soon
        as they are made, when given (a build compresses them, so it never holds them all)."""
        found: list[Any] = [None] * len(texts)

        def sink(row: int, tokens: Vectors) -> None:
            found[row] = tokens if keep is None else keep(tokens)

        vectors = self._encode(texts, progress, sink, words_only)
        return vectors, found

    def _encode(
        self,
        texts: Sequence[str],
        progress: bool,
        tokens: TokenSink | None = None,
        words_only: bool = False,
    ) -> Vectors:
        """Vectors of `texts`; each text's number and token vectors go to `tokens`."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        bar = _progress(len(texts)) if progress and texts and sys.stderr.isatty() else None
        for rows, hidden, mask, encodings in self._forward(texts):
            out[rows] = self._pool(hidden, mask)
            if tokens is not None:
                for at, (row, encoding) in enumerate(zip(rows, encodings, strict=True)):
                    keep = self._kept_tokens(encoding, words_only)
                    tokens(int(row), unit_rows(hidden[at, keep]))
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()
        return out

    def _forward(self, texts: Sequence[str]) -> Iterator[tuple[Any, Vectors, Any, list[Any]]]:
        """(text numbers, token vectors, attention mask, encodings) of each batch of `texts`.

        Texts are tokenised a window of about `_WINDOW_CHARS` characters at a time, sorted
        by length within it, so memory holds one window's word pieces, not the corpus's
        (an encoding costs about 180 bytes a word piece: 30 MB per MB of text).
        """
        for first, last in text_windows([len(text) for text in texts]):
            window = texts[first:last]
            if self._lowercase:
                window = [text.lower() for text in window]
            encodings = self._tokenizer.encode_batch(list(window))
            lengths = np.array([len(e.ids) for e in encodings])
            order = np.argsort(-lengths, kind="stable")  # longest first: memory peaks early
            for rows in _batches(lengths[order], order):
                ids = [encodings[i].ids for i in rows]
                hidden, mask = self._hidden(ids, int(lengths[rows[0]]))
                yield rows + first, hidden, mask, [encodings[i] for i in rows]

    def _kept_tokens(self, encoding: Any, words_only: bool) -> list[int]:
        """Positions of `encoding` that late interaction reads: no special tokens, and
        with `words_only` no pieces without a letter or digit either."""
        if words_only and self._punctuation is None:
            vocabulary = self._tokenizer.get_vocab()
            self._punctuation = {
                i for piece, i in vocabulary.items() if not any(c.isalnum() for c in piece)
            }
        skip = self._punctuation if words_only and self._punctuation is not None else set()
        return [
            at
            for at, (piece, special) in enumerate(
                zip(encoding.ids, encoding.special_tokens_mask, strict=True)
            )
            if not special and piece not in skip
        ]

    def _hidden(self, ids: list[list[int]], width: int) -> tuple[Vectors, Any]:
        """The model's token vectors for a batch, and its attention mask."""
        batch = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, pieces in enumerate(ids):
            batch[row, : len(pieces)] = pieces
            mask[row, : len(pieces)] = 1
        feed = {"input_ids": batch, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(batch)
        hidden: Vectors = self._session.run(None, feed)[0]
        return hidden, mask

    def _pool(self, hidden: Vectors, mask: Any) -> Vectors:
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        elif self._pooling == "max":
            pooled = np.where(mask[:, :, None] > 0, hidden, -1e9).max(axis=1)
        else:
            weights = mask.astype(np.float32)
            pooled = np.einsum("btd,bt->bd", hidden, weights) / weights.sum(1, keepdims=True)
        return unit_rows(pooled)

    def count_tokens(self, text: str) -> int:
        if self._counter is None:
            from tokenizers import Tokenizer

            counter = Tokenizer.from_file(str(self._model_dir / "tokenizer.json"))
            counter.no_padding()
            counter.no_truncation()
            self._counter = counter
        if self._lowercase:
            text = text.lower()
        return len(self._counter.encode(text, add_special_tokens=False).ids)


def text_windows(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """(first, last) runs of texts of about `_WINDOW_CHARS` characters (and at most
    `_WINDOW_TEXTS` texts) in all, in order: what is tokenised at once.

    >>> text_windows([100_000] * 7)
    [(0, 3), (3, 6), (6, 7)]
    """
    windows, first, chars = [], 0, 0
    for number, size in enumerate(sizes):
        chars += size
        if chars >= _WINDOW_CHARS or number + 1 - first >= _WINDOW_TEXTS:
            windows.append((first, number + 1))
            first, chars = number + 1, 0
    if first < len(sizes):
        windows.append((first, len(sizes)))
    return windows


def _batches(lengths: Any, order: Any) -> list[Any]:
    """Runs of `order` (longest first) of at most _BATCH rows and about _BATCH_TOKENS pieces.

    Small matrices stay in the CPU caches: 6 paragraphs or 32 sentences a
    batch ran faster than a fixed 32 or 64 of either.
    """
    batches, start = [], 0
    while start < len(order):
        rows = max(1, min(_BATCH, _BATCH_TOKENS // max(1, int(lengths[start]))))
        batches.append(order[start : start + rows])
        start += rows
    return batches


def _threads() -> int:
    """One ONNX Runtime thread per core this process may use (2 on the reference machine)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _progress(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="text", desc="Embedding", leave=False)
