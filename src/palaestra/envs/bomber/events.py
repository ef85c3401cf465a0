"""What happened during one Bomber step: bombs laid, explosions and their cells, pick-ups, deaths.

The kernel (:mod:`palaestra.envs.bomber.core`) only keeps states; this module reads the events of
one step off the state before it, the state after it and the joint action, with the kernel's own
rules, so that viewers and analyses never re-derive them:

* :class:`BombLaid`: an agent laid a bomb (where, with which strength).
* :class:`Explosion`: a bomb went off, where it was at that moment (kicked and sliding bombs
  included), the cells its blast set on fire, and whether its timer ran out or it was set off
  early by flames or another blast (a chain).
* :class:`Pickup`: an agent walked onto a power-up and took it.
* :class:`Death`: an agent died, where, and the owners of the bombs and flames that killed it.

Where each bomb was when it went off is found by stepping a copy of the game in which no bomb can
explode (a *probe*): the kernel keeps surviving bombs in list order, so the bombs of the probe that
are missing after the real step are the ones that exploded. Each blast is then laid out with
Pommerman's rule (:func:`blast_cells`), as the kernel does, chains included.

Flames burn for several steps, and an agent walking into flames is killed by the bombs that laid
them: :attr:`StepEvents.flame_owners` carries who laid the flames still burning after a step, to
be passed to the next call of :func:`step_events`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.core import (
    ALIVE,
    B_BLAST,
    B_COL,
    B_ROW,
    COL,
    LIFE,
    N_BOMBS,
    N_FLAMES,
    OWNER,
    ROW,
    STEP,
    BomberBatch,
)

Cell = tuple[int, int]
FlameOwners = Mapping[Cell, frozenset[int]]
"""Per burning cell, the agents whose bombs laid the flames on it."""

_PROBE_LIFE = 1000
"""Added to every bomb's life in the probe, so that none can explode in it."""


@dataclass(frozen=True)
class BombLaid:
    """An agent laid a bomb this step."""

    owner: int
    row: int
    col: int
    strength: int


@dataclass(frozen=True)
class Explosion:
    """A bomb went off this step."""

    owner: int
    row: int
    """Where the bomb was when it went off (after this step's moves and kicks)."""
    col: int
    strength: int
    cells: frozenset[Cell]
    """Every cell its blast set on fire (see :func:`blast_cells`)."""
    chained: bool
    """True when flames or another bomb's blast set it off before its timer ran out."""


@dataclass(frozen=True)
class Pickup:
    """An agent took the power-up on the cell it walked onto."""

    agent: int
    row: int
    col: int
    item: int
    """Power-up code: ``C.EXTRA_BOMB``, ``C.INCR_RANGE`` or ``C.KICK``."""


@dataclass(frozen=True)
class Death:
    """An agent died this step."""

    agent: int
    row: int
    col: int
    killers: tuple[int, ...]
    """Owners (sorted, without repeats) of the bombs whose blast reached the cell this step and of
    the burning flames the agent walked into; may hold the agent itself, and is empty only for
    flames whose bombs are not known (flames in a state the events did not follow from the start)."""
    cause: Literal["blast", "flames"]
    """``blast``: a bomb that exploded this step reached the cell; ``flames``: the agent walked
    into flames that were already burning."""


@dataclass(frozen=True)
class StepEvents:
    """Everything that happened during the step that led to state ``step``."""

    step: int
    """Step count of the state after the step."""
    laid: tuple[BombLaid, ...] = ()
    """In the kernel's order (agent order)."""
    explosions: tuple[Explosion, ...] = ()
    """In the kernel's bomb-list order."""
    pickups: tuple[Pickup, ...] = ()
    """In agent order."""
    deaths: tuple[Death, ...] = ()
    """In agent order."""
    flame_owners: FlameOwners = field(default_factory=dict)
    """Who laid the flames burning after the step (pass it to the next :func:`step_events`)."""

    @property
    def fired(self) -> frozenset[Cell]:
        """Every cell set on fire during the step."""
        return frozenset().union(*(e.cells for e in self.explosions))


def blast_cells(board: np.ndarray, row: int, col: int, strength: int) -> set[Cell]:
    """Cells a bomb at (row, col) with ``strength`` sets on fire, by Pommerman's rule.

    Up, left and right: 1..strength-1 cells; down: 0..strength-1 (the bomb's own cell is reached
    through the downward ray). A rigid wall stops the blast; wood is set on fire and stops it.
    """
    n_rows, n_cols = board.shape
    cells: set[Cell] = set()
    for d in (C.UP, C.DOWN, C.LEFT, C.RIGHT):
        dr, dc = C.DELTAS[d]
        for j in range(0 if d == C.DOWN else 1, int(strength)):
            r, c = row + dr * j, col + dc * j
            if not (0 <= r < n_rows and 0 <= c < n_cols) or board[r, c] == C.RIGID:
                break
            cells.add((r, c))
            if board[r, c] == C.WOOD:
                break
    return cells


def burnt_board(batch: BomberBatch, i: int = 0) -> np.ndarray:
    """Board ``i`` after the first phase of a step: flames that die reveal their item or a passage.

    Exactly the kernel's first phase (an item under a dying flame is lost if another flame on the
    same cell still burns), so a power-up an agent walks onto in the step shows here.
    """
    board = batch.board[i].copy()
    items = batch.items[i].copy()
    burning = []
    for r, c, life in batch.flames[i, : int(batch.meta[i, N_FLAMES])]:
        if life == 0:
            board[r, c] = items[r, c] if items[r, c] != 0 else C.PASSAGE
            items[r, c] = 0
        else:
            burning.append((r, c))
    for r, c in burning:
        board[r, c] = C.FLAMES
    return board


def moved_bombs(before: BomberBatch, moves: np.ndarray, blast_cap: int, i: int = 0) -> np.ndarray:
    """Every bomb of board ``i`` (live ones, then those laid this step) once everything has moved.

    Steps a copy of the board in which nothing can explode: flames are cleared (they matter to
    movement only through the items they reveal, which :func:`burnt_board` puts on the board) and
    bomb lives raised for the step. Row ``j`` is the ``j``-th bomb in the kernel's list order, with
    the life it has after the step unless it explodes (0: its timer ran out).
    """
    probe = BomberBatch(*(a[i : i + 1].copy() for a in before.arrays()))
    board = burnt_board(before, i)
    board[board == C.FLAMES] = C.PASSAGE
    probe.board[0] = board
    probe.meta[0, N_FLAMES] = 0
    n_before = int(probe.meta[0, N_BOMBS])
    probe.bombs[0, :n_before, LIFE] += _PROBE_LIFE
    probe.step(np.asarray(moves, dtype=np.int64).reshape(1, C.NUM_AGENTS), blast_cap)
    moved = probe.bombs[0, : int(probe.meta[0, N_BOMBS])].copy()
    moved[:n_before, LIFE] -= _PROBE_LIFE
    return moved


def _exploded(moved: np.ndarray, after: np.ndarray) -> list[np.ndarray]:
    """Rows of ``moved`` whose bomb is not in ``after`` (the live bombs after the step).

    The kernel keeps surviving bombs in list order, so ``after`` is a subsequence of ``moved``;
    a survivor has the same owner, cell, strength and life.
    """
    gone, j = [], 0
    for bomb in moved:
        if j < len(after):
            other = after[j]
            same = (other[OWNER] == bomb[OWNER] and other[B_ROW] == bomb[B_ROW]
                    and other[B_COL] == bomb[B_COL] and other[B_BLAST] == bomb[B_BLAST]
                    and other[LIFE] == bomb[LIFE])
            if same:
                j += 1
                continue
        gone.append(bomb)
    return gone


def step_events(before: BomberBatch, after: BomberBatch, moves: np.ndarray, blast_cap: int,
                flame_owners: FlameOwners | None = None, i: int = 0) -> StepEvents:
    """The events of the step that took board ``i`` from ``before`` to ``after``.

    Args:
        before: the game before the step (left unchanged).
        after: the game after ``before.step(moves, blast_cap)``.
        moves: the move code (0..5) of each of the four agents (shape (4,) or (1, 4)).
        blast_cap: the blast strength cap the step was played with.
        flame_owners: :attr:`StepEvents.flame_owners` of the previous step (None at the start of
            a game, or when unknown: deaths in those flames then name no killer).
        i: which board of the batches.
    """
    owners_before = flame_owners or {}
    n_before = int(before.meta[i, N_BOMBS])
    after_bombs = after.bombs[i, : int(after.meta[i, N_BOMBS])]
    burnt = burnt_board(before, i)
    moved = moved_bombs(before, moves, blast_cap, i)
    laid = tuple(BombLaid(int(b[OWNER]), int(b[B_ROW]), int(b[B_COL]), int(b[B_BLAST]))
                 for b in moved[n_before:])

    agents_before, agents_after = before.agents[i], after.agents[i]
    pickups = []
    for k in range(C.NUM_AGENTS):
        if not agents_before[k, ALIVE]:
            continue
        r, c = int(agents_after[k, ROW]), int(agents_after[k, COL])
        moved_here = (r, c) != (int(agents_before[k, ROW]), int(agents_before[k, COL]))
        item = int(burnt[r, c])
        if moved_here and item in C.POWERUPS:
            pickups.append(Pickup(k, r, c, item))

    explosions = []
    fired: dict[Cell, set[int]] = {}
    for bomb in _exploded(moved, after_bombs):
        r, c, strength, owner = int(bomb[B_ROW]), int(bomb[B_COL]), int(bomb[B_BLAST]), int(bomb[OWNER])
        cells = frozenset(blast_cells(before.board[i], r, c, strength))
        explosions.append(Explosion(owner, r, c, strength, cells, chained=bool(bomb[LIFE] > 0)))
        for cell in cells:
            fired.setdefault(cell, set()).add(owner)

    deaths = []
    for k in range(C.NUM_AGENTS):
        if not (agents_before[k, ALIVE] and not agents_after[k, ALIVE]):
            continue
        cell = (int(agents_after[k, ROW]), int(agents_after[k, COL]))
        killers = set(fired.get(cell, set()))
        if burnt[cell] == C.FLAMES:  # walked into (or stayed in) flames that were already burning
            killers |= owners_before.get(cell, frozenset())
        cause: Literal["blast", "flames"] = "blast" if cell in fired else "flames"
        deaths.append(Death(k, cell[0], cell[1], tuple(sorted(killers)), cause))

    owners: dict[Cell, frozenset[int]] = {}
    for r, c, _ in after.flames[i, : int(after.meta[i, N_FLAMES])]:
        cell = (int(r), int(c))
        still = owners_before.get(cell, frozenset()) if burnt[cell] == C.FLAMES else frozenset()
        owners[cell] = frozenset(fired.get(cell, set())) | still
    return StepEvents(int(after.meta[i, STEP]), laid, tuple(explosions), tuple(pickups),
                      tuple(deaths), owners)


__all__ = [
    "BombLaid",
    "Death",
    "Explosion",
    "FlameOwners",
    "Pickup",
    "StepEvents",
    "blast_cells",
    "burnt_board",
    "moved_bombs",
    "step_events",
]
