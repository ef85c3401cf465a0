"""Scripted agents for grid-world counting (``palaestra/GridCounting-v0``).

The observation holds the instruction T and the two positions, never the steps taken, so an agent
that wants to arrive on time keeps its own count (reset at every episode):

* ``counter``: counts its steps; waits while more steps remain than the city-block distance, then
  walks straight in. It arrives exactly at step T in every episode the env can produce.
* ``rush``: walks straight to the target at once (on time only when the distance is T).
* ``random``: a uniformly random action every step.
* ``off-by-one``: ``counter`` with a count that starts at 1 instead of 0; it arrives one step
  early, the typical mistake a learned counter makes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from palaestra.envs.counting.env import DOWN, LEFT, RIGHT, STAY, UP
from palaestra.errors import UnknownNameError


def step_towards(agent: np.ndarray, target: np.ndarray) -> int:
    """The action that cuts the city-block distance (rows first); ``stay`` when already there."""
    dr, dc = (int(v) for v in np.asarray(target) - np.asarray(agent))
    if dr:
        return DOWN if dr > 0 else UP
    if dc:
        return RIGHT if dc > 0 else LEFT
    return STAY


class CountingAgent:
    """Waits, then walks in so as to arrive at step T, keeping its own step count.

    ``start`` is the count at the beginning of an episode (0 for a correct counter).
    """

    def __init__(self, start: int = 0, name: str = "counter") -> None:
        self.start = start
        self.name = name
        self._count = start

    def reset(self, rng: np.random.Generator) -> None:
        self._count = self.start

    def act(self, observation: dict[str, Any]) -> np.int64:
        agent, target = np.asarray(observation["agent"]), np.asarray(observation["target"])
        remaining = int(observation["T"]) - self._count
        distance = int(np.abs(target - agent).sum())
        self._count += 1
        if remaining > distance:
            return np.int64(STAY)
        return np.int64(step_towards(agent, target))


class RushAgent:
    """Walks straight to the target, ignoring T."""

    name = "rush"

    def reset(self, rng: np.random.Generator) -> None:
        """Deterministic: the generator is not used."""

    def act(self, observation: dict[str, Any]) -> np.int64:
        return np.int64(step_towards(observation["agent"], observation["target"]))


class RandomCountingAgent:
    """Uniformly random actions, drawn from the generator given to :meth:`reset`."""

    name = "random"

    def __init__(self) -> None:
        self._rng = np.random.default_rng(0)

    def reset(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def act(self, observation: dict[str, Any]) -> np.int64:
        return np.int64(self._rng.integers(0, 5))


SCRIPTED_COUNTING_AGENTS: dict[str, str] = {
    "counter": "keeps its own step count; waits, then walks in to arrive exactly at step T",
    "rush": "walks straight to the target (on time only when the distance is T)",
    "off-by-one": "counter whose count starts at 1: arrives one step early",
    "random": "uniformly random actions",
}
"""Names accepted by :func:`make_scripted_counting_agent`, with a line each."""

_FACTORIES: dict[str, Callable[[], Any]] = {
    "counter": CountingAgent,
    "rush": RushAgent,
    "off-by-one": lambda: CountingAgent(start=1, name="off-by-one"),
    "random": RandomCountingAgent,
}


def make_scripted_counting_agent(name: str) -> Any:
    """A scripted counting agent by name.

    Raises:
        UnknownNameError: for an unknown name, listing the known ones.
    """
    if name not in _FACTORIES:
        raise UnknownNameError(
            f"unknown counting agent {name!r}; known: {', '.join(SCRIPTED_COUNTING_AGENTS)}"
        )
    return _FACTORIES[name]()


def play_counting_episode(env: Any, agent: Any, seed: int,
                          options: dict[str, Any] | None = None,
                          moves: list[Any] | None = None) -> dict[str, Any]:
    """Play one episode of ``env`` (a GridCountingEnv) with ``agent``; return the final info.

    The env is reset with ``seed`` and ``options``, the agent with a generator seeded by ``seed``.
    ``info["is_success"]`` says whether it arrived on time, ``info["outcome"]`` how it ended.
    Each move the agent makes is appended to ``moves`` when given (to record the episode).
    """
    obs, _ = env.reset(seed=seed, options=options)
    agent.reset(np.random.default_rng(seed))
    while True:
        move = agent.act(obs)
        if moves is not None:
            moves.append(move)
        obs, _, terminated, truncated, info = env.step(move)
        if terminated or truncated:
            return info
