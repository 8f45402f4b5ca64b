"""Export a sentence-transformers model to ONNX once, and cache it (and its int8 copy).

The first use of a model exports it to ONNX (torch, eager attention, in a child
process so the caller never imports torch), fuses it with ONNX Runtime's
transformer optimizer and stores it in the cache folder, keyed by the model's
name and a fingerprint of its files; a changed model gets a new export.

Not handled: pipelines other than Transformer → Pooling (→ Normalize), such as
models with a Dense layer, or tokenizers without a `tokenizer.json`; they raise
ModelError and `qa.model.embedding.load_embedder` uses sentence-transformers instead.

Not here: running the export (see `qa.model.onnx_model`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from qa.errors import ModelError

EXPORT_VERSION = 1  # bump when the export recipe changes: older cached exports are ignored
_SUPPORTED_MODULES = (
    ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling"],
    [
        "sentence_transformers.models.Transformer",
        "sentence_transformers.models.Pooling",
        "sentence_transformers.models.Normalize",
    ],
)
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
            [sys.executable, "-m", __name__, str(model_dir), str(work / "model.onnx")],
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"},
            check=False,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise ModelError(f"the ONNX export failed: {last}")
        if not (work / "model.onnx").exists():
            raise ModelError(f"the ONNX export of {model_dir} wrote no model")
        (work / "source.json").write_text(
            json.dumps({"model": name, "path": str(model_dir), "export": EXPORT_VERSION}) + "\n",
            encoding="utf-8",
        )
        _move_into_place(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _move_into_place(work: Path, folder: Path) -> None:
    """Rename the finished export `work` to `folder`, atomically.  Another process may have
    won the race (its folder holds a model: keep it); a folder without a model is what an
    interrupted export of an earlier version left, and is replaced."""
    try:
        os.rename(work, folder)
    except OSError:
        if (folder / "model.onnx").exists():
            return
        stale = folder.with_name(f".stale-{os.getpid()}-{folder.name}")
        os.rename(folder, stale)
        shutil.rmtree(stale, ignore_errors=True)
        os.rename(work, folder)


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


if __name__ == "__main__":
    # Used by exported_model() in a child process: python -m qa.model.onnx_export MODEL_DIR TARGET
    export(Path(sys.argv[1]), Path(sys.argv[2]))
