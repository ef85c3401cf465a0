"""Codes shared by the hide-and-seek modules: directions, actions, teams, feature layouts."""

from __future__ import annotations

import numpy as np

# -- directions ------------------------------------------------------------------------------------
UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
"""Facing codes (clockwise from north). Rows grow downwards."""
DIRECTIONS = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)], dtype=np.int64)
"""(d_row, d_col) of each facing code."""
DIRECTION_NAMES = ("up", "right", "down", "left")

# -- actions: MultiDiscrete([5, 5, 3]) = (move, face, interact) ------------------------------------
NUM_MOVES = 5
"""Move component: 0 stay, 1 up, 2 right, 3 down, 4 left (direction code + 1)."""
NUM_FACES = 5
"""Face component: 0 keep the current facing, 1 up, 2 right, 3 down, 4 left (direction code + 1)."""
NUM_INTERACTS = 3
"""Interact component: see :data:`NO_INTERACT`, :data:`GRAB`, :data:`TOGGLE_LOCK`."""
STAY = 0
NO_INTERACT = 0
GRAB = 1
"""Hold the box in front while moving: it moves with the agent (push, pull or drag sideways)."""
TOGGLE_LOCK = 2
"""Lock the unlocked box in front for one's team, or unlock a box one's team locked."""
NOOP_ACTION = (STAY, 0, NO_INTERACT)

# -- teams -----------------------------------------------------------------------------------------
HIDERS, SEEKERS = 0, 1
TEAM_NAMES = ("hider", "seeker")
UNLOCKED = -1
"""Lock owner of a box nobody has locked (otherwise the team code)."""
MAX_PER_TEAM = 3
"""Agents per team at most; the entity observation always has slots for 3 + 3 agents."""

# -- phases ----------------------------------------------------------------------------------------
PREP, SEEK = 0, 1
PHASE_NAMES = ("prep", "seek")

# -- observation layouts ---------------------------------------------------------------------------
ENTITY_FEATURES = (
    "is_hider", "is_seeker", "is_box", "is_ramp",
    "d_row", "d_col",
    "face_up", "face_right", "face_down", "face_left",
    "teammate", "locked_by_own_team", "locked_by_other_team", "visible",
)
"""Columns of the ``entities`` observation. ``d_row``/``d_col`` are offsets in cells from the
observer; all other features are 0/1. A slot that is empty or not visible is all zeros."""
NUM_ENTITY_FEATURES = len(ENTITY_FEATURES)
F_TYPE, F_DROW, F_DCOL, F_FACE, F_MATE, F_LOCK_OWN, F_LOCK_OTHER, F_VISIBLE = 0, 4, 5, 6, 10, 11, 12, 13
T_HIDER, T_SEEKER, T_BOX, T_RAMP = 0, 1, 2, 3

GRID_CHANNELS = (
    "wall", "box", "box_locked_own", "box_locked_other", "ramp",
    "teammate", "opponent", "self", "visible",
)
"""Channels of the ``grid`` observation. ``wall`` and ``ramp`` (the fixed layout) are always
shown; boxes and other agents only on cells the agent sees now, which ``visible`` marks.
``box`` marks unlocked boxes; locked ones go to the two ``box_locked_*`` channels."""
NUM_GRID_CHANNELS = len(GRID_CHANNELS)
(G_WALL, G_BOX, G_BOX_OWN, G_BOX_OTHER, G_RAMP, G_MATE, G_OPPONENT, G_SELF, G_VISIBLE) = range(9)

SELF_FEATURES = (
    "row", "col", "face_up", "face_right", "face_down", "face_left",
    "is_seeker", "index", "frozen", "prep_phase", "time_left", "prep_left",
)
"""Entries of the ``self`` observation: position in cells, facing one-hot, team (0 hider,
1 seeker), index within the team (0..2, the ``i`` of ``hider_i``), whether this agent's actions
are ignored now (a seeker during preparation), whether the next step is a preparation step, and
the fractions of the episode left in total and of preparation."""
SELF_INDEX = {name: i for i, name in enumerate(SELF_FEATURES)}
NUM_SELF_FEATURES = len(SELF_FEATURES)

STATE_CHANNELS = ("wall", "box", "box_locked_hiders", "box_locked_seekers", "ramp", "hider", "seeker")
"""Channels of the global :meth:`state` grid."""
