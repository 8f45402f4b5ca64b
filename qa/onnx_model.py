"""Run a sentence-transformers model with ONNX Runtime: export it once, cache it, encode fast.

The first use of a model exports it to ONNX (torch, eager attention, in a child
process so the caller never imports torch), fuses it with ONNX Runtime's
transformer optimizer and stores it in the cache folder, keyed by the model's
name and a fingerprint of its files; a changed model gets a new export.  After
that a process needs only `onnxruntime`, `tokenizers` and numpy.

Vectors are the sentence-transformers ones (cosine > 0.999): the same
tokenizer, truncation at the model's `max_seq_length`, pooling from its
`1_Pooling/config.json`, then unit length.

`precision="int8"` runs an int8 copy of the export (dynamic quantisation of the
weights, made once next to it): faster, its cosines within about 0.01 of fp32
(see the README's Performance section for what that does to retrieval).
`encode_with_spans` also gives a vector per character span of each text (its
sentences), mean-pooled from the same forward pass, so sentences cost no extra
model run (see `qa.pooling`).

Not handled: pipelines other than Transformer → Pooling (→ Normalize), such as
models with a Dense layer, or tokenizers without a `tokenizer.json`; they raise
ModelError and `qa.embedding.load_embedder` uses sentence-transformers instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError
from qa.pooling import Spans, span_means

Vectors = np.ndarray[Any, np.dtype[np.float32]]
PRECISIONS = ("fp32", "int8")
EXPORT_VERSION = 1  # bump when the export recipe changes: older cached exports are ignored
_SUPPORTED_MODULES = (
    ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling"],
    [
        "sentence_transformers.models.Transformer",
        "sentence_transformers.models.Pooling",
        "sentence_transformers.models.Normalize",
    ],
)
_BATCH = 32
_BATCH_TOKENS = 1024
_SMALL_FILE = 1 << 20


def cache_dir() -> Path:
    """Where exported models live: $QA_CACHE_DIR, else $XDG_CACHE_HOME/qa, else ~/.cache/qa."""
    if os.environ.get("QA_CACHE_DIR"):
        return Path(os.environ["QA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qa"


def read_config(model_dir: Path) -> dict[str, Any]:
    """What the runtime needs from a model folder; ModelError when ONNX cannot reproduce it.

    `read_config(bundled)` → `{"pooling": "mean", "max_tokens": 256, "dimension": 384, ...}`
    """
    modules_file = model_dir / "modules.json"
    if not modules_file.exists():
        raise ModelError(f"{model_dir} has no modules.json")
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    types = [module.get("type") for module in modules]
    if types not in _SUPPORTED_MODULES:
        raise ModelError(f"its modules {types} are not Transformer, Pooling, Normalize")
    if modules[0].get("path", "") != "":
        raise ModelError("its Transformer module is not at the top of the model folder")
    pooling = json.loads((model_dir / modules[1]["path"] / "config.json").read_text("utf-8"))
    modes = [
        m for m in ("cls_token", "mean_tokens", "max_tokens") if pooling.get(f"pooling_mode_{m}")
    ]
    others = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if len(modes) != 1 or len(others) != 1:
        raise ModelError(f"its pooling {others} is not exactly one of cls, mean or max")
    if not (model_dir / "tokenizer.json").exists():
        raise ModelError(f"{model_dir} has no tokenizer.json")
    st_file = model_dir / "sentence_bert_config.json"
    st_config = json.loads(st_file.read_text(encoding="utf-8")) if st_file.exists() else {}
    model_config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    max_tokens = st_config.get("max_seq_length") or model_config.get("max_position_embeddings")
    return {
        "pooling": modes[0].removesuffix("_token").removesuffix("_tokens"),
        "max_tokens": int(max_tokens or 512),
        "lowercase": bool(st_config.get("do_lower_case", False)),
        "dimension": int(pooling["word_embedding_dimension"]),
        "num_heads": int(model_config.get("num_attention_heads", 0)),
        "hidden_size": int(model_config.get("hidden_size", 0)),
    }


def fingerprint(model_dir: Path) -> str:
    """A hash of the model's files: contents of small files, size and mtime of large ones.

    Hashing 90 MB of weights on every start would cost more than a query.
    """
    digest = hashlib.sha256(f"qa-onnx-{EXPORT_VERSION}".encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        if path.name.startswith(".") or path.suffix == ".md" or "onnx" in path.parts:
            continue
        stat = path.stat()
        digest.update(str(path.relative_to(model_dir)).encode() + b"\0")
        if stat.st_size <= _SMALL_FILE:
            digest.update(path.read_bytes())
        else:
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _export_folder(name: str, model_dir: Path) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name.strip("/"))[-60:]
    return cache_dir() / "onnx" / f"{safe}-{fingerprint(model_dir)}"


def is_exported(name: str, model_dir: Path) -> bool:
    """Whether the model in `model_dir` is already exported, so loading it takes a second."""
    return (_export_folder(name, model_dir) / "model.onnx").exists()


def exported_model(name: str, model_dir: Path) -> Path:
    """The cached fused ONNX file for the model in `model_dir`, exporting it first if needed."""
    folder = _export_folder(name, model_dir)
    target = folder / "model.onnx"
    if target.exists():
        return target
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
        work.chmod(0o755)
    except OSError as error:
        raise ModelError(f"cannot write the ONNX cache in {folder.parent} ({error})") from error
    try:
        # A child process: the exporter needs torch, which the caller should never pay for.
        done = subprocess.run(
            [sys.executable, "-m", "qa.onnx_model", str(model_dir), str(work / "model.onnx")],
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"},
            check=False,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise ModelError(f"the ONNX export failed: {last}")
        (work / "source.json").write_text(
            json.dumps({"model": name, "path": str(model_dir), "export": EXPORT_VERSION}) + "\n",
            encoding="utf-8",
        )
        try:
            os.rename(work, folder)  # atomic; another process may have won the race
        except OSError:
            if not target.exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def quantized_model(name: str, model_dir: Path) -> Path:
    """The cached int8 copy of the export of the model in `model_dir`, made first if needed."""
    source = exported_model(name, model_dir)
    target = source.with_name("model-int8.onnx")
    if target.exists():
        return target
    work = target.with_name(f".model-int8-{os.getpid()}.onnx")
    try:
        quantize_int8(source, work)
        os.replace(work, target)  # atomic: another process may be quantising too
    except Exception as error:  # the quantiser raises onnx's and its own untyped errors
        raise ModelError(f"cannot write the int8 copy of {source} ({error})") from error
    finally:
        work.unlink(missing_ok=True)
    return target


def export(model_dir: Path, target: Path) -> None:
    """Export the Transformer of `model_dir` to `target` and fuse it (needs torch)."""
    import torch
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel

    config = read_config(model_dir)
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    raw = target.with_name("raw.onnx")
    with torch.no_grad():
        # The TorchScript exporter: its graph is the one the transformer optimizer can fuse.
        torch.onnx.export(
            LastHidden(), sample, str(raw), input_names=names,
            output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
            dynamo=False,
        )  # fmt: skip
    fused = optimizer.optimize_model(
        str(raw),
        model_type="bert",  # BERT-like encoders; fusions that do not match are skipped
        num_heads=config["num_heads"],
        hidden_size=config["hidden_size"],
        opt_level=0,
    )
    fused.save_model_to_file(str(target))
    raw.unlink()


class OnnxEmbedder:
    """A sentence-transformers model run by ONNX Runtime; thread-safe after construction.

    `precision` is "fp32" (the export) or "int8" (its quantised copy);
    `onnx_file` replaces the cached export with another one of the same model.
    """

    def __init__(
        self,
        name: str,
        model_dir: Path,
        onnx_file: Path | None = None,
        *,
        precision: str = "fp32",
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if precision not in PRECISIONS:
            raise ModelError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        config = read_config(model_dir)
        self.name = name
        self.precision = precision
        self.dimension: int = config["dimension"]
        self.max_tokens: int = config["max_tokens"]
        self._pooling: str = config["pooling"]
        # Spans are pooled from their text's forward pass only under mean pooling.
        self.pools_spans = self._pooling == "mean"
        self._lowercase: bool = config["lowercase"]
        self._model_dir = model_dir
        if onnx_file is None:
            quantized = precision == "int8"
            onnx_file = (quantized_model if quantized else exported_model)(name, model_dir)
        self.path = onnx_file
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # The file pads every input to 128 and cuts at 128; the model reads up to max_tokens.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens)
        self._counter: Any = None
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # The file is fused already; the extra online passes only cost start-up time (~0.1 s).
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        try:
            self._session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelError(f"ONNX Runtime cannot load {self.path} ({error})") from error
        self._inputs = {i.name for i in self._session.get_inputs()}

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Unit rows; inputs sorted by length and padded per batch to the longest."""
        return self._encode(texts, None, progress)[0]

    def encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Spans], *, progress: bool = False
    ) -> tuple[Vectors, Vectors]:
        """Unit rows of `texts`, and of the character spans of each (all spans, in order).

        A span's vector is the mean of the text's token vectors inside it, from the
        same forward pass; a span the model does not reach (beyond its maximum
        length) is encoded on its own.  Models without mean pooling encode every
        span on its own.
        """
        if len(spans) != len(texts):
            raise ValueError("one list of spans is needed per text")
        if not self.pools_spans:
            pieces = [text[a:b] for text, row in zip(texts, spans, strict=True) for a, b in row]
            return self.encode(texts, progress=progress), self.encode(pieces)
        vectors, pooled = self._encode(texts, spans, progress)
        missing = [i for i, row in enumerate(pooled) if not row.any()]
        if missing:
            pieces = [text[a:b] for text, row in zip(texts, spans, strict=True) for a, b in row]
            pooled[missing] = self.encode([pieces[i] for i in missing])
        return vectors, pooled

    def _encode(
        self, texts: Sequence[str], spans: Sequence[Spans] | None, progress: bool
    ) -> tuple[Vectors, Vectors]:
        """Vectors of `texts` and, when `spans` is given, of their spans (zero rows where
        the model does not reach)."""
        starts = np.cumsum([0] + [len(row) for row in spans or ()])
        pooled = np.zeros((int(starts[-1]), self.dimension), dtype=np.float32)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), pooled
        if self._lowercase:
            texts = [text.lower() for text in texts]
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")  # longest first: memory peaks early
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        bar = _progress(len(texts)) if progress and sys.stderr.isatty() else None
        for rows in _batches(lengths[order], order):
            hidden, mask = self._hidden([encodings[i].ids for i in rows], int(lengths[rows[0]]))
            out[rows] = self._pool(hidden, mask)
            if spans is not None:
                for at, row in enumerate(rows):
                    found = span_means(hidden[at], encodings[row], spans[row], self.max_tokens)
                    pooled[starts[row] : starts[row + 1]] = found
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()
        return out, pooled

    def _hidden(self, ids: list[list[int]], width: int) -> tuple[Vectors, Any]:
        """The model's token vectors for a batch, and its attention mask."""
        batch = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, pieces in enumerate(ids):
            batch[row, : len(pieces)] = pieces
            mask[row, : len(pieces)] = 1
        feed = {"input_ids": batch, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(batch)
        hidden: Vectors = self._session.run(None, feed)[0]
        return hidden, mask

    def _pool(self, hidden: Vectors, mask: Any) -> Vectors:
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        elif self._pooling == "max":
            pooled = np.where(mask[:, :, None] > 0, hidden, -1e9).max(axis=1)
        else:
            weights = mask.astype(np.float32)
            pooled = np.einsum("btd,bt->bd", hidden, weights) / weights.sum(1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def count_tokens(self, text: str) -> int:
        if self._counter is None:
            from tokenizers import Tokenizer

            counter = Tokenizer.from_file(str(self._model_dir / "tokenizer.json"))
            counter.no_padding()
            counter.no_truncation()
            self._counter = counter
        if self._lowercase:
            text = text.lower()
        return len(self._counter.encode(text, add_special_tokens=False).ids)


def quantize_int8(source: Path, target: Path) -> None:
    """Write an int8 copy of `source` (dynamic, per-channel weights): about 3× faster on CPU.

    Used with QA_PRECISION=int8, not by default: its vectors have cosine ~0.993 to
    the fp32 ones, which moves borderline confidence flags (README, Performance).
    """
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantizer warns through the root logger, which would give the process a handler
    # (`logging.basicConfig`) and print every library's debug lines from then on.
    root, quiet = logging.getLogger(), logging.NullHandler()
    root.addHandler(quiet)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": 1},  # float: the fused ops hide their types
        )
    finally:
        root.removeHandler(quiet)


def _batches(lengths: Any, order: Any) -> list[Any]:
    """Runs of `order` (longest first) of at most _BATCH rows and about _BATCH_TOKENS pieces.

    Small matrices stay in the CPU caches: 6 paragraphs or 32 sentences a
    batch ran faster than a fixed 32 or 64 of either.
    """
    batches, start = [], 0
    while start < len(order):
        rows = max(1, min(_BATCH, _BATCH_TOKENS // max(1, int(lengths[start]))))
        batches.append(order[start : start + rows])
        start += rows
    return batches


def _threads() -> int:
    """One ONNX Runtime thread per core this process may use (2 on the reference machine)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _progress(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="text", desc="Embedding", leave=False)


if __name__ == "__main__":
    # Used by exported_model() in a child process: python -m qa.onnx_model MODEL_DIR TARGET
    export(Path(sys.argv[1]), Path(sys.argv[2]))
