"""Single-agent envs (Kelly, counting) as RLlib multi-agent envs for the league trainer.

Each episode one learner of the league plays the env alone (its agent id is its member id, the
policy mapping is the identity, as in Bomber). There are no opponents and no ratings: a learner's
fitness for PBT is its mean episode return, kept per iteration. Finished episodes are collected
by the driver with :meth:`SoloLeagueEnv.pop_results` as ``{"member", "return", "seed"}``.

* ``kelly``: ``KellyLearningEnv`` over ``palaestra/KellyCoinflip-v0`` (features in, a fraction of
  the wealth out; the return is the final wealth in dollars).
* ``counting``: ``palaestra/GridCounting-v0`` with the features of
  :func:`~palaestra.agents.learned.nalu.counting_features` (never the step count); the policy is an
  LSTM, or with ``core="nau"`` the NAU accumulator of :mod:`palaestra.league.rllib.nau_module`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from palaestra.envs import get_spec
from palaestra.errors import ConfigError, InvalidActionError
from palaestra.league.population.envs.base import LeagueEnvBase

SOLO_ENVS: tuple[str, ...] = tuple(get_spec(name).short_name for name in ("kelly", "counting"))


class CountingFeatures(gym.ObservationWrapper):
    """GridCounting observations as the float features the counting policies use."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        from palaestra.agents.learned.nalu import FEATURE_NAMES

        self.observation_space = spaces.Box(-10.0, 10.0, (len(FEATURE_NAMES),), np.float32)

    def observation(self, observation: dict[str, Any]) -> np.ndarray:
        from palaestra.agents.learned.nalu import counting_features

        return counting_features(observation)[0]


def make_solo_env(name: str) -> gym.Env:
    """The learner-facing single-agent env of ``name``."""
    if name not in SOLO_ENVS:
        raise ConfigError(f"no single-agent league env {name!r}; known: {', '.join(SOLO_ENVS)}")
    spec = get_spec(name)
    if spec.family == "kelly":
        from palaestra.agents.learned.kelly import KellyLearningEnv

        return KellyLearningEnv(spec.load()(), reward="final")
    if spec.family == "counting":
        return CountingFeatures(spec.load()())
    raise AssertionError(f"SOLO_ENVS holds {name!r} of family {spec.family!r}, which has no builder")


class SoloLeagueEnv(LeagueEnvBase):
    """One league learner per episode on a single-agent env (see the module docstring).

    ## Arguments
    ``config`` (RLlib's env_config): ``env`` (``kelly`` or ``counting``), ``lineups`` (its keys
    are the learners), ``seed`` and ``agent_ids`` (every member id of the run).
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.inner = make_solo_env(str(dict(config or {}).get("env", "")))
        super().__init__(config, self.inner.observation_space, self.inner.action_space)
        self._learners: list[str] = []
        self.set_league(dict(config or {}).get("lineups", {}), [], {})
        self._member = ""
        self._return = 0.0

    def set_league(self, lineups: dict[str, Any], bots: list[str], shaping: dict[str, Any]) -> None:
        """Install the learners (the keys of ``lineups``); bots and shaping do not apply."""
        self._learners = sorted(lineups)
        self._declare(set(self._learners))

    def reset(self, *, seed: int | None = None,  # type: ignore[override]
              options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        self._member = self._draw_learner(seed, self._learners)
        self._seed = int(self._rng.integers(2**31))
        self._return = 0.0
        obs, info = self.inner.reset(seed=self._seed)
        self.agents = [self._member]
        return {self._member: obs}, {self._member: {}}

    def step(self, action_dict: dict[str, Any]  # type: ignore[override]
             ) -> tuple[dict, dict, dict, dict, dict]:
        m = self._member
        if m not in action_dict:
            raise InvalidActionError(f"no action for {m}")
        obs, reward, terminated, truncated, _ = self.inner.step(action_dict[m])
        self._return += float(reward)
        done = bool(terminated or truncated)
        if done:
            self._results.append({"member": m, "return": self._return, "seed": self._seed})
            self.agents = []
        return ({m: obs}, {m: float(reward)},
                {m: bool(terminated), "__all__": bool(terminated)},
                {m: bool(truncated), "__all__": bool(truncated) and not terminated},
                {m: {}})
