"""Evaluate an agent on a Kelly coin-flip env: many games in lockstep, exact same dynamics.

Game i is seeded with ``episode_seeds(seed, n)[i]``; it draws its hidden parameters and flips with
the env's own :meth:`draw`, so it is exactly the game ``env.reset(seed=episode_seeds[i])`` plays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from gymnasium.utils.seeding import np_random

from palaestra.agents.base import BatchAgent
from palaestra.envs.kelly.core import KellyGames
from palaestra.envs.kelly.env import KellyCoinflipEnv, KellyCoinflipGeneralizedEnv
from palaestra.envs.kelly.solver import solve_kelly
from palaestra.errors import ConfigError

KellyEnv = KellyCoinflipEnv | KellyCoinflipGeneralizedEnv

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class KellyEvaluation:
    """Outcome of evaluating one agent on many games."""

    env_id: str
    agent: str
    episodes: int
    seed: int
    mean_wealth: float
    """Mean final wealth in dollars."""
    std_wealth: float
    ci95_low: float
    """95% normal-approximation confidence interval of the mean."""
    ci95_high: float
    optimum: float | None
    """Expected final wealth of the optimal policy (classic game only)."""
    regret: float | None
    """optimum - mean_wealth (classic game only)."""
    cap_rate: float
    """Fraction of games that reached the cap."""
    bust_rate: float
    """Fraction of games that ended with $0."""
    mean_rounds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def episode_seeds(seed: int, episodes: int) -> np.ndarray:
    """The reset seed of each evaluation game (a pure function of ``seed``)."""
    if episodes < 1:
        raise ConfigError(f"episodes must be >= 1, got {episodes}")
    return np.random.default_rng(seed).integers(0, 2**31 - 1, size=episodes, dtype=np.int64)


def play_kelly_games(
    env: KellyEnv,
    agent: BatchAgent,
    seeds: np.ndarray,
    agent_seed: int = 0,
    on_round: Callable[[int, int], None] | None = None,
) -> KellyGames:
    """Play one game per seed in lockstep; return the finished games.

    Args:
        env: the env whose rules and draws are used (only its configuration is read).
        agent: bets for the live games each round via ``act_batch``.
        seeds: reset seed of each game.
        agent_seed: seeds the generator handed to ``agent.reset``.
        on_round: called as ``on_round(round, live_games)`` after every round (progress bars).
    """
    draws = [env.draw(np_random(int(s))[0]) for s in seeds]
    games = KellyGames(draws, env.initial_cents)
    agent.reset(np.random.default_rng(agent_seed))
    t = 0
    while not games.done.all():
        live = np.flatnonzero(~games.done)
        batch = type(env).batch_observation(games)
        bets = np.asarray(agent.act_batch({k: v[live] for k, v in batch.items()}))
        if bets.shape != (live.size,):
            raise ValueError(
                f"agent {agent.name!r} returned {bets.shape} bets for {live.size} observations"
            )
        if not np.issubdtype(bets.dtype, np.integer):
            raise ValueError(f"agent {agent.name!r} must bet integer cents, got {bets.dtype}")
        full = np.zeros(games.size, dtype=np.int64)
        full[live] = bets
        games.step(full)
        t += 1
        if on_round is not None:
            on_round(t, int((~games.done).sum()))
    return games


def evaluate_kelly(
    env: KellyEnv,
    agent: BatchAgent,
    env_id: str,
    episodes: int = 10_000,
    seed: int = 0,
    on_round: Callable[[int, int], None] | None = None,
) -> KellyEvaluation:
    """Mean final wealth with a 95% CI, and regret against the exact optimum where known."""
    seeds = episode_seeds(seed, episodes)
    games = play_kelly_games(env, agent, seeds, agent_seed=seed, on_round=on_round)
    final = games.wealth_cents / 100.0
    mean = float(final.mean())
    std = float(final.std(ddof=1)) if episodes > 1 else 0.0
    half = Z_95 * std / math.sqrt(episodes)
    optimum = regret = None
    if isinstance(env, KellyCoinflipEnv):
        c = env.config
        optimum = solve_kelly(c.edge, c.cap_cents, c.max_rounds).value(
            c.initial_cents, c.max_rounds
        )
        regret = optimum - mean
    return KellyEvaluation(
        env_id=env_id,
        agent=agent.name,
        episodes=episodes,
        seed=seed,
        mean_wealth=mean,
        std_wealth=std,
        ci95_low=mean - half,
        ci95_high=mean + half,
        optimum=optimum,
        regret=regret,
        cap_rate=float((games.wealth_cents >= games.cap_cents).mean()),
        bust_rate=float((games.wealth_cents <= 0).mean()),
        mean_rounds=float(games.rounds_elapsed.mean()),
    )
