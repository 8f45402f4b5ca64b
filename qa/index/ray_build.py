"""A build whose model work runs as Ray Data pipelines (`qa build --ray [ADDRESS]`).

    ray_build(settings, embedder)   # a local Ray on this machine's cores
    Index.open(settings).build(maker=ray_maker("10.0.0.5:6379"))   # on a cluster

The build is the local one (`qa.index.builder.make_build`): the same reading, reuse of the
live build's chunks and vectors, write and swap, so it writes the same bytes.  What moves to
Ray is the work on the documents and texts the build cannot reuse: the documents to chunk,
one row each, and the texts to embed, one row per window (the windows the model itself
tokenises at once, so it pads and batches them as in a local build: int8 vectors depend on
their batch), each through `map_batches` on an actor pool whose workers load the model once
(`load_embedder` with the build's model and precision; `qa.index.ray_workers`).  The rows come
back to this process, which writes the build: an incremental build sends only the changed
documents and their texts.

Without an address, a local Ray is started with this machine's cores and shut down at the
end, its session folders (logs, sockets, spilled objects) in a temporary folder of its own
that goes with it, rather than piling up in /tmp/ray; with an address, the build joins that
cluster and leaves it running.  A Ray this process already runs is used as it is.  Never
`ray stop`: it ends every Ray on the machine.

Not here: reading the corpus and what is reused (see `qa.index.builder`, `qa.index.vectors`),
the workers' side (see `qa.index.ray_workers`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import socket
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from qa.errors import QAError
from qa.index.builder import Chunked, make_build
from qa.index.owner import Maker
from qa.index.ray_workers import Chunking, Embedding, unpacked
from qa.index.status import IndexInfo
from qa.model.embedding import Embedder, TokenEmbedder, Vectors
from qa.model.onnx_model import text_windows
from qa.model.progress import Progress
from qa.readers.corpus import Document
from qa.settings import Settings

INSTALL = "Ray is not installed: run `pip install 'qa[ray]'`, or build without --ray"
LOCAL_STARTS = 2  # a local Ray that fails to start is started once more (`_start_local`)


def ray_build(
    settings: Settings,
    embedder: Embedder,
    progress: Progress | bool = False,
    *,
    address: str | None = None,
    cpus: int | None = None,
) -> IndexInfo:
    """`make_build` with the model's work done by Ray: on the cluster at `address`, or on a
    local Ray of `cpus` cores (default: all of this machine's), stopped at the end."""
    with ray_session(address, cpus) as workers:
        model = _model_kind(embedder)(embedder, settings.precision, workers)
        return make_build(settings, model, progress)


def ray_maker(address: str | None = None, *, cpus: int | None = None) -> Maker:
    """A build maker for `Index.build(maker=...)`: `ray_build` on the cluster at `address`,
    or on a local Ray of `cpus` cores."""
    return functools.partial(ray_build, address=address, cpus=cpus)


@contextlib.contextmanager
def ray_session(address: str | None, cpus: int | None = None) -> Iterator[int]:
    """Ray for the length of the block, and how many CPUs its workers have: the one this
    process runs already, the cluster at `address`, or a local one started (and shut
    down at the end) with `cpus` cores.  QAError naming the fix when Ray cannot start."""
    try:
        import ray
        import ray.data  # configures its logger, which then says less: not a line per pipeline
    except ImportError as error:
        raise QAError(INSTALL) from error
    started = not ray.is_initialized()
    with contextlib.ExitStack() as stack:
        if started:
            # Unix socket paths hold ~107 bytes: the folder is a short one, in /tmp by default.
            folder = tempfile.mkdtemp(prefix="qa-ray-") if address is None else None
            if folder is not None:
                stack.callback(_remove, folder)  # runs last: after the shutdown below
            stack.callback(ray.shutdown)
            _start(ray, address, cpus, folder)
        data_log = logging.getLogger("ray.data")
        stack.callback(data_log.setLevel, data_log.level)
        data_log.setLevel(logging.ERROR)
        _quiet_data()
        yield max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]


def _remove(folder: str, tries: int = 3) -> None:
    """Remove the local Ray's temporary `folder`; its processes may still be closing files
    just after `ray.shutdown`, so a folder that is not yet empty is tried again."""
    for _ in range(tries):
        shutil.rmtree(folder, ignore_errors=True)
        if not os.path.exists(folder):
            return
        time.sleep(0.5)


def _start(ray: Any, address: str | None, cpus: int | None, folder: str | None) -> None:
    """`ray.init` for a build: no dashboard, no worker logs on this terminal; a local Ray
    keeps its sessions in `folder`."""
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
    }
    try:
        if address is None:
            _start_local(ray, cpus or os.cpu_count() or 1, folder, options)
        else:
            _reachable(address)  # else Ray waits minutes for it, retrying
            ray.init(address=address, **options)
    except Exception as error:  # Ray raises ConnectionError, RuntimeError, ValueError...
        ray.shutdown()
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        why = str(error).splitlines()[0] if str(error) else repr(error)
        raise QAError(
            f"Cannot start {where} ({why}): give the address of a running cluster's head "
            "(`ray start --head` prints it, e.g. `qa build --ray 10.0.0.5:6379`), or "
            "`qa build --ray` alone for a local Ray"
        ) from error


def _start_local(ray: Any, cpus: int, folder: str | None, options: dict[str, Any]) -> None:
    """A local Ray, started again once when its first start fails: on a loaded machine its
    control server has been seen not to come up in Ray's 30 s once in a few starts, and
    the next start then works."""
    for attempt in range(LOCAL_STARTS):
        try:
            ray.init(num_cpus=cpus, _temp_dir=folder, **options)
            return
        except Exception:
            ray.shutdown()
            if attempt + 1 == LOCAL_STARTS:
                raise


def _reachable(address: str, seconds: float = 5.0) -> None:
    """OSError unless something answers at `address` ("host:port" or "ray://host:port";
    "auto", the cluster this machine runs, is left to Ray)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise OSError(f"{address!r} is not host:port")
    with socket.create_connection((host, int(port)), timeout=seconds):
        pass


def _quiet_data() -> None:
    """No progress bars from Ray Data: the library never prints (the build reports its own)."""
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.enable_operator_progress_bars = False
    context.print_on_execution_start = False


class _RayModel:
    """A model whose `encode` runs on Ray workers; counts tokens here (chunking is local)."""

    def __init__(self, local: Embedder, precision: str, workers: int) -> None:
        self.local, self.workers = local, workers
        self.name, self.dimension, self.max_tokens = local.name, local.dimension, local.max_tokens
        self.precision = getattr(local, "precision", precision)

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for first, window, _ in self._windows(texts, tokens=False):
            vectors[first : first + len(window)] = window
        return vectors

    def count_tokens(self, text: str) -> int:
        return self.local.count_tokens(text)

    def chunk_documents(
        self, documents: list[Document], max_tokens: int, min_tokens: int
    ) -> list[Chunked]:
        """Sections and chunks of each document, made on the workers (`qa.index.builder`
        hands this only the documents it cannot reuse); one row per document."""
        if not documents:
            return []
        found: list[Chunked | None] = [None] * len(documents)
        rows = [{"at": at, "document": doc} for at, doc in enumerate(documents)]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*")
            made = self._pool(
                rows, Chunking, {"limits": (max_tokens, min_tokens)}, blocks=self.workers * 4
            )
        for batch in made.iter_batches(batch_size=None, batch_format="numpy"):
            for at, chunked in zip(batch["at"], batch["chunked"], strict=True):
                found[int(at)] = chunked
        return [chunked for chunked in found if chunked is not None]

    def _windows(
        self, texts: Sequence[str], tokens: bool, words_only: bool = False
    ) -> Iterator[tuple[int, Vectors, list[Vectors]]]:
        """(first text, vectors, token vectors) of each window of `texts`, as they come."""
        if not texts:
            return
        rows = [
            {"first": first, "texts": list(texts[first:last])}
            for first, last in text_windows([len(text) for text in texts])
        ]
        with warnings.catch_warnings():
            # Ray 2.60 deprecates the remote arguments, max_restarts among them, it documents.
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*")
            made = self._pipeline(rows, tokens, words_only)
        for batch in made.iter_batches(batch_size=None, batch_format="numpy"):
            for at in range(len(batch["first"])):
                yield unpacked(batch, at, self.dimension)

    def _pipeline(self, rows: list[dict[str, Any]], tokens: bool, words_only: bool) -> Any:
        """The Ray Data pipeline: `rows` (windows of texts) embedded by an actor pool."""
        options = {"tokens": tokens, "words_only": words_only}
        return self._pool(rows, Embedding, options, blocks=len(rows))

    def _pool(
        self, rows: list[dict[str, Any]], actor: type, options: dict[str, Any], blocks: int
    ) -> Any:
        """`rows` through `map_batches` on a pool of `actor`s, each with the model loaded."""
        import ray.data

        blocks = min(blocks, len(rows))
        return ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            actor,
            fn_constructor_kwargs={"model": self.name, "precision": self.precision, **options},
            batch_size=None,  # a block at a time
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=min(self.workers, blocks)),
            num_cpus=1,
            max_restarts=0,  # a lost worker fails the build: the index stays as it was
        )


class _RayTokenModel(_RayModel):
    """A `TokenEmbedder` on Ray: each text's token vectors come back with its vector."""

    def encode_tokens(
        self,
        texts: Sequence[str],
        *,
        words_only: bool = False,
        progress: bool = False,
        keep: Callable[[Vectors], Any] | None = None,
    ) -> tuple[Vectors, list[Any]]:
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        found: list[Any] = [None] * len(texts)
        for first, window, tokens in self._windows(texts, tokens=True, words_only=words_only):
            vectors[first : first + len(window)] = window
            for row, rows in enumerate(tokens, start=first):
                found[row] = rows if keep is None else keep(rows)
        return vectors, found


def _model_kind(embedder: Embedder) -> type[_RayModel]:
    """The Ray model with the abilities of `embedder`: token vectors only if it gives them."""
    return _RayTokenModel if isinstance(embedder, TokenEmbedder) else _RayModel
