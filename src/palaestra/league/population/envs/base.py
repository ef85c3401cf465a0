"""What the league's RLlib multi-agent envs share: spaces for any member id, declared agent ids,
the seeded generator and the finished-game records the driver collects."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

try:  # RLlib is optional for the rest of palaestra; the league needs it.
    from ray.rllib.env.multi_agent_env import MultiAgentEnv
except ImportError:  # pragma: no cover - exercised only without ray installed
    MultiAgentEnv = object  # type: ignore[misc,assignment,unused-ignore]


class SameSpaceForAll(dict[Any, spaces.Space]):
    """Spaces per agent id: every id (also a snapshot added later) maps to the same space."""

    def __init__(self, space: spaces.Space) -> None:
        super().__init__()
        self.space = space

    def __missing__(self, key: Any) -> spaces.Space:
        return self.space

    def cover(self, ids: list[str]) -> None:
        self.update({i: self.space for i in ids})


class LeagueEnvBase(MultiAgentEnv):
    """Agent ids are member ids, all with the same spaces; games end up in :meth:`pop_results`.

    ``config`` is RLlib's env_config: ``seed`` and ``agent_ids`` (every member id the run may
    seat, future snapshots included) are read here.
    """

    # RLlib types agent ids as any hashable; a league's are member ids (strings).
    agents: list[str]  # type: ignore[assignment]
    possible_agents: list[str]  # type: ignore[assignment]
    observation_spaces: SameSpaceForAll
    action_spaces: SameSpaceForAll

    def __init__(self, config: Any, observation_space: spaces.Space,
                 action_space: spaces.Space) -> None:
        super().__init__()
        worker_index = int(getattr(config, "worker_index", 0))  # RLlib's EnvContext has one
        config = dict(config or {})
        self.observation_spaces = SameSpaceForAll(observation_space)
        self.action_spaces = SameSpaceForAll(action_space)
        # RLlib sizes its connectors from the agent ids known when the env is built, so every id
        # a run will ever use (its future snapshots too) is declared up front.
        self._declared = [str(a) for a in config.get("agent_ids", [])]
        self._rng = np.random.default_rng(int(config.get("seed", 0)) * 1_000_003 + worker_index)
        self._results: list[dict[str, Any]] = []
        self._seed = 0

    def _declare(self, members: set[str]) -> None:
        """The possible agents: ``members`` and the declared ids."""
        self.possible_agents = sorted(members | set(self._declared))
        self.observation_spaces.cover(self.possible_agents)
        self.action_spaces.cover(self.possible_agents)

    def _draw_learner(self, seed: int | None, learners: list[str]) -> str:
        """Start an episode: reseed the generator with ``seed`` (when given) and draw, uniformly,
        which of ``learners`` (sorted) plays it."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        if not learners:
            raise RuntimeError("no league installed: call set_league() before reset()")
        return learners[int(self._rng.integers(len(learners)))]

    def pop_results(self) -> list[dict[str, Any]]:
        """The games finished since the last call."""
        out, self._results = self._results, []
        return out

    def get_observation_space(self, agent_id: Any) -> spaces.Space:
        return self.observation_spaces.space

    def get_action_space(self, agent_id: Any) -> spaces.Space:
        return self.action_spaces.space
