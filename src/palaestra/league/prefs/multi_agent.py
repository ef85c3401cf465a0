"""Learned rewards in multi-agent envs: per agent or per team.

:class:`LearnedRewardParallelEnv` wraps any PettingZoo ``ParallelEnv`` whose observations are
arrays (Bomber with ``observation="planes"``, ...): each agent that acts is paid the reward
model's reward of its own observation and action (*per agent*), or, given ``teams``, the mean of
that reward over its team's agents that acted this step (*per team*: teammates share one signal,
as Bomber's team mode shares the true one). The env's own rewards stay in
``infos[agent]["true_reward"]``.

The league trainer uses the per-agent form through ``BomberLeagueEnv`` (``--reward-model``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pettingzoo.utils.env import ParallelEnv

from palaestra.errors import ConfigError, FileFormatError
from palaestra.league.prefs.reward_model import RewardEnsemble

__all__ = ["LearnedRewardParallelEnv", "learned_rewards"]


def learned_rewards(model: RewardEnsemble, obs: dict[str, Any], actions: dict[str, Any],
                    teams: dict[str, str] | None = None) -> dict[str, float]:
    """The learned reward of every agent in ``actions`` (``obs``: what each acted on); with
    ``teams`` (agent -> team) each agent gets its team's mean."""
    agents = list(actions)
    if not agents:
        return {}
    missing = [a for a in agents if a not in obs]
    if missing:
        raise ValueError(f"no observation for {missing}")
    x = np.stack([np.asarray(obs[a], dtype=np.float32).reshape(-1) for a in agents])
    act = np.stack([np.asarray(actions[a], dtype=np.float32).reshape(-1) for a in agents])
    r = model.reward(x, act)
    own = {a: float(v) for a, v in zip(agents, r)}
    if teams is None:
        return own
    unknown = [a for a in agents if a not in teams]
    if unknown:
        raise ValueError(f"agents {unknown} have no team")
    by_team: dict[str, list[float]] = {}
    for a in agents:
        by_team.setdefault(teams[a], []).append(own[a])
    return {a: float(np.mean(by_team[teams[a]])) for a in agents}


class LearnedRewardParallelEnv(ParallelEnv):
    """``env`` paying the learned reward per agent or per team (see the module docstring)."""

    def __init__(self, env: ParallelEnv, model: RewardEnsemble,
                 teams: dict[str, str] | None = None) -> None:
        self.env, self.model, self.teams = env, model, teams
        self.possible_agents = list(env.possible_agents)
        self.metadata = getattr(env, "metadata", {})
        for agent in self.possible_agents:
            dim = int(np.prod(env.observation_space(agent).shape))
            if dim != model.obs_dim:
                raise FileFormatError(f"{agent} observes {dim} numbers; the reward model takes "
                                      f"{model.obs_dim}")
        if teams is not None and set(teams) != set(self.possible_agents):
            raise ConfigError(f"teams must name every agent: {self.possible_agents}")
        self._obs: dict[str, Any] = {}

    @property
    def agents(self) -> list[str]:
        return self.env.agents

    def observation_space(self, agent: str) -> Any:
        return self.env.observation_space(agent)

    def action_space(self, agent: str) -> Any:
        return self.env.action_space(agent)

    def reset(self, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        obs, infos = self.env.reset(seed=seed, options=options)
        self._obs = dict(obs)
        return obs, infos

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.model.fitted:
            raise RuntimeError("the reward model has not been fitted to any label yet")
        paid = learned_rewards(self.model, self._obs, actions, self.teams)
        obs, rewards, terms, truncs, infos = self.env.step(actions)
        infos = {a: dict(i) for a, i in infos.items()}
        for agent, true in rewards.items():
            infos.setdefault(agent, {})["true_reward"] = float(true)
        out = {a: paid.get(a, 0.0) for a in rewards}
        self._obs = dict(obs)
        return obs, out, terms, truncs, infos

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()
