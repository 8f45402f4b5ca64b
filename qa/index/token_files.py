"""A build's token vectors (`qa.rank.late`) written to files as the model gives them.

They are the largest part of an index (132 bytes a word piece: about 22 MB per MB of
text), so a build never holds them all: `TokenWriter.add` compresses one text's token
vectors and appends them to a file, and `finish` writes the build's `TOKEN_FILES` in
chunk order, reading each chunk's rows from that file or from the previous build's
files, with plain reads and writes (a memory map would bring every page it reads into
the process).  The files wait in a staging folder of the index (`token_staging`) until
the build folder links them in (`TokenVectors.save`).

Not here: compressing (see `qa.rank.late`), the build folder (see `qa.index.store`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa.rank.late import TOKEN_FILES, Array, TokenVectors, compress

_STAGING = "build-tokens-"  # + pid (`qa.index.folder.swap` removes leftovers)
_PARTS = ("codes.part", "scales.part")  # a writer's rows, in the order they came


@contextlib.contextmanager
def token_staging(index_dir: Path) -> Iterator[Path]:
    """A folder of `index_dir` for a build's token files until its build folder links them
    in, removed afterwards.  Named like a build folder, so that one left by a build that
    was killed goes with the other leftovers when the next build is swapped in."""
    folder = index_dir / f"{_STAGING}{os.getpid()}"
    folder.mkdir(exist_ok=True)  # a killed build's of the same process id, reused
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class TokenWriter:
    """Compressed token vectors appended to files in a new folder of `staging` as they
    come (`add`), then written out in the order of the build's chunks (`finish`)."""

    def __init__(self, staging: Path, basis: Array) -> None:
        self.folder = Path(tempfile.mkdtemp(dir=staging))
        self.basis, self._count = basis, 0
        self._files = [(self.folder / name).open("wb") for name in _PARTS]

    def add(self, tokens: Array) -> Rows:
        """Compress and append one text's token vectors; where they are."""
        codes, scales = compress(tokens, self.basis)
        self._files[0].write(codes.tobytes())
        self._files[1].write(scales.tobytes())
        self._count += len(tokens)
        return Rows(self, self._count - len(tokens), self._count)

    def finish(self, chunks: Sequence[Rows]) -> TokenVectors:
        """The token vectors of `chunks` (the rows of each, here or in another store) as
        the TOKEN_FILES of this writer's folder, memory-mapped."""
        for file in self._files:
            file.close()
        offsets = np.cumsum([0, *(r.end - r.start for r in chunks)], dtype=np.int64)
        width = self.basis.shape[1]
        for part, shape in enumerate(((int(offsets[-1]), width), (int(offsets[-1]),))):
            _gather(self.folder / TOKEN_FILES[part], part, shape, chunks)
        np.save(self.folder / TOKEN_FILES[2], offsets, allow_pickle=False)
        np.save(self.folder / TOKEN_FILES[3], self.basis, allow_pickle=False)
        codes, scales = (np.load(self.folder / name, mmap_mode="r") for name in TOKEN_FILES[:2])
        return TokenVectors(codes, scales, offsets, self.basis, self.folder)


@dataclass(frozen=True)
class Rows:
    """Token vectors start:end of a store: a `TokenWriter`, or the `TokenVectors` of a
    previous build."""

    store: TokenWriter | TokenVectors
    start: int
    end: int


# Where `_gather` reads rows: (a file descriptor, where the array starts in it) or an array.
_Source = tuple[int, int] | npt.NDArray[Any]


def _gather(path: Path, part: int, shape: tuple[int, ...], chunks: Sequence[Rows]) -> None:
    """Write the .npy file `path` of `shape`: codes (`part` 0) or scales (1) of `chunks`."""
    dtype = np.dtype(np.int8 if part == 0 else np.float32)
    row_bytes = dtype.itemsize * int(np.prod(shape[1:]))
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False}
    sources: dict[int, _Source] = {}
    with contextlib.ExitStack() as stack, path.open("wb") as out:
        np.lib.format.write_array_header_1_0(out, {**header, "shape": shape})
        for rows in chunks:
            if id(rows.store) not in sources:
                sources[id(rows.store)] = _source(rows.store, part, stack)
            source = sources[id(rows.store)]
            if isinstance(source, tuple):
                descriptor, base = source
                size = (rows.end - rows.start) * row_bytes
                out.write(os.pread(descriptor, size, base + rows.start * row_bytes))
            else:
                out.write(np.ascontiguousarray(source[rows.start : rows.end]).tobytes())


def _source(store: TokenWriter | TokenVectors, part: int, stack: contextlib.ExitStack) -> _Source:
    """Where the codes or scales of `store` are read from: a file opened on `stack` (a
    writer's, or the .npy file a previous build's array is mapped from), else the array."""
    if isinstance(store, TokenWriter):
        name, start = str(store.folder / _PARTS[part]), 0
    else:
        array: Any = (store.codes, store.scales)[part]
        whole = isinstance(array, np.memmap) and array.filename is not None
        if not whole or os.path.getsize(array.filename) != array.offset + array.nbytes:
            return np.asarray(array)
        name, start = array.filename, int(array.offset)
    descriptor = os.open(name, os.O_RDONLY)
    stack.callback(os.close, descriptor)
    return descriptor, start
