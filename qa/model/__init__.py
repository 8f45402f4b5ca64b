"""The model: a sentence-transformers model run with ONNX Runtime, its one-time export,
and vectors for passages, sentences and word pieces.

Not here: what text is embedded (see `qa.text`) or how vectors are stored (see `qa.index`).
"""
