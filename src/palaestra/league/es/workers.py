"""ES evaluation: episodes of a flat policy on an env, and the worker that Ray runs.

A worker rebuilds the shared noise table from its seed, so the driver sends it only the parent
parameters (once per generation, through the object store), integer noise offsets and seeds;
it answers with fitnesses, step counts and its observation statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from palaestra.league.es.algorithms import CandidateResult, EvalResult
from palaestra.league.es.noise import Perturbation, SharedNoiseTable, perturb
from palaestra.league.es.obs_norm import RunningStat
from palaestra.league.es.policy import FlatMLPPolicy

ES_ENVS: tuple[str, ...] = ("kelly",)
"""Envs ES trains on so far (feed-forward policies; counting needs a recurrent one)."""


def make_es_env(name: str) -> gym.Env:
    """The learner-facing env: for ``kelly``, features in and a bet fraction out."""
    if name == "kelly":
        from palaestra.agents.kelly_learning import KellyLearningEnv
        from palaestra.envs.kelly.env import KellyCoinflipEnv

        return KellyLearningEnv(KellyCoinflipEnv(), reward="final")
    raise ValueError(f"ES trains on {', '.join(ES_ENVS)}, not {name!r}")


@dataclass(frozen=True)
class PolicySpec:
    """The policy every worker builds."""

    obs_dim: int
    kind: str
    act_dim: int
    hidden: tuple[int, ...]
    act_scale: float
    """Continuous actions: tanh outputs times this (the env's action bound)."""

    @classmethod
    def for_env(cls, env: gym.Env, hidden: tuple[int, ...]) -> PolicySpec:
        obs_dim = int(np.prod(env.observation_space.shape))
        space = env.action_space
        if isinstance(space, gym.spaces.Discrete):
            return cls(obs_dim, "discrete", int(space.n), tuple(hidden), 1.0)
        if isinstance(space, gym.spaces.Box):
            return cls(obs_dim, "continuous", int(np.prod(space.shape)), tuple(hidden),
                       float(np.max(np.abs(space.high))))
        raise ValueError(f"ES policies need a Discrete or Box action space, not {space}")

    def build(self) -> FlatMLPPolicy:
        return FlatMLPPolicy(self.obs_dim, self.kind, self.act_dim, self.hidden)  # type: ignore[arg-type]


def play_episode(env: gym.Env, policy: FlatMLPPolicy, spec: PolicySpec, theta: np.ndarray,
                 seed: int, obs_norm: RunningStat | None,
                 collect: RunningStat | None = None) -> tuple[float, int]:
    """One episode with parameters ``theta``; returns (return, steps). Observations seen are
    pushed into ``collect`` (for the driver's normalisation statistics)."""
    policy.set_flat(theta)
    obs, _ = env.reset(seed=int(seed))
    total, steps = 0.0, 0
    while True:
        x = np.asarray(obs, dtype=np.float64).reshape(-1)
        if collect is not None:
            collect.push(x)
        action = policy.act(x, obs_norm)
        if spec.kind == "continuous":
            action = (np.asarray(action, dtype=np.float32) * spec.act_scale).reshape(-1)
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        steps += 1
        if terminated or truncated:
            return total, steps


class ESWorker:
    """Evaluates perturbations of the parent parameters (one instance per Ray actor)."""

    def __init__(self, env: str, spec: PolicySpec, noise_seed: int, noise_size: int) -> None:
        self.env = make_es_env(env)
        self.spec = spec
        self.policy = spec.build()
        self.noise = SharedNoiseTable(noise_seed, noise_size)

    def ping(self) -> bool:
        return True

    def evaluate(self, theta: np.ndarray, tasks: list[tuple[int, int]], sigma: float,
                 episodes: int, seed: int, obs_norm_state: dict[str, Any] | None,
                 antithetic: bool) -> list[Any]:
        """``tasks``: (noise offset, episode seed base) each. Antithetic: one EvalResult per
        offset (both signs, same episodes); else one CandidateResult."""
        obs_norm = None
        if obs_norm_state is not None:
            obs_norm = RunningStat.from_state_dict(obs_norm_state)
        out: list[Any] = []
        for index, base in tasks:
            collect = RunningStat(self.spec.obs_dim) if obs_norm is not None else None
            seeds = [int(s) for s in np.random.default_rng([seed, base]).integers(2**31, size=episodes)]
            signs = (1, -1) if antithetic else (1,)
            fitness, steps = [], 0
            for sign in signs:
                params = perturb(theta, self.noise, Perturbation(index, sign), sigma)
                rets = []
                for s in seeds:
                    r, n = play_episode(self.env, self.policy, self.spec, params, s, obs_norm,
                                        collect)
                    rets.append(r)
                    steps += n
                fitness.append(float(np.mean(rets)))
            if antithetic:
                out.append(EvalResult(index, fitness[0], fitness[1], steps, collect))
            else:
                out.append(CandidateResult(index, fitness[0], steps, collect))
        return out
