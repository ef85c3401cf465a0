"""What each agent sees: Pommerman's per-agent maps and the stacked planes for learning (numba).

Both builders work on a whole :class:`~palaestra.envs.bomber.core.BomberBatch` at once. With partial
observability an agent sees only the square of ``view`` cells around it; everything else reads as
fog on the board and as zero in the maps, as in Pommerman.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    STEP,
)

MAPS = ("bomb_blast_strength", "bomb_life", "bomb_moving_direction", "flame_life")
"""The float maps of Pommerman's observation, in the order of :func:`agent_maps`' axis 2."""

PLANES = (
    "passage", "rigid", "wood", "bomb", "flames", "fog", "extra_bomb", "incr_range", "kick",
    "self", "teammate", "enemies",
    "bomb_blast_strength", "bomb_life", "bomb_moving_direction", "flame_life",
    "ammo", "blast_strength", "can_kick", "step", "message_0", "message_1",
)
"""Channel names of the planes observation (all scaled to about [0, 1])."""
NUM_PLANES = len(PLANES)


@numba.njit(cache=True)
def _visible(ar: int, ac: int, r: int, c: int, view: int) -> bool:
    return view < 0 or (abs(ar - r) <= view and abs(ac - c) <= view)


@numba.njit(cache=True)
def agent_boards(board, agents, view):
    """(N, 4, 11, 11) int8 boards as each agent sees them (``view`` < 0: fully observable)."""
    nb, n = board.shape[0], board.shape[1]
    out = np.empty((nb, C.NUM_AGENTS, n, n), np.int8)
    for i in range(nb):
        for a in range(C.NUM_AGENTS):
            ar, ac = agents[i, a, ROW], agents[i, a, COL]
            for r in range(n):
                for c in range(n):
                    out[i, a, r, c] = board[i, r, c] if _visible(ar, ac, r, c, view) else C.FOG
    return out


@numba.njit(cache=True)
def agent_maps(agents, bombs, flames, meta, view):
    """(N, 4, 4, 11, 11) float32: per agent, the maps named in :data:`MAPS`.

    Bomb maps hold the bomb's blast strength, life and moving direction (0 when still); the flame
    map holds a flame's life plus one (Pommerman's convention: 3, 2, 1 before it burns out).
    """
    nb = agents.shape[0]
    n = C.BOARD_SIZE
    out = np.zeros((nb, C.NUM_AGENTS, 4, n, n), np.float32)
    for i in range(nb):
        for a in range(C.NUM_AGENTS):
            ar, ac = agents[i, a, ROW], agents[i, a, COL]
            for b in range(meta[i, N_BOMBS]):
                r, c = bombs[i, b, B_ROW], bombs[i, b, B_COL]
                if _visible(ar, ac, r, c, view):
                    out[i, a, 0, r, c] = bombs[i, b, B_BLAST]
                    out[i, a, 1, r, c] = bombs[i, b, LIFE]
                    out[i, a, 2, r, c] = bombs[i, b, DIRECTION]
            for f in range(meta[i, N_FLAMES]):
                r, c = flames[i, f, 0], flames[i, f, 1]
                if _visible(ar, ac, r, c, view):
                    out[i, a, 3, r, c] = flames[i, f, 2] + 1
    return out


@numba.njit(cache=True)
def planes(board, agents, bombs, flames, meta, messages, view, team, max_steps):
    """(N, 4, NUM_PLANES, 11, 11) float32 stacked planes, one stack per agent (see :data:`PLANES`).

    ``messages`` (N, 4, 2) holds the radio words each agent received (zeros without radio);
    ``team`` says whether agents i and i+2 are teammates.
    """
    boards = agent_boards(board, agents, view)
    maps = agent_maps(agents, bombs, flames, meta, view)
    nb, n = board.shape[0], board.shape[1]
    out = np.zeros((nb, C.NUM_AGENTS, NUM_PLANES, n, n), np.float32)
    for i in range(nb):
        for a in range(C.NUM_AGENTS):
            mate = (a + 2) % 4 if team else -1
            for r in range(n):
                for c in range(n):
                    v = boards[i, a, r, c]
                    if v <= C.KICK:
                        out[i, a, v, r, c] = 1.0
                    elif v >= C.AGENT0:
                        k = v - C.AGENT0
                        ch = 9 if k == a else (10 if k == mate else 11)
                        out[i, a, ch, r, c] = 1.0
                    out[i, a, 12, r, c] = maps[i, a, 0, r, c] / C.MAX_BLAST_STRENGTH
                    out[i, a, 13, r, c] = maps[i, a, 1, r, c] / (C.DEFAULT_BOMB_LIFE + 1)
                    out[i, a, 14, r, c] = maps[i, a, 2, r, c] / 4.0
                    out[i, a, 15, r, c] = maps[i, a, 3, r, c] / (C.FLAME_LIFE + 1)
            out[i, a, 16] = agents[i, a, AMMO] / C.MAX_AMMO
            out[i, a, 17] = agents[i, a, BLAST] / C.MAX_BLAST_STRENGTH
            out[i, a, 18] = agents[i, a, KICK]
            out[i, a, 19] = min(meta[i, STEP] / max_steps, 1.0)
            out[i, a, 20] = messages[i, a, 0] / (C.RADIO_VOCAB_SIZE - 1)
            out[i, a, 21] = messages[i, a, 1] / (C.RADIO_VOCAB_SIZE - 1)
            if agents[i, a, ALIVE] == 0:
                out[i, a] = 0.0
    return out


def outcome(alive: np.ndarray, step_count: int, max_steps: int, team: bool) -> tuple[bool, list[int]]:
    """Pommerman's done flag and rewards for one board from the alive flags of the 4 agents.

    FFA: the last agent standing gets +1 and the others -1; at ``max_steps`` everyone gets -1;
    while running, 0 for the living and -1 for the dead. Teams (0 & 2 vs 1 & 3): the team with
    survivors when the other has none gets +1 each, the other -1; all -1 when everyone is dead or
    time runs out; 0 for all while running.
    """
    living = [k for k in range(C.NUM_AGENTS) if alive[k]]
    if not team:
        if len(living) == 1:
            return True, [1 if k in living else -1 for k in range(C.NUM_AGENTS)]
        if step_count >= max_steps or not living:
            return True, [-1] * C.NUM_AGENTS
        return False, [0 if alive[k] else -1 for k in range(C.NUM_AGENTS)]
    if living and all(k % 2 == 0 for k in living):
        return True, [1, -1, 1, -1]
    if living and all(k % 2 == 1 for k in living):
        return True, [-1, 1, -1, 1]
    if step_count >= max_steps or not living:
        return True, [-1] * C.NUM_AGENTS
    return False, [0] * C.NUM_AGENTS


def planes_from_observation(obs: Mapping[str, Any], max_steps: int = C.MAX_STEPS) -> np.ndarray:
    """The (NUM_PLANES, 11, 11) float32 planes of one agent, from its dict observation.

    Equal to what the env's ``planes`` observation gives the same agent (tested), so a policy
    trained on planes can play wherever only Pommerman's dict is available (tournaments, the
    sandbox). The agent's own code is the one agent code that is neither its teammate nor an enemy;
    ``max_steps`` must be the game's (it scales the step plane).
    """
    board = np.asarray(obs["board"])
    n = board.shape[0]
    out = np.zeros((NUM_PLANES, n, n), np.float32)
    enemies = {int(e) for e in np.asarray(obs["enemies"]).reshape(-1)}
    mate = int(obs["teammate"])
    own = [code for code in range(C.AGENT0, C.AGENT0 + C.NUM_AGENTS)
           if code not in enemies and code != mate]
    if len(own) != 1:
        raise ValueError(f"cannot tell the agent's own code from teammate {mate} and enemies "
                         f"{sorted(enemies)}")
    alive = np.asarray(obs.get("alive", np.ones(C.NUM_AGENTS))).reshape(-1)
    if not alive[own[0] - C.AGENT0]:
        return out  # a dead agent's planes are all zero, as in the env
    for v in range(C.KICK + 1):
        out[v] = board == v
    out[9] = board == own[0]
    out[10] = (board == mate) & (mate >= C.AGENT0)
    out[11] = np.isin(board, sorted(enemies))
    out[12] = np.asarray(obs["bomb_blast_strength"]) / C.MAX_BLAST_STRENGTH
    out[13] = np.asarray(obs["bomb_life"]) / (C.DEFAULT_BOMB_LIFE + 1)
    out[14] = np.asarray(obs["bomb_moving_direction"]) / 4.0
    out[15] = np.asarray(obs["flame_life"]) / (C.FLAME_LIFE + 1)
    out[16] = int(obs["ammo"]) / C.MAX_AMMO
    out[17] = int(obs["blast_strength"]) / C.MAX_BLAST_STRENGTH
    out[18] = int(obs["can_kick"])
    out[19] = min(int(obs["step_count"]) / max_steps, 1.0)
    message = np.asarray(obs.get("message", (0, 0))).reshape(-1)
    out[20] = message[0] / (C.RADIO_VOCAB_SIZE - 1)
    out[21] = message[1] / (C.RADIO_VOCAB_SIZE - 1)
    return out
