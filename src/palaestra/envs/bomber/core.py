"""The Bomber rules: Pommerman's forward model, compiled with numba, over a batch of boards.

State of board ``i`` in a :class:`BomberBatch` (all int64 unless noted):

* ``board[i]`` (11, 11) int8: Pommerman item codes (walls, bombs, flames, power-ups, agents).
* ``items[i]`` (11, 11) int8: the power-up hidden under each wood cell, 0 where none.
* ``agents[i]`` (4, 6): ``alive, row, col, ammo, blast_strength, can_kick`` per agent.
* ``bombs[i]`` (MAX_BOMBS, 6): ``owner, row, col, life, blast_strength, moving_direction`` (0 =
  still, else the direction action 1..4); the first ``meta[i, N_BOMBS]`` rows are live, in
  Pommerman's list order.
* ``flames[i]`` (MAX_FLAMES, 3): ``row, col, life`` in Pommerman's list order (one cell may hold
  several flames).
* ``meta[i]`` (3,): ``step_count, n_bombs, n_flames``.

:func:`step_batch` applies one joint action per board with exactly the order of operations of
Pommerman's ``ForwardModel.step``: flames burn out (revealing items), agents pick their moves and lay
bombs, moving bombs pick theirs, crossings and collisions are reverted, kicks are resolved, moves
are applied and power-ups picked up, bombs tick and explode in chains, flames are laid and agents in
flames die. The quirks of the original (occupancy counts that are never decremented, flames that
pass through power-ups and destroy them, the blast reaching ``blast_strength - 1`` cells) are kept
on purpose: the differential tests replay recorded Pommerman games and require every state to match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.errors import ConfigError, InvalidActionError

MAX_BOMBS = C.BOARD_SIZE * C.BOARD_SIZE
MAX_FLAMES = 4 * C.BOARD_SIZE * C.BOARD_SIZE
# agents columns
ALIVE, ROW, COL, AMMO, BLAST, KICK = range(6)
# bombs columns
OWNER, B_ROW, B_COL, LIFE, B_BLAST, DIRECTION = range(6)
# meta columns
STEP, N_BOMBS, N_FLAMES = range(3)

_DR = np.array([d[0] for d in C.DELTAS], dtype=np.int64)
_DC = np.array([d[1] for d in C.DELTAS], dtype=np.int64)


@dataclass
class BomberBatch:
    """N boards stepped together (N = 1 for a single env). See the module docstring."""

    board: np.ndarray
    items: np.ndarray
    agents: np.ndarray
    bombs: np.ndarray
    flames: np.ndarray
    meta: np.ndarray

    @classmethod
    def empty(cls, n: int) -> BomberBatch:
        size = C.BOARD_SIZE
        return cls(
            board=np.zeros((n, size, size), dtype=np.int8),
            items=np.zeros((n, size, size), dtype=np.int8),
            agents=np.zeros((n, C.NUM_AGENTS, 6), dtype=np.int64),
            bombs=np.zeros((n, MAX_BOMBS, 6), dtype=np.int64),
            flames=np.zeros((n, MAX_FLAMES, 3), dtype=np.int64),
            meta=np.zeros((n, 3), dtype=np.int64),
        )

    @property
    def size(self) -> int:
        return int(self.board.shape[0])

    def copy(self) -> BomberBatch:
        return BomberBatch(*(a.copy() for a in self.arrays()))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (self.board, self.items, self.agents, self.bombs, self.flames, self.meta)

    def set_start(self, i: int, board: np.ndarray, items: np.ndarray) -> None:
        """Board ``i`` becomes a fresh game on ``board`` (agents at their codes) and ``items``."""
        if not _set_start(self.board[i], self.items[i], self.agents[i], self.meta[i], board, items):
            raise ConfigError("a start board must hold each agent (codes 10..13) exactly once")

    def step(self, actions: np.ndarray, max_blast_strength: int = C.MAX_BLAST_STRENGTH) -> None:
        """Apply ``actions`` (N, 4) of action codes 0..5 to every board, in place.

        Raises:
            InvalidActionError: for a wrong shape or an action outside 0..5 (no board is changed then).
        """
        acts = actions if isinstance(actions, np.ndarray) and actions.dtype == np.int64 else (
            np.asarray(actions).astype(np.int64)
        )
        if acts.shape != (self.board.shape[0], C.NUM_AGENTS):
            raise InvalidActionError(f"expected actions of shape {(self.size, C.NUM_AGENTS)}, got {acts.shape}")
        if not step_batch(acts, *self.arrays(), int(max_blast_strength)):  # type: ignore[call-arg]
            raise InvalidActionError(f"actions must lie in 0..{C.NUM_ACTIONS - 1}, got {acts.tolist()}")


@numba.njit(cache=True)
def _set_start(board, items, agents, meta, board_in, items_in):
    found = np.zeros(C.NUM_AGENTS, np.int64)
    for r in range(C.BOARD_SIZE):
        for c in range(C.BOARD_SIZE):
            v = board_in[r, c]
            if C.AGENT0 <= v < C.AGENT0 + C.NUM_AGENTS:
                found[v - C.AGENT0] += 1
    for a in range(C.NUM_AGENTS):
        if found[a] != 1:
            return False  # nothing written
    for r in range(C.BOARD_SIZE):
        for c in range(C.BOARD_SIZE):
            v = board_in[r, c]
            board[r, c] = v
            items[r, c] = items_in[r, c]
            if C.AGENT0 <= v < C.AGENT0 + C.NUM_AGENTS:
                a = v - C.AGENT0
                agents[a, ALIVE] = 1
                agents[a, ROW] = r
                agents[a, COL] = c
                agents[a, AMMO] = 1
                agents[a, BLAST] = C.DEFAULT_BLAST_STRENGTH
                agents[a, KICK] = 0
    meta[:] = 0  # step 0, no bombs, no flames
    return True


@numba.njit(cache=True)
def _on_board(r: int, c: int) -> bool:
    return 0 <= r < C.BOARD_SIZE and 0 <= c < C.BOARD_SIZE


@numba.njit(cache=True)
def _is_wall(v: int) -> bool:
    return v == C.RIGID or v == C.WOOD


@numba.njit(cache=True)
def _is_powerup(v: int) -> bool:
    return v == C.EXTRA_BOMB or v == C.INCR_RANGE or v == C.KICK


@numba.njit(cache=True)
def _border(r0: int, c0: int, r1: int, c1: int) -> int:
    """Id of the edge between two neighbouring cells (Pommerman's ``crossing``)."""
    n = C.BOARD_SIZE
    if r0 != r1:
        return (min(r0, r1) * n + c0) * 2
    return (r0 * n + min(c0, c1)) * 2 + 1


@numba.njit(cache=True)
def step_batch(actions, board, items, agents, bombs, flames, meta, max_blast):
    """Step every board once (see :class:`BomberBatch`); arrays are updated in place.

    Returns False, changing nothing, when an action is outside 0..5.
    """
    for i in range(actions.shape[0]):
        for a in range(actions.shape[1]):
            if actions[i, a] < 0 or actions[i, a] >= C.NUM_ACTIONS:
                return False
    for i in range(board.shape[0]):
        step_one(actions[i], board[i], items[i], agents[i], bombs[i], flames[i], meta[i], max_blast)
    return True


@numba.njit(cache=True)
def step_one(actions, board, items, agents, bombs, flames, meta, max_blast):
    """Step one board (the rows of a :class:`BomberBatch` at one index) in place.

    One function on purpose, its phases numbered in comments: split into eleven njit phase
    functions (``inline="always"``), the kernel measured about 10% slower, both on one board
    stepped from Python and over 256 boards (array reference counting across the calls), so the
    split was not kept.
    """
    n = C.BOARD_SIZE
    # 1. Flames: dead ones give way to the hidden item or a passage; the rest tick and are redrawn.
    nf = meta[N_FLAMES]
    k = 0
    for f in range(nf):
        r, c, life = flames[f, 0], flames[f, 1], flames[f, 2]
        if life == 0:
            if items[r, c] != 0:
                board[r, c] = items[r, c]
                items[r, c] = 0
            else:
                board[r, c] = C.PASSAGE
        else:
            flames[k, 0] = r
            flames[k, 1] = c
            flames[k, 2] = life - 1
            k += 1
    nf = k
    for f in range(nf):
        board[flames[f, 0], flames[f, 1]] = C.FLAMES

    # 2. Agents: lay bombs, pick the cell they want.
    na = C.NUM_AGENTS
    des_r = np.empty(na, np.int64)
    des_c = np.empty(na, np.int64)
    for a in range(na):
        des_r[a] = agents[a, ROW]
        des_c[a] = agents[a, COL]
    nb = meta[N_BOMBS]
    for a in range(na):
        if agents[a, ALIVE] == 0:
            continue
        r, c = agents[a, ROW], agents[a, COL]
        board[r, c] = C.PASSAGE
        act = actions[a]
        if act == C.LAY_BOMB:
            occupied = False
            for b in range(nb):
                if bombs[b, B_ROW] == r and bombs[b, B_COL] == c:
                    occupied = True
            if not occupied and agents[a, AMMO] > 0:
                agents[a, AMMO] -= 1
                bombs[nb, OWNER] = a
                bombs[nb, B_ROW] = r
                bombs[nb, B_COL] = c
                bombs[nb, LIFE] = C.DEFAULT_BOMB_LIFE + 1
                bombs[nb, B_BLAST] = agents[a, BLAST]
                bombs[nb, DIRECTION] = 0
                nb += 1
        elif act != C.STOP:
            nr, nc = r + _DR[act], c + _DC[act]
            if _on_board(nr, nc) and not _is_wall(board[nr, nc]):
                des_r[a] = nr
                des_c[a] = nc

    # 3. Moving bombs pick their next cell.
    bdes_r = np.empty(nb, np.int64)
    bdes_c = np.empty(nb, np.int64)
    for b in range(nb):
        r, c = bombs[b, B_ROW], bombs[b, B_COL]
        bdes_r[b] = r
        bdes_c[b] = c
        board[r, c] = C.PASSAGE
        d = bombs[b, DIRECTION]
        if d != 0:
            nr, nc = r + _DR[d], c + _DC[d]
            if _on_board(nr, nc) and not _is_powerup(board[nr, nc]) and not _is_wall(board[nr, nc]):
                bdes_r[b] = nr
                bdes_c[b] = nc

    # 4. Swaps through the same edge are reverted (agent-agent both, bomb-bomb both, agent-bomb
    # only the bomb).
    cross_id = np.full(2 * n * n, -1, np.int64)
    cross_agent = np.zeros(2 * n * n, np.bool_)
    for a in range(na):
        if agents[a, ALIVE] == 0:
            continue
        r, c = agents[a, ROW], agents[a, COL]
        if des_r[a] != r or des_c[a] != c:
            e = _border(r, c, des_r[a], des_c[a])
            if cross_id[e] >= 0:
                des_r[a], des_c[a] = r, c
                o = cross_id[e]
                des_r[o], des_c[o] = agents[o, ROW], agents[o, COL]
            else:
                cross_id[e] = a
                cross_agent[e] = True
    for b in range(nb):
        r, c = bombs[b, B_ROW], bombs[b, B_COL]
        if bdes_r[b] != r or bdes_c[b] != c:
            e = _border(r, c, bdes_r[b], bdes_c[b])
            if cross_id[e] >= 0:
                bdes_r[b], bdes_c[b] = r, c
                if not cross_agent[e]:
                    o = cross_id[e]
                    bdes_r[o], bdes_c[o] = bombs[o, B_ROW], bombs[o, B_COL]
            else:
                cross_id[e] = b
                cross_agent[e] = False

    # 5. Two or more movers on one cell all stay (counts only grow, as in the original).
    a_occ = np.zeros((n, n), np.int64)
    b_occ = np.zeros((n, n), np.int64)
    for a in range(na):
        if agents[a, ALIVE] != 0:
            a_occ[des_r[a], des_c[a]] += 1
    for b in range(nb):
        b_occ[bdes_r[b], bdes_c[b]] += 1
    change = True
    while change:
        change = False
        for a in range(na):
            if agents[a, ALIVE] == 0:
                continue
            r, c = agents[a, ROW], agents[a, COL]
            dr, dc = des_r[a], des_c[a]
            if (dr != r or dc != c) and (a_occ[dr, dc] > 1 or b_occ[dr, dc] > 1):
                des_r[a], des_c[a] = r, c
                a_occ[r, c] += 1
                change = True
        for b in range(nb):
            r, c = bombs[b, B_ROW], bombs[b, B_COL]
            dr, dc = bdes_r[b], bdes_c[b]
            if (dr != r or dc != c) and (b_occ[dr, dc] > 1 or a_occ[dr, dc] > 1):
                bdes_r[b], bdes_c[b] = r, c
                b_occ[r, c] += 1
                change = True

    # 6. Kicks: an agent with kick walking into a bomb sends it one cell on, if that cell is free.
    kicked_by = np.full(nb, -1, np.int64)  # bomb -> agent
    kicked = np.full(na, -1, np.int64)  # agent -> bomb
    delayed_b = np.empty((nb, 3), np.int64)
    n_delayed_b = 0
    delayed_a = np.empty((nb, 3), np.int64)
    n_delayed_a = 0
    for b in range(nb):
        dr, dc = bdes_r[b], bdes_c[b]
        if a_occ[dr, dc] == 0:
            continue
        who = -1
        for a in range(na):
            if agents[a, ALIVE] != 0 and des_r[a] == dr and des_c[a] == dc:
                who = a
                break
        if who < 0:
            continue
        ar, ac = agents[who, ROW], agents[who, COL]
        br, bc = bombs[b, B_ROW], bombs[b, B_COL]
        if dr == ar and dc == ac:
            if dr != br or dc != bc:
                delayed_b[n_delayed_b] = (b, br, bc)
                n_delayed_b += 1
            continue
        if agents[who, KICK] == 0:
            delayed_b[n_delayed_b] = (b, br, bc)
            n_delayed_b += 1
            delayed_a[n_delayed_a] = (who, ar, ac)
            n_delayed_a += 1
            continue
        d = actions[who]
        tr, tc = dr + _DR[d], dc + _DC[d]
        if (
            _on_board(tr, tc) and a_occ[tr, tc] == 0 and b_occ[tr, tc] == 0
            and not _is_powerup(board[tr, tc]) and not _is_wall(board[tr, tc])
        ):
            b_occ[dr, dc] = 0
            delayed_b[n_delayed_b] = (b, tr, tc)
            n_delayed_b += 1
            kicked_by[b] = who
            kicked[who] = b
            bombs[b, DIRECTION] = d
        else:
            delayed_b[n_delayed_b] = (b, br, bc)
            n_delayed_b += 1
            delayed_a[n_delayed_a] = (who, ar, ac)
            n_delayed_a += 1
    for j in range(n_delayed_b):
        b, r, c = delayed_b[j, 0], delayed_b[j, 1], delayed_b[j, 2]
        bdes_r[b], bdes_c[b] = r, c
        b_occ[r, c] += 1
        change = True
    for j in range(n_delayed_a):
        a, r, c = delayed_a[j, 0], delayed_a[j, 1], delayed_a[j, 2]
        des_r[a], des_c[a] = r, c
        a_occ[r, c] += 1
        change = True

    # 7. Late collisions caused by failed kicks; an undone kick sends its agent back too.
    while change:
        change = False
        for a in range(na):
            if agents[a, ALIVE] == 0:
                continue
            r, c = agents[a, ROW], agents[a, COL]
            dr, dc = des_r[a], des_c[a]
            if (dr != r or dc != c) and (a_occ[dr, dc] > 1 or b_occ[dr, dc] != 0):
                if kicked[a] >= 0:
                    b = kicked[a]
                    bdes_r[b], bdes_c[b] = bombs[b, B_ROW], bombs[b, B_COL]
                    b_occ[bombs[b, B_ROW], bombs[b, B_COL]] += 1
                    kicked_by[b] = -1
                    kicked[a] = -1
                des_r[a], des_c[a] = r, c
                a_occ[r, c] += 1
                change = True
        for b in range(nb):
            r, c = bombs[b, B_ROW], bombs[b, B_COL]
            dr, dc = bdes_r[b], bdes_c[b]
            if dr == r and dc == c and kicked_by[b] < 0:
                continue
            if b_occ[dr, dc] > 1 or a_occ[dr, dc] != 0:
                bdes_r[b], bdes_c[b] = r, c
                b_occ[r, c] += 1
                a = kicked_by[b]
                if a >= 0:
                    des_r[a], des_c[a] = agents[a, ROW], agents[a, COL]
                    a_occ[agents[a, ROW], agents[a, COL]] += 1
                    kicked[a] = -1
                    kicked_by[b] = -1
                change = True

    # 8. Apply the moves; agents pick up the power-up they step on.
    for b in range(nb):
        if bdes_r[b] == bombs[b, B_ROW] and bdes_c[b] == bombs[b, B_COL] and kicked_by[b] < 0:
            bombs[b, DIRECTION] = 0
        else:
            bombs[b, B_ROW] = bdes_r[b]
            bombs[b, B_COL] = bdes_c[b]
    for a in range(na):
        if agents[a, ALIVE] == 0:
            continue
        if des_r[a] != agents[a, ROW] or des_c[a] != agents[a, COL]:
            act = actions[a]
            r, c = agents[a, ROW] + _DR[act], agents[a, COL] + _DC[act]
            agents[a, ROW] = r
            agents[a, COL] = c
            v = board[r, c]
            if v == C.EXTRA_BOMB:
                agents[a, AMMO] = min(agents[a, AMMO] + 1, C.MAX_AMMO)
            elif v == C.INCR_RANGE:
                agents[a, BLAST] = min(agents[a, BLAST] + 1, max_blast)
            elif v == C.KICK:
                agents[a, KICK] = 1

    # 9. Bombs tick; bombs at zero or in flames explode, in chains.
    exploded = np.zeros((n, n), np.bool_)
    new_explosions = False
    for b in range(nb):
        bombs[b, LIFE] -= 1
        if bombs[b, LIFE] == 0:
            new_explosions = True
        elif board[bombs[b, B_ROW], bombs[b, B_COL]] == C.FLAMES:
            bombs[b, LIFE] = 0
            new_explosions = True
    while new_explosions:
        new_explosions = False
        k = 0
        for b in range(nb):
            if bombs[b, LIFE] != 0:
                bombs[k] = bombs[b]
                k += 1
                continue
            owner = bombs[b, OWNER]
            agents[owner, AMMO] = min(agents[owner, AMMO] + 1, C.MAX_AMMO)
            r, c, strength = bombs[b, B_ROW], bombs[b, B_COL], bombs[b, B_BLAST]
            for d in range(1, 5):
                start = 0 if d == C.DOWN else 1
                for j in range(start, strength):
                    rr, cc = r + _DR[d] * j, c + _DC[d] * j
                    if not _on_board(rr, cc) or board[rr, cc] == C.RIGID:
                        break
                    exploded[rr, cc] = True
                    if board[rr, cc] == C.WOOD:
                        break
        nb = k
        for b in range(nb):
            if exploded[bombs[b, B_ROW], bombs[b, B_COL]]:
                bombs[b, LIFE] = 0
                new_explosions = True

    # 10. Redraw bombs, lay the new flames, kill agents standing in flames.
    for b in range(nb):
        board[bombs[b, B_ROW], bombs[b, B_COL]] = C.BOMB
    for r in range(n):
        for c in range(n):
            if exploded[r, c]:
                flames[nf, 0] = r
                flames[nf, 1] = c
                flames[nf, 2] = C.FLAME_LIFE
                nf += 1
    for f in range(nf):
        board[flames[f, 0], flames[f, 1]] = C.FLAMES
    for a in range(na):
        if agents[a, ALIVE] == 0:
            continue
        r, c = agents[a, ROW], agents[a, COL]
        if board[r, c] == C.FLAMES:
            agents[a, ALIVE] = 0
        else:
            board[r, c] = C.AGENT0 + a
    meta[N_BOMBS] = nb
    meta[N_FLAMES] = nf
    meta[STEP] += 1
