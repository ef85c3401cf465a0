"""What the preference loops of ``prefs train`` share, whatever the env.

A run is rounds of: cut segments of the current policy, keep the candidate pairs the reward
ensemble disputes most, label them, store them, refit the ensemble on every label of the env in
the store, train the policy on the learned reward. :mod:`.run` (Kelly, SB3) and
:mod:`.bomber_run` (Bomber, a league) say how segments are cut and how the policy trains; this
module holds the rest: the settings both take (:class:`RoundsConfig`, with the label schedule),
the query by disagreement (:func:`most_disputed`), the labelling and storing (:class:`Labelling`)
and the refit (:func:`refit`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from palaestra.errors import ConfigError
from palaestra.league.prefs.labels import LabelStore, SyntheticOracle
from palaestra.league.prefs.model_config import RewardModelConfig
from palaestra.league.prefs.segments import Segment

if TYPE_CHECKING:
    from palaestra.league.prefs.reward_model import FitStats, RewardEnsemble

__all__ = ["LABELS_FILE", "LABEL_SOURCES", "MODEL_DIR", "RESULTS_FILE", "Labeller", "Labelling",
           "Pair", "ProgressFn", "RoundsConfig", "check_positive", "most_disputed", "refit",
           "run_rounds"]

LABELS_FILE = "labels.sqlite"
"""The run's label store, in its directory (unless ``--labels-db`` names another)."""
MODEL_DIR = "reward_model"
"""The reward model, in the run's directory."""
RESULTS_FILE = "prefs_results.json"
"""The run's settings and per-round history, in its directory."""
LABEL_SOURCES: tuple[str, ...] = ("synthetic", "human")
"""Who labels: the oracle on the true reward, or a person (the pygame window)."""

Pair = tuple[Segment, Segment]
ProgressFn = Callable[[dict[str, Any]], None]
"""Called with each round's history row once the round is done."""
Labeller = Callable[[list[Pair]], list[float | None]]
"""Labels for pairs (1 left, 0 right, 0.5 tie, None skipped); may return fewer (the user quit)."""


def check_positive(config: object, names: Sequence[str]) -> None:
    """ConfigError naming the first of ``config``'s fields ``names`` that is not a positive int."""
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class RoundsConfig:
    """The settings of a preference run that do not depend on the env."""

    labels: str = "synthetic"
    """``synthetic`` (oracle on the true reward) or ``human`` (the pygame labeller)."""
    budget: int = 1000
    """Comparisons to label in all."""
    rounds: int = 10
    """Label-fit-train rounds after the initial labelling."""
    timesteps: int = 300_000
    """Env steps of training on the learned reward, in all."""
    segment_length: int = 25
    """Steps per segment."""
    candidates: int = 4
    """Candidate pairs per labelled pair (the most disputed are labelled)."""
    initial_fraction: float = 0.25
    """Share of the budget labelled before any training."""
    oracle_noise: float = 0.0
    """Synthetic labels: chance a label is a coin flip."""
    seed: int = 0
    """Seeds every random choice of the run (one generator, drawn from in order)."""
    model: RewardModelConfig = field(default_factory=RewardModelConfig)

    def __post_init__(self) -> None:
        if self.labels not in LABEL_SOURCES:
            raise ConfigError(f"labels must be 'synthetic' or 'human', got {self.labels!r}")
        check_positive(self, ("budget", "rounds", "timesteps", "segment_length", "candidates"))
        if not 0.0 < self.initial_fraction < 1.0:
            raise ConfigError(f"initial_fraction must be in (0, 1), got {self.initial_fraction}")
        if not 0.0 <= self.oracle_noise <= 1.0:
            raise ConfigError(f"oracle_noise must be in [0, 1], got {self.oracle_noise}")
        if self.budget < self.rounds + 1:
            raise ConfigError(f"budget {self.budget} is less than one label per round "
                              f"({self.rounds} rounds + the initial one)")

    def schedule(self) -> list[int]:
        """Labels per round: the initial round, then ``rounds`` equal shares."""
        first = max(1, int(round(self.budget * self.initial_fraction)))
        rest = self.budget - first
        shares = [rest // self.rounds + (1 if k < rest % self.rounds else 0)
                  for k in range(self.rounds)]
        return [first, *shares]

    def candidate_pairs(self, labels: int, fitted: bool) -> int:
        """Candidate pairs to draw for ``labels`` labels: ``candidates`` times as many once the
        ensemble is fitted (before, random pairs are labelled as drawn)."""
        return labels * (self.candidates if fitted else 1)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"]["hidden"] = list(self.model.hidden)
        return data


def most_disputed(model: RewardEnsemble, pairs: list[Pair], n: int) -> list[Pair]:
    """The ``n`` pairs the ensemble's members disagree on most, in their drawn order; all of
    ``pairs`` while the ensemble is not fitted yet."""
    if not model.fitted:
        return pairs
    disputed = np.argsort(-model.disagreement(pairs), kind="stable")[:n]
    return [pairs[k] for k in sorted(disputed)]


class Labelling:
    """Labels pairs, by the oracle or a labeller, and stores each segment and label at once.

    Raises ConfigError for human labels without a labeller.
    """

    def __init__(self, config: RoundsConfig, store: LabelStore,
                 labeller: Labeller | None = None) -> None:
        if config.labels == "human" and labeller is None:
            raise ConfigError("human labels need a labeller (the pygame window)")
        self.config, self.store, self.labeller = config, store, labeller
        self.oracle = SyntheticOracle(noise=config.oracle_noise)
        self.stopped = False
        """True once the human labeller returned fewer labels than pairs (they quit)."""
        self.given = 0
        """Labels given (and stored) so far."""

    @property
    def who(self) -> str:
        """The labeller name stored with each label."""
        if self.config.labels == "synthetic":
            return f"synthetic:noise={self.config.oracle_noise}"
        return "human"

    def label(self, pairs: list[Pair], rng: np.random.Generator) -> int:
        """Label ``pairs`` and store them; returns how many got a label (not skipped). A segment
        in several pairs is stored once."""
        if self.config.labels == "synthetic":
            labels: list[float | None] = [self.oracle.label(a, b, rng) for a, b in pairs]
        else:
            assert self.labeller is not None
            labels = list(self.labeller(pairs))
            self.stopped = len(labels) < len(pairs)
        ids: dict[int, tuple[Segment, int]] = {}  # id(segment) -> (segment kept alive, row id)

        def stored(segment: Segment) -> int:
            if id(segment) not in ids:
                ids[id(segment)] = (segment, self.store.add_segment(segment, self.who))
            return ids[id(segment)][1]

        done = 0
        for (left, right), label in zip(pairs, labels):
            if label is None:
                continue
            self.store.add_label(stored(left), stored(right), float(label), self.who)
            done += 1
        self.given += done
        return done


def run_rounds(schedule: list[int], play: Callable[[int, int], dict[str, Any]],
               labelling: Labelling, progress: ProgressFn | None = None) -> list[dict[str, Any]]:
    """The rounds of a run: round ``k`` labels ``schedule[k]`` pairs in ``play(k, n)``, which
    returns its history row; each row gets the round's ``seconds`` and goes to ``progress``. After
    a round in which the human labeller stopped, the loop ends (what was trained is kept)."""
    history: list[dict[str, Any]] = []
    for k, n in enumerate(schedule):
        start = time.perf_counter()
        row = play(k, n)
        row["seconds"] = time.perf_counter() - start
        history.append(row)
        if progress is not None:
            progress(row)
        if labelling.stopped:
            break
    return history


def refit(model: RewardEnsemble, store: LabelStore, env: str,
          rng: np.random.Generator) -> FitStats:
    """Fit ``model`` to every label of ``env`` in ``store`` (those of earlier runs too)."""
    comps = [(c.left, c.right, c.label) for c in store.comparisons(env)]
    if not comps:
        raise RuntimeError("no labels yet: the labeller skipped every pair")
    return model.fit(comps, rng)
