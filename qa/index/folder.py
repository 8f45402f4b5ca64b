"""The index folder: which build is live, the lock a build holds, and swapping a build in.

    index/CURRENT              name of the live build folder (replaced by rename)
    index/build-<time>-<pid>/  one build (see `qa.index.store`)
    index/.lock                held by the process that is building

`swap` points CURRENT at a new build folder by rename, so a reader sees the old build
or the new one, never a mix, and an interrupted or failed build leaves the previous
one live; `open_live` reads the live one, checked against the settings.

An index belongs to the corpus it was built from (`own_corpus`): opened without a corpus
chosen, it keeps that one; given another, it is refused, unless a build is given both
folders (`qa build --corpus C --index I`), which replaces it with an index of C.  Opened
without a model or a back end chosen, it keeps the model and back end it was built with too.

Not here: what a build folder holds (see `qa.index.store`), building one (see `qa.index.build`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import qa.index.entries as entries
import qa.index.store as store
from qa.errors import (
    BuildLockedError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    QAError,
)
from qa.index.manifest import Manifest, mismatches, read_manifest
from qa.index.store import LoadedIndex
from qa.settings import Settings

CURRENT = "CURRENT"


def current_folder(index_dir: Path) -> Path:
    """The live build folder of `index_dir`; IndexMissingError when there is none, and
    IndexCorruptError when CURRENT or the folder it names is not a file or folder of
    `index_dir` (a FIFO, a link: see `qa.index.entries`)."""
    pointer = index_dir / CURRENT
    try:
        name = entries.read_file(pointer, limit=4096).decode("utf-8").strip()
    except FileNotFoundError:
        raise IndexMissingError(f"No index in {index_dir}/: run `qa build`") from None
    except UnicodeDecodeError:
        raise IndexCorruptError(index_dir, f"{CURRENT} holds bytes that are not text") from None
    except entries.NotAFile as error:
        raise IndexCorruptError(index_dir, str(error)) from None
    except OSError as error:
        raise IndexMissingError(
            f"Cannot read {pointer} ({error.strerror}): check permissions"
        ) from error
    if not name.startswith("build-") or "/" in name or "\\" in name or ".." in name:
        raise IndexCorruptError(index_dir, f"{CURRENT} names {name!r}, not a build folder")
    with contextlib.suppress(FileNotFoundError):  # a missing one is named by what reads it
        found = entries.kind(index_dir / name)
        if found != "a folder":
            detail = f"{name} is {found}, not a build folder inside {index_dir}/"
            raise IndexCorruptError(index_dir, detail)
    return index_dir / name


def open_live(settings: Settings) -> LoadedIndex:
    """The live build of `settings.index_dir`, read and verified; IndexMismatchError when it
    was built with another format, model or chunking, or from another corpus than one the
    settings choose (see `corpus_of`)."""
    folder = current_folder(settings.index_dir)
    manifest = read_manifest(folder)
    differences = mismatches(manifest, corpus_of(manifest, settings))
    if differences:
        raise IndexMismatchError(f"{settings.index_dir}/ does not match: {'; '.join(differences)}")
    return store.read_build(folder)


def own_corpus(settings: Settings, *, replacing: bool = False) -> Settings:
    """`settings` with the corpus its index was built from (see `corpus_of`), known from
    the live build or, when that is damaged, the newest build folder that says; `settings`
    as they are while there is no index to read."""
    manifest = _newest_manifest(settings.index_dir)
    if manifest is None:
        return settings  # no index yet: nothing to keep
    return _own_backend(corpus_of(manifest, settings, replacing=replacing))


def _own_backend(settings: Settings) -> Settings:
    """`settings` with the back end of the live build (Milvus, at its URI, for a build that
    recorded a collection: `qa.index.milvus.collection_of`) unless one is chosen."""
    from qa.index.milvus import collection_of

    if settings.backend_given:
        return settings
    with contextlib.suppress(QAError):
        served = collection_of(current_folder(settings.index_dir))
        if served is not None:
            return dataclasses.replace(settings, backend="milvus", milvus_uri=served.uri)
    return settings


def _newest_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of the live build, else of the newest build folder that has a readable
    one (its name holds the time it was written)."""
    with contextlib.suppress(QAError):
        return read_manifest(current_folder(index_dir))
    for folder in sorted(index_dir.glob("build-*"), reverse=True):
        with contextlib.suppress(QAError, OSError):
            if entries.kind(folder) == "a folder":
                return read_manifest(folder)
    return None


def corpus_of(manifest: Manifest, settings: Settings, *, replacing: bool = False) -> Settings:
    """`settings` with the corpus (and model) of the build of `manifest`.

    A model not chosen (`settings.model_given`) becomes the build's own.  A corpus not
    chosen (`settings.corpus_given`) becomes the build's own; a chosen one that is another
    folder is refused with IndexMismatchError naming both, unless `replacing` (a build
    given both folders).
    """
    if not settings.model_given and manifest.model != settings.model:
        settings = dataclasses.replace(settings, model=manifest.model)
    built_from = Path(manifest.corpus_dir)
    if not built_from.is_absolute() or built_from == settings.corpus_dir.resolve():
        return settings
    if not settings.corpus_given:
        return settings.with_overrides(corpus_dir=built_from)
    if replacing:
        return settings
    given, index_dir = settings.corpus_dir, settings.index_dir
    raise IndexMismatchError(
        f"{index_dir}/ is the index of {built_from}/, not of {given}/: leave out --corpus "
        f"(and QA_CORPUS_DIR) to use it as it is, pass another --index for an index of "
        f"{given}/, or run `qa build --corpus {given} --index {index_dir}` to rebuild "
        f"{index_dir}/ from {given}/"
    )


def building_elsewhere(index_dir: Path) -> bool:
    """Whether another process holds the build lock of `index_dir` now."""
    if not index_dir.is_dir():
        return False
    try:
        with build_lock(index_dir):
            return False
    except BuildLockedError:
        return True
    except QAError:
        return False  # the build itself will say what is wrong with the lock file


@contextlib.contextmanager
def build_lock(index_dir: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold the build lock of `index_dir`, waiting for it with `wait`, else raising
    BuildLockedError when another build holds it; the lock file needs no write permission."""
    path = index_dir / ".lock"
    try:
        descriptor = entries.open_file(path, os.O_RDONLY | os.O_CREAT)
    except entries.NotAFile as error:
        raise QAError(f"{path} is {error.kind}, not a lock file: remove it, then retry") from None
    except IsADirectoryError:
        raise QAError(f"{path} is a folder, not a lock file: remove it, then retry") from None
    except OSError as error:
        raise QAError(
            f"Cannot open the lock file {path} ({error.strerror}): remove it, then retry"
        ) from error
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise BuildLockedError(
            f"Another build of {index_dir}/ is running: wait for it to finish, then retry"
        ) from None
    try:
        yield
    finally:
        os.close(descriptor)  # releases the lock


def previous_build(index_dir: Path) -> LoadedIndex | None:
    """The live build, whose chunks and vectors a new build reuses; None if unusable."""
    try:
        return store.read_build(current_folder(index_dir))
    except (QAError, OSError, ValueError, TypeError):
        return None  # an unusable old index is simply not reused


def live_documents(index_dir: Path) -> dict[str, str]:
    """{path: sha256} of the documents in the live build; empty when there is none to read."""
    try:
        return read_manifest(current_folder(index_dir)).documents
    except QAError:
        return {}


def swap(index_dir: Path, folder: Path) -> None:
    """Point CURRENT at `folder` by rename, then delete builds older than the previous one.

    If CURRENT cannot be written (disk full), `folder` is removed and the previous
    build stays live.
    """
    previous = None
    with contextlib.suppress(QAError):
        previous = current_folder(index_dir).name
    pointer = index_dir / f".{CURRENT}.{os.getpid()}"
    try:
        pointer.unlink(missing_ok=True)  # whatever is there (a FIFO would block the write)
        pointer.write_text(folder.name + "\n", encoding="utf-8")
        store.fsync_path(pointer)
        os.replace(pointer, index_dir / CURRENT)
    except OSError as error:
        pointer.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        raise store.write_failed(index_dir, error) from error
    store.fsync_path(index_dir)
    # Folders of older builds, and what an interrupted build left behind.
    for old in index_dir.glob("build-*"):
        if old.name not in (folder.name, previous):
            shutil.rmtree(old, ignore_errors=True)
    for stray in index_dir.glob(f".{CURRENT}.*"):
        stray.unlink(missing_ok=True)
