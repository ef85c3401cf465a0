"""What each agent observes: entities with masks, a grid view and its own features.

Entity slots (rows of ``entities``, entries of ``entity_mask``) are fixed: hider_0..hider_2,
seeker_0..seeker_2 (slots of absent agents stay empty), then the boxes, then the ramps. A slot is
filled (mask 1) only when the entity is in a cell the observer sees now; the observer's own slot
is always empty (its features are in ``self``). During preparation the seekers are blind: no
entity, no box or agent in the grid, nothing visible.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from palaestra.envs.hide_and_seek import constants as K
from palaestra.envs.hide_and_seek.config import HideAndSeekConfig
from palaestra.envs.hide_and_seek.state import GameState


def num_entities(config: HideAndSeekConfig) -> int:
    return 2 * K.MAX_PER_TEAM + config.n_boxes + config.n_ramps


def agent_slots(config: HideAndSeekConfig) -> np.ndarray:
    """Entity slot of each agent (hiders first, then seekers)."""
    return np.array(list(range(config.n_hiders))
                    + [K.MAX_PER_TEAM + j for j in range(config.n_seekers)], np.int64)


def observation_space(config: HideAndSeekConfig) -> spaces.Dict:
    n = num_entities(config)
    span = float(config.grid_size - 1)
    low = np.zeros((n, K.NUM_ENTITY_FEATURES), np.float32)
    high = np.ones((n, K.NUM_ENTITY_FEATURES), np.float32)
    low[:, [K.F_DROW, K.F_DCOL]] = -span
    high[:, [K.F_DROW, K.F_DCOL]] = span
    self_high = np.ones(K.NUM_SELF_FEATURES, np.float32)
    self_high[:2] = span
    self_high[K.SELF_INDEX["index"]] = K.MAX_PER_TEAM - 1
    side = config.grid_side
    return spaces.Dict({
        "entities": spaces.Box(low, high, dtype=np.float32),
        "entity_mask": spaces.MultiBinary(n),
        "grid": spaces.Box(0.0, 1.0, (K.NUM_GRID_CHANNELS, side, side), np.float32),
        "self": spaces.Box(np.zeros(K.NUM_SELF_FEATURES, np.float32), self_high, dtype=np.float32),
    })


class Observer:
    """Builds the observations of one env (holds the config-derived layout)."""

    def __init__(self, config: HideAndSeekConfig) -> None:
        self.config = config
        self.n_entities = num_entities(config)
        self.slots = agent_slots(config)
        self.team_index = self.slots % K.MAX_PER_TEAM
        self.box_slot0 = 2 * K.MAX_PER_TEAM
        self.ramp_slot0 = self.box_slot0 + config.n_boxes

    def observe(self, state: GameState, fov: np.ndarray, blind: np.ndarray) -> list[dict[str, np.ndarray]]:
        """One observation per agent; ``fov`` (n, H, W) are the cells each sees, ``blind`` (n,)
        marks agents that see nothing now."""
        c = self.config
        h, w = state.shape
        n_agents = len(state.agent_pos)
        fov = fov & ~blind[:, None, None]
        # Shared layers; the per-agent ones are these masked by the agent's view.
        walls = state.walls.astype(np.float32)
        ramps = state.ramp_mask.astype(np.float32)
        box_free = np.zeros((h, w), np.float32)
        box_team = np.zeros((2, h, w), np.float32)
        for b, (r, col) in enumerate(state.boxes):
            lock = state.box_lock[b]
            if lock == K.UNLOCKED:
                box_free[r, col] = 1
            else:
                box_team[lock, r, col] = 1
        team_grid = np.zeros((2, h, w), np.float32)
        team_grid[state.agent_team, state.agent_pos[:, 0], state.agent_pos[:, 1]] = 1

        # Entity rows, relative positions left at zero (filled per observer).
        base = np.zeros((self.n_entities, K.NUM_ENTITY_FEATURES), np.float32)
        positions = np.zeros((self.n_entities, 2), np.int64)
        real = np.zeros(self.n_entities, bool)
        for k in range(n_agents):
            s = self.slots[k]
            base[s, K.F_TYPE + state.agent_team[k]] = 1
            base[s, K.F_FACE + state.agent_face[k]] = 1
            positions[s] = state.agent_pos[k]
            real[s] = True
        nb = len(state.boxes)
        base[self.box_slot0:self.box_slot0 + nb, K.F_TYPE + K.T_BOX] = 1
        positions[self.box_slot0:self.box_slot0 + nb] = state.boxes
        real[self.box_slot0:self.box_slot0 + nb] = True
        nr = len(state.ramps)
        base[self.ramp_slot0:self.ramp_slot0 + nr, K.F_TYPE + K.T_RAMP] = 1
        positions[self.ramp_slot0:self.ramp_slot0 + nr] = state.ramps
        real[self.ramp_slot0:self.ramp_slot0 + nr] = True
        base[:, K.F_VISIBLE] = 1
        box_lock = state.box_lock
        agent_slots = self.slots

        time_left = (c.max_steps - state.step) / c.max_steps
        prep_left = max(0, c.prep_steps - state.step) / c.max_steps
        prep = state.step < c.prep_steps

        out = []
        for k in range(n_agents):
            team = int(state.agent_team[k])
            view = fov[k]
            r0, c0 = (int(v) for v in state.agent_pos[k])
            seen = real & view[positions[:, 0], positions[:, 1]]
            seen[agent_slots[k]] = False
            entities = base.copy()
            entities[:, K.F_DROW] = positions[:, 0] - r0
            entities[:, K.F_DCOL] = positions[:, 1] - c0
            entities[agent_slots, K.F_MATE] = state.agent_team == team
            boxes = slice(self.box_slot0, self.box_slot0 + nb)
            entities[boxes, K.F_LOCK_OWN] = box_lock == team
            entities[boxes, K.F_LOCK_OTHER] = (box_lock != team) & (box_lock != K.UNLOCKED)
            entities[~seen] = 0

            vis = view.astype(np.float32)
            grid = np.empty((K.NUM_GRID_CHANNELS, h, w), np.float32)
            grid[K.G_WALL] = walls
            grid[K.G_BOX] = box_free * vis
            grid[K.G_BOX_OWN] = box_team[team] * vis
            grid[K.G_BOX_OTHER] = box_team[1 - team] * vis
            grid[K.G_RAMP] = ramps
            grid[K.G_MATE] = team_grid[team] * vis
            grid[K.G_MATE, r0, c0] = 0
            grid[K.G_OPPONENT] = team_grid[1 - team] * vis
            grid[K.G_SELF] = 0
            grid[K.G_SELF, r0, c0] = 1
            grid[K.G_VISIBLE] = vis
            if c.grid_radius is not None:
                grid = self._window(grid, r0, c0)

            me = np.zeros(K.NUM_SELF_FEATURES, np.float32)
            me[0], me[1] = r0, c0
            me[2 + state.agent_face[k]] = 1
            me[6] = team
            me[7] = self.team_index[k]
            me[8] = float(prep and team == K.SEEKERS)
            me[9] = float(prep)
            me[10] = time_left
            me[11] = prep_left
            out.append({
                "entities": entities,
                "entity_mask": seen.astype(np.int8),
                "grid": grid,
                "self": me,
            })
        return out

    def _window(self, grid: np.ndarray, r0: int, c0: int) -> np.ndarray:
        """The (2r+1)-square of ``grid`` around (r0, c0); off-map cells are wall and nothing else."""
        rad = self.config.grid_radius
        assert rad is not None
        side = 2 * rad + 1
        h, w = grid.shape[1:]
        out = np.zeros((grid.shape[0], side, side), np.float32)
        out[K.G_WALL] = 1
        top, left = r0 - rad, c0 - rad
        rs, re = max(0, top), min(h, top + side)
        cs, ce = max(0, left), min(w, left + side)
        out[:, rs - top:re - top, cs - left:ce - left] = grid[:, rs:re, cs:ce]
        return out


def global_state(state: GameState) -> np.ndarray:
    """(7, H, W) float32 grid of everything (channels :data:`~constants.STATE_CHANNELS`)."""
    h, w = state.shape
    out = np.zeros((len(K.STATE_CHANNELS), h, w), np.float32)
    out[0] = state.walls
    for b, (r, c) in enumerate(state.boxes):
        out[1 + (int(state.box_lock[b]) + 1), r, c] = 1
    out[4] = state.ramp_mask
    out[5 + state.agent_team, state.agent_pos[:, 0], state.agent_pos[:, 1]] = 1
    return out
