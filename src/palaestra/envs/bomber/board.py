"""Random start boards with Pommerman's rules (``pommerman.utility.make_board`` / ``make_items``).

The rules, as in the original playground:

* All cells start as passages; agent ``i`` stands at its start corner as ``AGENT0 + i`` (two
  agents: top left and bottom right, as Pommerman's two-player boards).
* Walls go on off-diagonal cells only and always in mirrored pairs ``(r, c)`` / ``(c, r)``, so the
  wall layout is symmetric about the main diagonal.
* The two cells next to each agent along the board's edge rows/columns (its "breathing room") stay
  free.
* With four agents, wood corridors between neighbouring corners are laid first (cells 4 ..
  ``size - 5`` of rows/columns 1 and ``size - 2``); they count towards ``num_wood``.
* Then ``num_rigid`` rigid walls and the remaining wood walls are laid in random pairs.
* The board is redrawn while more than 4 passages cannot be reached from the bottom-right corner
  (the original's last agent position) through non-rigid cells; the corners are linked by the
  breathing room and corridors, so that is the agents' component.

Power-ups (``make_items``) hide under distinct wood cells, each uniformly one of extra bomb,
increased range and kick.

All randomness comes from the given ``numpy.random.Generator``: the same seed gives the same
arrays. The original draws with Python's ``random`` module, so boards are distributed alike but
not bit-identical to Pommerman's for a given seed.
"""

from __future__ import annotations

import numba
import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.errors import ConfigError

MAX_INACCESSIBLE = 4
"""A board is redrawn while more passages than this are unreachable from the agents."""

MAX_ATTEMPTS = 10_000
"""Draws tried before :func:`make_board` gives up (only hopeless counts get near this)."""


def start_positions(size: int = C.BOARD_SIZE, num_agents: int = C.NUM_AGENTS) -> tuple[tuple[int, int], ...]:
    """The agents' start cells ``(row, col)`` in agent order, as Pommerman places them."""
    if num_agents == 4:
        return ((1, 1), (size - 2, 1), (size - 2, size - 2), (1, size - 2))
    if num_agents == 2:
        return ((1, 1), (size - 2, size - 2))
    raise ConfigError(f"num_agents must be 2 or 4, got {num_agents}")


def _breathing_room(size: int, num_agents: int) -> list[tuple[int, int]]:
    cells = []
    for i in (2, 3):
        cells += [(1, i), (i, 1), (size - 2, size - i - 1), (size - i - 1, size - 2)]
        if num_agents == 4:
            cells += [(1, size - i - 1), (size - i - 1, 1), (i, size - 2), (size - 2, i)]
    return cells


def _corridors(size: int, num_agents: int) -> list[tuple[int, int]]:
    if num_agents != 4:
        return []
    cells = []
    for i in range(4, size - 4):
        cells += [(1, i), (size - i - 1, 1), (size - 2, size - i - 1), (size - i - 1, size - 2)]
    return cells


class _Layout:
    """The fixed part of a board of one size: template with agents and corridors, free pairs."""

    def __init__(self, size: int, num_agents: int) -> None:
        self.size = size
        self.agents = start_positions(size, num_agents)
        self.corridors = _corridors(size, num_agents)
        template = np.full((size, size), C.PASSAGE, dtype=np.int8)
        for i, (r, c) in enumerate(self.agents):
            template[r, c] = C.AGENT0 + i
        for r, c in self.corridors:
            template[r, c] = C.WOOD
        self.template = template
        excluded = set(self.agents) | set(_breathing_room(size, num_agents)) | set(self.corridors)
        # The excluded set is symmetric, so drawing a cell uniformly from the free off-diagonal
        # cells and taking its mirror too equals drawing an unordered pair (r < c) uniformly.
        pairs = [
            (r, c)
            for r in range(size)
            for c in range(r + 1, size)
            if (r, c) not in excluded and (c, r) not in excluded
        ]
        self.pair_rows = np.array([p[0] for p in pairs], dtype=np.intp)
        self.pair_cols = np.array([p[1] for p in pairs], dtype=np.intp)


_LAYOUTS: dict[tuple[int, int], _Layout] = {}


def _layout(size: int, num_agents: int) -> _Layout:
    key = (size, num_agents)
    if key not in _LAYOUTS:
        _LAYOUTS[key] = _Layout(size, num_agents)
    return _LAYOUTS[key]


@numba.njit(cache=True)
def _reachable(board: np.ndarray, r0: int, c0: int) -> np.ndarray:
    """Cells reachable from (r0, c0) through non-rigid cells (compiled flood fill)."""
    n_r, n_c = board.shape
    seen = np.zeros((n_r, n_c), np.bool_)
    stack = np.empty((n_r * n_c, 2), np.int64)
    seen[r0, c0] = True
    stack[0, 0], stack[0, 1] = r0, c0
    top = 1
    while top > 0:
        top -= 1
        r, c = stack[top, 0], stack[top, 1]
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nr, nc = r + dr, c + dc
            if 0 <= nr < n_r and 0 <= nc < n_c and not seen[nr, nc] and board[nr, nc] != C.RIGID:
                seen[nr, nc] = True
                stack[top, 0], stack[top, 1] = nr, nc
                top += 1
    return seen


def inaccessible_passages(board: np.ndarray, start: tuple[int, int]) -> list[tuple[int, int]]:
    """Passages that cannot be reached from ``start`` moving through non-rigid cells.

    As Pommerman's ``utility.inaccessible_passages``: wood and agents do not block the search,
    only rigid walls do.
    """
    seen = _reachable(np.asarray(board), int(start[0]), int(start[1]))
    rows, cols = np.nonzero((board == C.PASSAGE) & ~seen)
    return list(zip(rows.tolist(), cols.tolist()))


def make_board(
    rng: np.random.Generator,
    size: int = C.BOARD_SIZE,
    num_rigid: int = C.NUM_RIGID,
    num_wood: int = C.NUM_WOOD,
    num_agents: int = 4,
) -> np.ndarray:
    """A random symmetric start board (int8 ``size`` x ``size``) with Pommerman's rules.

    ``num_wood`` includes the wood corridors laid between corners when there are four agents
    (``4 * (size - 8)`` cells, 12 on the 11 x 11 board), so the board holds exactly ``num_rigid``
    rigid and ``num_wood`` wood cells. Raises ValueError for counts no board can have: odd
    counts (walls come in mirrored pairs), fewer wood cells than the corridors, or more walls
    than free off-diagonal cells; RuntimeError if no draw in :data:`MAX_ATTEMPTS` keeps the
    passages reachable.
    """
    if num_agents not in (2, 4):
        raise ConfigError(f"num_agents must be 2 or 4, got {num_agents}")
    if size < 8:
        raise ConfigError(f"size must be at least 8 to fit the start corners, got {size}")
    if num_rigid < 0 or num_wood < 0:
        raise ConfigError(f"wall counts must be non-negative, got num_rigid={num_rigid}, num_wood={num_wood}")
    if num_rigid % 2 or num_wood % 2:
        raise ConfigError(
            f"walls are laid in mirrored pairs, so num_rigid and num_wood must be even, "
            f"got num_rigid={num_rigid}, num_wood={num_wood}"
        )
    layout = _layout(size, num_agents)
    n_corridor = len(layout.corridors)
    if num_wood < n_corridor:
        raise ConfigError(
            f"num_wood={num_wood} is below the {n_corridor} wood cells of the guaranteed corridors "
            f"between the {num_agents} agents on a {size}x{size} board"
        )
    n_rigid_pairs = num_rigid // 2
    n_wood_pairs = (num_wood - n_corridor) // 2
    n_free = len(layout.pair_rows)
    if n_rigid_pairs + n_wood_pairs > n_free:
        raise ConfigError(
            f"too many walls: num_rigid={num_rigid} plus {num_wood - n_corridor} non-corridor wood "
            f"need {2 * (n_rigid_pairs + n_wood_pairs)} cells but only {2 * n_free} free "
            f"off-diagonal cells remain on a {size}x{size} board"
        )
    n_pairs = n_rigid_pairs + n_wood_pairs
    # Pommerman searches from the bottom-right corner (the last agent of its own list).
    search_start = (size - 2, size - 2)
    board = np.empty((size, size), dtype=np.int8)
    for _ in range(MAX_ATTEMPTS):
        if _draw_walls(rng.random(n_pairs), layout.template, layout.pair_rows, layout.pair_cols,
                       n_rigid_pairs, search_start[0], search_start[1], MAX_INACCESSIBLE, board):
            return board
    raise RuntimeError(
        f"no board with at most {MAX_INACCESSIBLE} inaccessible passages in {MAX_ATTEMPTS} draws "
        f"(size={size}, num_rigid={num_rigid}, num_wood={num_wood}); use fewer rigid walls"
    )


@numba.njit(cache=True)
def _draw_walls(u, template, pair_rows, pair_cols, n_rigid_pairs, sr, sc, max_inaccessible, out):
    """One draw: ``u.size`` wall pairs chosen by a partial Fisher-Yates shuffle driven by ``u``
    (the first ``n_rigid_pairs`` rigid, the rest wood) on top of ``template``, written to ``out``.
    Returns whether at most ``max_inaccessible`` passages are unreachable from (sr, sc)."""
    n_free = pair_rows.size
    order = np.arange(n_free)
    out[:] = template
    for j in range(u.size):
        k = j + int(u[j] * (n_free - j))
        order[j], order[k] = order[k], order[j]
        r, c = pair_rows[order[j]], pair_cols[order[j]]
        value = C.RIGID if j < n_rigid_pairs else C.WOOD
        out[r, c] = value
        out[c, r] = value
    seen = _reachable(out, sr, sc)
    cut_off = 0
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            if out[r, c] == C.PASSAGE and not seen[r, c]:
                cut_off += 1
    return cut_off <= max_inaccessible


@numba.njit(cache=True)
def _draw_items(u, board, num_items, out):
    """Hide ``num_items`` power-ups under distinct wood cells: cells by a partial Fisher-Yates
    shuffle of the wood cells (row-major) driven by ``u[:num_items]``, kinds by the rest."""
    n_r, n_c = board.shape
    wood = np.empty(n_r * n_c, np.int64)
    n_wood = 0
    for r in range(n_r):
        for c in range(n_c):
            if board[r, c] == C.WOOD:
                wood[n_wood] = r * n_c + c
                n_wood += 1
    out[:] = 0
    for j in range(num_items):
        k = j + int(u[j] * (n_wood - j))
        wood[j], wood[k] = wood[k], wood[j]
        kind = C.POWERUPS[min(int(u[num_items + j] * 3), 2)]
        out[wood[j] // n_c, wood[j] % n_c] = kind


def make_items(rng: np.random.Generator, board: np.ndarray, num_items: int = C.NUM_ITEMS) -> np.ndarray:
    """Power-ups hidden under ``num_items`` distinct wood cells of ``board``.

    Returns an int8 grid of the board's shape: 0 where no item, else ``EXTRA_BOMB``,
    ``INCR_RANGE`` or ``KICK`` (uniform choice) under a wood cell. Raises ValueError if
    ``num_items`` is negative or exceeds the number of wood cells.
    """
    board = np.asarray(board)
    if num_items < 0:
        raise ConfigError(f"num_items must be non-negative, got {num_items}")
    n_wood = int(np.count_nonzero(board == C.WOOD))
    if num_items > n_wood:
        raise ConfigError(f"num_items={num_items} exceeds the {n_wood} wood cells that can hide them")
    items = np.empty(board.shape, dtype=np.int8)
    _draw_items(rng.random(2 * num_items), board, num_items, items)
    return items


__all__ = [
    "MAX_ATTEMPTS",
    "MAX_INACCESSIBLE",
    "inaccessible_passages",
    "make_board",
    "make_items",
    "start_positions",
]
