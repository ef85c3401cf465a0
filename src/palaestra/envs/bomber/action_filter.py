"""The Bomber action filter: which of the six actions are legal and do not lead to certain death.

Learning agents in the Pommerman competitions masked the logits of actions that are useless or
fatal; :func:`action_mask` does the same for every seat of every board of a
:class:`~palaestra.envs.bomber.core.BomberBatch` in one compiled call.

An action is *illegal* (useless) when it cannot do what it says: a move off the board, into a
rigid wall, wood, fog, another agent or a bomb the agent cannot kick (without kick the agent
bounces; with kick the bomb must have a free cell behind it), and BOMB without ammo or on a cell
that already holds a bomb. STOP is never illegal.

An action is *deadly* when, after it, no sequence of later moves (STOP, UP, DOWN, LEFT, RIGHT, one
cell per step) keeps the agent out of every flame until all known bombs have exploded and their
flames have burnt out. The bombs are simulated over their remaining life as the rules kernel
makes them behave: they tick, explode at life zero or when a flame reaches them (chains within the
same step), their blasts reach ``blast_strength - 1`` cells, stop at rigid walls and at the first
wood (which burns and opens after its flames die), flames last three steps, and moving bombs
slide until a wall, a power-up, another bomb or an agent stops them (or explode on entering
flames). A bomb the agent lays with BOMB, and a bomb it kicks, are part of that simulation.

What the filter does not know, it assumes:

* Opponents' future actions are unknown; they are treated as standing still (STOP) and laying no
  bombs. Their cells block moves until a simulated flame kills them. So an action the filter
  calls safe can still die to a bomb an opponent lays or kicks later.
* Later moves never kick or lay bombs, and the agent itself does not stop moving bombs, so an
  escape that needs a second kick, or stepping into a sliding bomb's way to stop it early, is not
  seen (with kick, or with moving bombs about, a DEADLY verdict can be too cautious).
* Fog (partial observability) is a wall for walking and for moving bombs, and passes blasts.
* Hidden power-ups under wood are unknown; burnt wood reads as a passage.

``blast_cap`` plays no part: a bomb's strength is fixed when it is laid, and the filter plans no
bombs beyond the one laid by the action itself.

When every action is masked (all deadly or illegal), the mask is all True: there is nothing to
filter, and a policy must still be able to act. A dead agent's mask is all True too (its action
is ignored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.core import (
    ALIVE,
    AMMO,
    B_BLAST,
    B_COL,
    B_ROW,
    BLAST,
    COL,
    DIRECTION,
    KICK,
    LIFE,
    N_BOMBS,
    N_FLAMES,
    ROW,
    BomberBatch,
)

if TYPE_CHECKING:
    from palaestra.envs.bomber.env import BomberParallelEnv

SAFE = 0
"""Status of an action that is legal and leaves an escape."""
ILLEGAL = 1
"""Status of an action that cannot do what it says (see the module docstring)."""
DEADLY = 2
"""Status of a legal action after which every continuation meets a flame."""
RISKY = 3
"""Status of an action SAFE only while the opponents keep still (the ``cautious`` filter of
:mod:`palaestra.envs.bomber.filters`; this module never gives it)."""

_NEVER = 1 << 30
_DR = np.array([d[0] for d in C.DELTAS], dtype=np.int64)
_DC = np.array([d[1] for d in C.DELTAS], dtype=np.int64)


@numba.njit(cache=True)
def _inside(r: int, c: int) -> bool:
    return 0 <= r < C.BOARD_SIZE and 0 <= c < C.BOARD_SIZE


@numba.njit(cache=True)
def _wood_at(board, burned, r, c, t):
    """Wood stands on (r, c) during step t (it burns in the step ``burned[r, c]``)."""
    return board[r, c] == C.WOOD and burned[r, c] >= t


@numba.njit(cache=True)
def _blocks_bomb(board, burned, opp_at, r, c, t):
    """A bomb sliding into (r, c) in step t stops in front of it."""
    if not _inside(r, c):
        return True
    v = board[r, c]
    if v == C.RIGID or v == C.FOG or _wood_at(board, burned, r, c, t):
        return True
    if v == C.EXTRA_BOMB or v == C.INCR_RANGE or v == C.KICK:
        return True
    return opp_at[r, c] >= t


@numba.njit(cache=True)
def _simulate(board, bombs, nb, flames, nf, agents, seat, extra, kick_b, kick_d, horizon):
    """The known bombs and flames over ``horizon`` steps, opponents standing still.

    ``extra`` (row, col, strength) is a bomb the seat lays now (row < 0: none); bomb ``kick_b`` is
    kicked in direction ``kick_d`` now (-1: none). Returns ``danger`` (horizon+1, 11, 11): a flame
    stands on the cell at the end of step t; ``bomb_at`` (same shape): a bomb stands there at the
    end of step t (t = 0: now); ``burned`` (11, 11): the step in which wood burns; ``opp_at``
    (11, 11): the last step an opponent standing there is alive to block it (-1: no opponent).
    """
    n = C.BOARD_SIZE
    m = nb + 1
    br = np.empty(m, np.int64)
    bc = np.empty(m, np.int64)
    life = np.empty(m, np.int64)
    strength = np.empty(m, np.int64)
    dirn = np.empty(m, np.int64)
    for b in range(nb):
        br[b], bc[b], life[b] = bombs[b, B_ROW], bombs[b, B_COL], bombs[b, LIFE]
        strength[b], dirn[b] = bombs[b, B_BLAST], bombs[b, DIRECTION]
    k = nb
    if extra[0] >= 0:
        br[k], bc[k], life[k], strength[k], dirn[k] = extra[0], extra[1], C.DEFAULT_BOMB_LIFE + 1, extra[2], 0
        k += 1
    if kick_b >= 0:
        dirn[kick_b] = kick_d
    live = np.ones(k, np.bool_)
    danger = np.zeros((horizon + 1, n, n), np.bool_)
    bomb_at = np.zeros((horizon + 1, n, n), np.bool_)
    burned = np.full((n, n), _NEVER, np.int64)
    opp_at = np.full((n, n), -1, np.int64)
    for a in range(C.NUM_AGENTS):
        if a != seat and agents[a, ALIVE] != 0:
            opp_at[agents[a, ROW], agents[a, COL]] = _NEVER
    for f in range(nf):
        for t in range(1, min(flames[f, 2], horizon) + 1):
            danger[t, flames[f, 0], flames[f, 1]] = True
    for b in range(k):
        bomb_at[0, br[b], bc[b]] = True
    dest_r = np.empty(k, np.int64)
    dest_c = np.empty(k, np.int64)
    moved = np.zeros(k, np.bool_)
    exploded = np.zeros((n, n), np.bool_)
    for t in range(1, horizon + 1):
        # Moving bombs pick their next cell; blocked or colliding ones stop for good.
        for b in range(k):
            dest_r[b], dest_c[b] = br[b], bc[b]
            moved[b] = False
            if live[b] and dirn[b] != 0:
                nr, nc = br[b] + _DR[dirn[b]], bc[b] + _DC[dirn[b]]
                if _blocks_bomb(board, burned, opp_at, nr, nc, t):
                    dirn[b] = 0
                else:
                    dest_r[b], dest_c[b] = nr, nc
        change = True
        while change:
            change = False
            for b in range(k):
                if not live[b] or (dest_r[b] == br[b] and dest_c[b] == bc[b]):
                    continue
                for o in range(k):
                    if o == b or not live[o]:
                        continue
                    same = dest_r[o] == dest_r[b] and dest_c[o] == dest_c[b]
                    into = br[o] == dest_r[b] and bc[o] == dest_c[b]
                    swap = into and dest_r[o] == br[b] and dest_c[o] == bc[b]
                    still = dest_r[o] == br[o] and dest_c[o] == bc[o]
                    if same or swap or (into and still):
                        dest_r[b], dest_c[b], dirn[b] = br[b], bc[b], 0
                        change = True
                        break
        for b in range(k):
            if live[b] and (dest_r[b] != br[b] or dest_c[b] != bc[b]):
                br[b], bc[b] = dest_r[b], dest_c[b]
                moved[b] = True
        # Bombs tick; those at zero or slid into standing flames explode, in chains.
        exploded[:, :] = False
        boom = False
        for b in range(k):
            if live[b]:
                life[b] -= 1
                if life[b] <= 0 or (moved[b] and danger[t, br[b], bc[b]]):
                    life[b] = 0
                    boom = True
        while boom:
            boom = False
            for b in range(k):
                if not live[b] or life[b] != 0:
                    continue
                live[b] = False
                for d in range(1, 5):
                    for j in range(0 if d == C.DOWN else 1, strength[b]):
                        rr, cc = br[b] + _DR[d] * j, bc[b] + _DC[d] * j
                        if not _inside(rr, cc) or board[rr, cc] == C.RIGID:
                            break
                        exploded[rr, cc] = True
                        if _wood_at(board, burned, rr, cc, t):
                            break
            for b in range(k):
                if live[b] and exploded[br[b], bc[b]]:
                    life[b] = 0
                    boom = True
        for r in range(n):
            for c in range(n):
                if exploded[r, c]:
                    for s in range(t, min(t + C.FLAME_LIFE, horizon) + 1):
                        danger[s, r, c] = True
                    if _wood_at(board, burned, r, c, t):
                        burned[r, c] = t
                    if opp_at[r, c] == _NEVER:
                        opp_at[r, c] = t  # the opponent dies in this step's flames
        for b in range(k):
            if live[b]:
                bomb_at[t, br[b], bc[b]] = True
        for r in range(n):
            for c in range(n):
                if opp_at[r, c] == _NEVER and danger[t, r, c]:
                    opp_at[r, c] = t
    return danger, bomb_at, burned, opp_at


@numba.njit(cache=True)
def _walkable(board, burned, opp_at, bomb_at, r, c, t):
    """The seat can step onto (r, c) in step t (not: where it ends up alive)."""
    if not _inside(r, c):
        return False
    v = board[r, c]
    if v == C.RIGID or v == C.FOG or _wood_at(board, burned, r, c, t):
        return False
    return not bomb_at[t, r, c] and opp_at[r, c] < t


@numba.njit(cache=True)
def _escapes(r0, c0, board, danger, bomb_at, burned, opp_at, horizon):
    """Some sequence of moves from (r0, c0) at the end of step 1 avoids every flame to the horizon."""
    n = C.BOARD_SIZE
    if horizon < 1:
        return True
    if danger[1, r0, c0]:
        return False
    last = 0
    for t in range(1, horizon + 1):
        for r in range(n):
            for c in range(n):
                if danger[t, r, c]:
                    last = t
    cur = np.zeros((n, n), np.bool_)
    cur[r0, c0] = True
    nxt = np.zeros((n, n), np.bool_)
    for t in range(2, last + 1):
        nxt[:, :] = False
        found = False
        for r in range(n):
            for c in range(n):
                if not cur[r, c]:
                    continue
                for d in range(5):
                    rr, cc = r + _DR[d], c + _DC[d]
                    if d != 0 and not _walkable(board, burned, opp_at, bomb_at, rr, cc, t):
                        continue
                    if not danger[t, rr, cc]:
                        nxt[rr, cc] = True
                        found = True
        if not found:
            return False
        cur, nxt = nxt, cur
    return True


@numba.njit(cache=True)
def _seat_status(board, agents, bombs, nb, flames, nf, seat, out):
    """Fill ``out`` (6,) with SAFE / ILLEGAL / DEADLY for one living seat."""
    r0, c0 = agents[seat, ROW], agents[seat, COL]
    horizon = C.DEFAULT_BOMB_LIFE + 1
    for b in range(nb):
        horizon = max(horizon, bombs[b, LIFE])
    horizon += C.FLAME_LIFE
    for f in range(nf):
        horizon = max(horizon, flames[f, 2])
    none = np.array([-1, -1, 0], np.int64)
    danger, bomb_at, burned, opp_at = _simulate(board, bombs, nb, flames, nf, agents, seat, none, -1, 0, horizon)
    out[C.STOP] = SAFE if _escapes(r0, c0, board, danger, bomb_at, burned, opp_at, horizon) else DEADLY
    for act in range(1, 5):
        r, c = r0 + _DR[act], c0 + _DC[act]
        out[act] = ILLEGAL
        if not _inside(r, c) or opp_at[r, c] >= 1:
            continue
        bomb = -1
        for b in range(nb):
            if bombs[b, B_ROW] == r and bombs[b, B_COL] == c and bombs[b, DIRECTION] == 0:
                bomb = b
        if bomb < 0:
            if _walkable(board, burned, opp_at, bomb_at, r, c, 1):
                ok = _escapes(r, c, board, danger, bomb_at, burned, opp_at, horizon)
                out[act] = SAFE if ok else DEADLY
            continue
        if agents[seat, KICK] == 0:
            continue
        tr, tc = r + _DR[act], c + _DC[act]
        if _blocks_bomb(board, burned, opp_at, tr, tc, 1) or bomb_at[0, tr, tc] or bomb_at[1, tr, tc]:
            continue
        kd, kb, kbu, ko = _simulate(board, bombs, nb, flames, nf, agents, seat, none, bomb, act, horizon)
        out[act] = SAFE if _escapes(r, c, board, kd, kb, kbu, ko, horizon) else DEADLY
    out[C.LAY_BOMB] = ILLEGAL
    if agents[seat, AMMO] > 0 and not bomb_at[0, r0, c0]:
        extra = np.array([r0, c0, agents[seat, BLAST]], np.int64)
        bd, bb, bbu, bo = _simulate(board, bombs, nb, flames, nf, agents, seat, extra, -1, 0, horizon)
        out[C.LAY_BOMB] = SAFE if _escapes(r0, c0, board, bd, bb, bbu, bo, horizon) else DEADLY


@numba.njit(cache=True)
def action_status_arrays(board, agents, bombs, flames, meta):
    """(N, 4, 6) int8 status of every action of every seat: SAFE, ILLEGAL or DEADLY.

    Takes the arrays of a :class:`~palaestra.envs.bomber.core.BomberBatch` (``batch.arrays()``
    without ``items``, which the filter must not know). Dead seats read ILLEGAL throughout.
    """
    nboards = board.shape[0]
    out = np.full((nboards, C.NUM_AGENTS, C.NUM_ACTIONS), ILLEGAL, np.int8)
    row = np.empty(C.NUM_ACTIONS, np.int8)
    for i in range(nboards):
        for a in range(C.NUM_AGENTS):
            if agents[i, a, ALIVE] == 0:
                continue
            _seat_status(board[i], agents[i], bombs[i], meta[i, N_BOMBS], flames[i], meta[i, N_FLAMES], a, row)
            out[i, a] = row
    return out


@numba.njit(cache=True)
def mask_from_status(status):
    """The boolean mask of an (..., 6) status array: the SAFE actions, else the RISKY ones, else
    every action (a row with neither, such as a dead seat's, is all True)."""
    flat = status.reshape(-1, C.NUM_ACTIONS)
    out = np.zeros(flat.shape, np.bool_)
    for i in range(flat.shape[0]):
        found = False
        for tier in (SAFE, RISKY):
            if found:
                break
            for j in range(C.NUM_ACTIONS):
                if flat[i, j] == tier:
                    out[i, j] = True
                    found = True
        if not found:
            out[i, :] = True
    return out.reshape(status.shape)


def action_status(batch: BomberBatch) -> np.ndarray:
    """(N, 4, 6) int8: SAFE, ILLEGAL or DEADLY for every action, seat and board of ``batch``."""
    return action_status_arrays(batch.board, batch.agents, batch.bombs, batch.flames, batch.meta)


def action_mask(batch: BomberBatch) -> np.ndarray:
    """(N, 4, 6) bool: the actions of every seat of every board that are legal and not deadly.

    A row with no such action (and a dead seat's row) is all True: see the module docstring.

    Args:
        batch: the boards, as the rules kernel holds them.

    Returns:
        The mask, True where the policy may pick the action.
    """
    return mask_from_status(action_status(batch))


def env_action_mask(env: BomberParallelEnv) -> np.ndarray:
    """(4, 6) bool: :func:`action_mask` of the env's board, one row per seat (player_0..3)."""
    return action_mask(env.batch)[0]
