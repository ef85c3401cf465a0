"""Many Bomber games per call: the batched API for fast self-play and benchmarks.

:class:`BomberVectorEnv` steps N boards with one compiled call, returns the planes observation of
every agent of every board, and restarts finished games on a fresh board drawn from its generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.board import make_board, make_items
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.core import ALIVE, STEP, BomberBatch
from palaestra.envs.bomber.observe import planes
from palaestra.errors import ConfigError, InvalidActionError


@dataclass(frozen=True)
class VectorStep:
    """What one call of :meth:`BomberVectorEnv.step` returns (N boards, 4 agents each)."""

    observations: np.ndarray
    """(N, 4, 22, 11, 11) planes; for a finished game, the first observation of the new game."""
    rewards: np.ndarray
    """(N, 4) Pommerman rewards paid this step (at an FFA death or at the end of the game)."""
    dones: np.ndarray
    """(N,) the game ended this step (and was restarted)."""
    truncated: np.ndarray
    """(N,) it ended by running out of steps with no winner."""
    final_alive: np.ndarray
    """(N, 4) who was alive when the step ended (before any restart)."""


def outcome_batch(alive: np.ndarray, steps: np.ndarray, max_steps: int, team: bool) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`palaestra.envs.bomber.observe.outcome`: (done (N,), rewards (N, 4))."""
    alive = alive.astype(bool)
    n_alive = alive.sum(axis=1)
    timeout = steps >= max_steps
    rewards = np.where(alive, 0, -1).astype(np.int64)
    if not team:
        won = n_alive == 1
        done = won | timeout | (n_alive == 0)
        final = np.where(won[:, None], np.where(alive, 1, -1), -1)
        return done, np.where(done[:, None], final, rewards)
    even = alive[:, 0::2].any(axis=1)
    odd = alive[:, 1::2].any(axis=1)
    team0 = even & ~odd
    team1 = odd & ~even
    done = team0 | team1 | timeout | (n_alive == 0)
    final = np.full((alive.shape[0], C.NUM_AGENTS), -1, np.int64)
    final[team0] = (1, -1, 1, -1)
    final[team1] = (-1, 1, -1, 1)
    return done, np.where(done[:, None], final, 0)


class BomberVectorEnv:
    """N independent Bomber games stepped together, auto-restarting finished ones.

    Args:
        num_envs: boards per call.
        config: the game; the observation is always the planes stack.
        seed: seeds the generator every new board is drawn from.
    """

    def __init__(self, num_envs: int, config: BomberConfig | None = None, seed: int | None = None) -> None:
        if num_envs < 1:
            raise ConfigError(f"num_envs must be >= 1, got {num_envs}")
        self.config = config or BomberConfig(observation="planes")
        self.num_envs = num_envs
        self.batch = BomberBatch.empty(num_envs)
        self.messages = np.zeros((num_envs, C.NUM_AGENTS, C.RADIO_NUM_WORDS), np.int64)
        self._rng = np.random.default_rng(seed)

    def _new_game(self, i: int) -> None:
        c = self.config
        board = make_board(self._rng, num_rigid=c.num_rigid, num_wood=c.num_wood)
        self.batch.set_start(i, board, make_items(self._rng, board, c.num_items))
        self.messages[i] = 0

    def reset(self, seed: int | None = None) -> np.ndarray:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        for i in range(self.num_envs):
            self._new_game(i)
        return self.observe()

    def observe(self) -> np.ndarray:
        c, b = self.config, self.batch
        return planes(b.board, b.agents, b.bombs, b.flames, b.meta, self.messages, c.view, c.team,
                      c.max_steps)

    def step(self, actions: np.ndarray, observe: bool = True) -> VectorStep:
        """Apply (N, 4) actions ((N, 4, 3) with radio words in team_radio mode)."""
        acts = np.asarray(actions, dtype=np.int64)
        if self.config.radio:
            if acts.shape != (self.num_envs, C.NUM_AGENTS, 3):
                raise InvalidActionError(f"team_radio actions must have shape {(self.num_envs, 4, 3)}")
            if acts[..., 1:].min() < 0 or acts[..., 1:].max() >= C.RADIO_VOCAB_SIZE:
                raise InvalidActionError("radio words must lie in 0..7")
            self.messages[:] = acts[:, [2, 3, 0, 1], 1:]  # each agent hears its teammate
            acts = acts[..., 0]
        was_alive = self.batch.agents[:, :, ALIVE].astype(bool)
        self.batch.step(acts, self.config.blast_cap)
        alive = self.batch.agents[:, :, ALIVE].astype(bool)
        steps = self.batch.meta[:, STEP]
        done, rewards = outcome_batch(alive, steps, self.config.max_steps, self.config.team)
        died = was_alive & ~alive
        paid = done[:, None] | (died & (not self.config.team))
        rewards = np.where(paid, rewards, 0).astype(np.float32)
        winners = (rewards > 0).any(axis=1)
        truncated = done & (steps >= self.config.max_steps) & ~winners
        for i in np.flatnonzero(done):
            self._new_game(int(i))
        obs = self.observe() if observe else np.empty((0,), np.float32)
        return VectorStep(obs, rewards, done, truncated, alive)
