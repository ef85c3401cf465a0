"""Train on a learned reward: a Gymnasium wrapper that pays the reward model's reward.

The env's own reward is kept in ``info["true_reward"]`` (for logging and evaluation only). The
reward of a step is the model's reward of the observation the action was taken on and the action
(see :meth:`~palaestra.league.prefs.reward_model.RewardEnsemble.reward`). The wrapper holds the
model object, so a training loop that refits the model in place changes the reward of every
wrapped env at once.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from palaestra.errors import FileFormatError
from palaestra.league.prefs.reward_model import RewardEnsemble

__all__ = ["LearnedRewardWrapper"]


class LearnedRewardWrapper(gym.Wrapper):
    """``env`` with its reward replaced by ``model``'s (see the module docstring)."""

    def __init__(self, env: gym.Env, model: RewardEnsemble) -> None:
        super().__init__(env)
        obs_dim = int(np.prod(env.observation_space.shape or ()))
        space = env.action_space
        act_dim = 1 if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.shape or ()))
        if (obs_dim, act_dim) != (model.obs_dim, model.act_dim):
            raise FileFormatError(f"the reward model takes obs_dim {model.obs_dim}, act_dim "
                                  f"{model.act_dim}; this env has {obs_dim}, {act_dim}")
        self.model = model
        self._obs: np.ndarray | None = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._obs = np.asarray(obs, dtype=np.float32).reshape(-1)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        if not self.model.fitted:
            raise RuntimeError("the reward model has not been fitted to any label yet")
        act = np.asarray(action, dtype=np.float32).reshape(1, -1)
        reward = float(self.model.reward(self._obs[None], act)[0])
        obs, true_reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        info["true_reward"] = float(true_reward)
        self._obs = np.asarray(obs, dtype=np.float32).reshape(-1)
        return obs, reward, terminated, truncated, info
