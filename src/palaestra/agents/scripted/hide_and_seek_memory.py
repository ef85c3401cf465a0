"""What a scripted hide-and-seek agent remembers within an episode, and the moves it plans from it.

Used by the hider and seeker heuristics of :mod:`palaestra.agents.scripted.hide_and_seek`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from palaestra.agents.scripted.hide_and_seek_plan import (
    STEPS,
    Cell,
    HnsView,
    SeenBox,
    Shelter,
    explore_paths,
    find_shelters,
)
from palaestra.envs.hide_and_seek import constants as K


class Memory:
    """What a scripted agent remembers within an episode."""

    def __init__(self) -> None:
        self.boxes: dict[int, SeenBox] = {}
        self.opponents: dict[int, Cell] = {}
        self.mates: dict[int, Cell] = {}
        self.layout_key: bytes | None = None
        self.shelters: list[Shelter] = []
        self.clock = 0
        self.seen: np.ndarray | None = None

    def update(self, view: HnsView) -> None:
        self.clock += 1
        if self.seen is None or self.seen.shape != view.visible.shape:
            self.seen = np.zeros(view.visible.shape, bool)
        self.seen |= view.visible
        # forget what should be in sight but is not
        self.boxes = {slot: b for slot, b in self.boxes.items() if not view.visible[b.cell]}
        self.boxes.update(view.boxes)
        mates, opponents = (view.hiders, view.seekers) if view.team == K.HIDERS else (view.seekers, view.hiders)
        self.opponents = {slot: c for slot, c in self.opponents.items() if not view.visible[c]}
        self.opponents.update(opponents)
        self.mates = {slot: c for slot, c in self.mates.items() if not view.visible[c]}
        self.mates.update(mates)
        key = view.walls.tobytes() + view.ramps.tobytes()
        if key != self.layout_key:
            self.layout_key = key
            self.shelters = find_shelters(view.walls, view.ramps)

    def box_cells(self, exclude: int | None = None) -> dict[Cell, int]:
        return {b.cell: b.lock for slot, b in self.boxes.items() if slot != exclude}


def blocked_cells(view: HnsView, boxes: Mapping[Cell, int]) -> np.ndarray:
    blocked = view.walls.copy()
    for cell in boxes:
        blocked[cell] = True
    return blocked


def obstacles(view: HnsView, memory: Memory) -> set[Cell]:
    """Cells of the agents in sight, and during preparation of the (frozen) seekers seen before."""
    cells = {*view.hiders.values(), *view.seekers.values()}
    if view.prep and view.team == K.HIDERS:
        cells |= set(memory.opponents.values()) | set(memory.mates.values())
    return cells


def route(view: HnsView, memory: Memory, boxes: Mapping[Cell, int], goal: Cell) -> int | None:
    """First move of a shortest path to ``goal`` (walking, pushing unlocked boxes, vaulting),
    going round the agents in sight when possible so that two agents do not walk into each other."""
    others = obstacles(view, memory) - {goal}
    for avoid, push in ((others, True), ((), True)):
        dist, first = explore_paths(view.walls, view.ramps, boxes, view.me, avoid, push)
        if dist[goal] > 0:
            return int(first[goal])
    return None


def random_step(view: HnsView, rng: np.random.Generator, boxes: Mapping[Cell, int]) -> int | None:
    """A random direction into a cell free of walls and known boxes (None if boxed in)."""
    h, w = view.walls.shape
    options = [k for k, (dr, dc) in enumerate(STEPS)
               if 0 <= view.me[0] + dr < h and 0 <= view.me[1] + dc < w
               and not view.walls[view.me[0] + dr, view.me[1] + dc]
               and (view.me[0] + dr, view.me[1] + dc) not in boxes]
    return options[int(rng.integers(len(options)))] if options else None
