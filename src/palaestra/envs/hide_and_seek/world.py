"""Random layouts: rooms and doors, then boxes, ramps and agents.

Rooms come from dividing the arena with one-cell-thick walls, each pierced by one one-cell door
(recursive division: the region split is always the largest one that can be split, along its
longer side). A new wall never ends against an existing door, so each wall joins exactly two
regions through its door; the rooms form a tree, and every floor cell is reachable from every
other one when boxes are ignored (:func:`connected` checks it; a layout failing it is redrawn).

Placement, all uniform among the allowed cells:

* ramps on cells from which a vault is possible (a single interior wall cell ahead with floor
  beyond it), else anywhere free;
* boxes on floor cells with floor on all four sides (so they can be pushed any way), never in a
  door, else anywhere free;
* agents on the remaining free cells (not doors, not ramps), facing a random direction.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from palaestra.envs.hide_and_seek.config import HideAndSeekConfig
from palaestra.envs.hide_and_seek.constants import DIRECTIONS, HIDERS, SEEKERS, UNLOCKED
from palaestra.envs.hide_and_seek.state import GameState
from palaestra.errors import ConfigError

Region = tuple[int, int, int, int]
"""Inclusive floor bounds (r0, r1, c0, c1) of a room being divided."""

MAX_LAYOUT_ATTEMPTS = 50


def _split_positions(walls: np.ndarray, region: Region, vertical: bool, min_size: int) -> list[int]:
    """Rows (or columns) where a wall may divide ``region``: both sides keep ``min_size`` cells and
    both ends of the new wall meet walls, not doors."""
    r0, r1, c0, c1 = region
    if vertical:
        return [w for w in range(c0 + min_size, c1 - min_size + 1)
                if walls[r0 - 1, w] and walls[r1 + 1, w]]
    return [w for w in range(r0 + min_size, r1 - min_size + 1)
            if walls[w, c0 - 1] and walls[w, c1 + 1]]


def make_walls(rng: np.random.Generator, size: int, rooms: bool, max_rooms: int, min_room: int) -> np.ndarray:
    """(size, size) bool walls: the border, and with ``rooms`` 2..max_rooms rooms."""
    walls = np.zeros((size, size), bool)
    walls[0, :] = walls[-1, :] = walls[:, 0] = walls[:, -1] = True
    if not rooms:
        return walls
    target = int(rng.integers(2, max_rooms + 1))
    regions: list[Region] = [(1, size - 2, 1, size - 2)]
    blocked: set[Region] = set()
    while len(regions) < target:
        open_regions = [g for g in regions if g not in blocked]
        if not open_regions:
            break
        areas = [(g[1] - g[0] + 1) * (g[3] - g[2] + 1) for g in open_regions]
        best = max(areas)
        largest = [g for g, a in zip(open_regions, areas) if a == best]
        region = largest[int(rng.integers(len(largest)))]
        r0, r1, c0, c1 = region
        height, width = r1 - r0 + 1, c1 - c0 + 1
        prefer_vertical = width > height or (width == height and rng.random() < 0.5)
        for vertical in (prefer_vertical, not prefer_vertical):
            options = _split_positions(walls, region, vertical, min_room)
            if options:
                break
        else:
            blocked.add(region)
            continue
        w = options[int(rng.integers(len(options)))]
        regions.remove(region)
        if vertical:
            walls[r0:r1 + 1, w] = True
            walls[int(rng.integers(r0, r1 + 1)), w] = False
            regions += [(r0, r1, c0, w - 1), (r0, r1, w + 1, c1)]
        else:
            walls[w, c0:c1 + 1] = True
            walls[w, int(rng.integers(c0, c1 + 1))] = False
            regions += [(r0, w - 1, c0, c1), (w + 1, r1, c0, c1)]
    return walls


def door_mask(walls: np.ndarray) -> np.ndarray:
    """(H, W) bool: floor cells between two walls facing each other (left/right or up/down)."""
    doors = np.zeros(walls.shape, bool)
    inner = ~walls[1:-1, 1:-1]
    horizontal = walls[1:-1, :-2] & walls[1:-1, 2:]
    vertical = walls[:-2, 1:-1] & walls[2:, 1:-1]
    doors[1:-1, 1:-1] = inner & (horizontal | vertical)
    return doors


def room_labels(walls: np.ndarray) -> np.ndarray:
    """(H, W) int: room number of each floor cell (doors and walls: -1), rooms numbered from 0
    in reading order of their first cell."""
    labels = np.full(walls.shape, -1, np.int64)
    open_cells = ~walls & ~door_mask(walls)
    n = 0
    for r, c in zip(*np.nonzero(open_cells)):
        if labels[r, c] >= 0:
            continue
        labels[r, c] = n
        queue = deque([(int(r), int(c))])
        while queue:
            y, x = queue.popleft()
            for dy, dx in DIRECTIONS:
                ny, nx = y + dy, x + dx
                if open_cells[ny, nx] and labels[ny, nx] < 0:
                    labels[ny, nx] = n
                    queue.append((ny, nx))
        n += 1
    return labels


def reachable(walls: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: floor cells reachable from ``start`` by 4-neighbour steps (boxes ignored)."""
    seen = np.zeros(walls.shape, bool)
    seen[start] = True
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for dr, dc in DIRECTIONS:
            nr, nc = r + dr, c + dc
            if 0 <= nr < walls.shape[0] and 0 <= nc < walls.shape[1] and not walls[nr, nc] and not seen[nr, nc]:
                seen[nr, nc] = True
                queue.append((nr, nc))
    return seen


def connected(walls: np.ndarray) -> bool:
    """Whether all floor cells form one 4-connected region."""
    floor = np.argwhere(~walls)
    if len(floor) == 0:
        return False
    return bool(reachable(walls, (int(floor[0, 0]), int(floor[0, 1])))[~walls].all())


def vault_cells(walls: np.ndarray) -> np.ndarray:
    """(H, W) bool: floor cells (not doors) from which some direction vaults a single interior
    wall cell onto floor."""
    h, w = walls.shape
    out = np.zeros(walls.shape, bool)
    doors = door_mask(walls)
    for r, c in np.argwhere(~walls & ~doors):
        for dr, dc in DIRECTIONS:
            r1, c1, r2, c2 = r + dr, c + dc, r + 2 * dr, c + 2 * dc
            if 0 <= r2 < h and 0 <= c2 < w and walls[r1, c1] and not walls[r2, c2]:
                out[r, c] = True
                break
    return out


def _pick(rng: np.random.Generator, preferred: np.ndarray, fallback: np.ndarray, n: int) -> np.ndarray:
    """``n`` distinct cells, from ``preferred`` as far as it goes, the rest from ``fallback``."""
    first = np.argwhere(preferred)
    take = min(n, len(first))
    chosen = first[rng.choice(len(first), size=take, replace=False)] if take else np.zeros((0, 2), np.int64)
    if take < n:
        rest_mask = fallback.copy()
        rest_mask[chosen[:, 0], chosen[:, 1]] = False
        rest = np.argwhere(rest_mask)
        if len(rest) < n - take:
            raise ConfigError("not enough free cells to place everything")
        chosen = np.concatenate([chosen, rest[rng.choice(len(rest), size=n - take, replace=False)]])
    return chosen.astype(np.int64).reshape(n, 2)


def generate(rng: np.random.Generator, config: HideAndSeekConfig) -> GameState:
    """A random start state for ``config``."""
    c = config
    for _ in range(MAX_LAYOUT_ATTEMPTS):
        walls = make_walls(rng, c.grid_size, c.rooms, c.max_rooms, c.min_room_size)
        if connected(walls):
            break
    else:  # pragma: no cover - the division never disconnects; kept as a guard
        walls = make_walls(rng, c.grid_size, False, c.max_rooms, c.min_room_size)
    floor = ~walls & ~door_mask(walls)

    ramps = _pick(rng, vault_cells(walls), floor, c.n_ramps)
    free = floor.copy()
    free[ramps[:, 0], ramps[:, 1]] = False
    open_all_round = free.copy()
    for dr, dc in DIRECTIONS:
        open_all_round &= ~np.roll(walls, (-dr, -dc), axis=(0, 1))
    boxes = _pick(rng, open_all_round, free, c.n_boxes)
    free[boxes[:, 0], boxes[:, 1]] = False
    n_agents = c.n_hiders + c.n_seekers
    agents = _pick(rng, free, free, n_agents)
    teams = np.array([HIDERS] * c.n_hiders + [SEEKERS] * c.n_seekers, np.int64)
    faces = rng.integers(0, 4, size=n_agents).astype(np.int64)
    return GameState(
        walls=walls,
        ramps=ramps,
        boxes=boxes,
        box_lock=np.full(c.n_boxes, UNLOCKED, np.int64),
        agent_pos=agents,
        agent_face=faces,
        agent_team=teams,
    )
