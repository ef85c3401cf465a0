"""Grid reasoning for the scripted hide-and-seek agents: reading observations, searches, rooms.

Everything works on what an agent observes (the whole-map ``grid`` view), plus what the agent
remembers of boxes and opponents it saw earlier.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from palaestra.envs.hide_and_seek import constants as K
from palaestra.envs.hide_and_seek.world import door_mask, room_labels
from palaestra.errors import ConfigError

Cell = tuple[int, int]
STEPS: tuple[Cell, ...] = tuple((int(dr), int(dc)) for dr, dc in K.DIRECTIONS)
"""(d_row, d_col) of direction codes 0..3 (up, right, down, left)."""


@dataclass(frozen=True)
class SeenBox:
    """A box as last seen: cell and lock owner (a team code or ``K.UNLOCKED``)."""

    cell: Cell
    lock: int


@dataclass(frozen=True)
class HnsView:
    """The parts of a hide-and-seek observation the scripted agents use."""

    me: Cell
    face: int
    team: int
    index: int
    """Index within the team (the ``i`` of ``hider_i``)."""
    frozen: bool
    prep: bool
    walls: np.ndarray
    ramps: np.ndarray
    visible: np.ndarray
    boxes: dict[int, SeenBox]
    """Boxes seen now, by entity slot."""
    hiders: dict[int, Cell]
    """Other hiders seen now, by entity slot."""
    seekers: dict[int, Cell]
    """Other seekers seen now, by entity slot."""


def read_observation(obs: Mapping[str, Any]) -> HnsView:
    """Decode an observation dict.

    Raises:
        ValueError: when the grid is an egocentric window (``grid_radius`` set): the scripted
            agents plan on the whole map.
    """
    feats = np.asarray(obs["self"], dtype=np.float64)
    at = K.SELF_INDEX
    grid = np.asarray(obs["grid"])
    me = (int(round(feats[at["row"]])), int(round(feats[at["col"]])))
    h, w = grid.shape[1:]
    if not (me[0] < h and me[1] < w and grid[K.G_SELF, me[0], me[1]] > 0.5):
        raise ConfigError("scripted hide-and-seek agents need the whole-map grid (grid_radius=None)")
    team = int(round(feats[at["is_seeker"]]))
    entities = np.asarray(obs["entities"])
    mask = np.asarray(obs["entity_mask"]).astype(bool)
    boxes: dict[int, SeenBox] = {}
    agents: tuple[dict[int, Cell], dict[int, Cell]] = ({}, {})
    for slot in np.nonzero(mask)[0]:
        row = entities[slot]
        cell = (me[0] + int(round(row[K.F_DROW])), me[1] + int(round(row[K.F_DCOL])))
        if row[K.F_TYPE + K.T_BOX] > 0.5:
            if row[K.F_LOCK_OWN] > 0.5:
                lock = team
            elif row[K.F_LOCK_OTHER] > 0.5:
                lock = 1 - team
            else:
                lock = K.UNLOCKED
            boxes[int(slot)] = SeenBox(cell, lock)
        elif row[K.F_TYPE + K.T_HIDER] > 0.5:
            agents[K.HIDERS][int(slot)] = cell
        elif row[K.F_TYPE + K.T_SEEKER] > 0.5:
            agents[K.SEEKERS][int(slot)] = cell
    face = at["face_up"]
    return HnsView(
        me=me,
        face=int(np.argmax(feats[face:face + 4])),
        team=team,
        index=int(round(feats[at["index"]])),
        frozen=bool(feats[at["frozen"]] > 0.5),
        prep=bool(feats[at["prep_phase"]] > 0.5),
        walls=grid[K.G_WALL] > 0.5,
        ramps=grid[K.G_RAMP] > 0.5,
        visible=grid[K.G_VISIBLE] > 0.5,
        boxes=boxes,
        hiders=agents[K.HIDERS],
        seekers=agents[K.SEEKERS],
    )


def direction_to(src: Cell, dst: Cell) -> int | None:
    """Facing code pointing from ``src`` most directly at ``dst`` (None when equal)."""
    dr, dc = dst[0] - src[0], dst[1] - src[1]
    if dr == dc == 0:
        return None
    if abs(dr) >= abs(dc):
        return K.DOWN if dr > 0 else K.UP
    return K.RIGHT if dc > 0 else K.LEFT


# -- searches --------------------------------------------------------------------------------------

_DR = np.array([d[0] for d in STEPS], np.int64)
_DC = np.array([d[1] for d in STEPS], np.int64)
NO_BOX = -2
"""Code of a cell without a box in the lock grids given to :func:`_explore`."""


@numba.njit(cache=True)
def _distances(passable, r0, c0):
    h, w = passable.shape
    dist = np.full((h, w), -1, np.int64)
    queue = np.empty(h * w, np.int64)
    dist[r0, c0] = 0
    queue[0] = r0 * w + c0
    head, tail = 0, 1
    while head < tail:
        r, c = divmod(queue[head], w)
        head += 1
        for k in range(4):
            nr, nc = r + _DR[k], c + _DC[k]
            if 0 <= nr < h and 0 <= nc < w and passable[nr, nc] and dist[nr, nc] < 0:
                dist[nr, nc] = dist[r, c] + 1
                queue[tail] = nr * w + nc
                tail += 1
    return dist


@numba.njit(cache=True)
def _explore(walls, ramps, locks, avoid, push, r0, c0):
    h, w = walls.shape
    dist = np.full((h, w), -1, np.int64)
    first = np.full((h, w), -1, np.int64)
    queue = np.empty(h * w, np.int64)
    dist[r0, c0] = 0
    queue[0] = r0 * w + c0
    head, tail = 0, 1
    while head < tail:
        r, c = divmod(queue[head], w)
        head += 1
        for k in range(4):
            dr, dc = _DR[k], _DC[k]
            tr, tc = r + dr, c + dc
            if not (0 <= tr < h and 0 <= tc < w):
                continue
            br, bc = tr + dr, tc + dc
            beyond_free = (0 <= br < h and 0 <= bc < w and not walls[br, bc]
                           and locks[br, bc] == NO_BOX and not avoid[br, bc])
            nr, nc = -1, -1
            if not walls[tr, tc] and locks[tr, tc] == NO_BOX and not avoid[tr, tc]:
                nr, nc = tr, tc
            elif push and locks[tr, tc] == K.UNLOCKED and beyond_free:
                nr, nc = tr, tc
            elif ramps[r, c] and beyond_free:
                nr, nc = br, bc
            if nr >= 0 and dist[nr, nc] < 0:
                dist[nr, nc] = dist[r, c] + 1
                first[nr, nc] = k if first[r, c] < 0 else first[r, c]
                queue[tail] = nr * w + nc
                tail += 1
    return dist, first


def distances(passable: np.ndarray, start: Cell) -> np.ndarray:
    """(H, W) step counts from ``start`` over 4-neighbour moves on passable cells (-1: unreachable)."""
    return _distances(np.ascontiguousarray(passable, dtype=np.bool_), int(start[0]), int(start[1]))


def step_towards(dist_to_goal: np.ndarray, me: Cell) -> int | None:
    """Direction code of a neighbour one step closer to the goal of a distance field, or None."""
    d = dist_to_goal[me]
    if d <= 0:
        return None
    h, w = dist_to_goal.shape
    for k, (dr, dc) in enumerate(STEPS):
        nr, nc = me[0] + dr, me[1] + dc
        if 0 <= nr < h and 0 <= nc < w and dist_to_goal[nr, nc] == d - 1:
            return k
    return None


def carry_distances(passable: np.ndarray, goal: Cell, offset: Cell) -> np.ndarray:
    """Steps to bring an agent holding a box at ``agent + offset`` to ``goal`` (both cells of
    the pair must stay passable), from every agent cell; -1 where impossible."""
    h, w = passable.shape
    orow, ocol = offset
    pair_ok = np.zeros((h, w), bool)
    rows = slice(max(0, -orow), h - max(0, orow))
    cols = slice(max(0, -ocol), w - max(0, ocol))
    shifted = passable[max(0, orow):h + min(0, orow), max(0, ocol):w + min(0, ocol)]
    pair_ok[rows, cols] = passable[rows, cols] & shifted
    if not pair_ok[goal]:
        return np.full((h, w), -1, np.int64)
    return distances(pair_ok, goal)


def explore_paths(walls: np.ndarray, ramps: np.ndarray, boxes: Mapping[Cell, int], start: Cell,
                  avoid: Collection[Cell] = (), push: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Breadth-first search of the moves an agent can make: walk, push an unlocked box whose next
    cell is free (unless ``push`` is False), vault from a ramp over one wall or box cell.
    ``boxes`` maps cells to lock owners; cells in ``avoid`` (other agents) are not entered.

    Returns the step counts (-1 unreachable) and, per reached cell, the direction code of the
    first move from ``start`` (-1 at the start)."""
    locks = np.full(walls.shape, NO_BOX, np.int64)
    for cell, lock in boxes.items():
        locks[cell] = lock
    blocked = np.zeros(walls.shape, np.bool_)
    for cell in avoid:
        blocked[cell] = True
    return _explore(np.ascontiguousarray(walls, dtype=np.bool_), np.ascontiguousarray(ramps, dtype=np.bool_),
                    locks, blocked, push, int(start[0]), int(start[1]))


# -- rooms -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Door:
    """A door of a room, seen from inside."""

    cell: Cell
    inside: Cell
    """The room cell next to the door."""
    outward: int
    """Direction code from ``inside`` to ``cell``."""


@dataclass(frozen=True)
class Shelter:
    """A room the hiders can barricade: every door gets a locked box."""

    cells: frozenset[Cell]
    doors: tuple[Door, ...]
    landings: tuple[Cell, ...]
    """Room cells where a vault from a ramp outside lands (a hider standing there stops it)."""
    hideouts: tuple[Cell, ...]
    """Where hiders wait: the landings first, then the room cells out of sight of the doors,
    farthest from them first."""


def find_shelters(walls: np.ndarray, ramps: np.ndarray, max_doors: int = 2) -> list[Shelter]:
    """Rooms with at most ``max_doors`` doors, best first: fewest doors, then fewest ramp
    landings, then largest (then reading order of the first door)."""
    labels = room_labels(walls)
    doors = np.argwhere(door_mask(walls))
    ramp_cells = [(int(r), int(c)) for r, c in np.argwhere(ramps)]
    shelters = []
    for room in range(int(labels.max()) + 1):
        room_doors = []
        for door_r, door_c in doors:
            for k, (dr, dc) in enumerate(STEPS):
                r, c = int(door_r) - dr, int(door_c) - dc
                if labels[r, c] == room:
                    room_doors.append(Door((int(door_r), int(door_c)), (r, c), k))
        if not 1 <= len(room_doors) <= max_doors:
            continue
        cells = frozenset((int(r), int(c)) for r, c in np.argwhere(labels == room))
        door_cells = {d.cell for d in room_doors}
        landings = tuple(sorted({
            (r + 2 * dr, c + 2 * dc) for r, c in ramp_cells if (r, c) not in cells
            for dr, dc in STEPS if (r + 2 * dr, c + 2 * dc) in cells
            and (walls[r + dr, c + dc] or (r + dr, c + dc) in door_cells)}))
        shelters.append(Shelter(cells, tuple(room_doors), landings,
                                landings + _hideouts(walls, cells, room_doors, landings)))
    return sorted(shelters, key=lambda s: (len(s.doors), len(s.landings), -len(s.cells), s.doors[0].cell))


def _hideouts(walls: np.ndarray, cells: frozenset[Cell], doors: list[Door], skip: tuple[Cell, ...]
              ) -> tuple[Cell, ...]:
    from palaestra.envs.hide_and_seek.vision import line_of_sight

    lookouts = []
    for door in doors:
        dr, dc = STEPS[door.outward]
        lookouts += [door.cell, (door.cell[0] + dr, door.cell[1] + dc)]
    dist = np.min([distances(~walls, door.cell) for door in doors], axis=0)
    hidden = [cell for cell in cells if cell not in skip
              and not any(line_of_sight(walls, r, c, cell[0], cell[1]) for r, c in lookouts)]
    pool = hidden or [cell for cell in cells if cell not in skip]
    return tuple(sorted(pool, key=lambda cell: (-dist[cell], cell)))
