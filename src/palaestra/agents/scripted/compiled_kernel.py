"""The compiled scripted Bomber bots' decisions (numba), on the arrays of a ``BomberBatch``.

One call decides for every asked seat of every board. Each seat sees what its dict observation
would show (the board fogged outside its view square when partially observable, the bombs it can
see), and the ``simple`` bot follows the decision rules of
:class:`palaestra.agents.scripted.bomber.SimpleBomberAgent` with the board reasoning of
:mod:`palaestra.agents.scripted.simple`, step for step, including the order of its random draws.

Draws come from the ``np.random.Generator`` passed in, one ``random()`` per draw, seats in
board-major order: a coin is ``u < 0.5`` and a choice among ``n`` options is
``min(int(u * n), n - 1)`` (:class:`palaestra.agents.scripted.simple.UniformDraws` draws the same
way). The number of draws each seat used is written to ``used``.

Cells are encoded as ``row * BOARD_SIZE + col``; an empty slot or "no cell" is -1.
"""

from __future__ import annotations

import numba
import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.core import ALIVE, AMMO, B_BLAST, B_COL, B_ROW, BLAST, COL, N_BOMBS, ROW

STATIC, RANDOM, SIMPLE = 0, 1, 2
"""Bot kinds understood by :func:`act_batch`."""
SEARCH_DEPTH = 10
RECENT_MEMORY = 6
ENEMY_RADIUS = 3
POWERUP_RADIUS = 2
WOOD_RADIUS = 2

_N = C.BOARD_SIZE
_INF = 1 << 30
_NOT_SEARCHED = -1
# Neighbour order of the search (up, down, left, right) and the deltas per action code.
_NEIGHBOURS = np.array([C.UP, C.DOWN, C.LEFT, C.RIGHT], np.int64)
_THREAT_ORDER_ON_BOMB = np.array([C.RIGHT, C.LEFT, C.UP, C.DOWN], np.int64)
_RANDOM_WALK_ORDER = np.array([C.STOP, C.LEFT, C.RIGHT, C.UP, C.DOWN], np.int64)
_DR = np.array([d[0] for d in C.DELTAS], np.int64)
_DC = np.array([d[1] for d in C.DELTAS], np.int64)


@numba.njit(cache=True, inline="always")
def _on_board(r: int, c: int) -> bool:
    return 0 <= r < _N and 0 <= c < _N


@numba.njit(cache=True, inline="always")
def _passable(code: int, enemy: np.ndarray) -> bool:
    """Passage, power-up or a non-enemy agent (the port's ``is_passable``)."""
    if code == C.PASSAGE or code == C.EXTRA_BOMB or code == C.INCR_RANGE or code == C.KICK:
        return True
    return C.AGENT0 <= code < C.AGENT0 + C.NUM_AGENTS and not enemy[code - C.AGENT0]


@numba.njit(cache=True)
def _view(board, bombs, n_bombs, ar, ac, view, vb, strength):
    """Fill ``vb`` with the seat's board and ``strength`` with the blast strengths it sees."""
    for r in range(_N):
        for c in range(_N):
            visible = view < 0 or (abs(ar - r) <= view and abs(ac - c) <= view)
            vb[r, c] = board[r, c] if visible else C.FOG
            strength[r, c] = 0
    for b in range(n_bombs):
        r, c = bombs[b, B_ROW], bombs[b, B_COL]
        if view < 0 or (abs(ar - r) <= view and abs(ac - c) <= view):
            strength[r, c] = bombs[b, B_BLAST]


@numba.njit(cache=True)
def _search(vb, ar, ac, enemy, dist, prev, qr, qc, cr, cc, rng):
    """The port's ``search``: fills ``dist`` and ``prev`` (a cell code, -1 for none) and lists the
    searched cells row-major in ``cr``, ``cc``; returns (draws used, number of searched cells)."""
    used = 0
    n_cells = 0
    for r in range(_N):
        for c in range(_N):
            dist[r, c] = _NOT_SEARCHED
            prev[r, c] = -1
    for r in range(max(0, ar - SEARCH_DEPTH), min(_N, ar + SEARCH_DEPTH)):
        for c in range(max(0, ac - SEARCH_DEPTH), min(_N, ac + SEARCH_DEPTH)):
            v = vb[r, c]
            if abs(r - ar) + abs(c - ac) > SEARCH_DEPTH or v == C.FOG or v == C.RIGID or v == C.FLAMES:
                continue
            dist[r, c] = 0 if (r == ar and c == ac) else _INF
            cr[n_cells], cc[n_cells] = r, c
            n_cells += 1
    tail = 0
    if dist[ar, ac] != _NOT_SEARCHED:
        qr[0], qc[0] = ar, ac
        tail = 1
    head = 0
    while head < tail:
        r, c = qr[head], qc[head]
        head += 1
        if not _passable(vb[r, c], enemy):
            continue
        nd = dist[r, c] + 1
        cell = r * _N + c
        for k in range(4):
            d = _NEIGHBOURS[k]
            nr, nc = r + _DR[d], c + _DC[d]
            if not _on_board(nr, nc) or dist[nr, nc] == _NOT_SEARCHED:
                continue
            if nd < dist[nr, nc]:
                dist[nr, nc] = nd
                prev[nr, nc] = cell
                qr[tail], qc[tail] = nr, nc
                tail += 1
            elif nd == dist[nr, nc]:
                used += 1
                if rng.random() < 0.5:
                    prev[nr, nc] = cell
    return used, n_cells


@numba.njit(cache=True)
def _dead_end(vb, sr, sc, br, bc, strength, enemy, seen, stack):
    """The port's ``_is_dead_end`` from (sr, sc) with our bomb left at (br, bc).

    True when every walkable cell reachable from the start without leaving its blast cross (its
    row and column within ``strength``) stays in it. The original's priority order cannot change
    this answer, so a plain flood gives it.
    """
    seen[:, :] = False
    seen[sr, sc] = True
    stack[0] = sr * _N + sc
    top = 1
    while top > 0:
        top -= 1
        cell = stack[top]
        r, c = cell // _N, cell % _N
        if (r != sr and c != sc) or abs(r - sr) + abs(c - sc) > strength:
            return False
        for k in range(4):
            d = _NEIGHBOURS[k]
            nr, nc = r + _DR[d], c + _DC[d]
            if not _on_board(nr, nc) or seen[nr, nc] or (nr == br and nc == bc):
                continue
            if not _passable(vb[nr, nc], enemy):
                continue
            seen[nr, nc] = True
            stack[top] = nr * _N + nc
            top += 1
    return True


@numba.njit(cache=True)
def _scan(vb, dist, cr, cc, n_cells, ar, ac, blast, enemy, out):
    """What the rules ask of the search, in one pass over the searched cells.

    ``out`` receives the targets (cell codes, -1 for none) of the port's ``nearest``: an enemy
    within ENEMY_RADIUS, a power-up within POWERUP_RADIUS, wood within 1 and within WOOD_RADIUS;
    then whether an enemy is one move away and whether a reachable passage lies out of our own
    blast (``can_bomb_safely`` but for the ammo). ``nearest`` keeps the last of the closest cells in
    code order, then row-major; codes within a group ascend, so (distance, code) order gives it.
    """
    best_d = np.full(4, _INF + 1, np.int64)
    best_code = np.zeros(4, np.int64)
    out[:] = -1
    out[4] = 0
    out[5] = 0
    for k in range(n_cells):
        r, c = cr[k], cc[k]
        d = dist[r, c]
        if d >= _INF:
            continue
        v = vb[r, c]
        group, radius = -1, 0
        if C.AGENT0 <= v < C.AGENT0 + C.NUM_AGENTS and enemy[v - C.AGENT0]:
            group, radius = 0, ENEMY_RADIUS
            if d == 1:
                out[4] = 1
        elif v == C.EXTRA_BOMB or v == C.INCR_RANGE or v == C.KICK:
            group, radius = 1, POWERUP_RADIUS
        elif v == C.WOOD:
            if d <= 1:
                out[2] = r * _N + c
            group, radius = 3, WOOD_RADIUS
        elif v == C.PASSAGE and (d > blast or (r != ar and c != ac)):
            out[5] = 1
        if group >= 0 and d <= radius and (d < best_d[group] or (d == best_d[group] and v >= best_code[group])):
            best_d[group], best_code[group] = d, v
            out[group] = r * _N + c


@numba.njit(cache=True)
def _first_step(ar, ac, target, prev):
    """The first move of the searched path from (ar, ac) to ``target`` (-1 for no target)."""
    if target < 0:
        return -1
    start = ar * _N + ac
    cell = target
    while prev[cell // _N, cell % _N] != start:
        cell = prev[cell // _N, cell % _N]
    r, c = cell // _N, cell % _N
    if r == ar:
        return C.RIGHT if ac < c else C.LEFT
    return C.DOWN if ar < r else C.UP


@numba.njit(cache=True)
def _in_blast_line(r, c, n_lit, lit_r, lit_c, lit_s):
    """Whether (r, c) is in line with a bomb within its blast strength (walls ignored)."""
    for b in range(n_lit):
        s = lit_s[b]
        if (r == lit_r[b] and abs(lit_c[b] - c) <= s) or (c == lit_c[b] and abs(lit_r[b] - r) <= s):
            return True
    return False


@numba.njit(cache=True, inline="always")
def _note(direction, strength, threat_strength, threat_order, n_threats):
    """Record a threat from ``direction`` (first-seen order, largest strength); the new count."""
    if threat_strength[direction] == 0:
        threat_order[n_threats] = direction
        n_threats += 1
    threat_strength[direction] = max(threat_strength[direction], strength)
    return n_threats


@numba.njit(cache=True)
def _pick(options, n, rng):
    """One of the first ``n`` options, from one uniform."""
    return options[min(int(rng.random() * n), n - 1)]


@numba.njit(cache=True)
def _simple(vb, strength, ar, ac, ammo, blast, enemy, recent, recent_len, prev_dir, rng, s):
    """One decision of the simple bot; returns (move, draws used). Updates the seat's memory.

    ``recent`` (RECENT_MEMORY,) and ``prev_dir`` (1,) are the seat's memory, ``recent_len`` (1,)
    how many cells ``recent`` holds; ``s`` is the scratch tuple from :func:`act_batch`.
    """
    dist, prev, qr, qc, cr, cc, seen, lit_r, lit_c, lit_s, options, threat_strength, threat_order, found = s
    used, n_cells = _search(vb, ar, ac, enemy, dist, prev, qr, qc, cr, cc, rng)
    n_lit = 0
    for r in range(_N):
        for c in range(_N):
            if strength[r, c] > 0:
                lit_r[n_lit], lit_c[n_lit], lit_s[n_lit] = r, c, strength[r, c]
                n_lit += 1

    # 1. threats: directions toward searched bombs within their strength, in first-seen order
    threat_strength[:] = 0
    n_threats = 0
    for b in range(n_lit):
        d = dist[lit_r[b], lit_c[b]]
        if d == _NOT_SEARCHED or d > lit_s[b]:
            continue
        if lit_r[b] == ar and lit_c[b] == ac:
            for k in range(4):
                n_threats = _note(_THREAT_ORDER_ON_BOMB[k], lit_s[b], threat_strength, threat_order, n_threats)
        elif lit_r[b] == ar:
            direction = C.RIGHT if ac < lit_c[b] else C.LEFT
            n_threats = _note(direction, lit_s[b], threat_strength, threat_order, n_threats)
        elif lit_c[b] == ac:
            direction = C.DOWN if ar < lit_r[b] else C.UP
            n_threats = _note(direction, lit_s[b], threat_strength, threat_order, n_threats)
    if n_threats > 0:
        n = 0
        if n_threats == 4:
            for k in range(4):
                direction = threat_order[k]
                tr, tc = ar + _DR[direction], ac + _DC[direction]
                if not _on_board(tr, tc) or not _passable(vb[tr, tc], enemy):
                    continue
                if not _dead_end(vb, tr, tc, ar, ac, threat_strength[direction], enemy, seen, qr):
                    options[0] = direction
                    n = 1
                    break
        else:
            for k in range(4):
                direction = _NEIGHBOURS[k]
                tr, tc = ar + _DR[direction], ac + _DC[direction]
                if _on_board(tr, tc) and threat_strength[direction] == 0 and (
                    _passable(vb[tr, tc], enemy) or vb[tr, tc] == C.FOG
                ):
                    options[n] = direction
                    n += 1
            if n == 0:
                for k in range(n_threats):
                    direction = threat_order[k]
                    if _on_board(ar + _DR[direction], ac + _DC[direction]):
                        options[n] = direction
                        n += 1
        if n == 0:
            options[0] = C.STOP
            n = 1
        return _pick(options, n, rng), used + 1

    # 2. an enemy one move away and a way out of our own blast: bomb
    _scan(vb, dist, cr, cc, n_cells, ar, ac, blast, enemy, found)
    can_bomb = ammo >= 1 and found[5] == 1
    if found[4] == 1 and can_bomb:
        return C.LAY_BOMB, used

    # 3. toward an enemy within reach, repeating the last such direction only half the time
    direction = _first_step(ar, ac, found[0], prev)
    if direction >= 0:
        repeat = direction == prev_dir[0]
        if repeat:
            used += 1
        if not repeat or rng.random() < 0.5:
            prev_dir[0] = direction
            return direction, used

    # 4. toward a power-up
    direction = _first_step(ar, ac, found[1], prev)
    if direction >= 0:
        return direction, used

    # 5. next to wood: bomb it if we can get away, else wait
    if found[2] >= 0:
        return (C.LAY_BOMB if can_bomb else C.STOP), used

    # 6. toward wood, unless that cell is in a bomb's line
    direction = _first_step(ar, ac, found[3], prev)
    if direction >= 0 and not _in_blast_line(ar + _DR[direction], ac + _DC[direction], n_lit, lit_r, lit_c, lit_s):
        return direction, used

    # 7. a random walkable move out of blast lines, avoiding recently visited cells
    n = 0
    for k in range(5):
        direction = _RANDOM_WALK_ORDER[k]
        tr, tc = ar + _DR[direction], ac + _DC[direction]
        if _on_board(tr, tc) and _passable(vb[tr, tc], enemy) and not _in_blast_line(
            tr, tc, n_lit, lit_r, lit_c, lit_s
        ):
            options[n] = direction
            n += 1
    fresh = 0
    for k in range(n):
        cell = (ar + _DR[options[k]]) * _N + ac + _DC[options[k]]
        if not _recent_holds(recent, recent_len[0], cell):
            options[fresh] = options[k]  # in place: fresh <= k
            fresh += 1
    if fresh > 0:
        n = fresh
    if n > 1:
        moving = 0
        for k in range(n):
            if options[k] != C.STOP:
                options[moving] = options[k]
                moving += 1
        n = moving
    _remember(recent, recent_len, ar * _N + ac)
    if n == 0:
        options[0] = C.STOP
        n = 1
    return _pick(options, n, rng), used + 1


@numba.njit(cache=True, inline="always")
def _recent_holds(recent, length, cell):
    for k in range(length):
        if recent[k] == cell:
            return True
    return False


@numba.njit(cache=True)
def _remember(recent, recent_len, cell):
    """Append ``cell``, dropping the oldest beyond RECENT_MEMORY (the port's list order)."""
    if recent_len[0] < RECENT_MEMORY:
        recent[recent_len[0]] = cell
        recent_len[0] += 1
        return
    for k in range(RECENT_MEMORY - 1):
        recent[k] = recent[k + 1]
    recent[RECENT_MEMORY - 1] = cell


@numba.njit(cache=True)
def act_batch(kind, board, agents, bombs, meta, mask, team, view, recent, recent_len, prev_dir, rng, moves, used):
    """Decide for every live seat of every board with ``mask`` set; the rest get STOP.

    ``kind`` is STATIC, RANDOM or SIMPLE; ``board``, ``agents``, ``bombs``, ``meta`` are the
    batch's arrays; ``team`` says whether seats a and a + 2 are teammates and ``view`` is the view
    half-width (-1: fully observable). ``recent`` (B, 4, RECENT_MEMORY), ``recent_len`` (B, 4) and
    ``prev_dir`` (B, 4) are the simple bot's memory, updated in place. ``moves`` and ``used``
    (B, 4) receive the moves and the number of draws each seat used.
    """
    n_boards = board.shape[0]
    vb = np.empty((_N, _N), np.int64)
    strength = np.empty((_N, _N), np.int64)
    cells = _N * _N
    scratch = (
        np.empty((_N, _N), np.int64), np.empty((_N, _N), np.int64), np.empty(cells, np.int64),
        np.empty(cells, np.int64), np.empty(cells, np.int64), np.empty(cells, np.int64),
        np.empty((_N, _N), np.bool_), np.empty(cells, np.int64), np.empty(cells, np.int64),
        np.empty(cells, np.int64), np.empty(5, np.int64), np.zeros(C.NUM_ACTIONS, np.int64),
        np.empty(4, np.int64), np.empty(6, np.int64),
    )
    enemy = np.zeros(C.NUM_AGENTS, np.bool_)
    for i in range(n_boards):
        for a in range(C.NUM_AGENTS):
            moves[i, a] = C.STOP
            used[i, a] = 0
            if not mask[i, a] or agents[i, a, ALIVE] == 0 or kind == STATIC:
                continue
            if kind == RANDOM:
                moves[i, a] = min(int(rng.random() * C.NUM_ACTIONS), C.NUM_ACTIONS - 1)
                used[i, a] = 1
                continue
            for j in range(C.NUM_AGENTS):
                enemy[j] = j != a and not (team and j == (a + 2) % C.NUM_AGENTS)
            ar, ac = agents[i, a, ROW], agents[i, a, COL]
            _view(board[i], bombs[i], meta[i, N_BOMBS], ar, ac, view, vb, strength)
            move, n_used = _simple(
                vb, strength, ar, ac, agents[i, a, AMMO], agents[i, a, BLAST], enemy,
                recent[i, a], recent_len[i, a:a + 1], prev_dir[i, a:a + 1], rng, scratch,
            )
            moves[i, a] = move
            used[i, a] = n_used
