"""Pommerman's codes and numbers, shared by the Bomber rules, observations and renderer.

Board cells hold Pommerman item codes so states and observations are interchangeable with the
original playground's JSON and dict observations.
"""

from __future__ import annotations

# Board cell codes (Pommerman ``constants.Item``).
PASSAGE = 0
RIGID = 1
WOOD = 2
BOMB = 3
FLAMES = 4
FOG = 5
EXTRA_BOMB = 6
INCR_RANGE = 7
KICK = 8
AGENT_DUMMY = 9
AGENT0 = 10  # agent i is AGENT0 + i (10..13)
POWERUPS = (EXTRA_BOMB, INCR_RANGE, KICK)

# Actions (Pommerman ``constants.Action``); directions 1..4 are also bomb moving directions.
STOP = 0
UP = 1
DOWN = 2
LEFT = 3
RIGHT = 4
LAY_BOMB = 5
NUM_ACTIONS = 6
# (d_row, d_col) per action code; STOP and LAY_BOMB do not move.
DELTAS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1), (0, 0))

# Game numbers (Pommerman ``constants``).
BOARD_SIZE = 11
NUM_AGENTS = 4
NUM_RIGID = 36
NUM_WOOD = 36
NUM_ITEMS = 20
MAX_STEPS = 800
DEFAULT_BLAST_STRENGTH = 2
DEFAULT_BOMB_LIFE = 9
"""A bomb laid this step shows life 9 after the step (laid at 10, ticked once)."""
FLAME_LIFE = 2
"""Internal life of a new flame; Pommerman's observation ``flame_life`` shows it plus one."""
MAX_AMMO = 10
MAX_BLAST_STRENGTH = 10
AGENT_VIEW_SIZE = 4
RADIO_VOCAB_SIZE = 8
RADIO_NUM_WORDS = 2

# Start corners: agent 0 top left, 1 bottom left, 2 bottom right, 3 top right (row, col).
START_POSITIONS = ((1, 1), (BOARD_SIZE - 2, 1), (BOARD_SIZE - 2, BOARD_SIZE - 2), (1, BOARD_SIZE - 2))

# Game modes.
FFA = "ffa"
TEAM = "team"
TEAM_RADIO = "team_radio"
MODES = (FFA, TEAM, TEAM_RADIO)
# Pommerman GameType values (observation ``game_type``): FFA 1, Team 2, TeamRadio 3.
GAME_TYPE_VALUE = {FFA: 1, TEAM: 2, TEAM_RADIO: 3}


def teammate_of(agent: int, mode: str) -> int | None:
    """Index of the agent's teammate (agents 0 & 2 vs 1 & 3), or None in FFA."""
    return None if mode == FFA else (agent + 2) % 4
