"""`manifest.json`: how a build was made and what it holds, checked field by field.

A `Manifest` records the format version, the qa version, the model and its dimension,
the chunking and encoding settings, how the model made the vectors (`encoder`), a SHA-256
per source file and a hash per chunk, what changed since the build before, and each file
of the build with its size and SHA-256.  `mismatches` says what differs from the current
settings and `encoder_changes` what differs from the vectors the model makes now, each
with the fix.

Not here: the other files of a build (see `qa.index.store`, `qa.index.records`).
"""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from qa.errors import IndexCorruptError
from qa.index.entries import NotAFile, read_file
from qa.settings import Settings

# 2: section-title vectors (titles.npy); 3: chunks bounded by characters; 4: the encoder
# (int8, and sentence vectors pooled from the chunk's forward pass, since removed) recorded
# and chosen; 5: each chunk's token vectors (tokens.npy and its companions, `qa.rank.late`)
FORMAT_VERSION = 5
MANIFEST = "manifest.json"
T = TypeVar("T")


def package_version() -> str:
    try:
        return importlib.metadata.version("qa")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class FileCheck:
    """Size and SHA-256 of one file of a build, as recorded when it was written."""

    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """How a build was made and what it holds; `manifest.json` of its folder.

    >>> m = Manifest("m", 3, {"max_tokens": 256}, "2026-01-02T12:00:00+00:00", "/c", {}, ())
    >>> Manifest.from_json(m.to_json()) == m
    True
    """

    model: str
    dimension: int
    chunking: dict[str, int]
    built_at: str
    corpus_dir: str
    documents: dict[str, str]  # {relative path: sha256 of its bytes}
    chunk_hashes: tuple[str, ...]
    # What changed since the build before this one, so any reader can say so.
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    # What the settings asked for (`Settings.encoding()`), and what made the vectors
    # (`qa.model.embedding.encoder_of`): the second is what an index is checked against
    # (`encoder_changes`). Read as they are made now (`_as_made_now`).
    encoding: dict[str, str] = field(default_factory=dict)
    encoder: dict[str, str] = field(default_factory=dict)
    index_type: str = ""  # filled in by `write_build`
    files: dict[str, FileCheck] = field(default_factory=dict)  # filled in by `write_build`
    format_version: int = FORMAT_VERSION
    qa_version: str = field(default_factory=package_version)

    def to_json(self) -> str:
        data = {
            "format_version": self.format_version,
            "qa_version": self.qa_version,
            "model": {"name": self.model, "dimension": self.dimension},
            "chunking": self.chunking,
            "encoding": self.encoding,
            "encoder": self.encoder,
            "built_at": self.built_at,
            "corpus_dir": self.corpus_dir,
            "documents": self.documents,
            "chunk_hashes": list(self.chunk_hashes),
            "changes": {
                "added": list(self.added),
                "removed": list(self.removed),
                "changed": list(self.changed),
            },
            "index_type": self.index_type,
            "files": {name: asdict(check) for name, check in self.files.items()},
        }
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """The manifest in `text`, checked field by field; ValueError saying what is wrong."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        for key, kind in _MANIFEST_FIELDS.items():
            if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
                raise ValueError(f"it lacks a valid {key!r}")
        model = data["model"]
        if not (isinstance(model.get("name"), str) and type(model.get("dimension")) is int):
            raise ValueError("it lacks a valid 'model'")
        changes = data.get("changes", {})  # absent in builds of earlier versions
        if not isinstance(changes, dict):
            raise ValueError("it lacks valid 'changes'")
        return cls(
            model=model["name"],
            dimension=model["dimension"],
            chunking=_str_map(data["chunking"], int, "chunking"),
            # Absent in builds of format 3 and before: `mismatches` asks for a rebuild.
            encoding=_as_made_now(_str_map(_dict(data, "encoding"), str, "encoding")),
            encoder=_as_made_now(_str_map(_dict(data, "encoder"), str, "encoder")),
            built_at=data["built_at"],
            corpus_dir=data["corpus_dir"],
            documents=_str_map(data["documents"], str, "documents"),
            chunk_hashes=_strings(data["chunk_hashes"], "chunk_hashes"),
            added=_strings(changes.get("added", []), "changes"),
            removed=_strings(changes.get("removed", []), "changes"),
            changed=_strings(changes.get("changed", []), "changes"),
            index_type=data["index_type"],
            files={name: _file_check(name, check) for name, check in data["files"].items()},
            format_version=data["format_version"],
            qa_version=data["qa_version"],
        )


_MANIFEST_FIELDS: dict[str, type] = {
    "format_version": int,
    "qa_version": str,
    "model": dict,
    "chunking": dict,
    "built_at": str,
    "corpus_dir": str,
    "documents": dict,
    "chunk_hashes": list,
    "index_type": str,
    "files": dict,
}


def _str_map(value: dict[Any, Any], kind: type[T], key: str) -> dict[str, T]:
    if not all(isinstance(k, str) and type(v) is kind for k, v in value.items()):
        raise ValueError(f"it lacks a valid {key!r}")
    return value


def _dict(data: dict[str, Any], key: str) -> dict[Any, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"it lacks a valid {key!r}")
    return value


def _as_made_now(recorded: dict[str, str]) -> dict[str, str]:
    """`recorded` without `"sentence_vectors": "separate"`, which builds recorded while sentences
    could also be pooled, and which is how every build embeds them now: such an index is up to
    date.  `"pooled"` stays, and `encoder_changes` says why that index is stale.

    >>> _as_made_now({"precision": "fp32", "sentence_vectors": "separate"})
    {'precision': 'fp32'}
    """
    if recorded.get("sentence_vectors") != "separate":
        return recorded
    return {key: value for key, value in recorded.items() if key != "sentence_vectors"}


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"it lacks a valid {key!r}")
    return tuple(value)


def _file_check(name: str, check: Any) -> FileCheck:
    if "/" in name or name.startswith(".") or not isinstance(check, dict):
        raise ValueError(f"it lists an invalid file {name!r}")
    size, digest = check.get("bytes"), check.get("sha256")
    if type(size) is not int or not isinstance(digest, str):
        raise ValueError(f"it lists an invalid file {name!r}")
    return FileCheck(size, digest)


def read_manifest(folder: Path) -> Manifest:
    """The manifest of build `folder`, without loading anything else."""
    try:
        return Manifest.from_json(read_file(folder / MANIFEST).decode("utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError.of_build(folder, f"{folder.name}/{MANIFEST} is missing") from None
    except NotAFile as error:  # a FIFO would block the read
        raise IndexCorruptError.of_build(folder, str(error)) from None
    except (OSError, ValueError, RecursionError) as error:  # RecursionError: JSON nested too deep
        raise IndexCorruptError.of_build(folder, f"{MANIFEST} is unreadable: {error}") from error


def mismatches(manifest: Manifest, settings: Settings) -> list[str]:
    """What differs between how the index was built and the current settings, with the fix:
    its format, model or chunking, any of which makes it unusable until rebuilt.  (How the
    model made its vectors is `encoder_changes`.)"""
    found = []
    if manifest.format_version != FORMAT_VERSION:
        found.append(
            f"it has format version {manifest.format_version} but this qa reads "
            f"{FORMAT_VERSION}: run `qa build`"
        )
    if manifest.model != settings.model:
        found.append(
            f"it was built with model {manifest.model!r} but the settings ask for "
            f"{settings.model!r}: run `qa build`, or set QA_MODEL={manifest.model}"
        )
    if manifest.chunking != settings.chunking():
        found.append(
            f"it was chunked with {manifest.chunking} but the settings say "
            f"{settings.chunking()}: run `qa build`"
        )
    return found


NO_TOKENS = "it keeps no token vectors, which the model gives: run `qa build`"
POOLED = (
    "its sentence vectors were pooled from their chunks' model runs, which qa no longer does "
    "(each sentence is run through the model on its own): run `qa build`"
)


def encoder_changes(built: dict[str, str], now: dict[str, str]) -> list[str]:
    """How the vectors of a build (its manifest's `encoder`) differ from what the model makes
    now (`qa.model.embedding.encoder_of`), with the fix: such an index still answers, but
    differently from a new build, and its vectors are not reused.

    >>> encoder_changes({"precision": "fp32", "token_vectors": "none"},
    ...                 {"precision": "fp32", "token_vectors": "int8x128"})
    ['it keeps no token vectors, which the model gives: run `qa build`']
    >>> encoder_changes({"precision": "fp32"}, {"precision": "fp32"})
    []
    """
    found = []
    if built.get("sentence_vectors") == "pooled":  # a build made before pooling was removed
        found.append(POOLED)
        built = {key: value for key, value in built.items() if key != "sentence_vectors"}
    if built == now:
        return found
    if _but_tokens(built) == _but_tokens(now) and built.get("token_vectors", "none") == "none":
        return [*found, NO_TOKENS]  # a build made through a wrapper that hid them from it
    return [
        *found,
        f"its vectors were made as {built} but the model now makes {now}: run `qa build`",
    ]


def _but_tokens(encoder: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in encoder.items() if key != "token_vectors"}
