"""How one agent's action changes the state.

Each step the agents act one after the other in a random order (drawn from the env's generator),
each seeing the result of those before it. An action is ``(move, face, interact)``; its parts
apply in this order:

1. **face**: 1..4 turns the agent to face up/right/down/left; 0 keeps its facing.
2. **lock**: with ``interact == TOGGLE_LOCK``, the box in the faced cell is locked for the agent's
   team if unlocked, or unlocked if the agent's team locked it; a box the other team locked is
   left as it is. A locked box can not be moved by anyone until its team unlocks it.
3. **move** in direction d (1..4; 0 stays):

   * with ``interact == GRAB`` and an unlocked box in the faced cell f, agent and box move
     together by d when both new cells are free (the agent's may be the box's old cell and the
     box's the agent's old one): d ahead is a push, d behind a pull, d sideways a drag;
   * otherwise into a free cell (ramps are floor);
   * into an unlocked box whose next cell along d is free: pushes it (one box at most);
   * standing on a ramp, into a wall cell or an unmovable box: vaults over that one cell when the
     cell beyond it is free (a ramp use). Over two wall cells, or off the map, there is no vault;
   * anything else (another agent, a wall without a ramp, a blocked box): the agent stays.

"Free" means on the map, no wall, no box, no agent.
"""

from __future__ import annotations

from dataclasses import dataclass

from palaestra.envs.hide_and_seek.constants import DIRECTIONS, GRAB, STAY, TOGGLE_LOCK, UNLOCKED
from palaestra.envs.hide_and_seek.state import GameState


@dataclass
class Events:
    """What one action did."""

    box_moves: int = 0
    locks: int = 0
    unlocks: int = 0
    ramp_uses: int = 0


def toggle_lock(state: GameState, k: int) -> Events:
    """Lock or unlock the box agent ``k`` faces (step 2 above)."""
    b = state.box_in_front(k)
    if b < 0:
        return Events()
    team = int(state.agent_team[k])
    if state.box_lock[b] == UNLOCKED:
        state.box_lock[b] = team
        return Events(locks=1)
    if state.box_lock[b] == team:
        state.box_lock[b] = UNLOCKED
        return Events(unlocks=1)
    return Events()


def move(state: GameState, k: int, direction: int, grab: bool) -> Events:
    """Move agent ``k`` one cell in ``direction`` (0..3) by the rules above (step 3)."""
    dr, dc = (int(v) for v in DIRECTIONS[direction])
    r, c = (int(v) for v in state.agent_pos[k])
    tr, tc = r + dr, c + dc

    if grab:
        b = state.box_in_front(k)
        if b >= 0 and state.unlocked(b):
            br, bc = (int(v) for v in state.boxes[b])
            nbr, nbc = br + dr, bc + dc
            agent_ok = (tr, tc) == (br, bc) or state.is_free(tr, tc)
            box_ok = (nbr, nbc) == (r, c) or state.is_free(nbr, nbc)
            if not (agent_ok and box_ok):
                return Events()
            if (tr, tc) == (br, bc):  # push: the box goes first
                state.move_box(b, nbr, nbc)
                state.move_agent(k, tr, tc)
            else:  # pull or drag: the agent goes first
                state.move_agent(k, tr, tc)
                state.move_box(b, nbr, nbc)
            return Events(box_moves=1)

    if not state.inside(tr, tc):
        return Events()
    if state.is_free(tr, tc):
        state.move_agent(k, tr, tc)
        return Events()
    b = int(state.box_at[tr, tc])
    if b >= 0 and state.unlocked(b) and state.is_free(tr + dr, tc + dc):
        state.move_box(b, tr + dr, tc + dc)
        state.move_agent(k, tr, tc)
        return Events(box_moves=1)
    if state.ramp_mask[r, c] and (state.walls[tr, tc] or b >= 0) and state.is_free(tr + dr, tc + dc):
        state.move_agent(k, tr + dr, tc + dc)
        return Events(ramp_uses=1)
    return Events()


def act(state: GameState, k: int, move_code: int, face_code: int, interact: int) -> Events:
    """Apply one agent's whole action ``(move, face, interact)``."""
    if face_code:
        state.agent_face[k] = face_code - 1
    events = toggle_lock(state, k) if interact == TOGGLE_LOCK else Events()
    if move_code != STAY:
        moved = move(state, k, move_code - 1, interact == GRAB)
        moved.locks, moved.unlocks = events.locks, events.unlocks
        events = moved
    return events
