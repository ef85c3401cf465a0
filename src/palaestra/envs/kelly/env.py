"""Gymnasium environments for the Kelly coin-flip betting game (Haghani & Dewey, 2016)."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from palaestra.envs.kelly.core import (
    KellyDraw,
    KellyGames,
    dollars_to_cents,
    draw_fixed,
    draw_generalized,
)
from palaestra.errors import ConfigError, InvalidActionError


@dataclass(frozen=True)
class KellyConfig:
    """Parameters of the classic Kelly coin-flip game."""

    initial_wealth: float = 25.0
    """Starting wealth in dollars (whole cents)."""
    edge: float = 0.6
    """Probability of winning each flip."""
    max_wealth: float = 250.0
    """Wealth cap in dollars (whole cents); reaching it ends the game."""
    max_rounds: int = 300
    """Number of flips the game lasts at most."""

    def __post_init__(self) -> None:
        initial = dollars_to_cents(self.initial_wealth, "initial_wealth")
        cap = dollars_to_cents(self.max_wealth, "max_wealth")
        if not 0 < initial < cap:
            raise ConfigError(
                f"need 0 < initial_wealth < max_wealth, got {self.initial_wealth} and "
                f"{self.max_wealth}"
            )
        if not 0.0 < self.edge < 1.0:
            raise ConfigError(f"edge must lie in (0, 1), got {self.edge}")
        if int(self.max_rounds) != self.max_rounds or self.max_rounds < 1:
            raise ConfigError(f"max_rounds must be a positive integer, got {self.max_rounds}")

    @property
    def initial_cents(self) -> int:
        return dollars_to_cents(self.initial_wealth, "initial_wealth")

    @property
    def cap_cents(self) -> int:
        return dollars_to_cents(self.max_wealth, "max_wealth")


@dataclass(frozen=True)
class KellyGeneralizedConfig:
    """Priors of the generalized Kelly coin-flip game; the drawn values stay hidden."""

    initial_wealth: float = 25.0
    """Starting wealth in dollars (whole cents)."""
    edge_prior_alpha: float = 7.0
    """Edge ~ Beta(edge_prior_alpha, edge_prior_beta)."""
    edge_prior_beta: float = 3.0
    """See edge_prior_alpha."""
    max_wealth_alpha: float = 5.0
    """Cap ~ Pareto with this shape (heavy tail) and scale max_wealth_m, in whole dollars."""
    max_wealth_m: float = 200.0
    """Smallest possible cap, in dollars."""
    max_wealth_bound: float = 10_000.0
    """Caps above this are redrawn (probability (m/bound)^alpha, 3e-9 by default); fixes spaces."""
    max_rounds_mean: float = 300.0
    """Rounds ~ round(Normal(max_rounds_mean, max_rounds_sd))."""
    max_rounds_sd: float = 25.0
    """See max_rounds_mean."""
    max_rounds_bound: int = 600
    """Round counts outside [1, bound] are redrawn; fixes the observation space."""

    def __post_init__(self) -> None:
        initial = dollars_to_cents(self.initial_wealth, "initial_wealth")
        if initial <= 0:
            raise ConfigError(f"initial_wealth must be positive, got {self.initial_wealth}")
        if self.edge_prior_alpha <= 0 or self.edge_prior_beta <= 0:
            raise ConfigError("edge prior parameters must be positive")
        if self.max_wealth_alpha <= 0:
            raise ConfigError(f"max_wealth_alpha must be positive, got {self.max_wealth_alpha}")
        if not self.initial_wealth < self.max_wealth_m < self.max_wealth_bound:
            raise ConfigError(
                "need initial_wealth < max_wealth_m < max_wealth_bound, got "
                f"{self.initial_wealth}, {self.max_wealth_m}, {self.max_wealth_bound}"
            )
        if self.max_rounds_sd < 0:
            raise ConfigError(f"max_rounds_sd must be >= 0, got {self.max_rounds_sd}")
        if not 1 <= self.max_rounds_mean <= self.max_rounds_bound:
            raise ConfigError("need 1 <= max_rounds_mean <= max_rounds_bound")

    @property
    def initial_cents(self) -> int:
        return dollars_to_cents(self.initial_wealth, "initial_wealth")

    @property
    def bound_cents(self) -> int:
        return dollars_to_cents(self.max_wealth_bound, "max_wealth_bound")


class _KellyBase(gym.Env[dict[str, Any], np.int64], abc.ABC):
    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, initial_cents: int, render_mode: str | None) -> None:
        self.initial_cents = initial_cents
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        self._games: KellyGames | None = None

    @abc.abstractmethod
    def draw(self, rng: np.random.Generator) -> KellyDraw:
        """Draw a new game's hidden parameters and all its flips from ``rng``."""

    @staticmethod
    @abc.abstractmethod
    def batch_observation(games: KellyGames) -> dict[str, np.ndarray]:
        """The observations of N games at once, each entry with a leading batch axis."""

    def _observation(self) -> dict[str, Any]:
        return _row(self.batch_observation(self._require_games()), 0)

    def _info(self) -> dict[str, Any]:
        g = self._require_games()
        return {"wealth_cents": int(g.wealth_cents[0]), "rounds_elapsed": int(g.rounds_elapsed[0])}

    def _require_games(self) -> KellyGames:
        if self._games is None:
            raise RuntimeError("call reset() before step() or render()")
        return self._games

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        self._games = KellyGames([self.draw(self.np_random)], self.initial_cents)
        return self._observation(), self._info()

    def step(
        self, action: Any
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        g = self._require_games()
        if g.done[0]:
            raise RuntimeError("the game is over: call reset()")
        if not self.action_space.contains(action):
            raise InvalidActionError(f"invalid action {action!r}: expected a bet in cents in {self.action_space}")
        result = g.step(np.array([int(action)], dtype=np.int64))
        info = self._info()
        info["won"] = bool(result.won[0])
        info["bet_cents"] = int(result.bets_cents[0])
        return (
            self._observation(),
            float(result.rewards[0]),
            bool(result.terminated[0]),
            False,
            info,
        )

    def render(self) -> str | None:  # type: ignore[override]  # ansi only: text, never frames
        if self.render_mode != "ansi":
            return None
        g = self._require_games()
        status = " (over)" if g.done[0] else ""
        return (
            f"round {int(g.rounds_elapsed[0])}: wealth ${g.wealth_cents[0] / 100:.2f}, "
            f"{int(g.wins[0])} won / {int(g.losses[0])} lost{status}\n"
        )


class KellyCoinflipEnv(_KellyBase):
    """Bet on a biased coin with a wealth cap and a fixed number of rounds.

    ## Description
    The Haghani & Dewey (2016) experiment: you start with $25 and may bet any part of your wealth,
    in whole cents, on a coin that comes up heads with probability 0.6, for 300 rounds. Wealth is
    capped at $250. The optimal policy, computed exactly by
    :func:`palaestra.envs.kelly.solver.solve_kelly`, has expected final wealth $246.61.

    ## Action Space
    ``Discrete(cap_cents + 1)``: the bet in cents. Bets above the current wealth are clipped to it.

    ## Observation Space
    ``Dict`` with ``wealth`` (``Box(0, max_wealth, (1,), float64)``, dollars) and ``rounds_left``
    (``Discrete(max_rounds + 1)``).

    ## Rewards
    0 on every step but the last, where the reward is the final wealth in dollars, so the return is
    the final wealth.

    ## Starting State
    Wealth ``initial_wealth`` with ``max_rounds`` rounds left.

    ## Episode End
    Terminated when the wealth reaches the cap, falls to $0, or the rounds run out (the round
    count is part of the observation, so that is termination, not truncation).

    ## Arguments
    ``config`` (:class:`KellyConfig`) or its fields as keyword arguments; ``render_mode``
    ``"ansi"``.

    ## Version History
    * v0: initial version; bets in cents, all flips drawn at reset from the seeded generator.
    """

    def __init__(
        self,
        config: KellyConfig | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        if config is not None and overrides:
            raise TypeError("pass either config or keyword overrides, not both")
        self.config = config if config is not None else KellyConfig(**overrides)
        super().__init__(self.config.initial_cents, render_mode)
        cap = self.config.max_wealth
        self.action_space = spaces.Discrete(self.config.cap_cents + 1)
        self.observation_space = spaces.Dict(
            {
                "wealth": spaces.Box(0.0, cap, shape=(1,), dtype=np.float64),
                "rounds_left": spaces.Discrete(self.config.max_rounds + 1),
            }
        )

    def draw(self, rng: np.random.Generator) -> KellyDraw:
        c = self.config
        return draw_fixed(rng, c.edge, c.cap_cents, c.max_rounds)

    @staticmethod
    def batch_observation(games: KellyGames) -> dict[str, np.ndarray]:
        """The observations of N games at once, each entry with a leading batch axis."""
        return {
            "wealth": (games.wealth_cents / 100.0).reshape(-1, 1),
            "rounds_left": games.rounds_left.copy(),
        }


class KellyCoinflipGeneralizedEnv(_KellyBase):
    """The Kelly coin-flip game with the edge, the cap and the length drawn from hidden priors.

    ## Description
    Each game draws edge ~ Beta(7, 3), a wealth cap ~ Pareto(shape 5, minimum $200) in whole
    dollars, and a length ~ round(Normal(300, 25)) rounds. None of them is observed: the agent
    must infer the edge from its wins and losses, and the cap and length only bound it. Unlike
    the old ``gym`` version, the observation and action spaces are the same for every draw (they
    depend only on the prior's truncation bounds), so the spaces do not leak the hidden
    parameters, and both wins and losses are counted.

    ## Action Space
    ``Discrete(max_wealth_bound * 100 + 1)``: the bet in cents, clipped to the current wealth.

    ## Observation Space
    ``Dict`` with ``wealth`` and ``max_wealth_seen`` (``Box(0, max_wealth_bound, (1,))``, dollars),
    and ``rounds_elapsed``, ``wins`` and ``losses`` (``Discrete(max_rounds_bound + 1)``).

    ## Rewards
    The final wealth in dollars on the last step, 0 before.

    ## Starting State
    Wealth ``initial_wealth``, no rounds played.

    ## Episode End
    Terminated when the wealth reaches the hidden cap, falls to $0, or the hidden number of rounds
    has been played.

    ## Arguments
    ``config`` (:class:`KellyGeneralizedConfig`) or its fields as keyword arguments;
    ``render_mode`` ``"ansi"``.

    ## Version History
    * v0: initial version; Pareto cap and Normal length truncated by rejection to fixed bounds.
    """

    def __init__(
        self,
        config: KellyGeneralizedConfig | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        if config is not None and overrides:
            raise TypeError("pass either config or keyword overrides, not both")
        self.config = config if config is not None else KellyGeneralizedConfig(**overrides)
        super().__init__(self.config.initial_cents, render_mode)
        c = self.config
        count: spaces.Space[Any] = spaces.Discrete(c.max_rounds_bound + 1)
        self.action_space = spaces.Discrete(c.bound_cents + 1)
        self.observation_space = spaces.Dict(
            {
                "wealth": spaces.Box(0.0, c.max_wealth_bound, shape=(1,), dtype=np.float64),
                "max_wealth_seen": spaces.Box(
                    0.0, c.max_wealth_bound, shape=(1,), dtype=np.float64
                ),
                "rounds_elapsed": count,
                "wins": count,
                "losses": count,
            }
        )

    def draw(self, rng: np.random.Generator) -> KellyDraw:
        c = self.config
        return draw_generalized(
            rng,
            c.edge_prior_alpha,
            c.edge_prior_beta,
            c.max_wealth_alpha,
            c.max_wealth_m,
            c.max_wealth_bound,
            c.max_rounds_mean,
            c.max_rounds_sd,
            c.max_rounds_bound,
        )

    @staticmethod
    def batch_observation(games: KellyGames) -> dict[str, np.ndarray]:
        """The observations of N games at once, each entry with a leading batch axis."""
        return {
            "wealth": (games.wealth_cents / 100.0).reshape(-1, 1),
            "max_wealth_seen": (games.max_wealth_cents / 100.0).reshape(-1, 1),
            "rounds_elapsed": games.rounds_elapsed.copy(),
            "wins": games.wins.copy(),
            "losses": games.losses.copy(),
        }

    @property
    def hidden_parameters(self) -> dict[str, float]:
        """The drawn edge, cap (dollars) and length: for analysis only, never observed."""
        g = self._require_games()
        return {
            "edge": float(g.edge[0]),
            "max_wealth": float(g.cap_cents[0] / 100),
            "max_rounds": float(g.rounds[0]),
        }


def _row(batch: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    """Game i's observation out of a batch observation."""
    return {k: (v[i].copy() if v.ndim == 2 else np.int64(v[i])) for k, v in batch.items()}
