"""The ONNX Runtime embedder gives sentence-transformers' vectors and rankings, without torch."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.errors import ModelError, QAWarning
from qa.model import onnx_export
from qa.model.embedding import SentenceTransformerEmbedder, load_embedder, local_folder
from qa.model.onnx_model import OnnxEmbedder
from qa.settings import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "peacekeeping-partnerships.txt"
DEV_QUESTIONS = Path(__file__).resolve().parent / "data" / "dev_questions.jsonl"

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def onnx() -> OnnxEmbedder:
    """The fp32 export: the one that reproduces sentence-transformers."""
    embedder = load_embedder(DEFAULT_MODEL, "fp32")
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


@pytest.fixture(scope="module")
def reference() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(DEFAULT_MODEL)


def varied_texts() -> list[str]:
    """About 250 texts: paragraphs, sentences, long runs past 128 and 256 pieces, odd input."""
    text = SEED.read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    sentences = [s.strip() + "." for s in text.replace("\n", " ").split(". ") if s.strip()]
    words = text.split()
    rng = random.Random(5)
    long_runs = [
        " ".join(words[start : start + rng.randint(120, 420)])
        for start in rng.sample(range(len(words) - 420), 40)
    ]
    odd = [
        "",
        "   ",
        "UN",
        "PEACEKEEPING!!!",
        "Résumé naïve café — “quoted” text…",
        "1998 2004 17.5% $3,000,000",
        "what is political will?",
        "日本語のテキストと English mixed",
        "a " * 300,
    ]
    return paragraphs + sentences[:120] + long_runs + odd


def test_vectors_match_sentence_transformers(
    onnx: OnnxEmbedder, reference: SentenceTransformerEmbedder
) -> None:
    texts = varied_texts()
    assert len(texts) >= 200
    assert sum(onnx.count_tokens(t) > 128 for t in texts) >= 30  # past the file's 128 cut
    ours, theirs = onnx.encode(texts), reference.encode(texts)
    assert ours.dtype == np.float32 and ours.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, texts[int(cosines.argmin())][:80]


def test_a_single_query_is_not_padded_and_batches_do_not_change_vectors(
    onnx: OnnxEmbedder,
) -> None:
    texts = varied_texts()[:40]
    together = onnx.encode(texts)
    alone = np.vstack([onnx.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=2e-5)


def test_long_text_is_cut_at_the_models_256_pieces(onnx: OnnxEmbedder) -> None:
    words = SEED.read_text(encoding="utf-8").split()
    long_text = " ".join(words[:600])
    assert onnx.max_tokens == 256
    assert onnx.count_tokens(long_text) > 600
    head = onnx._tokenizer.encode(long_text)
    assert len(head.ids) == 256  # [CLS] + 254 pieces + [SEP]
    same_head = " ".join(words[:400])  # also beyond 256 pieces: same model input, same vector
    np.testing.assert_allclose(onnx.encode([long_text]), onnx.encode([same_head]), atol=1e-6)


def test_token_counts_match_the_reference_tokenizer(
    onnx: OnnxEmbedder, reference: SentenceTransformerEmbedder
) -> None:
    for text in varied_texts()[::7]:
        assert onnx.count_tokens(text) == reference.count_tokens(text)


def test_same_top_passage_on_the_development_questions(
    tmp_path: Path, onnx: OnnxEmbedder, reference: SentenceTransformerEmbedder
) -> None:
    from qa.index.build import build_index, load_index
    from qa.rank.search import Searcher
    from qa.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    rows = [json.loads(line) for line in DEV_QUESTIONS.read_text().splitlines()]
    questions = [row["question"] for row in rows]
    answerable = [row["question"] for row in rows if row["gold"]]
    tops: dict[str, list[int]] = {}
    citations: dict[str, list[str]] = {}
    for label, embedder in (("onnx", onnx), ("st", reference)):
        index_dir = tmp_path / label
        settings = Settings(corpus_dir=corpus, index_dir=index_dir)
        build_index(settings, embedder=embedder, progress=False)
        vectors = load_index(settings).vectors
        _, rows = vectors.search(embedder.encode(questions), 1)
        tops[label] = rows[:, 0].tolist()
        searcher = Searcher.open(settings, embedder=embedder)
        # The section of the first passage of each answerable question: sentence-transformers
        # gives no token vectors, so its index is ranked without late interaction, which can
        # merge a passage's neighbours differently (lines 55–59 against 57–59 of a section)
        # and put another passage first for a question the essay does not answer.
        citations[label] = [
            " › ".join((p.doc, p.section)) for p in (searcher.search(q, 1)[0] for q in answerable)
        ]
    assert tops["onnx"] == tops["st"]
    assert citations["onnx"] == citations["st"]


def test_the_query_path_never_imports_torch(tmp_path: Path, onnx: OnnxEmbedder) -> None:
    from qa.index.build import build_index
    from qa.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    index_dir = tmp_path / "index"
    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    build_index(settings, embedder=onnx, progress=False)
    script = (
        "import sys\n"
        "from qa.cli import main\n"
        f"code = main(['ask', '-k', '2', '--corpus', {str(corpus)!r}, '--index', "
        f"{str(index_dir)!r}, 'how do peacekeepers protect civilians'])\n"
        "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers') "
        "if m in sys.modules)\n"
        "print('HEAVY', heavy, code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=True,
    )
    assert "HEAVY [] 0" in done.stdout, done.stdout + done.stderr
    assert SEED.name in done.stdout


def _model_copy(tmp_path: Path) -> Path:
    """A copy of the bundled model folder; the large weights are linked, not copied."""
    source = local_folder(DEFAULT_MODEL)
    target = tmp_path / "model"
    for path in source.rglob("*"):
        if path.is_file():
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if path.stat().st_size > 1 << 20:
                dest.symlink_to(path)
            else:
                shutil.copy(path, dest)
    return target


def test_a_changed_model_gets_a_new_export_and_an_unchanged_one_reuses_it(
    tmp_path: Path, onnx: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _model_copy(tmp_path)
    before = onnx_export.fingerprint(copy)
    assert before == onnx_export.fingerprint(local_folder(DEFAULT_MODEL))
    config = json.loads((copy / "config.json").read_text())
    config["layer_norm_eps"] = 1e-6
    (copy / "config.json").write_text(json.dumps(config))
    assert onnx_export.fingerprint(copy) != before

    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_export.subprocess, "run", no_export)
    assert onnx_export.exported_model(DEFAULT_MODEL, local_folder(DEFAULT_MODEL)) == onnx.path


def test_a_first_export_writes_a_model_that_runs_even_over_a_half_written_folder(
    tmp_path: Path, onnx: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a new machine does before its first question: export the model, then encode.
    A folder an interrupted export left (no model in it) is replaced, not an error."""
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    model_dir = local_folder(DEFAULT_MODEL)
    folder = onnx_export.cache_dir() / "onnx" / onnx.path.parent.name
    folder.mkdir(parents=True)
    (folder / "source.json").write_text("{}\n")
    path = onnx_export.exported_model(DEFAULT_MODEL, model_dir)
    assert path == folder / "model.onnx" and path.is_file()
    assert json.loads((folder / "source.json").read_text())["model"] == DEFAULT_MODEL
    texts = ["Peacekeepers patrol the buffer zone.", "What did the mission cost?"]
    fresh = OnnxEmbedder(DEFAULT_MODEL, model_dir, path)
    assert np.allclose(fresh.encode(texts), onnx.encode(texts), atol=1e-5)


def test_a_model_onnx_cannot_run_falls_back_to_sentence_transformers_with_a_reason(
    tmp_path: Path,
) -> None:
    copy = _model_copy(tmp_path)
    modules = json.loads((copy / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "x.models.Dense"})
    (copy / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelError, match="Dense"):
        onnx_export.read_config(copy)
    with pytest.warns(QAWarning, match="ONNX Runtime cannot run it"):
        embedder = load_embedder(str(copy))
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.dimension == 384


def test_the_int8_copy_gives_nearly_the_same_vectors(onnx: OnnxEmbedder) -> None:
    int8 = load_embedder(DEFAULT_MODEL, "int8")
    assert isinstance(int8, OnnxEmbedder) and int8.path.name == "model-int8.onnx"
    texts = varied_texts()
    cosines = np.sum(int8.encode(texts) * onnx.encode(texts), axis=1)
    assert np.median(cosines) > 0.98, np.percentile(cosines, [1, 50])


def test_making_the_int8_copy_prints_nothing_and_leaves_logging_alone(
    onnx: OnnxEmbedder, tmp_path: Path
) -> None:
    # In a fresh process: pytest gives the root logger handlers of its own.
    import subprocess
    import sys

    target = tmp_path / "model-int8.onnx"
    code = (
        "import logging, pathlib\n"
        "from qa.model import onnx_export\n"
        f"source, target = pathlib.Path({str(onnx.path)!r}), pathlib.Path({str(target)!r})\n"
        "onnx_export.quantize_int8(source, target)\n"
        "library = logging.getLogger('library')\n"
        "library.setLevel(logging.DEBUG)\n"
        "library.debug('a debug line of a library')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert target.stat().st_size > 0
    assert done.stderr == "" and done.stdout == ""


def test_token_vectors_are_the_models_own_and_come_from_the_same_run(
    onnx: OnnxEmbedder, reference: SentenceTransformerEmbedder
) -> None:
    texts = ["Rivers carry silt to the sea.", "Patrols, at night, protect civilians!"]
    vectors, tokens = onnx.encode_tokens(texts)
    np.testing.assert_allclose(vectors, onnx.encode(texts), atol=1e-5)
    found = reference.model.encode(texts, output_value="token_embeddings")
    for text, ours, theirs in zip(texts, tokens, found, strict=True):
        assert len(ours) == onnx.count_tokens(text)  # every piece, no [CLS] or [SEP]
        theirs = theirs.float().numpy()[1:-1]
        theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
        assert (ours * theirs).sum(axis=1).min() >= 0.999
    _, (words,) = onnx.encode_tokens([texts[1]], words_only=True)
    assert len(words) == len(tokens[1]) - 3  # two commas and the exclamation mark left out


class CountingTokenizer:
    """The model's tokenizer, counting the characters of each `encode_batch` call."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def encode_batch(self, texts: list[str]) -> object:
        self.calls.append(sum(len(text) for text in texts))
        return self.inner.encode_batch(texts)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_large_corpus_is_tokenised_a_window_at_a_time_with_the_same_vectors(
    onnx: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokenising every chunk of a 20 MB build in one call held 3.6 GB of word pieces."""
    texts = [f"{number} " + text for number in range(30) for text in varied_texts()]
    counting = CountingTokenizer(onnx._tokenizer)
    monkeypatch.setattr(onnx, "_tokenizer", counting)
    table = np.random.default_rng(0).standard_normal((4096, 384)).astype(np.float32)

    def stand_in(ids: list[list[int]], width: int) -> tuple[np.ndarray, np.ndarray]:
        batch = np.zeros((len(ids), width), dtype=np.int64)
        for row, pieces in enumerate(ids):
            batch[row, : len(pieces)] = pieces
        return table[batch % 4096], (batch > 0).astype(np.int64)

    monkeypatch.setattr(onnx, "_hidden", stand_in)  # the network would take minutes
    together = onnx.encode(texts)
    total = sum(len(text) for text in texts)
    assert sum(counting.calls) == total > 2_000_000
    assert max(counting.calls) <= 300_000  # a window of the texts, never all of them
    sample = [0, 1, len(texts) // 2, len(texts) - 1]
    np.testing.assert_allclose(together[sample], onnx.encode([texts[i] for i in sample]))
