"""Single-agent envs (Kelly, counting) as RLlib multi-agent envs for the league trainer.

Each episode one learner of the league plays the env alone (its agent id is its member id, the
policy mapping is the identity, as in Bomber). There are no opponents and no ratings: a learner's
fitness for PBT is its mean episode return, kept per iteration. Finished episodes are collected
by the driver with :meth:`SoloLeagueEnv.pop_results` as ``{"member", "return", "seed"}``.

* ``kelly``: ``KellyLearningEnv`` over ``palaestra/KellyCoinflip-v0`` (features in, a fraction of
  the wealth out; the return is the final wealth in dollars).
* ``counting``: ``palaestra/GridCounting-v0`` with the features of
  :func:`~palaestra.agents.nalu.counting_features` (never the step count); the policy is an LSTM.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from palaestra.league.bomber_league_env import MultiAgentEnv, _SameSpaceForAll

SOLO_ENVS: tuple[str, ...] = ("kelly", "counting")


class CountingFeatures(gym.ObservationWrapper):
    """GridCounting observations as the float features the counting policies use."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        from palaestra.agents.nalu import FEATURE_NAMES

        self.observation_space = spaces.Box(-10.0, 10.0, (len(FEATURE_NAMES),), np.float32)

    def observation(self, observation: dict[str, Any]) -> np.ndarray:
        from palaestra.agents.nalu import counting_features

        return counting_features(observation)[0]


def make_solo_env(name: str) -> gym.Env:
    """The learner-facing single-agent env of ``name``."""
    if name == "kelly":
        from palaestra.agents.kelly_learning import KellyLearningEnv
        from palaestra.envs.kelly.env import KellyCoinflipEnv

        return KellyLearningEnv(KellyCoinflipEnv(), reward="final")
    if name == "counting":
        from palaestra.envs.counting.env import GridCountingEnv

        return CountingFeatures(GridCountingEnv())
    raise ValueError(f"no single-agent league env {name!r}; known: {', '.join(SOLO_ENVS)}")


class SoloLeagueEnv(MultiAgentEnv):
    """One league learner per episode on a single-agent env (see the module docstring).

    ## Arguments
    ``config`` (RLlib's env_config): ``env`` (``kelly`` or ``counting``), ``lineups`` (its keys
    are the learners), ``seed`` and ``agent_ids`` (every member id of the run).
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        worker_index = int(getattr(config, "worker_index", 0))  # RLlib's EnvContext has one
        config = dict(config or {})
        self.inner = make_solo_env(str(config.get("env", "")))
        self.observation_spaces = _SameSpaceForAll(self.inner.observation_space)
        self.action_spaces = _SameSpaceForAll(self.inner.action_space)
        self._declared = [str(a) for a in config.get("agent_ids", [])]
        self._learners: list[str] = []
        self.set_league(config.get("lineups", {}), [], {})
        base = int(config.get("seed", 0)) * 1_000_003 + worker_index
        self._rng = np.random.default_rng(base)
        self._results: list[dict[str, Any]] = []
        self._member = ""
        self._return = 0.0
        self._seed = 0

    def set_league(self, lineups: dict[str, Any], bots: list[str], shaping: dict[str, Any]) -> None:
        """Install the learners (the keys of ``lineups``); bots and shaping do not apply."""
        self._learners = sorted(lineups)
        self.possible_agents = sorted(set(self._learners) | set(self._declared))
        self.observation_spaces.cover(self.possible_agents)
        self.action_spaces.cover(self.possible_agents)

    def pop_results(self) -> list[dict[str, Any]]:
        out, self._results = self._results, []
        return out

    def get_observation_space(self, agent_id: Any) -> spaces.Space:
        return self.inner.observation_space

    def get_action_space(self, agent_id: Any) -> spaces.Space:
        return self.inner.action_space

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        if not self._learners:
            raise RuntimeError("no league installed: call set_league() before reset()")
        self._member = self._learners[int(self._rng.integers(len(self._learners)))]
        self._seed = int(self._rng.integers(2**31))
        self._return = 0.0
        obs, info = self.inner.reset(seed=self._seed)
        self.agents = [self._member]
        return {self._member: obs}, {self._member: {}}

    def step(self, action_dict: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        m = self._member
        if m not in action_dict:
            raise ValueError(f"no action for {m}")
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
