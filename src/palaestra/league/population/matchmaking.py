"""Prioritised fictitious self-play (PFSP): whom each learner plays next.

A learner's chance of meeting candidate ``c`` is proportional to ``kind_weight(c) * f(p)``, where
``p`` is the learner's (prior-smoothed) win rate against ``c`` and ``f`` favours hard opponents
(AlphaStar's PFSP). Every candidate then gets at least ``min_prob``. Candidates are every member
other than the learner: other learners, snapshots and bots. A kind whose weight is 0 is left out,
and so is anyone ``rivals`` (when given) does not pair with the learner: a hide-and-seek hider
only meets seekers (:mod:`.sides`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from palaestra.errors import ConfigError
from palaestra.league.population.state import LeagueState, WinRecord

__all__ = ["MatchmakingConfig", "Rivals", "choose_lineup", "draw_lineup", "lineup_table", "pfsp_distribution"]

_WEIGHTINGS = ("hard", "variance", "uniform")

Rivals = Callable[[str, str], bool]
"""``rivals(learner, candidate)``: whether ``candidate`` may be ``learner``'s opponent."""


@dataclass(frozen=True)
class MatchmakingConfig:
    """How PFSP weights the candidates."""

    weighting: Literal["hard", "variance", "uniform"] = "hard"
    """``f(p)``: hard ``(1-p)^2`` (opponents the learner loses to), variance ``p(1-p)`` (even
    matches), uniform ``1``."""
    prior_games: float = 2.0
    """Pseudo-games at p = 0.5 mixed into each estimate: ``p = (wins + prior/2) / (games + prior)``."""
    bot_weight: float = 1.0
    """Multiplier on bots' weights (0 leaves bots out)."""
    snapshot_weight: float = 1.0
    """Multiplier on snapshots' weights (0 leaves snapshots out)."""
    learner_weight: float = 1.0
    """Multiplier on other learners' weights (0 leaves them out)."""
    min_prob: float = 0.02
    """Floor on every candidate's probability, so that no one is never played. When the floor
    cannot hold for everyone (``n * min_prob >= 1``) the distribution is uniform."""

    def __post_init__(self) -> None:
        if self.weighting not in _WEIGHTINGS:
            raise ConfigError(f"weighting must be one of {_WEIGHTINGS}, got {self.weighting!r}")
        for name in ("prior_games", "bot_weight", "snapshot_weight", "learner_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be finite and >= 0, got {value}")
        if not (0.0 <= self.min_prob < 1.0):
            raise ConfigError(f"min_prob must be in [0, 1), got {self.min_prob}")


def _f(p: float, weighting: str) -> float:
    if weighting == "hard":
        return (1.0 - p) ** 2
    if weighting == "variance":
        return p * (1.0 - p)
    return 1.0


def _floor(weights: list[float], min_prob: float) -> list[float]:
    """Normalise ``weights`` so each probability is >= ``min_prob``, keeping the ratios of the rest.

    Candidates below the floor are set to it and the others share the remaining mass in
    proportion to their weights, repeated until no one is below (water filling).
    """
    n = len(weights)
    if n * min_prob >= 1.0:
        return [1.0 / n] * n
    fixed = [False] * n
    while True:
        mass = 1.0 - min_prob * sum(fixed)
        free_total = sum(w for w, f in zip(weights, fixed) if not f)
        n_free = n - sum(fixed)
        probs = [min_prob if f else (mass * w / free_total if free_total > 0 else mass / n_free)
                 for w, f in zip(weights, fixed)]
        low = [i for i, p in enumerate(probs) if not fixed[i] and p < min_prob]
        if not low:
            return probs
        for i in low:
            fixed[i] = True


def _check_learner(state: LeagueState, learner: str) -> None:
    if learner not in state.members:
        raise ValueError(f"unknown learner {learner!r}; learners: {state.learners()}")
    if state.members[learner].kind not in ("learner", "external"):
        raise ValueError(f"{learner!r} is a {state.members[learner].kind}, not a learner")


def _distribution(state: LeagueState, learner: str, config: MatchmakingConfig,
                  records: dict[tuple[str, str], WinRecord],
                  rivals: Rivals | None = None) -> dict[str, float]:
    _check_learner(state, learner)
    kind_weight = {"learner": config.learner_weight, "snapshot": config.snapshot_weight,
                   "bot": config.bot_weight, "external": 0.0}  # externals are never drawn
    ids: list[str] = []
    weights: list[float] = []
    for member_id, member in state.members.items():
        if member_id == learner or kind_weight[member.kind] == 0.0:
            continue
        if rivals is not None and not rivals(learner, member_id):
            continue
        wins, games = records.get((learner, member_id), WinRecord(0.0, 0))
        total = games + config.prior_games
        p = (wins + 0.5 * config.prior_games) / total if total > 0 else 0.5
        ids.append(member_id)
        weights.append(kind_weight[member.kind] * _f(p, config.weighting))
    if not ids:
        raise ValueError(f"no opponents for {learner!r}: the league has no other members "
                         "with a positive kind weight")
    return dict(zip(ids, _floor(weights, config.min_prob)))


def pfsp_distribution(state: LeagueState, learner: str,
                      config: MatchmakingConfig = MatchmakingConfig(),
                      rivals: Rivals | None = None) -> dict[str, float]:
    """``{candidate: probability}`` over every member except ``learner``, in creation order.

    ``learner`` may also be an external member (an ES agent drawing its opponents); external
    members are never candidates.

    Deterministic; sums to 1; each probability is at least ``config.min_prob`` (see its doc).
    ValueError for an unknown id, an id that is not a learner, or no candidates.
    """
    return _distribution(state, learner, config, state.head_to_head(), rivals)


def lineup_table(state: LeagueState, config: MatchmakingConfig = MatchmakingConfig(),
                 rivals: Rivals | None = None) -> dict[str, dict[str, float]]:
    """``{learner: pfsp_distribution(learner)}`` for every learner; plain data for remote workers."""
    records = state.head_to_head()
    return {learner: _distribution(state, learner, config, records, rivals)
            for learner in state.learners()}


def choose_lineup(state: LeagueState, learner: str, n_opponents: int, rng: np.random.Generator,
                  config: MatchmakingConfig = MatchmakingConfig()) -> list[str]:
    """Draw ``n_opponents`` opponent ids for ``learner`` from its PFSP distribution.

    Learners and snapshots are drawn without replacement (each at most once per lineup, the
    distribution renormalised over those left), bots with replacement. When the candidates run out,
    the rest are drawn uniformly from the league's bots (even those with weight 0); ValueError if
    there are none. Returns the ids in draw order; the same generator state gives the same lineup.
    """
    if isinstance(n_opponents, bool) or not isinstance(n_opponents, (int, np.integer)) \
            or n_opponents < 0:
        raise ValueError(f"n_opponents must be an integer >= 0, got {n_opponents!r}")
    dist = pfsp_distribution(state, learner, config)
    bots = state.bots()
    non_bots = [m for m in dist if state.members[m].kind != "bot"]
    if not bots and n_opponents > len(non_bots):
        raise ValueError(f"{learner!r} needs {n_opponents} opponents but the league has only "
                         f"{len(non_bots)} other learners/snapshots and no bots")
    return draw_lineup(dist, bots, int(n_opponents), rng)


def draw_lineup(dist: dict[str, float], bots: list[str], n_opponents: int,
                rng: np.random.Generator) -> list[str]:
    """The draw of :func:`choose_lineup` from plain data (what a remote env runner holds).

    ``dist`` is a learner's PFSP distribution, ``bots`` the league's bot ids: ids in ``bots`` are
    drawn with replacement, the others at most once; when those run out, bots uniformly.
    """
    lineup: list[str] = []
    bot_set = set(bots)
    available = dict(dist)
    for _ in range(n_opponents):
        if available:
            ids = list(available)
            probs = np.array([available[m] for m in ids], dtype=float)
            total = probs.sum()
            probs = probs / total if total > 0 else np.full(len(ids), 1.0 / len(ids))
            pick = ids[int(rng.choice(len(ids), p=probs))]
            if pick not in bot_set:
                del available[pick]
        elif bots:
            pick = bots[int(rng.integers(len(bots)))]
        else:
            raise ValueError(f"not enough opponents for a lineup of {n_opponents}: no bots")
        lineup.append(pick)
    return lineup
