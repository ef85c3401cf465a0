"""What a viewer timeline holds: per-step game states and the event log, and the viewer's error.

State 0 is the game after ``reset``, state ``i`` the game after ``i`` steps. Events happen *during*
a step and carry the number of the state they lead to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from palaestra.envs.hide_and_seek.constants import HIDERS, SEEKERS
from palaestra.envs.hide_and_seek.state import GameState
from palaestra.errors import DisplayError

Family = Literal["bomber", "kelly", "hide_and_seek", "counting"]
"""The env families the viewer can show (:attr:`palaestra.envs.EnvSpec.family`)."""
FAMILIES: tuple[Family, ...] = ("bomber", "kelly", "hide_and_seek", "counting")

BOMBER_EVENT_KINDS = ("bomb", "pickup", "death", "kill", "win", "tie")
KELLY_EVENT_KINDS = ("cap", "bust", "end")
HIDE_AND_SEEK_EVENT_KINDS = ("seek", "lock", "unlock", "vault", "spotted", "hidden", "end")
COUNTING_EVENT_KINDS = ("due", "on_time", "early", "late", "timeout")


class ViewerError(DisplayError):
    """The viewer cannot do what was asked: no display, an unwritable file, an env with no viewer."""


@dataclass(frozen=True)
class Event:
    """Something that happened during one step of a game."""

    step: int
    """The state the event leads to (it happened during the step from ``step - 1``)."""
    kind: str
    """Bomber: bomb, pickup, death, kill, win, tie; Kelly: cap, bust, end; hide-and-seek: seek,
    lock, unlock, vault, spotted, hidden, end; counting: due, on_time, early, late, timeout."""
    agent: int | None
    """Seat of the agent it is about (the killer for a kill), or None (a tie)."""
    name: str
    """Seat name of ``agent`` (``player_2``), or "" when there is none."""
    text: str
    """One line for the event log, e.g. ``player_2 (simple) killed player_1 (random)``."""
    victim: int | None = None
    """Seat of the agent that died (kill and death events)."""
    killers: tuple[int, ...] = ()
    """Owners of the bombs and flames that killed ``victim`` (may include the victim itself)."""


@dataclass(frozen=True)
class BomberState:
    """A Bomber game after ``step`` steps (copies of the kernel's arrays, live rows only)."""

    step: int
    board: np.ndarray
    """(11, 11) int8 Pommerman item codes."""
    agents: np.ndarray
    """(4, 6): alive, row, col, ammo, blast_strength, can_kick per agent."""
    bombs: np.ndarray
    """(n, 6): owner, row, col, life, blast_strength, moving_direction per live bomb."""
    flames: np.ndarray
    """(m, 3): row, col, life per flame."""

    @property
    def alive(self) -> list[bool]:
        return [bool(a) for a in self.agents[:, 0]]

    def bomb_life(self) -> np.ndarray:
        """(11, 11) life of the bomb on each cell, 0 where there is none."""
        out = np.zeros(self.board.shape, dtype=np.int64)
        for _, r, c, life, _, _ in self.bombs:
            out[r, c] = life
        return out

    def flame_life(self) -> np.ndarray:
        """(11, 11) flame life plus one on each burning cell (Pommerman's convention), else 0."""
        out = np.zeros(self.board.shape, dtype=np.int64)
        for r, c, life in self.flames:
            out[r, c] = life + 1
        return out


@dataclass(frozen=True)
class KellyState:
    """A Kelly game after ``step`` rounds."""

    step: int
    wealth_cents: int
    bet_cents: int
    """The bet placed in this round (after clipping to the wealth); 0 for state 0."""
    won: bool | None
    """Whether this round's flip was won; None for state 0."""
    wins: int
    losses: int


@dataclass(frozen=True)
class HideAndSeekState:
    """A hide-and-seek game after ``step`` steps."""

    step: int
    game: GameState
    """A copy of the env's game state (layout, boxes, ramps, agents)."""
    fov: np.ndarray
    """(n_agents, H, W) bool: the cells each agent sees (a seeker's true view, even in prep)."""
    all_hidden: bool
    """Whether no seeker saw any hider after this step (False for state 0)."""
    prep: bool
    """Whether the next step is a preparation step (seekers frozen and blind)."""
    returns: tuple[float, float]
    """Each hider's and each seeker's return so far."""
    stats: dict[str, dict[str, int]]
    """The env's cumulative per-phase counters."""

    def seen_hiders(self) -> list[int]:
        """Agent indices of the hiders some seeker sees now (none while the seekers are blind)."""
        seekers = self.game.agent_team == SEEKERS
        if self.prep or not seekers.any():
            return []
        view = self.fov[seekers].any(axis=0)
        return [k for k, (r, c) in enumerate(self.game.agent_pos)
                if self.game.agent_team[k] == HIDERS and view[r, c]]

    def sees(self, k: int) -> list[int]:
        """Agent indices of the opponents agent ``k`` sees now (a seeker sees none in prep)."""
        team = self.game.agent_team[k]
        if self.prep and team == SEEKERS:
            return []
        return [j for j, (r, c) in enumerate(self.game.agent_pos)
                if self.game.agent_team[j] != team and self.fov[k, r, c]]


@dataclass(frozen=True)
class CountingState:
    """A counting episode after ``step`` steps."""

    step: int
    agent: tuple[int, int]
    """The agent's (row, column)."""
    target: tuple[int, int]
    move: int | None
    """The move that led here (None for state 0)."""
    outcome: str | None
    """How the episode ended (on_time, early, late, timeout) once it has, else None."""
    reward: float
    """The return so far."""


def seat_label(seats: list[str], agents: list[str], seat: int) -> str:
    """``player_2 (simple)``: seat name and agent name (the seat alone when they are the same)."""
    name = agents[seat] if seat < len(agents) else ""
    return f"{seats[seat]} ({name})" if name and name != seats[seat] else seats[seat]


def join_labels(labels: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
