"""Scripted agents for hide-and-seek (``palaestra.envs.hide_and_seek``).

They act on the env's observation dict (with the whole-map grid, ``grid_radius=None``) and return
an action ``[move, face, interact]``. The heuristics:

* **hider**: picks a shelter, the best room with one or two doors where no seeker has been seen
  (all hiders rank rooms alike from the walls and ramps they all see). ``hider_0`` (and
  ``hider_1`` for a second door) walks behind a box, grabs it and carries it into the door,
  standing inside, looks round the room for frozen seekers, then locks it. The others go in and
  stand where a vault from a ramp would land, or out of sight of the doors. Without a shelter, or
  shut out of it once the seekers are loose, a hider runs to the nearest cell that the seekers
  it knows of cannot see. Hiders look all around while walking during preparation.
* **seeker**: frozen during preparation; then chases the hider it sees (or where it last saw
  one), facing it; otherwise explores, heading for the nearest cell it has not seen for a while.
  Its paths may push unlocked boxes and vault over walls and boxes from ramps.

Both step aside at random when blocked twice in a row. Hiders' mean episode reward over 16 seeds
(+-72 possible with the defaults): hider vs seeker heuristics +12 in 2v2, +43 in 1v1, -37 in 3v3
and -48 without rooms; hider heuristic vs random seekers +64, random hiders vs seeker heuristic -61.

Random choices come from the generator given to ``reset``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from palaestra.agents.base import Agent, SeededAgent
from palaestra.agents.scripted.hide_and_seek_memory import (
    Memory,
    blocked_cells,
    obstacles,
    random_step,
    route,
)
from palaestra.agents.scripted.hide_and_seek_plan import (
    STEPS,
    Cell,
    Door,
    HnsView,
    Shelter,
    carry_distances,
    direction_to,
    explore_paths,
    read_observation,
    step_towards,
)
from palaestra.envs.hide_and_seek import constants as K
from palaestra.envs.hide_and_seek.vision import seen_from_anywhere
from palaestra.errors import ConfigError, UnknownNameError

SEEKER_SIGHT = 10.0
"""Range the hiders assume for the seekers' sight."""
STALE_AFTER = 12
"""A seeker revisits cells it has not seen for this many steps."""
AGE_WEIGHT = 0.3
MAX_AGE = 100
SEARCH_TURNS = 3
"""Quarter turns a seeker makes on the spot when the hider it saw vanishes nearby."""
"""A seeker explores the cell minimising ``distance - AGE_WEIGHT * min(steps unseen, MAX_AGE)``."""


def action(move: int | None = None, face: int | None = None, interact: int = K.NO_INTERACT) -> np.ndarray:
    """An env action from direction codes (None: stay / keep facing)."""
    return np.array([0 if move is None else move + 1, 0 if face is None else face + 1, interact], np.int64)


class _SeededAgent(SeededAgent):
    name = "hide-and-seek-agent"


class RandomHnsAgent(_SeededAgent):
    """Uniformly random ``[move, face, interact]``."""

    name = "random"

    def act(self, observation: Any) -> np.ndarray:
        return np.array([self._rng.integers(K.NUM_MOVES), self._rng.integers(K.NUM_FACES),
                         self._rng.integers(K.NUM_INTERACTS)], np.int64)


class NoopHnsAgent(_SeededAgent):
    """Never moves, turns or touches anything."""

    name = "noop"

    def act(self, observation: Any) -> np.ndarray:
        return np.array(K.NOOP_ACTION, np.int64)


class HiderAgent(_SeededAgent):
    """Barricades a room with locked boxes, or hides out of the seekers' sight.

    The shelter is the best room with one or two doors and no seeker seen in it (fewest doors,
    then fewest cells where a vault from a ramp outside lands, then largest). ``hider_i`` builds
    door ``i`` (hider_0 also builds any door still open after its own): it carries the nearest
    usable box into the door, standing inside, and locks it. Hiders with no door to build go
    straight in, to the vault landing cells first (standing there stops the vault), then to the
    cells farthest from the doors and out of their sight. During preparation, hiders look around
    (a quarter turn each step) whenever their hands are free, to learn where the frozen seekers
    stand. Shut out, or without a shelter, a hider evades: it runs to the nearest cell that no
    seeker it knows of could see, keeping away from them.
    """

    name = "hider"

    def __init__(self) -> None:
        super().__init__()
        self.reset(np.random.default_rng())

    def reset(self, rng: np.random.Generator) -> None:
        super().reset(rng)
        self._memory = Memory()
        self._looks = 0
        self._spot: Cell | None = None
        self._last: tuple[Cell, bool] | None = None
        self._stuck = 0

    def act(self, observation: Any) -> np.ndarray:
        view = read_observation(observation)
        if view.team != K.HIDERS:
            raise ConfigError("the hider agent plays the hiders; use 'seeker' or 'heuristic'")
        self._memory.update(view)
        chosen = self._plan(view)
        # Blocked twice in a row (by an agent we cannot see, or a teammate walking the other
        # way): step aside at random.
        self._stuck = self._stuck + 1 if self._last == (view.me, True) else 0
        if self._stuck >= 2:
            k = random_step(view, self._rng, self._memory.box_cells())
            chosen = action(k, chosen[1] - 1 if chosen[1] else None)
        self._last = (view.me, bool(chosen[0]))
        return chosen

    def _plan(self, view: HnsView) -> np.ndarray:
        shelter = self._shelter()
        if shelter is not None:
            plan = self._shelter_action(view, shelter)
            if plan is not None:
                return plan
        return self._evade(view)

    def _shelter(self) -> Shelter | None:
        """The room we started sealing, else the best one with no seeker known inside."""
        mem = self._memory
        locks = {b.cell: b.lock for b in mem.boxes.values()}
        usable = [s for s in mem.shelters
                  if not any(locks.get(d.cell) == K.SEEKERS for d in s.doors)
                  and not any(cell in s.cells for cell in mem.opponents.values())]
        for shelter in usable:
            if any(locks.get(d.cell) == K.HIDERS for d in shelter.doors):
                return shelter
        return usable[0] if usable else None

    def _checked(self, shelter: Shelter) -> bool:
        """Whether we have seen (nearly) all of the room, so no frozen seeker hides in it."""
        seen = self._memory.seen
        assert seen is not None
        return sum(bool(seen[cell]) for cell in shelter.cells) >= 0.9 * len(shelter.cells)

    def _look(self, view: HnsView, rest: int | None = None) -> int | None:
        """A facing that sweeps all around every four steps during preparation (then ``rest``)."""
        return self._memory.clock % 4 if view.prep else rest

    # -- barricading ------------------------------------------------------------------------
    def _shelter_action(self, view: HnsView, shelter: Shelter) -> np.ndarray | None:
        mem = self._memory
        in_door = {b.cell: b for b in mem.boxes.values()}
        inside = view.me in shelter.cells
        for door in shelter.doors:
            box = in_door.get(door.cell)
            if box is not None and box.lock == K.UNLOCKED and view.me == door.inside:
                if view.prep and not self._checked(shelter) and self._looks < 4:
                    self._looks += 1  # look round the room for seekers first
                    return action(None, self._memory.clock % 4)
                return action(None, door.outward, K.TOGGLE_LOCK)
        open_doors = [d for d in shelter.doors if d.cell not in in_door]
        if not open_doors or (not view.prep and not inside):
            return self._go_hide(view, shelter) if inside else None
        n = len(shelter.doors)
        if view.index < n:
            mine = shelter.doors[view.index:] + shelter.doors[:view.index]
            if view.index > 0:
                mine = mine[:1]  # only hider_0 builds more than its own door
            for door in mine:
                if door in open_doors:
                    carry = self._carry_action(view, door)
                    if carry is not None:
                        return carry
        return self._go_hide(view, shelter)

    def _carry_action(self, view: HnsView, door: Door) -> np.ndarray | None:
        """The next move of bringing the best box into ``door``, or None if there is none.

        The box is carried with the hider right behind it, facing out of the room: the pair
        moves as one until the hider stands inside the door with the box in it."""
        mem = self._memory
        orow, ocol = STEPS[door.outward]
        walk, _ = explore_paths(view.walls, view.ramps, mem.box_cells(), view.me)
        h, w = walk.shape
        mates = list(view.hiders.values())
        best: tuple[int, int] | None = None
        for slot, box in mem.boxes.items():
            grab_from = (box.cell[0] - orow, box.cell[1] - ocol)
            if box.lock != K.UNLOCKED or not (0 <= grab_from[0] < h and 0 <= grab_from[1] < w):
                continue
            if grab_from in mates:
                continue  # a teammate is carrying it here
            carry = carry_distances(~blocked_cells(view, mem.box_cells(exclude=slot)), door.inside, (orow, ocol))
            if carry[grab_from] < 0 or walk[grab_from] < 0:
                continue
            cost = int(walk[grab_from] + carry[grab_from])
            if best is None or (cost, slot) < best:
                best = (cost, slot)
        if best is None:
            return None
        box = mem.boxes[best[1]]
        grab_from = (box.cell[0] - orow, box.cell[1] - ocol)
        if view.me == grab_from:
            passable = ~blocked_cells(view, mem.box_cells(exclude=best[1]))
            free = passable.copy()
            for cell in obstacles(view, mem):
                free[cell] = False
            k = step_towards(carry_distances(free, door.inside, (orow, ocol)), view.me)
            if k is None:
                k = step_towards(carry_distances(passable, door.inside, (orow, ocol)), view.me)
            return None if k is None else action(k, door.outward, K.GRAB)
        boxes = mem.box_cells()
        boxes[box.cell] = K.HIDERS  # walk round the box we want, never push it
        k = route(view, mem, boxes, grab_from)
        return None if k is None else action(k, self._look(view, k))

    def _go_hide(self, view: HnsView, shelter: Shelter) -> np.ndarray:
        mem = self._memory
        passable = ~blocked_cells(view, mem.box_cells())
        watch = direction_to(view.me, shelter.doors[0].cell)
        if view.me in shelter.hideouts:
            return action(None, self._look(view, watch))
        taken = set(mem.mates.values())
        spots = list(shelter.hideouts)
        if self._spot in spots:  # keep going where we were going while it is free
            spots.remove(self._spot)
            spots.insert(0, self._spot)
        for spot in spots:
            if spot in taken or not passable[spot]:
                continue
            k = route(view, mem, mem.box_cells(), spot)
            if k is not None:
                self._spot = spot
                return action(k, self._look(view, k))
        if view.me in shelter.cells:
            return action(None, self._look(view, watch))
        return self._evade(view)

    # -- running away -----------------------------------------------------------------------
    def _evade(self, view: HnsView) -> np.ndarray:
        """Go to the nearest cell no known seeker can see, keeping away from them."""
        mem = self._memory
        boxes = mem.box_cells()
        blocked = blocked_cells(view, boxes)
        threats = list(mem.opponents.values())
        if not threats:
            k = random_step(view, self._rng, mem.box_cells()) if self._rng.random() < 0.3 else None
            return action(k, self._memory.clock % 4)
        rows = np.array([t[0] for t in threats], np.int64)
        cols = np.array([t[1] for t in threats], np.int64)
        exposed = seen_from_anywhere(blocked, rows, cols, SEEKER_SIGHT)
        dist, _ = explore_paths(view.walls, view.ramps, boxes, view.me)
        reach = dist >= 0
        rr, cc = np.indices(dist.shape)
        nearest = np.min([np.abs(rr - r) + np.abs(cc - c) for r, c in threats], axis=0)
        score = np.where(reach & ~exposed, 1000 - 4 * dist + 2 * nearest, -10**9)
        if score.max() <= -10**9:
            score = np.where(reach, 10 * nearest - dist, -10**9)
        target = np.unravel_index(int(np.argmax(score)), score.shape)
        k = route(view, mem, boxes, (int(target[0]), int(target[1])))
        nearest_threat = min(threats, key=lambda t: abs(t[0] - view.me[0]) + abs(t[1] - view.me[1]))
        return action(k, direction_to(view.me, nearest_threat))


class SeekerAgent(_SeededAgent):
    """Chases hiders: the nearest one in sight (facing it, keeping within two cells), else where
    one was last seen (turning round on the spot when one vanishes close by), else explores,
    heading for the cell that best trades distance against how long it has gone unseen. Paths
    vault from ramps, and push unlocked boxes only where there is no other way. A seeker that has
    not moved for two steps although it tried gives up its target for a while and steps aside at
    random."""

    name = "seeker"

    def __init__(self) -> None:
        super().__init__()
        self.reset(np.random.default_rng())

    def reset(self, rng: np.random.Generator) -> None:
        super().reset(rng)
        self._memory = Memory()
        self._last_seen: np.ndarray | None = None
        self._target: Cell | None = None
        self._banned: dict[Cell, int] = {}
        self._last: tuple[Cell, bool] | None = None
        self._stuck = 0
        self._search = 0

    def act(self, observation: Any) -> np.ndarray:
        view = read_observation(observation)
        if view.team != K.SEEKERS:
            raise ConfigError("the seeker agent plays the seekers; use 'hider' or 'heuristic'")
        if view.frozen:
            return action()
        mem = self._memory
        mem.update(view)
        clock = mem.clock
        if self._last_seen is None or self._last_seen.shape != view.walls.shape:
            self._last_seen = np.full(view.walls.shape, -10**6, np.int64)
        self._last_seen[view.visible] = clock
        if self._last is not None and self._last == (view.me, True):
            self._stuck += 1
        else:
            self._stuck = 0
        if self._stuck >= 2 and self._target is not None:
            self._banned[self._target] = clock + STALE_AFTER
            self._target = None
        self._banned = {cell: until for cell, until in self._banned.items() if until > clock}

        move, face = self._choose(view)
        if self._stuck >= 2:
            move = random_step(view, self._rng, mem.box_cells())
            face = move if face is None else face
        self._last = (view.me, move is not None)
        return action(move, face)

    def _choose(self, view: HnsView) -> tuple[int | None, int | None]:
        mem = self._memory
        boxes = mem.box_cells()
        others = set(view.seekers.values())
        dist, first = explore_paths(view.walls, view.ramps, boxes, view.me, others, push=False)
        # pushing boxes only where there is no other way
        pushing, push_first = explore_paths(view.walls, view.ramps, boxes, view.me, others)
        detour = (dist < 0) & (pushing > 0)
        dist = np.where(detour, pushing, dist)
        first = np.where(detour, push_first, first)
        if view.hiders:
            target = min(view.hiders.values(), key=lambda h: (abs(h[0] - view.me[0]) + abs(h[1] - view.me[1]), h))
            self._target = None  # once it is out of sight, go where it was last seen
            self._search = SEARCH_TURNS
            look = direction_to(view.me, target)
            if abs(target[0] - view.me[0]) + abs(target[1] - view.me[1]) <= 2:
                return None, look  # close enough: keep it in sight
            k = int(first[target]) if dist[target] > 0 else self._step_near(dist, first, target)
            return k, look
        if self._target is not None and (view.me == self._target or view.visible[self._target]):
            self._target = None  # reached, or in sight and empty
        if self._search > 0 and not mem.opponents:
            # It slipped out of sight next to us: turn round on the spot before giving up.
            self._search -= 1
            return None, (view.face + 1) % 4
        last_seen = [h for h in mem.opponents.values() if h not in self._banned]
        if last_seen:  # a hider's last known place beats any exploration
            self._target = min(last_seen, key=lambda h: (abs(h[0] - view.me[0]) + abs(h[1] - view.me[1]), h))
        if self._target is None:
            assert self._last_seen is not None
            stale = (dist > 0) & (self._last_seen < mem.clock - STALE_AFTER)
            for cell in self._banned:
                stale[cell] = False
            if stale.any():
                # nearest first, but a cell never seen (or long unseen) is worth a detour
                age = np.minimum(mem.clock - self._last_seen, MAX_AGE)
                d = np.where(stale, dist - AGE_WEIGHT * age, np.inf)
                best = np.argwhere(d == d.min())
                pick = best[int(self._rng.integers(len(best)))]
                self._target = (int(pick[0]), int(pick[1]))
        if self._target is None:
            k = random_step(view, self._rng, boxes)
            return k, k
        k = int(first[self._target]) if dist[self._target] > 0 else self._step_near(dist, first, self._target)
        return k, (k if k is not None else direction_to(view.me, self._target))

    @staticmethod
    def _step_near(dist: np.ndarray, first: np.ndarray, target: Cell) -> int | None:
        """First move towards the reachable cell closest (Manhattan) to an unreachable target."""
        cells = np.argwhere(dist > 0)
        if len(cells) == 0:
            return None
        gap = np.abs(cells[:, 0] - target[0]) + np.abs(cells[:, 1] - target[1])
        r, c = cells[int(np.argmin(gap * 1000 + dist[cells[:, 0], cells[:, 1]]))]
        return int(first[r, c])


class HeuristicHnsAgent(_SeededAgent):
    """The hider heuristic for hiders and the seeker heuristic for seekers (read from ``self``)."""

    name = "heuristic"

    def __init__(self) -> None:
        super().__init__()
        self._hider = HiderAgent()
        self._seeker = SeekerAgent()

    def reset(self, rng: np.random.Generator) -> None:
        super().reset(rng)
        self._hider.reset(rng)
        self._seeker.reset(rng)

    def act(self, observation: Any) -> np.ndarray:
        is_seeker = float(np.asarray(observation["self"])[K.SELF_INDEX["is_seeker"]]) > 0.5
        return (self._seeker if is_seeker else self._hider).act(observation)


SCRIPTED_HNS_AGENTS: dict[str, str] = {
    "random": "uniformly random [move, face, interact]",
    "noop": "stands still, never turns or touches anything",
    "hider": "barricades a single-door room with a locked box, else hides out of the seekers' sight",
    "seeker": "chases the hiders it sees, else explores (pushing boxes, vaulting from ramps)",
    "heuristic": "the hider heuristic as a hider, the seeker heuristic as a seeker",
}

_FACTORIES: dict[str, type[_SeededAgent]] = {
    "random": RandomHnsAgent,
    "noop": NoopHnsAgent,
    "hider": HiderAgent,
    "seeker": SeekerAgent,
    "heuristic": HeuristicHnsAgent,
}


def make_scripted_hns_agent(name: str) -> Agent:
    """Build a scripted hide-and-seek agent by name (see :data:`SCRIPTED_HNS_AGENTS`).

    Raises:
        UnknownNameError: for an unknown name, listing the known ones.
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        raise UnknownNameError(f"unknown hide-and-seek agent {name!r}; known: {', '.join(SCRIPTED_HNS_AGENTS)}")
    return factory()
