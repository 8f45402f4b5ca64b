"""The index's life: build it from a corpus, store and check it, open it, follow the corpus.

Not here: reading documents (see `qa.readers`) or ranking passages (see `qa.rank`).
"""
