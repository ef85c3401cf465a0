"""Kelly coin-flip game mechanics shared by the Gymnasium envs and the batched evaluator.

A game is described by its hidden draw (:class:`KellyDraw`: edge, cap, number of rounds and the
uniform numbers that decide every flip). All randomness of a game is drawn once, at reset, from the
injected ``np.random.Generator``; stepping is then a pure function of the bets. That is what lets
:class:`KellyGames` step N games in lockstep and still give, game for game, exactly the
trajectories the single-game env gives for the same seeds.

Money is kept in integer cents throughout, so there is no floating-point drift in the wealth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from palaestra.errors import ConfigError, InvalidActionError


def dollars_to_cents(amount: float, what: str) -> int:
    """Convert a dollar amount to whole cents, refusing fractions of a cent."""
    cents = round(amount * 100)
    if abs(cents - amount * 100) > 1e-6:
        raise ConfigError(f"{what} must be a whole number of cents, got {amount!r}")
    return int(cents)


@dataclass(frozen=True)
class KellyDraw:
    """Everything chance decides in one game, drawn at reset."""

    edge: float
    """Probability that a bet is won."""
    cap_cents: int
    """Wealth cap; the game ends when it is reached."""
    rounds: int
    """Number of rounds the game lasts at most."""
    uniforms: np.ndarray
    """One U[0, 1) number per round; round t is won iff ``uniforms[t] < edge``."""


class KellyStep(NamedTuple):
    """Result of stepping a batch of games."""

    rewards: np.ndarray
    """Final wealth in dollars for games that ended this step, 0 elsewhere."""
    terminated: np.ndarray
    """Games that ended this step (cap reached, bust, or out of rounds)."""
    won: np.ndarray
    """Whether each stepped game won its flip this step (False for games already over)."""
    bets_cents: np.ndarray
    """Bets actually placed (clipped to the wealth; 0 for games already over)."""


class KellyGames:
    """N independent Kelly games stepped in lockstep.

    Args:
        draws: the hidden draw of each game.
        initial_cents: starting wealth of every game, in cents.
    """

    def __init__(self, draws: list[KellyDraw], initial_cents: int) -> None:
        if not draws:
            raise ConfigError("KellyGames needs at least one game")
        n = len(draws)
        self.edge = np.array([d.edge for d in draws], dtype=np.float64)
        self.cap_cents = np.array([d.cap_cents for d in draws], dtype=np.int64)
        self.rounds = np.array([d.rounds for d in draws], dtype=np.int64)
        if np.any(self.cap_cents <= initial_cents):
            raise ConfigError("every game's cap must exceed the initial wealth")
        width = int(self.rounds.max())
        self.uniforms = np.ones((n, width), dtype=np.float64)
        for i, d in enumerate(draws):
            self.uniforms[i, : d.rounds] = d.uniforms[: d.rounds]
        self.wealth_cents = np.full(n, initial_cents, dtype=np.int64)
        self.rounds_elapsed = np.zeros(n, dtype=np.int64)
        self.wins = np.zeros(n, dtype=np.int64)
        self.losses = np.zeros(n, dtype=np.int64)
        self.max_wealth_cents = self.wealth_cents.copy()
        self.done = np.zeros(n, dtype=bool)

    @property
    def size(self) -> int:
        return int(self.edge.shape[0])

    @property
    def rounds_left(self) -> np.ndarray:
        return self.rounds - self.rounds_elapsed

    def step(self, bets_cents: np.ndarray) -> KellyStep:
        """Place one bet in every game still running (entries for finished games are ignored).

        Bets are clipped to ``[0, wealth]``; a win is capped at the game's cap.
        """
        bets = np.asarray(bets_cents)
        if bets.shape != (self.size,):
            raise InvalidActionError(f"expected {self.size} bets, got shape {bets.shape}")
        if not np.issubdtype(bets.dtype, np.integer):
            raise TypeError(f"bets must be integer cents, got dtype {bets.dtype}")
        live = ~self.done
        bets = np.where(live, np.clip(bets.astype(np.int64), 0, self.wealth_cents), 0)
        t = np.minimum(self.rounds_elapsed, self.uniforms.shape[1] - 1)
        won = live & (self.uniforms[np.arange(self.size), t] < self.edge)
        lost = live & ~won
        self.wealth_cents = np.where(
            won, np.minimum(self.wealth_cents + bets, self.cap_cents), self.wealth_cents
        )
        self.wealth_cents = np.where(lost, self.wealth_cents - bets, self.wealth_cents)
        self.rounds_elapsed += live
        self.wins += won
        self.losses += lost
        self.max_wealth_cents = np.maximum(self.max_wealth_cents, self.wealth_cents)
        ended = live & (
            (self.wealth_cents <= 0)
            | (self.wealth_cents >= self.cap_cents)
            | (self.rounds_elapsed >= self.rounds)
        )
        self.done |= ended
        rewards = np.where(ended, self.wealth_cents / 100.0, 0.0)
        return KellyStep(rewards=rewards, terminated=ended, won=won, bets_cents=bets)


def draw_fixed(
    rng: np.random.Generator, edge: float, cap_cents: int, rounds: int
) -> KellyDraw:
    """The draw of the classic game: only the flips are random."""
    return KellyDraw(edge=edge, cap_cents=cap_cents, rounds=rounds, uniforms=rng.random(rounds))


def draw_generalized(
    rng: np.random.Generator,
    edge_alpha: float,
    edge_beta: float,
    cap_alpha: float,
    cap_min: float,
    cap_bound: float,
    rounds_mean: float,
    rounds_sd: float,
    rounds_bound: int,
) -> KellyDraw:
    """Draw a generalized game.

    edge ~ Beta(edge_alpha, edge_beta); cap (whole dollars) ~ Pareto(shape cap_alpha, scale
    cap_min) truncated to ``cap_bound`` by rejection; rounds ~ round(Normal(rounds_mean,
    rounds_sd)) truncated to ``[1, rounds_bound]`` by rejection. The truncation bounds are prior
    constants, so the spaces do not depend on the draw.
    """
    edge = float(rng.beta(edge_alpha, edge_beta))
    while True:
        cap = float(round(cap_min * (1.0 + rng.pareto(cap_alpha))))
        if cap <= cap_bound:
            break
    while True:
        rounds = int(round(rng.normal(rounds_mean, rounds_sd)))
        if 1 <= rounds <= rounds_bound:
            break
    return KellyDraw(
        edge=edge, cap_cents=int(cap) * 100, rounds=rounds, uniforms=rng.random(rounds)
    )
