"""Population-based training (PBT): the worst learners copy the best and perturb their hyperparams.

:func:`exploit_explore` only edits the :class:`~palaestra.league.population.state.LeagueState`
(hyperparams, ``parent``, ``pbt_events``); the caller copies the donors' weights into the targets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from palaestra.errors import ConfigError
from palaestra.league.population.state import LeagueState, PBTEvent

__all__ = ["DEFAULT_BOUNDS", "PBTConfig", "exploit_explore", "hyperparam_bounds"]

DEFAULT_BOUNDS: dict[str, tuple[float, float]] = {"lr": (1e-5, 1e-2), "entropy_coeff": (0.0, 0.05)}
"""Bounds of the standard hyperparams; ``shape_*`` reward weights default to ``(0.0, 1.0)``."""
_SHAPE_BOUNDS = (0.0, 1.0)


@dataclass(frozen=True)
class PBTConfig:
    """When and how PBT replaces learners."""

    interval: int = 10
    """League iterations between PBT rounds (the caller schedules them)."""
    fraction: float = 0.25
    """Bottom fraction replaced and top fraction used as donors: ``k = ceil(fraction * n)``, at
    least 1 and at most ``n // 2`` so that no learner is both (in (0, 0.5])."""
    perturb_factors: tuple[float, float] = (0.8, 1.25)
    """Each inherited hyperparam is multiplied by one of these, chosen uniformly."""
    resample_prob: float = 0.0
    """Chance of drawing a hyperparam afresh within its bounds instead (log-uniform for ``lr``);
    the only way a hyperparam at 0 can move."""
    bounds: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_BOUNDS))
    """``name -> (low, high)``; every result is clipped to them. ``shape_*`` default (0, 1)."""
    min_matches: int = 0
    """A learner with fewer rated matches is neither replaced nor a donor."""

    def __post_init__(self) -> None:
        if isinstance(self.interval, bool) or not isinstance(self.interval, int) \
                or self.interval <= 0:
            raise ConfigError(f"interval must be a positive integer, got {self.interval!r}")
        if not (0.0 < self.fraction <= 0.5):
            raise ConfigError(f"fraction must be in (0, 0.5], got {self.fraction}")
        factors = tuple(float(f) for f in self.perturb_factors)
        if len(factors) != 2 or not all(math.isfinite(f) and f > 0 for f in factors):
            raise ConfigError(f"perturb_factors must be two positive numbers, "
                              f"got {self.perturb_factors!r}")
        object.__setattr__(self, "perturb_factors", factors)
        if not (0.0 <= self.resample_prob <= 1.0):
            raise ConfigError(f"resample_prob must be in [0, 1], got {self.resample_prob}")
        bounds = {}
        for name, pair in dict(self.bounds).items():
            low, high = (float(v) for v in pair)
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise ConfigError(f"bounds[{name!r}] must be finite with low <= high, got {pair}")
            if name == "lr" and low <= 0:
                raise ConfigError(f"bounds['lr'] must be positive (lr is resampled log-uniformly),"
                                  f" got {pair}")
            bounds[name] = (low, high)
        object.__setattr__(self, "bounds", bounds)
        if isinstance(self.min_matches, bool) or not isinstance(self.min_matches, int) \
                or self.min_matches < 0:
            raise ConfigError(f"min_matches must be an integer >= 0, got {self.min_matches!r}")


def hyperparam_bounds(name: str, config: PBTConfig) -> tuple[float, float]:
    """Bounds of hyperparam ``name``; ValueError for a name with none (add it to ``bounds``)."""
    if name in config.bounds:
        return config.bounds[name]
    if name.startswith("shape_"):
        return _SHAPE_BOUNDS
    raise ConfigError(f"hyperparam {name!r} has no bounds; add it to PBTConfig.bounds")


def _explore(params: dict[str, float], rng: np.random.Generator,
             config: PBTConfig) -> dict[str, float]:
    """Perturb (or resample) each hyperparam in sorted name order and clip it to its bounds."""
    out: dict[str, float] = {}
    for name in sorted(params):
        low, high = hyperparam_bounds(name, config)
        if config.resample_prob > 0 and rng.random() < config.resample_prob:
            if name == "lr":
                value = math.exp(rng.uniform(math.log(low), math.log(high)))
            else:
                value = float(rng.uniform(low, high))
        else:
            value = params[name] * config.perturb_factors[int(rng.integers(2))]
        out[name] = float(min(max(value, low), high))
    return out


def exploit_explore(state: LeagueState, rng: np.random.Generator, config: PBTConfig,
                    iteration: int,
                    rating: Literal["ordinal", "elo"] = "ordinal",
                    fitness: Mapping[str, float] | None = None,
                    among: Sequence[str] | None = None) -> list[PBTEvent]:
    """One PBT round: each of the ``k`` worst learners copies a random one of the ``k`` best.

    Learners with at least ``config.min_matches`` rated matches are ranked by ``rating`` from
    :meth:`LeagueState.rating_table` (best first, ties by member id; an unrated learner has the
    initial rating). With ``n`` of them, ``k = min(max(1, ceil(fraction * n)), n // 2)``. Each
    target, worst first, draws a donor uniformly from the top ``k``; its hyperparams become the
    donor's, perturbed by :func:`_explore` and clipped to the bounds, and its ``parent`` the
    donor. Returns the events, also appended to ``state.pbt_events``; none when ``n < 2``.

    ``fitness`` (learner -> score, higher is better) replaces the ratings, for single-agent envs
    where a learner's mean return is what counts; learners missing from it are not ranked.
    ``among`` limits the round to those learners (a hide-and-seek side: hiders never copy seekers).
    """
    if rating not in ("ordinal", "elo"):
        raise ConfigError(f"rating must be 'ordinal' or 'elo', got {rating!r}")
    scores: dict[str, float] = {}
    learners = state.learners() if among is None else [m for m in state.learners() if m in among]
    if fitness is not None:
        scores = {m: float(fitness[m]) for m in learners if m in fitness}
    else:
        table = state.rating_table()
        initial = table.initial_ordinal if rating == "ordinal" else table.initial_elo
        for learner in learners:
            stats = table.players.get(learner)
            games = stats.games if stats else 0
            if games >= config.min_matches:
                scores[learner] = getattr(stats, rating) if stats else initial
    for learner in scores:  # fail before changing anything
        for name in state.members[learner].hyperparams:
            hyperparam_bounds(name, config)
    ranked = sorted(scores, key=lambda m: (-scores[m], m))
    n = len(ranked)
    if n < 2:
        return []
    k = min(max(1, math.ceil(config.fraction * n)), n // 2)
    top, bottom = ranked[:k], ranked[n - k:]
    events = []
    for target in reversed(bottom):
        donor = top[int(rng.integers(k))]
        member = state.members[target]
        before = dict(member.hyperparams)
        after = _explore(state.members[donor].hyperparams, rng, config)
        member.hyperparams = dict(after)
        member.parent = donor
        events.append(PBTEvent(iteration, target, donor, before, after,
                               float(scores[target]), float(scores[donor])))
    state.pbt_events.extend(events)
    return events
