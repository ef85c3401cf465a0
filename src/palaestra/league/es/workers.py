"""ES evaluation: episodes of a flat policy on an env, and the worker that Ray runs.

A worker rebuilds the shared noise table from its seed, so the driver sends it only the parent
parameters (once per generation, through the object store), integer noise offsets and seeds;
it answers with fitnesses, step counts and its observation statistics.

Envs: ``kelly`` and ``counting`` are single-agent (the fitness is the episode return);
``bomber`` is FFA Bomber against opponents drawn from a league run (the fitness is the match
outcome, see :mod:`~palaestra.league.es.league_fitness`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import gymnasium as gym
import numpy as np

from palaestra.envs import get_spec
from palaestra.errors import ConfigError
from palaestra.league.es.algorithms import CandidateResult, EvalResult

if TYPE_CHECKING:
    from palaestra.league.es.league_fitness import Lineup
from palaestra.league.es.noise import Perturbation, SharedNoiseTable, perturb
from palaestra.league.es.obs_norm import RunningStat
from palaestra.league.es.policy import FlatMLPPolicy
from palaestra.league.es.recurrent import FlatAccumulatorPolicy

ES_ENVS: tuple[str, ...] = tuple(get_spec(name).short_name for name in ("kelly", "counting", "bomber"))
"""Envs ES trains on: two single-agent ones and Bomber against a league."""
LEAGUE_ENVS: tuple[str, ...] = tuple(name for name in ES_ENVS if get_spec(name).seats[1] > 1)
"""Envs whose fitness is a match against league opponents (they need a league run)."""


class FlatPolicy(Protocol):
    def reset(self) -> None: ...
    def set_flat(self, flat: np.ndarray) -> None: ...
    def init(self, rng: np.random.Generator) -> np.ndarray: ...
    def act(self, obs: np.ndarray, obs_norm: RunningStat | None = None) -> Any: ...


def make_es_env(name: str) -> gym.Env:
    """The learner-facing single-agent env: ``kelly`` (features in, a bet fraction out) or
    ``counting`` (GridCounting features, never the step count)."""
    if name in ES_ENVS and name not in LEAGUE_ENVS:
        from palaestra.league.population.envs.solo import make_solo_env

        return make_solo_env(name)
    raise ConfigError(f"{name!r} is not a single-agent ES env; ES trains on {', '.join(ES_ENVS)}")


def es_spaces(name: str) -> tuple[gym.Space, gym.Space]:
    """(observation space, action space) of ES env ``name``."""
    if name in LEAGUE_ENVS:
        from palaestra.league.population.envs.bomber import ACT_SPACE, OBS_SPACE

        return OBS_SPACE, ACT_SPACE
    env = make_es_env(name)
    return env.observation_space, env.action_space


@dataclass(frozen=True)
class PolicySpec:
    """The policy every worker builds."""

    obs_dim: int
    kind: str
    act_dim: int
    hidden: tuple[int, ...]
    act_scale: float
    """Continuous actions: tanh outputs times this (the env's action bound)."""
    memory: int = 0
    """0: a feed-forward MLP; else a :class:`FlatAccumulatorPolicy` with this many memory units."""

    @classmethod
    def for_spaces(cls, obs_space: gym.Space, act_space: gym.Space, hidden: tuple[int, ...],
                   memory: int = 0) -> PolicySpec:
        obs_dim = int(np.prod(obs_space.shape or ()))
        if isinstance(act_space, gym.spaces.Discrete):
            return cls(obs_dim, "discrete", int(act_space.n), tuple(hidden), 1.0, memory)
        if isinstance(act_space, gym.spaces.Box):
            return cls(obs_dim, "continuous", int(np.prod(act_space.shape)), tuple(hidden),
                       float(np.max(np.abs(act_space.high))), memory)
        raise ValueError(f"ES policies need a Discrete or Box action space, not {act_space}")

    @classmethod
    def for_env(cls, env: gym.Env, hidden: tuple[int, ...], memory: int = 0) -> PolicySpec:
        return cls.for_spaces(env.observation_space, env.action_space, hidden, memory)

    def build(self) -> FlatPolicy:
        if self.memory:
            return FlatAccumulatorPolicy(self.obs_dim, self.kind, self.act_dim,  # type: ignore[arg-type]
                                         self.memory, self.hidden)
        return FlatMLPPolicy(self.obs_dim, self.kind, self.act_dim, self.hidden)  # type: ignore[arg-type]

    def actor(self, policy: FlatPolicy, obs_norm: RunningStat | None,
              collect: RunningStat | None) -> Callable[[np.ndarray], Any]:
        """obs -> env action for ``policy``; pushes each observation into ``collect``."""
        def act(obs: np.ndarray) -> Any:
            x = np.asarray(obs, dtype=np.float64).reshape(-1)
            if collect is not None:
                collect.push(x)
            action = policy.act(x, obs_norm)
            if self.kind == "continuous":
                return (np.asarray(action, dtype=np.float32) * self.act_scale).reshape(-1)
            return action
        return act


class Episode(NamedTuple):
    """One evaluation episode: its fitness (return or match score), its env steps and, for a
    league match, the match result (seats, ranks, seed)."""

    fitness: float
    steps: int
    result: dict[str, Any] | None = None


def play_episode(env: gym.Env, act: Callable[[np.ndarray], Any], seed: int) -> Episode:
    """One episode of ``env`` with ``act``."""
    obs, _ = env.reset(seed=int(seed))
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, _ = env.step(act(obs))
        total += float(reward)
        steps += 1
        if terminated or truncated:
            return Episode(total, steps)


def evaluate_parameters(env_name: str, spec: PolicySpec, theta: np.ndarray,
                        obs_norm: RunningStat | None, episodes: int, seed: int) -> np.ndarray:
    """Returns of ``episodes`` episodes of a single-agent env with parameters ``theta`` (the
    episode seeds come from ``seed``, so the same seed plays the same games)."""
    env = make_es_env(env_name)
    policy = spec.build()
    policy.set_flat(theta)
    seeds = np.random.default_rng([seed, 99]).integers(2**31, size=episodes)
    out = []
    for s in seeds:
        policy.reset()
        out.append(play_episode(env, spec.actor(policy, obs_norm, None), int(s)).fitness)
    return np.asarray(out)


class ESWorker:
    """Evaluates perturbations of the parent parameters (one instance per Ray actor)."""

    def __init__(self, env: str, spec: PolicySpec, noise_seed: int, noise_size: int,
                 league: str | None = None, member: str | None = None) -> None:
        self.spec = spec
        self.policy = spec.build()
        self.noise = SharedNoiseTable(noise_seed, noise_size)
        self.matches = None
        if env in LEAGUE_ENVS:
            from palaestra.league.es.league_fitness import LeagueMatches

            if league is None or member is None:
                raise ConfigError(f"ES on {env} plays against a league: pass its run directory")
            self.matches = LeagueMatches(league, member)
        else:
            self.env = make_es_env(env)

    def ping(self) -> bool:
        return True

    def _episode(self, params: np.ndarray, seed: int, obs_norm: RunningStat | None,
                 collect: RunningStat | None) -> Episode:
        self.policy.set_flat(params)
        self.policy.reset()
        act = self.spec.actor(self.policy, obs_norm, collect)
        if self.matches is not None:
            return Episode(*self.matches.play(act, seed))
        return play_episode(self.env, act, seed)

    def evaluate(self, theta: np.ndarray, tasks: list[tuple[int, int]], sigma: float,
                 episodes: int, seed: int, obs_norm_state: dict[str, Any] | None,
                 antithetic: bool, lineup: Lineup | None = None) -> list[Any]:
        """``tasks``: (noise offset, episode seed base) each. Antithetic: one EvalResult per
        offset (both signs, same episodes); else one CandidateResult. ``lineup``: the league
        opponents' distribution and bots (league envs)."""
        if self.matches is not None and lineup is not None:
            self.matches.set_lineup(lineup)
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
                    episode = self._episode(params, s, obs_norm, collect)
                    rets.append(episode.fitness)
                    steps += episode.steps
                fitness.append(float(np.mean(rets)))
            if antithetic:
                out.append(EvalResult(index, fitness[0], fitness[1], steps, collect))
            else:
                out.append(CandidateResult(index, fitness[0], steps, collect))
        return out

    def play_parent(self, theta: np.ndarray, seeds: list[int],
                    obs_norm_state: dict[str, Any] | None,
                    lineup: Lineup) -> list[dict[str, Any]]:
        """League envs: matches of the unperturbed parameters (seats, ranks, seed, score)."""
        if self.matches is None:
            raise ValueError("play_parent is for league envs")
        self.matches.set_lineup(lineup)
        obs_norm = None if obs_norm_state is None else RunningStat.from_state_dict(obs_norm_state)
        out = []
        for s in seeds:
            episode = self._episode(theta, int(s), obs_norm, None)
            out.append({**(episode.result or {}), "score": episode.fitness})
        return out
