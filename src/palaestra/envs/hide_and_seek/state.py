"""The mutable state of one hide-and-seek game: layout, boxes, ramps and agents."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from palaestra.envs.hide_and_seek.constants import DIRECTIONS, UNLOCKED

Cell = tuple[int, int]


@dataclass
class GameState:
    """Everything that changes during a game, plus the fixed layout.

    Positions are (row, col) with row 0 at the top. ``box_at`` and ``agent_at`` index the boxes
    and agents by cell (-1: none) and are kept in step with the position arrays by the mutators.
    """

    walls: np.ndarray
    """(H, W) bool, the outer border included."""
    ramps: np.ndarray
    """(n_ramps, 2) int64 cells of the ramps (fixed floor tiles)."""
    boxes: np.ndarray
    """(n_boxes, 2) int64 cells of the boxes."""
    box_lock: np.ndarray
    """(n_boxes,) int64: the team that locked each box, or UNLOCKED."""
    agent_pos: np.ndarray
    """(n_agents, 2) int64; hiders first, then seekers."""
    agent_face: np.ndarray
    """(n_agents,) int64 facing codes."""
    agent_team: np.ndarray
    """(n_agents,) int64 team codes."""
    step: int = 0
    """Steps played so far."""
    ramp_mask: np.ndarray = field(init=False)
    box_at: np.ndarray = field(init=False)
    agent_at: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        shape = self.walls.shape
        self.ramp_mask = np.zeros(shape, bool)
        if len(self.ramps):
            self.ramp_mask[self.ramps[:, 0], self.ramps[:, 1]] = True
        self.box_at = np.full(shape, -1, np.int64)
        for b, (r, c) in enumerate(self.boxes):
            self.box_at[r, c] = b
        self.agent_at = np.full(shape, -1, np.int64)
        for k, (r, c) in enumerate(self.agent_pos):
            self.agent_at[r, c] = k

    # -- queries ------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.walls.shape

    def inside(self, r: int, c: int) -> bool:
        return 0 <= r < self.walls.shape[0] and 0 <= c < self.walls.shape[1]

    def is_free(self, r: int, c: int) -> bool:
        """On the map and holding no wall, box or agent (a ramp is floor)."""
        return (self.inside(r, c) and not self.walls[r, c] and self.box_at[r, c] < 0
                and self.agent_at[r, c] < 0)

    def opaque(self) -> np.ndarray:
        """(H, W) bool: cells that block sight (walls and boxes)."""
        return self.walls | (self.box_at >= 0)

    def front(self, k: int) -> Cell:
        r, c = self.agent_pos[k]
        dr, dc = DIRECTIONS[self.agent_face[k]]
        return int(r + dr), int(c + dc)

    def box_in_front(self, k: int) -> int:
        """The box in the cell agent ``k`` faces, or -1."""
        r, c = self.front(k)
        return int(self.box_at[r, c]) if self.inside(r, c) else -1

    def unlocked(self, b: int) -> bool:
        return bool(self.box_lock[b] == UNLOCKED)

    # -- mutators -----------------------------------------------------------------------------
    def move_agent(self, k: int, r: int, c: int) -> None:
        r0, c0 = self.agent_pos[k]
        self.agent_at[r0, c0] = -1
        self.agent_pos[k] = (r, c)
        self.agent_at[r, c] = k

    def move_box(self, b: int, r: int, c: int) -> None:
        r0, c0 = self.boxes[b]
        self.box_at[r0, c0] = -1
        self.boxes[b] = (r, c)
        self.box_at[r, c] = b

    def copy(self) -> GameState:
        return GameState(self.walls.copy(), self.ramps.copy(), self.boxes.copy(), self.box_lock.copy(),
                         self.agent_pos.copy(), self.agent_face.copy(), self.agent_team.copy(), self.step)
