"""Board reasoning for :class:`palaestra.agents.scripted.bomber.SimpleBomberAgent`.

A behavioural port of the helpers of Pommerman's ``SimpleAgent`` (the playground's benchmark
bot): a breadth-first search over the board within a Manhattan depth limit, the reading of which
directions are threatened by bombs, the choice of an escape direction, the "can I bomb here and
still get away" test, and the filters used for the final random move.

Positions are ``(row, col)`` tuples of python ints, bombs are ``(row, col, blast_strength)``
tuples and directions are the action codes of :mod:`palaestra.envs.bomber.constants`. Every
random choice goes through a draw source handed in by the caller: by default
:class:`GeneratorDraws` over the agent's ``np.random.Generator``; :class:`UniformDraws` spends one
uniform per draw, exactly as the compiled bots of :mod:`palaestra.agents.scripted.compiled` do, so
that both can be fed the same draws.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from palaestra.envs.bomber.constants import (
    AGENT0,
    BOMB,
    DELTAS,
    DOWN,
    FLAMES,
    FOG,
    LEFT,
    NUM_AGENTS,
    PASSAGE,
    POWERUPS,
    RIGHT,
    RIGID,
    STOP,
    UP,
)

Position = tuple[int, int]
Bomb = tuple[int, int, int]

# Neighbour order of the original (up, down, left, right): it fixes the search's tie-breaking.
NEIGHBOUR_DIRECTIONS = (UP, DOWN, LEFT, RIGHT)
_AGENT_CODES = frozenset(range(AGENT0, AGENT0 + NUM_AGENTS))
_WALKABLE_CODES = _AGENT_CODES | frozenset(POWERUPS) | {PASSAGE}
_UNSEARCHABLE = frozenset((FOG, RIGID, FLAMES))


class Uniforms(Protocol):
    """Anything with ``random()``: a uniform float in [0, 1) (an ``np.random.Generator`` is one)."""

    def random(self) -> float:
        """One uniform draw in [0, 1)."""
        ...


class Draws(Uniforms, Protocol):
    """Where a scripted Bomber agent's random choices come from."""

    def below(self, n: int) -> int:
        """A uniform integer in ``0..n-1`` (``n`` >= 1)."""
        ...


class GeneratorDraws:
    """The default draw source: ``Generator.random()`` and ``Generator.integers(n)``.

    The agents have always drawn this way, so a seeded agent plays as it always has.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def random(self) -> float:
        return float(self.rng.random())

    def below(self, n: int) -> int:
        return int(self.rng.integers(n))


class UniformDraws:
    """One uniform from ``rng`` per draw, ``below(n) = min(int(u * n), n - 1)``, counted in :attr:`used`.

    This is how the compiled bots draw; given generators in the same state, the Python port and
    the compiled bots see the same draws.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used = 0

    def random(self) -> float:
        self.used += 1
        return float(self.rng.random())

    def below(self, n: int) -> int:
        self.used += 1
        return min(int(self.rng.random() * n), n - 1)


def step(position: Position, direction: int) -> Position:
    """The cell one move in ``direction`` from ``position`` (itself for STOP)."""
    d_row, d_col = DELTAS[direction]
    return position[0] + d_row, position[1] + d_col


def direction_to(position: Position, neighbour: Position) -> int:
    """The move that takes ``position`` to the adjacent cell ``neighbour``."""
    if position[0] == neighbour[0]:
        return RIGHT if position[1] < neighbour[1] else LEFT
    if position[1] == neighbour[1]:
        return DOWN if position[0] < neighbour[0] else UP
    raise ValueError(f"{neighbour} is not in line with {position}")


def on_board(board: np.ndarray, position: Position) -> bool:
    return 0 <= position[0] < board.shape[0] and 0 <= position[1] < board.shape[1]


def is_passable(board: np.ndarray, position: Position, enemies: Sequence[int]) -> bool:
    """Whether the original counts the cell as walkable: passage, power-up or a non-enemy agent.

    Wood, bombs, flames, walls and fog are not walkable; neither is a cell holding an enemy.
    """
    code = int(board[position])
    return code in _WALKABLE_CODES and code not in enemies


@dataclass
class Reach:
    """What the bounded search saw from the agent's cell.

    ``items`` lists the searched cells by board code (row-major order), ``dist`` holds the number
    of moves to each searched cell (``inf`` when it cannot be reached; walls of wood, bombs and
    enemies get a distance but are not walked through) and ``prev`` the cell each was entered
    from on a shortest path.
    """

    items: dict[int, list[Position]]
    dist: dict[Position, float]
    prev: dict[Position, Position | None]


def search(
    board: np.ndarray,
    start: Position,
    bombs: Sequence[Bomb],
    enemies: Sequence[int],
    depth: int,
    rng: Uniforms,
) -> Reach:
    """Breadth-first search from ``start`` over cells within Manhattan distance ``depth``.

    Fog, rigid walls and flames are left out of the search altogether. Like the original, the
    scanned window stops one short of ``start + depth`` on each axis, and when two shortest paths
    reach a cell the predecessor is swapped with probability 1/2 (one draw per tie, in search
    order, from ``rng.random()``).
    """
    items: dict[int, list[Position]] = defaultdict(list)
    dist: dict[Position, float] = {}
    prev: dict[Position, Position | None] = {}
    row, col = start
    for r in range(max(0, row - depth), min(board.shape[0], row + depth)):
        for c in range(max(0, col - depth), min(board.shape[1], col + depth)):
            if abs(r - row) + abs(c - col) > depth or int(board[r, c]) in _UNSEARCHABLE:
                continue
            prev[(r, c)] = None
            items[int(board[r, c])].append((r, c))
            dist[(r, c)] = 0 if (r, c) == start else np.inf
    if any((b[0], b[1]) == start for b in bombs):
        items[BOMB].append(start)

    queue = [start] if start in dist else []
    head = 0
    while head < len(queue):
        position = queue[head]
        head += 1
        if not is_passable(board, position, enemies):
            continue
        next_dist = dist[position] + 1
        for direction in NEIGHBOUR_DIRECTIONS:
            neighbour = step(position, direction)
            if neighbour not in dist:
                continue
            if next_dist < dist[neighbour]:
                dist[neighbour] = next_dist
                prev[neighbour] = position
                queue.append(neighbour)
            elif next_dist == dist[neighbour] and rng.random() < 0.5:
                prev[neighbour] = position
    return Reach(items, dist, prev)


def threatened_directions(
    position: Position, bombs: Sequence[Bomb], dist: dict[Position, float]
) -> dict[int, int]:
    """Directions in which a bomb within reach lies in line with us, with the largest strength.

    A bomb counts when it was searched and its walking distance is at most its blast strength.
    Standing on a bomb threatens all four directions (inserted right, left, up, down). The dict's
    insertion order matters to :func:`escape_directions`, as it did in the original.
    """
    threats: dict[int, int] = {}

    def note(direction: int, strength: int) -> None:
        threats[direction] = max(threats.get(direction, 0), strength)

    row, col = position
    for b_row, b_col, strength in bombs:
        distance = dist.get((b_row, b_col))
        if distance is None or distance > strength:
            continue
        if (b_row, b_col) == position:
            for direction in (RIGHT, LEFT, UP, DOWN):
                note(direction, strength)
        elif row == b_row:
            note(RIGHT if col < b_col else LEFT, strength)
        elif col == b_col:
            note(DOWN if row < b_row else UP, strength)
    return threats


def _is_dead_end(board: np.ndarray, start: Position, strength: int, enemies: Sequence[int]) -> bool:
    """Whether, from ``start``, every walkable cell stays in its blast cross within ``strength``.

    The original explores by Manhattan distance from ``start`` with a priority queue and stops
    at the first cell that is off ``start``'s row and column or farther than ``strength``.
    """
    frontier: list[tuple[int, Position]] = [(0, start)]
    seen: set[Position] = set()
    while frontier:
        distance, position = heapq.heappop(frontier)
        seen.add(position)
        if (position[0] != start[0] and position[1] != start[1]) or distance > strength:
            return False
        for direction in NEIGHBOUR_DIRECTIONS:
            neighbour = step(position, direction)
            if neighbour in seen or not on_board(board, neighbour):
                continue
            if not is_passable(board, neighbour, enemies):
                continue
            gap = abs(neighbour[0] - start[0]) + abs(neighbour[1] - start[1])
            heapq.heappush(frontier, (gap, neighbour))
    return True


def escape_directions(
    board: np.ndarray, position: Position, threats: dict[int, int], enemies: Sequence[int]
) -> list[int]:
    """Candidate moves away from danger; the caller picks one uniformly at random.

    When all four directions are threatened (typically we stand on our own bomb) the first
    direction, in ``threats`` order, whose next cell is walkable and not a dead end inside the
    blast cross is returned alone; failing that STOP. Otherwise: the unthreatened on-board
    neighbours that are walkable or fogged; failing that the threatened on-board directions;
    failing that STOP.
    """
    if len(threats) == 4:
        after = board.copy()
        after[position] = BOMB  # we are leaving a bomb behind us
        for direction, strength in threats.items():
            target = step(position, direction)
            if not on_board(after, target) or not is_passable(after, target, enemies):
                continue
            if not _is_dead_end(after, target, strength, enemies):
                return [direction]
        return [STOP]

    safe: list[int] = []
    off_board: list[int] = []
    for direction in NEIGHBOUR_DIRECTIONS:
        target = step(position, direction)
        if not on_board(board, target):
            off_board.append(direction)
        elif direction not in threats and (
            is_passable(board, target, enemies) or int(board[target]) == FOG
        ):
            safe.append(direction)
    if not safe:
        safe = [d for d in threats if d not in off_board]
    return safe or [STOP]


def can_bomb_safely(ammo: int, blast_strength: int, reach: Reach, position: Position) -> bool:
    """Whether we have ammo and can walk to a passage out of our own bomb's blast.

    "Out of the blast" is as judged by the original: a reachable passage farther than
    ``blast_strength`` moves, or one off our row and column.
    """
    if ammo < 1:
        return False
    for cell in reach.items.get(PASSAGE, ()):
        distance = reach.dist[cell]
        if distance == np.inf:
            continue
        if distance > blast_strength or (cell[0] != position[0] and cell[1] != position[1]):
            return True
    return False


def nearest(reach: Reach, codes: Iterable[int], radius: int) -> Position | None:
    """The closest reachable cell holding one of ``codes`` within ``radius`` moves.

    Ties go to the last one found (codes in the given order, cells row-major), as in the original.
    """
    best: Position | None = None
    best_distance = np.inf
    for code in codes:
        for cell in reach.items.get(code, ()):
            distance = reach.dist[cell]
            if distance <= radius and distance <= best_distance:
                best, best_distance = cell, distance
    return best


def first_step(position: Position, target: Position | None, reach: Reach) -> int | None:
    """The first move of the searched shortest path to ``target`` (None for no target)."""
    if target is None:
        return None
    cell = target
    while reach.prev[cell] != position:
        cell = reach.prev[cell]  # type: ignore[assignment]
    return direction_to(position, cell)


def walkable_moves(
    board: np.ndarray, position: Position, directions: Iterable[int], enemies: Sequence[int]
) -> list[int]:
    """The moves (STOP included) whose destination is on the board and walkable."""
    return [
        d
        for d in directions
        if on_board(board, step(position, d)) and is_passable(board, step(position, d), enemies)
    ]


def out_of_blast_lines(
    position: Position, directions: Iterable[int], bombs: Sequence[Bomb]
) -> list[int]:
    """The moves whose destination is not in line with any bomb within its blast strength.

    Straight-line test only: walls between the bomb and the cell are ignored, as in the original.
    """
    kept = []
    for direction in directions:
        row, col = step(position, direction)
        if not any(
            (row == b_row and abs(b_col - col) <= s) or (col == b_col and abs(b_row - row) <= s)
            for b_row, b_col, s in bombs
        ):
            kept.append(direction)
    return kept


def not_recently_visited(
    position: Position, directions: list[int], recent: Sequence[Position]
) -> list[int]:
    """The moves not leading back to a recently visited cell, or all of them if none is left."""
    kept = [d for d in directions if step(position, d) not in recent]
    return kept or directions
