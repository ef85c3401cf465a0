"""How a neural policy sees and plays the Kelly games: features, action mapping, agent wrapper.

The raw envs take a bet in cents out of up to 25,001 (or a million) discrete actions, which no
policy-gradient method explores well. A learner instead sees a few normalised features and outputs
one unbounded number ``a``: it bets ``sigmoid(a - offset)`` of its wealth, never more than what
reaches the cap where the cap is known (a bet above ``cap - wealth`` only adds downside, see the
solver), so it can hit the cap exactly. The squashing leaves no dead zone at small bets: clipping a
Gaussian at 0 would make every sample below it the same "bet nothing", with no gradient to leave.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from palaestra.agents.scripted.kelly import KellyAgentBase, wealth_cents
from palaestra.envs.kelly.env import KellyCoinflipEnv, KellyCoinflipGeneralizedEnv
from palaestra.errors import ConfigError

ACTION_LIMIT = 10.0
"""Policy outputs are clipped to +-ACTION_LIMIT (sigmoid 4.5e-5 .. 1 - 4.5e-5)."""


@dataclass(frozen=True)
class KellyFeatures:
    """Observation -> feature vector and action -> bet mapping for one Kelly variant."""

    variant: Literal["classic", "generalized"]
    """Which env's observations these are."""
    wealth_scale: float
    """Dollars that map to 1.0: the cap (classic game) or the prior's smallest cap."""
    rounds_scale: float
    """Rounds that map to 1.0."""
    prior_alpha: float = 7.0
    """Beta prior of the edge (generalized only), for the posterior-mean feature."""
    prior_beta: float = 3.0
    action_offset: float = 2.0
    """The share bet is ``sigmoid(a - action_offset)``: an untrained policy (a ~ 0) bets 12%."""

    def __post_init__(self) -> None:
        if self.variant not in ("classic", "generalized"):
            raise ConfigError(f"variant must be 'classic' or 'generalized', got {self.variant!r}")
        if self.wealth_scale <= 0 or self.rounds_scale <= 0:
            raise ConfigError("wealth_scale and rounds_scale must be positive")

    @classmethod
    def for_env(cls, env: gym.Env) -> KellyFeatures:
        base = env.unwrapped
        if isinstance(base, KellyCoinflipEnv):
            c = base.config
            return cls("classic", c.max_wealth, float(c.max_rounds))
        if isinstance(base, KellyCoinflipGeneralizedEnv):
            g = base.config
            return cls(
                "generalized", g.max_wealth_m, g.max_rounds_mean, g.edge_prior_alpha,
                g.edge_prior_beta,
            )
        raise TypeError(f"not a Kelly env: {type(base).__name__}")

    @property
    def dim(self) -> int:
        return 2 if self.variant == "classic" else 5

    def features(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Feature matrix (N, dim), float32, from a batch observation."""
        w = np.asarray(obs["wealth"], dtype=np.float64).reshape(-1) / self.wealth_scale
        if self.variant == "classic":
            if "rounds_left" not in obs:
                raise ConfigError("classic Kelly features need rounds_left in the observation")
            n = np.asarray(obs["rounds_left"], dtype=np.float64).reshape(-1) / self.rounds_scale
            cols = [w, n]
        else:
            if "wins" not in obs:
                raise ConfigError("generalized Kelly features need wins/losses in the observation")
            wins = np.asarray(obs["wins"], dtype=np.float64).reshape(-1)
            losses = np.asarray(obs["losses"], dtype=np.float64).reshape(-1)
            elapsed = np.asarray(obs["rounds_elapsed"], dtype=np.float64).reshape(-1)
            seen = np.asarray(obs["max_wealth_seen"], dtype=np.float64).reshape(-1)
            p = (self.prior_alpha + wins) / (self.prior_alpha + self.prior_beta + wins + losses)
            cols = [w, elapsed / self.rounds_scale, p, (wins - losses) / self.rounds_scale,
                    seen / self.wealth_scale]
        return np.stack(cols, axis=1).astype(np.float32)

    def bets(self, actions: np.ndarray, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Bets in cents for raw policy outputs, one per row (see the module docstring)."""
        a = np.clip(np.asarray(actions, dtype=np.float64).reshape(-1), -ACTION_LIMIT, ACTION_LIMIT)
        share = 1.0 / (1.0 + np.exp(self.action_offset - a))
        w = wealth_cents(obs)
        bets = np.rint(share * w).astype(np.int64)
        if self.variant == "classic":
            cap_cents = round(self.wealth_scale * 100)
            bets = np.minimum(bets, np.maximum(cap_cents - w, 0))
        return bets

    def observation_space(self) -> spaces.Box:
        return spaces.Box(-np.inf, np.inf, shape=(self.dim,), dtype=np.float32)

    @staticmethod
    def action_space() -> spaces.Box:
        return spaces.Box(-ACTION_LIMIT, ACTION_LIMIT, shape=(1,), dtype=np.float32)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


RewardMode = Literal["final", "increment"]


class KellyLearningEnv(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A Kelly env as a learner sees it: feature vector in, wealth fraction out.

    Args:
        env: a Kelly env.
        action_offset: the bet share is ``sigmoid(a - action_offset)`` (default 2: an untrained
            policy, a ~ 0, bets 12%; 0 makes it bet half its wealth).
        reward: ``"final"`` passes the env's reward (the final wealth, at the end);
            ``"increment"`` rewards each step's change in wealth instead. With no discounting the
            increments sum to final minus initial wealth, so the optimal policy is the same
            (potential-based shaping), but every bet gets its own feedback.

    Rewards are divided by ``features.wealth_scale`` so returns are of order 1.
    """

    def __init__(self, env: gym.Env, reward: RewardMode = "final",
                 action_offset: float | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, reward=reward, action_offset=action_offset)
        super().__init__(env)
        if reward not in ("final", "increment"):
            raise ConfigError(f"reward must be 'final' or 'increment', got {reward!r}")
        self.reward_mode = reward
        self.kelly_features = KellyFeatures.for_env(env)
        if action_offset is not None:
            if not np.isfinite(action_offset):
                raise ConfigError(f"action_offset must be finite, got {action_offset}")
            self.kelly_features = replace(self.kelly_features, action_offset=float(action_offset))
        self.observation_space = self.kelly_features.observation_space()
        self.action_space = self.kelly_features.action_space()
        self._last_obs: dict[str, Any] | None = None

    def _batch(self, obs: dict[str, Any]) -> dict[str, np.ndarray]:
        return {k: np.asarray(v)[None, ...] for k, v in obs.items()}

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._last_obs = obs
        return self.kelly_features.features(self._batch(obs))[0], info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._last_obs is None:
            raise RuntimeError("call reset() before step()")
        before = self._batch(self._last_obs)
        bet = self.kelly_features.bets(np.asarray(action), before)[0]
        obs, reward, terminated, truncated, info = self.env.step(np.int64(bet))
        self._last_obs = obs
        info["final_wealth"] = reward if terminated else None
        if self.reward_mode == "increment":
            after = self._batch(obs)
            reward = (wealth_cents(after)[0] - wealth_cents(before)[0]) / 100.0
        return (
            self.kelly_features.features(self._batch(obs))[0],
            float(reward) / self.kelly_features.wealth_scale,
            terminated,
            truncated,
            info,
        )


class NeuralKellyAgent(KellyAgentBase):
    """A trained policy playing a Kelly game: features -> deterministic action -> bet."""

    def __init__(
        self,
        name: str,
        features: KellyFeatures,
        predict: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        self.name = name
        self.kelly_features = features
        self._predict = predict

    def act_batch(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        x = self.kelly_features.features(observations)
        actions = np.asarray(self._predict(x))
        if actions.shape[0] != x.shape[0]:
            raise ValueError(f"policy returned {actions.shape[0]} actions for {x.shape[0]} rows")
        return self.kelly_features.bets(actions, observations)
