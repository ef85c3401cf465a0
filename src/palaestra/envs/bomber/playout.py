"""Compiled random playouts: play a board to the end with uniformly random actions.

This is what Monte Carlo search and state evaluation need (how often does agent k survive from
here if everybody plays at random?), with no Python in the loop. It uses the same rules kernel as
every other Bomber API.
"""

from __future__ import annotations

import numba
import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.core import ALIVE, STEP, BomberBatch, step_one


@numba.njit(cache=True)
def _decided(agents, team):
    n_alive = 0
    even = False
    odd = False
    for a in range(C.NUM_AGENTS):
        if agents[a, ALIVE] != 0:
            n_alive += 1
            if a % 2 == 0:
                even = True
            else:
                odd = True
    if team:
        return not (even and odd)
    return n_alive <= 1


@numba.njit(cache=True)
def _playout(board, items, agents, bombs, flames, meta, max_steps, team, max_blast, seed):
    np.random.seed(seed)
    actions = np.zeros(C.NUM_AGENTS, np.int64)
    steps = 0
    while meta[STEP] < max_steps and not _decided(agents, team):
        for a in range(C.NUM_AGENTS):
            actions[a] = np.random.randint(0, C.NUM_ACTIONS)
        step_one(actions, board, items, agents, bombs, flames, meta, max_blast)
        steps += 1
    return steps


def random_playout(
    batch: BomberBatch, i: int, seed: int, max_steps: int = C.MAX_STEPS, team: bool = False,
    max_blast_strength: int = C.MAX_BLAST_STRENGTH,
) -> int:
    """Play board ``i`` of ``batch`` to the end in place with random actions; return the steps.

    ``seed`` (for instance ``int(rng.integers(2**31))`` from the caller's generator) fixes the
    actions: the same state and seed give the same end state.
    """
    return int(_playout(batch.board[i], batch.items[i], batch.agents[i], batch.bombs[i],
                        batch.flames[i], batch.meta[i], max_steps, team, max_blast_strength, seed))
