"""A model that says how far it has got (`qa/model/progress.py`): told text by text, its calls
and its abilities unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from fakes import FakeEmbedder

from qa.model.embedding import TokenEmbedder, Vectors
from qa.model.progress import reporting


class Plain:
    """A model with no ability beyond `encode`."""

    name, dimension, max_tokens = "plain", 2, 8

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        return np.ones((len(texts), 2), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def test_a_model_keeps_its_abilities_and_gains_none() -> None:
    plain = reporting(Plain(), print)
    assert not isinstance(plain, TokenEmbedder)
    assert isinstance(reporting(FakeEmbedder(), print), TokenEmbedder) == isinstance(
        FakeEmbedder(), TokenEmbedder
    )


def test_each_call_is_passed_on_whole_and_told_as_it_goes() -> None:
    told: list[tuple[int, int]] = []
    model = FakeEmbedder()
    texts = [f"text number {i}" for i in range(70)]
    counted = reporting(model, lambda done, total: told.append((done, total)))
    assert np.array_equal(counted.encode(texts), FakeEmbedder().encode(texts))
    assert model.calls == [70]  # one call, as the build made it: not batches of its own
    assert told == [(0, 70), (70, 70)]
    assert counted.count_tokens("two words") == model.count_tokens("two words")


def test_token_vectors_are_told_text_by_text_and_kept() -> None:
    class Tokens(FakeEmbedder):
        def encode_tokens(self, texts: Sequence[str], **options: Any) -> tuple[Vectors, list[Any]]:
            keep = options.get("keep") or (lambda found: found)
            return self.encode(texts), [keep(self.encode(text.split())) for text in texts]

    told: list[tuple[int, int]] = []
    kept: list[int] = []
    counted = reporting(Tokens(), lambda done, total: told.append((done, total)))
    _, found = counted.encode_tokens(["a b", "c d e"], keep=lambda rows: kept.append(len(rows)))  # type: ignore[attr-defined]
    assert told == [(0, 2), (1, 2), (2, 2)] and kept == [2, 3] and found == [None, None]
