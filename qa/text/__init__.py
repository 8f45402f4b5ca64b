"""Text to chunks: titled sections, sentence spans and the chunks the model reads whole.

Not here: reading files (see `qa.readers`) or embedding chunks (see `qa.model`).
"""
