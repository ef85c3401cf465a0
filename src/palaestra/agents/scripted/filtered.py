"""``filtered-random`` and ``cautious-random``: uniformly random actions behind an action filter.

The no-learning baselines of the Pommerman competitions' learning agents: random moves, but never
one that is useless or leads to certain death within the bomb timers (``filtered-random``, filter
``sure-death``: :mod:`palaestra.envs.bomber.action_filter`), or, for ``cautious-random``, none
that one near opponent's next act could make deadly when another move is safe from it too (filter
``cautious``: :mod:`palaestra.envs.bomber.filters`). They work from Pommerman's per-agent
observation dict, the same dict the other scripted Bomber agents get.

This module does not import :mod:`palaestra.agents.scripted.bomber` (which registers the agent by
name), so that the registry can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from palaestra.agents.base import SeededAgent
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.core import ALIVE, AMMO, BLAST, COL, KICK, ROW, BomberBatch
from palaestra.envs.bomber.filter_names import LEGACY_FILTER, FilterName
from palaestra.envs.bomber.filters import filter_mask


def _int(value: Any) -> int:
    """A python int from an int, bool, enum member, or 0-d / 1-element array."""
    value = getattr(value, "value", value)
    return int(np.asarray(value).reshape(-1)[0])


def _own_index(observation: Mapping[str, Any], board: np.ndarray, row: int, col: int) -> int:
    """The observer's seat: the agent code on its own cell, else the code that is neither
    teammate nor enemy."""
    code = int(board[row, col])
    if C.AGENT0 <= code < C.AGENT0 + C.NUM_AGENTS:
        return code - C.AGENT0
    others = {int(getattr(e, "value", e)) for e in np.asarray(observation["enemies"]).reshape(-1)}
    others.add(_int(observation["teammate"]))
    own = [k for k in range(C.NUM_AGENTS) if C.AGENT0 + k not in others]
    if len(own) != 1:
        raise ValueError(f"cannot tell the observer's seat from its cell code {code} and teammate/enemies")
    return own[0]


def observation_batch(observation: Mapping[str, Any]) -> tuple[BomberBatch, int]:
    """One board rebuilt from a Pommerman observation dict, and the observer's seat on it.

    What the observation lacks is approximated: other agents are the agent codes on the board
    (their ammo, blast strength and kick are unknown and read 0; the filter needs them only as
    obstacles); bombs are listed in row-major order, not Pommerman's order (which only matters for
    moving bombs colliding in the same step); a missing ``bomb_moving_direction`` reads as still
    bombs; a flame's life is ``flame_life - 1``, and a cell holding several flames shows only the
    last one (the newest, so the longest-lived). Bombs and flames under fog are unknown.
    """
    board = np.asarray(observation["board"]).astype(np.int8)
    row, col = (int(v) for v in np.asarray(observation["position"]).reshape(-1)[:2])
    seat = _own_index(observation, board, row, col)
    batch = BomberBatch.empty(1)
    batch.board[0] = board
    agents = batch.agents[0]
    for r, c in zip(*np.nonzero((board >= C.AGENT0) & (board < C.AGENT0 + C.NUM_AGENTS))):
        k = int(board[r, c]) - C.AGENT0
        agents[k, ALIVE], agents[k, ROW], agents[k, COL] = 1, r, c
    alive = np.asarray(observation.get("alive", np.ones(C.NUM_AGENTS))).reshape(-1)
    agents[seat, ALIVE] = int(bool(alive[seat])) if alive.size == C.NUM_AGENTS else 1
    agents[seat, ROW], agents[seat, COL] = row, col
    agents[seat, AMMO] = _int(observation["ammo"])
    agents[seat, BLAST] = _int(observation["blast_strength"])
    agents[seat, KICK] = int(bool(_int(observation["can_kick"])))
    strength = np.asarray(observation["bomb_blast_strength"])
    life = np.asarray(observation["bomb_life"])
    moving = observation.get("bomb_moving_direction")
    direction = np.zeros_like(life) if moving is None else np.asarray(moving)
    cells = list(zip(*np.nonzero((strength > 0) | (life > 0))))
    for j, (r, c) in enumerate(cells):
        batch.bombs[0, j] = (seat, r, c, int(life[r, c]), int(strength[r, c]), int(direction[r, c]))
    flame_cells = list(zip(*np.nonzero(np.asarray(observation["flame_life"]) > 0)))
    flame_life = np.asarray(observation["flame_life"])
    for j, (r, c) in enumerate(flame_cells):
        batch.flames[0, j] = (r, c, int(flame_life[r, c]) - 1)
    batch.meta[0] = (_int(observation.get("step_count", 0)), len(cells), len(flame_cells))
    return batch, seat


def observation_mask(observation: Mapping[str, Any], name: FilterName = LEGACY_FILTER) -> np.ndarray:
    """(6,) bool: action filter ``name``'s mask for the observer (see :func:`observation_batch`)."""
    batch, seat = observation_batch(observation)
    seats = np.zeros((1, C.NUM_AGENTS), np.bool_)
    seats[0, seat] = True
    return np.asarray(filter_mask(batch, name, seats)[0, seat])


class FilteredRandomBomberAgent(SeededAgent):
    """Picks uniformly among the actions the action filter allows.

    The filter masks useless moves and moves after which every continuation meets a flame (it
    assumes opponents stand still); when it masks everything, every action is allowed.
    """

    name = "filtered-random"
    action_filter: FilterName = "sure-death"

    def act(self, observation: Any) -> int:
        """The action for one observation dict, drawn from the generator given to ``reset``."""
        options = np.flatnonzero(observation_mask(observation, self.action_filter))
        return int(options[int(self._rng.integers(len(options)))])


class CautiousRandomBomberAgent(FilteredRandomBomberAgent):
    """Picks uniformly among the actions the ``cautious`` filter allows (see the module docstring)."""

    name = "cautious-random"
    action_filter: FilterName = "cautious"
