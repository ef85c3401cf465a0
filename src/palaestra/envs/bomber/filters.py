"""The Bomber action filters by name: ``sure-death`` and ``cautious`` (numba).

``sure-death`` is :mod:`palaestra.envs.bomber.action_filter`: it masks illegal moves and moves
after which every continuation meets a flame, with opponents standing still and laying no bombs.
Against SimpleAgents most deaths of an agent behind it are the opponents' doing: an opponent steps
into the agent's way out or lays a bomb beside it (measured in 400 games of ``filtered-random``
against three SimpleAgents: none of its deaths came with static opponents).

``cautious`` also weighs what each opponent near the agent could do in the same step. For every
living opponent within :data:`THREAT_RADIUS` cells (Manhattan distance) it replays the
``sure-death`` test once with that opponent laying a bomb where it stands (unless a bomb already
lies there) and once for each free cell it could step onto (then standing there). An action safe
in all of these is SAFE; one safe only if the opponents keep still is RISKY. The mask allows the
SAFE actions, or the RISKY ones when none is SAFE, or, when even none of those is left, every
action (as ``sure-death`` does).

What the cautious filter assumes it cannot see: an opponent's ammo and blast strength are not in
an agent's observation, so any opponent may lay a bomb of strength :data:`THREAT_BLAST`; only one
opponent acts at a time, and only in the next step (later threats are weighed in later steps).
Both filters read only what the observation shows, so a policy trained behind one gets the same
mask from the env's state and from a Pommerman observation dict.
"""

from __future__ import annotations

import numba
import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.action_filter import RISKY, SAFE, _seat_status, action_status_arrays, mask_from_status
from palaestra.envs.bomber.core import (
    ALIVE,
    B_COL,
    B_ROW,
    COL,
    N_BOMBS,
    N_FLAMES,
    ROW,
    BomberBatch,
)
from palaestra.envs.bomber.filter_names import FilterName, check_filter

THREAT_RADIUS = 5
"""Opponents farther than this (Manhattan distance) from the agent are not weighed."""
THREAT_BLAST = 3
"""The strength assumed for an opponent's bomb (the observation does not show an opponent's)."""

_DR = np.array([d[0] for d in C.DELTAS], dtype=np.int64)
_DC = np.array([d[1] for d in C.DELTAS], dtype=np.int64)


@numba.njit(cache=True)
def _demote(row, tmp):
    """Mark RISKY the actions SAFE in ``row`` but not in ``tmp``."""
    for j in range(C.NUM_ACTIONS):
        if row[j] == SAFE and tmp[j] != SAFE:
            row[j] = RISKY


@numba.njit(cache=True)
def _bomb_on(bombs, nb, r, c):
    for b in range(nb):
        if bombs[b, B_ROW] == r and bombs[b, B_COL] == c:
            return True
    return False


@numba.njit(cache=True)
def _cautious_seat(board, agents, bombs, nb, flames, nf, seat, row, tmp, buf, moved):
    """Demote in ``row`` (the seat's sure-death statuses) what one near opponent's act could kill."""
    r0, c0 = agents[seat, ROW], agents[seat, COL]
    for b in range(nb):
        buf[b, :] = bombs[b, :]
    for o in range(C.NUM_AGENTS):
        if o == seat or agents[o, ALIVE] == 0:
            continue
        orow, ocol = agents[o, ROW], agents[o, COL]
        if abs(orow - r0) + abs(ocol - c0) > THREAT_RADIUS:
            continue
        if not _bomb_on(bombs, nb, orow, ocol):
            buf[nb, 0], buf[nb, 1], buf[nb, 2] = o, orow, ocol
            buf[nb, 3], buf[nb, 4], buf[nb, 5] = C.DEFAULT_BOMB_LIFE + 1, THREAT_BLAST, 0
            _seat_status(board, agents, buf, nb + 1, flames, nf, seat, tmp)
            _demote(row, tmp)
        moved[:, :] = agents
        for d in range(1, 5):
            r, c = orow + _DR[d], ocol + _DC[d]
            if not (0 <= r < C.BOARD_SIZE and 0 <= c < C.BOARD_SIZE):
                continue
            v = board[r, c]
            if v == C.RIGID or v == C.WOOD or v == C.FOG or (r == r0 and c == c0):
                continue
            if _bomb_on(bombs, nb, r, c):
                continue
            moved[o, ROW], moved[o, COL] = r, c
            _seat_status(board, moved, bombs, nb, flames, nf, seat, tmp)
            _demote(row, tmp)
        moved[o, ROW], moved[o, COL] = orow, ocol


@numba.njit(cache=True)
def cautious_status_arrays(board, agents, bombs, flames, meta, seats):
    """(N, 4, 6) int8 SAFE / ILLEGAL / DEADLY / RISKY of the seats where ``seats`` (N, 4) is True.

    Other seats (and dead ones) read ILLEGAL throughout. Takes a batch's arrays without items.
    """
    nboards = board.shape[0]
    out = np.full((nboards, C.NUM_AGENTS, C.NUM_ACTIONS), 1, np.int8)
    row = np.empty(C.NUM_ACTIONS, np.int8)
    tmp = np.empty(C.NUM_ACTIONS, np.int8)
    buf = np.empty((bombs.shape[1] + 1, bombs.shape[2]), np.int64)
    moved = np.empty((C.NUM_AGENTS, agents.shape[2]), np.int64)
    for i in range(nboards):
        nb, nf = meta[i, N_BOMBS], meta[i, N_FLAMES]
        for a in range(C.NUM_AGENTS):
            if not seats[i, a] or agents[i, a, ALIVE] == 0:
                continue
            _seat_status(board[i], agents[i], bombs[i], nb, flames[i], nf, a, row)
            _cautious_seat(board[i], agents[i], bombs[i], nb, flames[i], nf, a, row, tmp, buf, moved)
            out[i, a] = row
    return out


def filter_status(batch: BomberBatch, name: FilterName, seats: np.ndarray | None = None) -> np.ndarray:
    """(N, 4, 6) int8 statuses under filter ``name`` (``seats`` (N, 4) bool: only those; default all)."""
    arrays = (batch.board, batch.agents, batch.bombs, batch.flames, batch.meta)
    if check_filter(name) == "sure-death":
        return action_status_arrays(*arrays)
    if seats is None:
        seats = np.ones((batch.board.shape[0], C.NUM_AGENTS), np.bool_)
    return cautious_status_arrays(*arrays, np.asarray(seats, np.bool_))


def filter_mask(batch: BomberBatch, name: FilterName, seats: np.ndarray | None = None) -> np.ndarray:
    """(N, 4, 6) bool: the actions filter ``name`` allows to every seat of every board of ``batch``.

    Args:
        batch: the boards, as the rules kernel holds them (the filters ignore hidden items).
        name: ``sure-death`` or ``cautious`` (see the module docstring).
        seats: (N, 4) bool, the seats that need a mask (the others, and dead seats, read all
            True); default every seat.

    Returns:
        The mask, True where the policy may pick the action; never a row without a True.
    """
    mask = mask_from_status(filter_status(batch, name, seats))
    if seats is not None:
        mask[~np.asarray(seats, np.bool_)] = True
    return mask
