"""The Agent protocol every palaestra agent follows."""

from __future__ import annotations

import abc
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Agent(Protocol):
    """Maps observations to actions.

    ``reset`` is called before every episode with a generator that the agent must use for all of
    its random choices, so that a seeded run is reproducible.
    """

    name: str

    def reset(self, rng: np.random.Generator) -> None:
        """Start a new episode."""

    def act(self, observation: Any) -> Any:
        """Return the action for one observation."""


@runtime_checkable
class BatchAgent(Agent, Protocol):
    """An agent that can also act on a batch of observations at once (for fast evaluation).

    ``act_batch`` takes the env's observation with a leading batch axis on every entry and returns
    one action per row; row i's action must be what ``act`` returns for row i.
    """

    def act_batch(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        """Return one action per row of the batch."""


class SeededAgent(abc.ABC):
    """Base of the scripted agents: holds the episode's generator (an unseeded one until ``reset``)."""

    name: str = "agent"

    def __init__(self) -> None:
        self._rng = np.random.default_rng()

    def reset(self, rng: np.random.Generator) -> None:
        self._rng = rng

    @abc.abstractmethod
    def act(self, observation: Any) -> Any:
        """Return the action for one observation."""
