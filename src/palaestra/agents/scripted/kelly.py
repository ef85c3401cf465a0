"""Scripted agents for the Kelly coin-flip games.

Every agent here bets in whole cents and works on a batch of observations (``act_batch``) as well
as on one (``act``), so that 10,000 games can be evaluated in lockstep.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from palaestra.envs.kelly.env import KellyConfig
from palaestra.envs.kelly.solver import KellySolution, solve_kelly
from palaestra.errors import ConfigError, UnknownNameError


def wealth_cents(observations: dict[str, np.ndarray]) -> np.ndarray:
    """Wealth in cents, one per row, from a batch observation of either Kelly env."""
    return np.rint(np.asarray(observations["wealth"], dtype=np.float64).reshape(-1) * 100).astype(
        np.int64
    )


def _batch_of_one(observation: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v)[None, ...] for k, v in observation.items()}


class KellyAgentBase(abc.ABC):
    """Shared plumbing: ``act`` is ``act_batch`` on a batch of one."""

    name: str = "kelly-agent"

    def reset(self, rng: np.random.Generator) -> None:  # noqa: B027 (a no-op unless overridden)
        """Deterministic agents ignore the generator."""

    def act(self, observation: dict[str, Any]) -> np.int64:
        return np.int64(self.act_batch(_batch_of_one(observation))[0])

    @abc.abstractmethod
    def act_batch(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        """Bets in cents, one per row of the batch observation."""


@dataclass
class FractionAgent(KellyAgentBase):
    """Bets a constant fraction of the wealth (rounded down to the cent).

    With ``cap`` set, never bets more than what would reach the cap (the "capped" variant).
    """

    fraction: float
    cap: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ConfigError(f"fraction must lie in [0, 1], got {self.fraction}")
        if not self.name:
            self.name = f"fraction-{self.fraction:g}" + ("-capped" if self.cap else "")

    def act_batch(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        w = wealth_cents(observations)
        bets = np.floor(self.fraction * w + 1e-9).astype(np.int64)
        if self.cap is not None:
            bets = np.minimum(bets, np.maximum(round(self.cap * 100) - w, 0))
        return bets


@dataclass
class BayesKellyAgent(KellyAgentBase):
    """Kelly betting with the edge estimated from the wins and losses seen so far.

    For the generalized game: bets ``2 p - 1`` of the wealth, p being the posterior mean of a
    Beta(alpha, beta) prior updated with the observed wins and losses (nothing when p <= 1/2).
    """

    alpha: float = 7.0
    beta: float = 3.0
    multiplier: float = 1.0
    name: str = "bayes-kelly"

    def act_batch(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        if "wins" not in observations or "losses" not in observations:
            raise ConfigError(
                "bayes-kelly needs the wins and losses of the generalized Kelly game; "
                "use kelly on the classic game"
            )
        w = wealth_cents(observations)
        wins = np.asarray(observations["wins"]).reshape(-1)
        losses = np.asarray(observations["losses"]).reshape(-1)
        p = (self.alpha + wins) / (self.alpha + self.beta + wins + losses)
        fraction = np.clip(self.multiplier * (2.0 * p - 1.0), 0.0, 1.0)
        return np.floor(fraction * w + 1e-9).astype(np.int64)


@dataclass
class OptimalAgent(KellyAgentBase):
    """Plays the exact optimal policy of the classic game (from :func:`solve_kelly`)."""

    solution: KellySolution
    name: str = "optimal"

    @classmethod
    def for_config(cls, config: KellyConfig) -> OptimalAgent:
        return cls(solve_kelly(config.edge, config.cap_cents, config.max_rounds))

    def act_batch(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        if "rounds_left" not in observations:
            raise ConfigError(
                "the optimal agent solves the classic game only; it needs rounds_left, which the "
                "generalized game hides"
            )
        rounds_left = np.asarray(observations["rounds_left"]).reshape(-1)
        return self.solution.bet(wealth_cents(observations), rounds_left)


@dataclass
class RandomBetAgent(KellyAgentBase):
    """Bets a uniformly random number of cents between 0 and the whole wealth."""

    name: str = "random"
    _rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def reset(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def act_batch(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        w = wealth_cents(observations)
        return self._rng.integers(0, w + 1).astype(np.int64)


SCRIPTED_KELLY_AGENTS: dict[str, str] = {
    "optimal": "exact optimal policy of the classic game (dynamic programming)",
    "kelly": "Kelly criterion: bet 2p-1 = 20% of wealth each round",
    "capped-kelly": "Kelly 20%, but never more than what reaches the $250 cap",
    "fraction:F": "bet the constant fraction F (0..1) of wealth",
    "bayes-kelly": "generalized game: Kelly with the edge's Beta posterior mean",
    "random": "bet a uniformly random amount between 0 and the wealth",
}


def make_scripted_kelly_agent(spec: str, config: KellyConfig | None = None) -> KellyAgentBase:
    """Build a scripted agent from its CLI name (see :data:`SCRIPTED_KELLY_AGENTS`).

    Raises:
        UnknownNameError: for an unknown name; ConfigError: for a malformed ``fraction:F``.
    """
    config = config or KellyConfig()
    kelly_fraction = max(2.0 * config.edge - 1.0, 0.0)
    if spec == "optimal":
        return OptimalAgent.for_config(config)
    if spec == "kelly":
        return FractionAgent(kelly_fraction, name="kelly")
    if spec == "capped-kelly":
        return FractionAgent(kelly_fraction, cap=config.max_wealth, name="capped-kelly")
    if spec == "bayes-kelly":
        return BayesKellyAgent()
    if spec == "random":
        return RandomBetAgent()
    if spec.startswith("fraction:"):
        raw = spec.split(":", 1)[1]
        try:
            fraction = float(raw)
        except ValueError:
            raise ConfigError(f"fraction:F needs a number F in [0, 1], got {raw!r}") from None
        return FractionAgent(fraction)
    known = ", ".join(SCRIPTED_KELLY_AGENTS)
    raise UnknownNameError(f"unknown Kelly agent {spec!r}; known: {known}, or a checkpoint directory")
