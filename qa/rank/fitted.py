"""The numbers fitted for one model, kept as data: ranking weights and answer-score calibration.

`make fit` (`benchmarks/fit.py`) writes `qa/rank/weights/<model>.json` with `Fitted.write`,
and `Fitted.read` reads it back into the same object.  The file also says what it was
fitted on, when, and the figures each family of questions reached when it was left out
of the fit (`held_out`), with the weights of those fits, so that a quality test can judge
a family with numbers that never saw it.  A model without a file gets `DEFAULTS`: simple
model-independent numbers, never another model's.

Not here: what the numbers weigh (see `qa.rank.ranking.features`,
`qa.rank.confidence.answer_numbers`).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import QAError

FORMAT = 1
WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULTS_FILE = "defaults.json"  # not a model's name: a model's file is named for its model


@dataclass(frozen=True)
class Linear:
    """A weighted sum of named numbers plus a bias: `weights` align with `features`."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float = 0.0

    def of(self, features: tuple[str, ...]) -> tuple[float, ...]:
        """The weights in the order of `features`; QAError naming the fix when they differ."""
        if tuple(self.features) != tuple(features):
            raise QAError(
                f"The fitted weights are for the features {list(self.features)}, but qa "
                f"computes {list(features)}: run `make fit` to refit them"
            )
        return tuple(self.weights)


@dataclass(frozen=True)
class Scorers:
    """What ranks candidates and what scores the answers, with and without token vectors."""

    ranking: Linear
    ranking_without_tokens: Linear
    answer: Linear
    answer_without_tokens: Linear


@dataclass(frozen=True)
class Fitted:
    """One model's fitted numbers (`scorers`), with what they were fitted on and held-out figures.

    `variants` are the ablation table's rankings by fewer features; `held_out` maps each
    family of questions to the scorers fitted without it; `figures` holds the figures each
    family reached with those (as `make fit` printed them).
    """

    model: str
    scorers: Scorers
    fitted_on: dict[str, str] = field(default_factory=dict)
    date: str = ""
    variants: dict[str, Linear] = field(default_factory=dict)
    held_out: dict[str, Scorers] = field(default_factory=dict)
    figures: dict[str, dict[str, float]] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        """Write as JSON (the mirror image of `read`)."""
        data = {"format": FORMAT, **asdict(self)}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Fitted:
        """What `write` wrote; QAError naming the fix for a file that is not one."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.pop("format") != FORMAT:
                raise ValueError(f"format {data.get('format')} is not {FORMAT}")
            return cls(
                model=str(data["model"]),
                scorers=_scorers(data["scorers"]),
                fitted_on={str(k): str(v) for k, v in data.get("fitted_on", {}).items()},
                date=str(data.get("date", "")),
                variants={str(k): _linear(v) for k, v in data.get("variants", {}).items()},
                held_out={str(k): _scorers(v) for k, v in data.get("held_out", {}).items()},
                figures={
                    str(k): {str(n): float(x) for n, x in v.items()}
                    for k, v in data.get("figures", {}).items()
                },
            )
        except OSError as error:
            raise QAError(f"Cannot read {path} ({error.strerror}): run `make fit`") from error
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise QAError(
                f"{path} is not a file of fitted weights ({error}): run `make fit`"
            ) from error


def _linear(data: dict[str, Any]) -> Linear:
    features, weights = tuple(map(str, data["features"])), tuple(map(float, data["weights"]))
    if len(features) != len(weights):
        raise ValueError("as many weights as features are needed")
    return Linear(features, weights, float(data.get("bias", 0.0)))


def _scorers(data: dict[str, Any]) -> Scorers:
    return Scorers(*(_linear(data[name]) for name in Scorers.__dataclass_fields__))


def weights_file(model: str) -> Path:
    """Where the fitted numbers of `model` live: `qa/rank/weights/<model's last path part>.json`."""
    name = re.sub(r"[^\w.-]+", "_", model.rstrip("/").split("/")[-1]) or "model"
    return WEIGHTS_DIR / f"{name}.json"


def fitted_for(model: str) -> Fitted:
    """The fitted numbers of `model`, or `defaults()` when it has none."""
    path = weights_file(model)
    if not path.is_file():
        return defaults()
    fitted = Fitted.read(path)
    return fitted if fitted.model == model else defaults()


@functools.cache
def defaults() -> Fitted:
    """Model-independent numbers for a model never fitted (`qa/rank/weights/defaults.json`): every
    ranking feature but the lead section weighs the same; an answer is credible when its
    closest text's cosine with the question is over 0.5 (the score is that cosine's logistic,
    8 · cosine − 4)."""
    return Fitted.read(WEIGHTS_DIR / DEFAULTS_FILE)
