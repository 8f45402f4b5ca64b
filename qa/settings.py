"""Defaults in one place, and how they are overridden.

`Settings()` gives the defaults; `Settings.from_env()` applies `QA_`-prefixed
environment variables; `settings.with_overrides(...)` applies CLI options.
Nothing is read at import time.

One rule for the library: a function takes a `Settings` (folders included),
never folders beside it, and a missing one is `Settings.from_env()`.

    >>> Settings.from_env({"QA_MODEL": "fake-hash", "QA_INDEX_DIR": "/tmp/i"}).index_dir
    PosixPath('/tmp/i')
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import QAError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
E5_MODEL = "multilingual-e5-small"  # `pip install 'qa[e5]'`: stronger, slower (docs/models.md)
# The models qa ships fitted numbers for (`qa.rank.weights`); a local sentence-transformers
# folder also works, with model-independent numbers.
MODELS = (DEFAULT_MODEL, E5_MODEL)
# The first is the default: the only one that keeps retrieval and confidence flags exactly
# (README, Performance).
PRECISIONS = ("fp32", "int8")
# The default folders.  These very objects mean "not chosen" (`Settings.corpus_given`):
# `dataclasses.replace` passes them on as they are, and any folder given is another object.
DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")
# Where a build's candidates are served from: the build folder's FAISS file and BM25 (the
# default, embedded), or a Milvus server (`pip install 'qa[milvus]'`, docs/scale.md).
BACKENDS = ("faiss", "milvus")
DEFAULT_MILVUS_URI = "http://127.0.0.1:19530"


@dataclass(frozen=True)
class Settings:
    """Everything that shapes an index or a search.

    `model` is the bundled "all-MiniLM-L6-v2", "multilingual-e5-small" (the `e5` extra),
    a local folder holding a sentence-transformers model, or a model name already in the
    local Hugging Face cache (nothing is ever downloaded).
    """

    corpus_dir: Path = DEFAULT_CORPUS
    index_dir: Path = DEFAULT_INDEX
    model: str = DEFAULT_MODEL
    # all-MiniLM-L6-v2 reads at most 256 word pieces, counting [CLS] and [SEP].
    max_tokens: int = 256
    # Paragraphs shorter than this are merged with a neighbour (a lead-in line and its list).
    min_chunk_tokens: int = 24
    read_only: bool = False
    # Links inside the corpus folder that point outside it are skipped unless this is set.
    follow_links: bool = False
    # "int8" runs a quantised copy of the model: faster, cosines within ~0.01 of fp32.
    precision: str = PRECISIONS[0]
    # "milvus" builds also fill a Milvus collection at `milvus_uri`, which serves candidates.
    backend: str = BACKENDS[0]
    milvus_uri: str = DEFAULT_MILVUS_URI
    # Whether each folder was chosen (an argument, --corpus/--index, QA_CORPUS_DIR/QA_INDEX_DIR)
    # or left at its default: an index opened without a corpus chosen keeps the corpus it was
    # built from, and only a build given both replaces it with another's
    # (`qa.index.folder.own_corpus`).
    corpus_given: bool = field(init=False)
    index_given: bool = field(init=False)
    # Likewise the model: an index opened without one chosen answers with the model it was
    # built with, and only a build given one changes it.
    model_given: bool = field(init=False)
    # Likewise the back end: an index opened without one chosen is served as its live build was
    # built (`qa.index.folder.own_corpus`), and its next build stays there.
    backend_given: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "corpus_given", self.corpus_dir is not DEFAULT_CORPUS)
        object.__setattr__(self, "index_given", self.index_dir is not DEFAULT_INDEX)
        object.__setattr__(self, "model_given", self.model is not DEFAULT_MODEL)
        object.__setattr__(self, "backend_given", self.backend is not BACKENDS[0])
        # Folders may be given as strings; they are always Paths afterwards.
        for name in ("corpus_dir", "index_dir"):
            if not isinstance(getattr(self, name), Path):
                object.__setattr__(self, name, Path(getattr(self, name)))
        if self.precision not in PRECISIONS:
            raise QAError(
                f"QA_PRECISION={self.precision!r} is not one of {', '.join(PRECISIONS)}: "
                f"use {PRECISIONS[0]}"
            )
        if self.backend not in BACKENDS:
            raise QAError(
                f"QA_BACKEND={self.backend!r} is not one of {', '.join(BACKENDS)}: "
                f"use {BACKENDS[0]} (the default) or milvus"
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Defaults overridden by QA_CORPUS_DIR, QA_INDEX_DIR, QA_MODEL, QA_READ_ONLY,
        QA_FOLLOW_LINKS, QA_PRECISION, QA_BACKEND and QA_MILVUS_URI."""
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        if env.get("QA_CORPUS_DIR"):
            changes["corpus_dir"] = Path(env["QA_CORPUS_DIR"])
        if env.get("QA_INDEX_DIR"):
            changes["index_dir"] = Path(env["QA_INDEX_DIR"])
        if env.get("QA_MODEL"):
            changes["model"] = env["QA_MODEL"]
        if env.get("QA_READ_ONLY"):
            changes["read_only"] = _parse_bool("QA_READ_ONLY", env["QA_READ_ONLY"])
        if env.get("QA_FOLLOW_LINKS"):
            changes["follow_links"] = _parse_bool("QA_FOLLOW_LINKS", env["QA_FOLLOW_LINKS"])
        if env.get("QA_PRECISION"):
            changes["precision"] = env["QA_PRECISION"].strip().lower()
        if env.get("QA_BACKEND"):
            changes["backend"] = env["QA_BACKEND"].strip().lower()
        if env.get("QA_MILVUS_URI"):
            changes["milvus_uri"] = env["QA_MILVUS_URI"].strip()
        return dataclasses.replace(cls(), **changes)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with every non-None value of `changes` applied; paths are converted."""
        clean = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **clean)

    def chunking(self) -> dict[str, int]:
        """The settings that change how text is cut into chunks (recorded in the manifest)."""
        return {"max_tokens": self.max_tokens, "min_chunk_tokens": self.min_chunk_tokens}

    def encoding(self) -> dict[str, str]:
        """How the settings ask for vectors to be made (recorded in the manifest)."""
        return {"precision": self.precision}


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise QAError(f"{name}={value!r} is not a yes/no value: use 1 or 0")
