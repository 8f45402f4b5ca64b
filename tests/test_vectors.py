"""A build's vectors: each text embedded once, reused from the cache, held once in memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
from fakes import FakeEmbedder

from qa.index.vectors import embed_all
from qa.readers.corpus import Document
from qa.text.chunking import chunk_document, text_hash


def test_repeated_and_cached_sentences_get_their_own_vectors_each_embedded_once() -> None:
    text = (
        "# Depot\n\nZebras guard the depot. Ovens bake bread.\n\n"
        "# Harbour\n\nOvens bake bread. Tugboats push the tanker. Zebras guard the depot.\n"
    )
    sections, chunks = chunk_document(
        Document("a.md", text, "0"), FakeEmbedder().count_tokens, 256, 1
    )
    marker = np.eye(64, dtype=np.float32)[5]
    cache = {text_hash("Tugboats push the tanker."): marker}
    embedder = FakeEmbedder()
    vectors, sentences, titles = embed_all(sections, chunks, cache, embedder, False)
    texts = [s for chunk in chunks for s in chunk.sentence_texts()]
    assert len(texts) == 5 and len(set(texts)) == 3
    for row, sentence in enumerate(texts):
        expected = (
            marker if sentence.startswith("Tugboats") else FakeEmbedder().encode([sentence])[0]
        )
        np.testing.assert_array_equal(sentences[row], expected)
    np.testing.assert_array_equal(vectors, FakeEmbedder().encode([c.embed_text for c in chunks]))
    np.testing.assert_array_equal(titles, FakeEmbedder().encode([s.path_text for s in sections]))
    # One call: the chunks, the two sentences not cached (once each) and the two titles.
    assert embedder.calls == [len(chunks) + 2 + 2]


class WideEmbedder(FakeEmbedder):
    """A one-hot vector of a text's hash, in 384 dimensions: the size of the real model's."""

    dimension = 384

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        rows[np.arange(len(texts)), [hash(text) % self.dimension for text in texts]] = 1.0
        return rows


def test_a_corpus_s_sentence_vectors_are_held_once_while_they_are_made() -> None:
    """They were held three times over (the model's rows, a stack of them and its copy):
    for 20 MB of text, 250 MB became 750 MB."""
    paragraph = " ".join(f"Sentence {{}} number {i} of the paragraph." for i in range(8))
    text = "# Report\n\n" + "\n\n".join(paragraph.format(*[n] * 8) for n in range(2000))
    embedder = WideEmbedder()
    sections, chunks = chunk_document(Document("a.md", text, "0"), embedder.count_tokens)
    tracemalloc.start()
    _, sentences, _ = embed_all(sections, chunks, {}, embedder, False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(sentences) == 16_000 and sentences.nbytes > 24_000_000
    assert peak < 1.5 * sentences.nbytes
