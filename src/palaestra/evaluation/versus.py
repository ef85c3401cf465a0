"""One Bomber agent against three of another kind (or, 2v2, a team of two against two): the
win-rate protocol of the league's results.

Game ``g`` of ``n`` seats the agent at ``g % 4`` (seats rotated) on the board and generators of
:func:`game_seed` ``(seed, g)``, so every agent measured with the same seed meets the same boards in
the same seats, and a result is the same for any number of worker processes. Each game is scored
for the agent's seat alone: a **win** when it is the only winner, a **tie** when the game has no
winner and the agent was still standing before its last step (a time-out, or everyone left dying
together), and a **loss** otherwise (it died while someone else lived on, or another seat won).

In team mode (``mode="team"``) the agent plays both seats of one side, game ``g`` on side
``g % 2`` (seats 0 and 2, or 1 and 3: sides rotated), against two ``opponent`` s; the team wins
when its side wins, ties when the game has no winner and one of its seats was still standing, and
loses otherwise.

Agents are named by spec, as on the command line: a built-in name (``simple``, ``league``, ...)
or a checkpoint directory (``palaestra league export`` writes those).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from typing import Any

import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.errors import ConfigError
from palaestra.evaluation.bomber import Outcome

CHUNK = 10
"""Games per task handed to a worker process (the progress bar moves by this much)."""


@dataclass(frozen=True)
class VersusTally:
    """Wins, ties and losses of ``agent`` in one seat against three ``opponent`` agents."""

    agent: str
    opponent: str
    games: int
    wins: int
    ties: int
    losses: int
    seed: int
    mode: str = "ffa"
    """``ffa`` (one seat against three) or ``team`` (one side against the other, 2v2)."""

    @property
    def win_rate(self) -> float:
        return self.wins / self.games

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "win_rate": self.win_rate}


def game_seed(seed: int, game: int) -> int:
    """The seed of game ``game`` of a measurement seeded ``seed`` (its board and every generator)."""
    return int(np.random.default_rng([seed, game]).integers(2**31))


MODES: tuple[str, ...] = C.MODES
"""The modes of a measurement: every Bomber mode."""
_ORDER: dict[Outcome, int] = {"win": 0, "tie": 1, "loss": 2}


def agent_seats(game: int, mode: str = "ffa") -> list[int]:
    """The seats of the measured agent in game ``game``: FFA ``[game % 4]``; team and team_radio,
    both seats of side ``game % 2``."""
    if mode != C.FFA:
        return [game % 2, game % 2 + 2]
    return [game % C.NUM_AGENTS]


def play_game(agent: str, opponent: str, game: int, seed: int, mode: str = "ffa",
              on_actions: Callable[[dict[str, Any]], None] | None = None) -> Any:
    """Game ``game`` of a measurement: ``agent`` in :func:`agent_seats`, ``opponent`` elsewhere, on
    the board of :func:`game_seed`; returns its :class:`~palaestra.evaluation.bomber.BomberGameResult`."""
    from palaestra.envs.bomber.config import BomberConfig
    from palaestra.evaluation.bomber import play_bomber_game

    mine = agent_seats(game, mode)
    agents = [_agent(agent if k in mine else opponent, k) for k in range(C.NUM_AGENTS)]
    return play_bomber_game(agents, BomberConfig(mode=mode), game_seed(seed, game),  # type: ignore[arg-type]
                            on_actions=on_actions)


def play_seat(agent: str, opponent: str, game: int, seed: int, mode: str = "ffa") -> Outcome:
    """Play game ``game`` (:func:`play_game`) and score it for the agent's seat (FFA) or side (team)."""
    result = play_game(agent, opponent, game, seed, mode)
    return min((result.outcome(k) for k in agent_seats(game, mode)), key=_ORDER.__getitem__)


_CACHE: dict[tuple[str, int], Any] = {}


def _agent(spec: str, seat: int) -> Any:
    """The agent for ``spec`` in ``seat``, built once per process (its generator is reset at
    every game, so reusing it changes nothing)."""
    key = (spec, seat)
    if key not in _CACHE:
        from palaestra.agents.registry import resolve_bomber_agent

        _CACHE[key] = resolve_bomber_agent(spec)
    return _CACHE[key]


def _play_chunk(agent: str, opponent: str, games: Sequence[int], seed: int, mode: str) -> list[Outcome]:
    return [play_seat(agent, opponent, g, seed, mode) for g in games]


def _one_thread() -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


def play_versus(agent: str, opponent: str = "simple", games: int = 1000, seed: int = 0,
                workers: int = 1, on_games: Callable[[int], None] | None = None,
                mode: str = "ffa") -> VersusTally:
    """``games`` games of ``agent`` against ``opponent`` s: FFA, one seat against three, seats
    rotated; team, both seats of one side against two, sides rotated.

    ``workers`` processes play the games (1: in this process); the tally does not depend on it.
    ``on_games(n)`` is called as each batch of ``n`` games finishes (progress bars).

    Raises:
        ConfigError: ``games`` or ``workers`` below 1, or an unknown ``mode``.
        UnknownNameError, CheckpointError: an agent spec that names no agent.
    """
    if games < 1 or workers < 1:
        raise ConfigError(f"games and workers must be positive, got {games} and {workers}")
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    for spec in (agent, opponent):
        _agent(spec, 0)  # a bad name or checkpoint fails here, before any worker starts
    chunks = [list(range(i, min(i + CHUNK, games))) for i in range(0, games, CHUNK)]
    outcomes: list[Outcome] = []
    if workers == 1:
        for chunk in chunks:
            outcomes += _play_chunk(agent, opponent, chunk, seed, mode)
            if on_games:
                on_games(len(chunk))
    else:
        with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=get_context("spawn"),
                                 initializer=_one_thread) as pool:
            futures = [pool.submit(_play_chunk, agent, opponent, chunk, seed, mode) for chunk in chunks]
            for chunk, future in zip(chunks, futures):
                outcomes += future.result()
                if on_games:
                    on_games(len(chunk))
    return VersusTally(agent, opponent, games, outcomes.count("win"), outcomes.count("tie"),
                       outcomes.count("loss"), seed, mode)


def default_workers() -> int:
    """Worker processes for a measurement: one per CPU this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
