"""Judging retrieval against question sets (`qa eval`): Hit@k, MRR and confidence, and the
SQuAD and Qasper files turned into corpora and questions.

Not here: the ranking itself (see `qa.rank`).
"""
