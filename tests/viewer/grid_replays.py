"""Short hide-and-seek and counting replays for the viewer tests (seeded, a few dozen steps)."""

from __future__ import annotations

from typing import Any

import numpy as np

from palaestra.agents.scripted.counting import make_scripted_counting_agent, play_counting_episode
from palaestra.agents.scripted.hide_and_seek import make_scripted_hns_agent
from palaestra.envs.counting.env import GridCountingEnv
from palaestra.envs.hide_and_seek.env import HideAndSeekParallelEnv
from palaestra.evaluation.replay import Replay, make_replay

CREATED = "2025-01-01T00:00:00+00:00"
HNS_CONFIG: dict[str, Any] = {"grid_size": 10, "n_hiders": 2, "n_seekers": 1, "n_boxes": 4, "n_ramps": 2,
                              "max_steps": 20, "prep_fraction": 0.25}
"""20 steps, the first 5 of them preparation."""


def random_hns_replay(seed: int, config: dict[str, Any] = HNS_CONFIG) -> Replay:
    """A game of uniformly random actions (locks, unlocks and pushes happen often on a small map)."""
    env = HideAndSeekParallelEnv(**config)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    actions = []
    while env.agents:
        step = {name: rng.integers(0, [5, 5, 3]) for name in env.agents}
        env.step(step)
        actions.append(step)
    names = [f"random-{k}" for k in range(len(env.possible_agents))]
    return make_replay("hide-and-seek", config, seed, names, actions, created=CREATED)


def heuristic_hns_replay(seed: int, config: dict[str, Any]) -> Replay:
    """A game of the scripted heuristic agents (hiders barricade, seekers chase)."""
    env = HideAndSeekParallelEnv(**config)
    obs, _ = env.reset(seed=seed)
    agents = {name: make_scripted_hns_agent("heuristic") for name in env.agents}
    for k, agent in enumerate(agents.values()):
        agent.reset(np.random.default_rng(100 * seed + k))
    actions = []
    while env.agents:
        step = {name: agents[name].act(obs[name]) for name in env.agents}
        obs, *_ = env.step(step)
        actions.append(step)
    return make_replay("hide-and-seek", config, seed, ["heuristic"] * len(agents), actions, created=CREATED)


def counting_replay(agent: str, seed: int, **config: Any) -> Replay:
    """One counting episode of a scripted agent (``counter``, ``rush``, ``off-by-one``, ``random``)."""
    moves: list[Any] = []
    play_counting_episode(GridCountingEnv(**config), make_scripted_counting_agent(agent), seed, moves=moves)
    return make_replay("counting", config, seed, [agent], moves, created=CREATED)
