"""How likely a passage answers the question: the score shown to people, 0..1.

It is not the ranking's relevance, which is relative to the candidates, but how likely
the passage answers the question (`answer_scores`): the same function for every
question (README, "Honest confidence").  It weighs these:

- how close the passage's closest text (the chunk or its best sentence) is to the question;
- how close it stays once the document's mean direction is taken from both
  (`centred_cosine`), which is what sets this text apart from the rest of its document:
  text on the document's topic is close to any question on that topic, answer or not;
- how much of the question's content words, weighted by rarity, the chunk contains
  (question words such as "what" or "does" are left out: no document need contain them);
- how much of them it holds in the same or similar words (`qa.rank.pieces`: "troops" for
  "soldiers" counts, "drones" asked of a text that never names them does not);
- when the index keeps token vectors (`qa.rank.late`), how well the passage matches the
  question's worst-matched word piece: the one thing asked about that it lacks.

The score is halved when the question names something (a name, a number) that the
documents never mention: text on the same topic does not answer "what happened in
Rwanda" if Rwanda is nowhere in it.  Down the list it is capped by the score above
(`qa.rank.passage.never_rising`), so it never rises.

Not here: the order of the passages (see `qa.rank.ranking`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qa.rank.fitted import Scorers
from qa.rank.ranking import Array, Evidence

# The numbers the answer score weighs (`answer_numbers`); the last only with token vectors.
ANSWER_FEATURES = (
    "closest cosine",
    "centred cosine",
    "content coverage",
    "word-piece coverage",
    "answer kind missing",
    "weakest match",
)
# Puts any cosine below the confidence line, and keeps the order of the passages.
UNKNOWN_NAME_FACTOR = 0.5


def centred_cosine(
    cosine: Array, text_topic: Array, query_topic: Array, topic_norm: Array
) -> Array:
    """cos(t − m, q − m) for unit vectors t (a text) and q (the question) and a mean m.

    From the dot products alone: `cosine` t·q, `text_topic` t·m, `query_topic` q·m and
    `topic_norm` m·m.  m is the mean vector of the text's document: what every text of it
    shares, so what is left is what this text says that the others do not.  A zero mean
    leaves the cosine as it is, and so does a text that is the mean itself.

    >>> t, q, m = (np.array(v, dtype=np.float32) for v in ([0.6, 0.8], [0.8, 0.6], [0.7, 0.7]))
    >>> round(float(centred_cosine(t @ q, t @ m, q @ m, m @ m)), 2)
    -1.0
    >>> zero = np.float32(0)
    >>> float(centred_cosine(t @ q, zero, zero, zero)) == float(t @ q)
    True
    """
    numerator = cosine - text_topic - query_topic + topic_norm
    squared = (1 - 2 * text_topic + topic_norm) * (1 - 2 * query_topic + topic_norm)
    length = np.sqrt(np.maximum(squared, 0))
    safe = length > 1e-6
    centred = np.where(safe, numerator / np.where(safe, length, 1), cosine)
    return np.clip(centred, -1, 1).astype(np.float32)


def answer_numbers(
    evidence: Evidence,
    piece_coverage: Array,
    kind_missing: Array,
    at: npt.NDArray[np.intp] | None = None,
) -> Array:
    """The candidates (at positions `at`, default all) × `ANSWER_FEATURES` matrix (without
    the weakest match when the index keeps no token vectors).  `piece_coverage` and
    `kind_missing` (1.0 where the question asks for a name or a number and the text holds
    none, `qa.rank.answer_kind`) are given for those candidates only."""
    rows = slice(None) if at is None else at
    closest = np.maximum(evidence.chunk_cosine[rows], evidence.sentence_cosine[rows])
    numbers = [
        closest,
        evidence.specific_cosine[rows],
        evidence.content_coverage[rows],
        piece_coverage,
        kind_missing,
    ]
    if evidence.weakest_match is not None:
        numbers.append(evidence.weakest_match[rows])
    return np.stack(numbers, axis=1).astype(np.float32)


def answer_scores(
    evidence: Evidence,
    piece_coverage: Array,
    kind_missing: Array,
    scorers: Scorers,
    names_known: bool = True,
    at: npt.NDArray[np.intp] | None = None,
) -> Array:
    """How likely candidates answer the question, 0..1; 0.5 is the confidence line.

    `piece_coverage` is each one's word-piece coverage of the question
    (`qa.rank.pieces.PieceCoverage`), for the candidates at positions `at` (default: all); it
    costs the most to find, so only the candidates a list of passages needs get one.
    `scorers` are the model's fitted numbers (`qa.rank.fitted`).  `names_known` is False when
    the question names something the documents never mention (`Passage.unmentioned`):
    then no passage of them is a confident answer.

    >>> from qa.rank.fitted import defaults
    >>> values = (0.7, 0.6, 3, 3, 0.5, 0.5, 0.6, 0.6, 0.5, 0.5, 0.0)  # without token vectors
    >>> e = Evidence(*(np.array([v], dtype=np.float32) for v in values))
    >>> pieces, scorers = np.array([0.8], dtype=np.float32), defaults().scorers
    >>> missing = np.zeros(1, dtype=np.float32)
    >>> known = answer_scores(e, pieces, missing, scorers)
    >>> unknown = answer_scores(e, pieces, missing, scorers, names_known=False)
    >>> [round(float(known[0]), 2), round(float(unknown[0]), 2)]
    [0.83, 0.42]
    """
    numbers = answer_numbers(evidence, piece_coverage, kind_missing, at)
    tokens = evidence.weakest_match is not None
    linear = scorers.answer if tokens else scorers.answer_without_tokens
    weights = linear.of(ANSWER_FEATURES if tokens else ANSWER_FEATURES[:-1])
    logit = numbers @ np.asarray(weights, dtype=np.float32) + linear.bias
    score: Array = (1 / (1 + np.exp(-logit))).astype(np.float32)
    return score if names_known else score * np.float32(UNKNOWN_NAME_FACTOR)


def is_confident(score: float) -> bool:
    return score >= 0.5
