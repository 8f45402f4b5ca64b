"""Question to passages: candidates, evidence, fusion, confidence, highlights.

Not here: building the index (see `qa.index`) or showing passages (see `qa.render`, `qa.web`).
"""
