"""Scripted agents for Bomber (the Pommerman reimplementation).

They act on Pommerman's per-agent observation dict (``board``, ``bomb_blast_strength``,
``position``, ``ammo``, ``blast_strength``, ``enemies``, ...) and return an action code 0..5.
``SimpleBomberAgent`` is a behavioural port of the playground's ``SimpleAgent``, the usual
benchmark; its board reasoning lives in :mod:`palaestra.agents.scripted.simple`.

Every random choice is drawn from the ``np.random.Generator`` given to ``reset``, so the same
seed gives the same actions (or from a draw source assigned to ``agent.draws`` after ``reset``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from palaestra.agents.base import Agent, SeededAgent
from palaestra.agents.scripted import simple as sb
from palaestra.envs.bomber.constants import (
    DOWN,
    LAY_BOMB,
    LEFT,
    NUM_ACTIONS,
    POWERUPS,
    RIGHT,
    STOP,
    UP,
    WOOD,
)
from palaestra.errors import UnknownNameError

SEARCH_DEPTH = 10
"""Manhattan radius of SimpleAgent's board search."""
RECENT_MEMORY = 6
"""How many 'uninteresting' cells SimpleAgent remembers to avoid walking back into."""
ENEMY_RADIUS = 3
POWERUP_RADIUS = 2
WOOD_RADIUS = 2


@dataclass(frozen=True)
class BomberView:
    """A normalised observation: plain python ints and int arrays, whatever the source types."""

    board: np.ndarray
    bombs: list[sb.Bomb]
    position: sb.Position
    ammo: int
    blast_strength: int
    enemies: list[int]


def _int(value: Any) -> int:
    """A python int from an int, bool, enum member, or 0-d / 1-element array."""
    value = getattr(value, "value", value)
    return int(np.asarray(value).reshape(-1)[0])


def _codes(values: Any) -> list[int]:
    """Item codes as python ints from a list (of ints or enum members) or an int array."""
    if isinstance(values, np.ndarray):
        return [int(v) for v in values.reshape(-1)]
    return [int(getattr(v, "value", v)) for v in values]


def normalise_observation(observation: Mapping[str, Any]) -> BomberView:
    """Read what the scripted agents need from a Pommerman-style observation dict."""
    board = np.asarray(observation["board"]).astype(np.int64)
    strengths = np.asarray(observation["bomb_blast_strength"])
    rows, cols = np.nonzero(strengths > 0)
    bombs = [(int(r), int(c), int(strengths[r, c])) for r, c in zip(rows, cols)]
    row, col = (int(v) for v in np.asarray(observation["position"]).reshape(-1)[:2])
    return BomberView(
        board=board,
        bombs=bombs,
        position=(row, col),
        ammo=_int(observation["ammo"]),
        blast_strength=_int(observation["blast_strength"]),
        enemies=_codes(observation["enemies"]),
    )


class _SeededAgent(SeededAgent):
    """A scripted Bomber agent whose random choices come from :attr:`draws`.

    ``reset(rng)`` sets :attr:`draws` to :class:`~palaestra.agents.scripted.simple.GeneratorDraws`
    over ``rng``; assigning another draw source afterwards (such as
    :class:`~palaestra.agents.scripted.simple.UniformDraws`) feeds the agent chosen draws, which is
    how the compiled bots are compared with this port.
    """

    name = "bomber-agent"

    def __init__(self) -> None:
        super().__init__()
        self.draws: sb.Draws = sb.GeneratorDraws(self._rng)

    def reset(self, rng: np.random.Generator) -> None:
        super().reset(rng)
        self.draws = sb.GeneratorDraws(rng)

    def _choice(self, options: list[int]) -> int:
        return int(options[self.draws.below(len(options))])


class RandomBomberAgent(_SeededAgent):
    """Picks one of the six actions uniformly at random."""

    name = "random"

    def act(self, observation: Any) -> int:
        return self.draws.below(NUM_ACTIONS)


class StaticBomberAgent(_SeededAgent):
    """Never moves and never bombs (always STOP)."""

    name = "static"

    def act(self, observation: Any) -> int:
        return STOP


class SimpleBomberAgent(_SeededAgent):
    """Behavioural port of Pommerman's ``SimpleAgent``.

    Decision order, each step (first rule that fires wins):

    1. if a searched bomb lies in line within its blast strength, flee (random escape move);
    2. lay a bomb when an enemy is one move away and we can still escape;
    3. step toward an enemy within 3 moves (a repeat of the last such direction only half the
       time, to break stand-offs);
    4. step toward a power-up within 2 moves;
    5. next to wood: lay a bomb if we can escape, else stand still;
    6. step toward wood within 2 moves unless that cell is in a bomb's line;
    7. otherwise a random walkable move out of bomb lines, avoiding the last 6 cells visited by
       this rule, preferring moving to standing.
    """

    name = "simple"

    def __init__(self) -> None:
        super().__init__()
        self._recent: list[sb.Position] = []
        self._prev_direction: int | None = None

    def reset(self, rng: np.random.Generator) -> None:
        super().reset(rng)
        self._recent = []
        self._prev_direction = None

    def act(self, observation: Any) -> int:
        view = normalise_observation(observation)
        board, bombs, enemies, me = view.board, view.bombs, view.enemies, view.position
        reach = sb.search(board, me, bombs, enemies, SEARCH_DEPTH, self.draws)

        threats = sb.threatened_directions(me, bombs, reach.dist)
        if threats:
            return self._choice(sb.escape_directions(board, me, threats, enemies))

        enemy_adjacent = any(
            reach.dist[cell] == 1 for code in enemies for cell in reach.items.get(code, ())
        )
        if enemy_adjacent and sb.can_bomb_safely(view.ammo, view.blast_strength, reach, me):
            return LAY_BOMB

        direction = sb.first_step(me, sb.nearest(reach, enemies, ENEMY_RADIUS), reach)
        if direction is not None and (
            direction != self._prev_direction or self.draws.random() < 0.5
        ):
            self._prev_direction = direction
            return direction

        direction = sb.first_step(me, sb.nearest(reach, POWERUPS, POWERUP_RADIUS), reach)
        if direction is not None:
            return direction

        if sb.nearest(reach, (WOOD,), 1) is not None:
            safe = sb.can_bomb_safely(view.ammo, view.blast_strength, reach, me)
            return LAY_BOMB if safe else STOP

        direction = sb.first_step(me, sb.nearest(reach, (WOOD,), WOOD_RADIUS), reach)
        if direction is not None and sb.out_of_blast_lines(me, [direction], bombs):
            return direction

        moves = sb.walkable_moves(board, me, (STOP, LEFT, RIGHT, UP, DOWN), enemies)
        moves = sb.out_of_blast_lines(me, moves, bombs)
        moves = sb.not_recently_visited(me, moves, self._recent)
        if len(moves) > 1:
            moves = [m for m in moves if m != STOP]
        self._recent = (self._recent + [me])[-RECENT_MEMORY:]
        return self._choice(moves or [STOP])


class CautiousSimpleBomberAgent(SimpleBomberAgent):
    """SimpleAgent's move when the ``cautious`` action filter allows it, else a uniform allowed one.

    The filter is :mod:`palaestra.envs.bomber.filters` (imported at the first move: numba).
    Against three SimpleAgents this wins far more often than either part alone (docs/league.md,
    "The imitation warm start"), which makes it the teacher of the league's imitation warm start.
    The league's boards play the same rule with the compiled SimpleAgent
    (``GUARDED_BOTS`` in :mod:`palaestra.league.population.vector_playout`). The SimpleAgent's
    draws and the fallback's both come from the generator given to ``reset``.
    """

    name = "cautious-simple"

    def act(self, observation: Any) -> int:
        from palaestra.agents.scripted.filtered import observation_mask

        move = super().act(observation)
        allowed = observation_mask(observation, "cautious")
        if allowed[move]:
            return move
        options = np.flatnonzero(allowed)
        return int(options[int(self._rng.integers(len(options)))])


SCRIPTED_BOMBER_AGENTS: dict[str, str] = {
    "random": "uniformly random action among the six (moves, stop, bomb)",
    "static": "always stops: never moves, never bombs",
    "simple": "port of Pommerman's SimpleAgent: flees bombs, bombs wood/enemies, chases items",
    "filtered-random": "uniformly random among the actions the action filter allows (no certain "
                       "death within the bomb timers): the no-learning baseline",
    "cautious-random": "uniformly random among the actions the cautious filter allows (also "
                       "weighs a near opponent's next bomb or step): the baseline of leagues "
                       "trained behind that filter",
    "cautious-simple": "SimpleAgent's move when the cautious filter allows it, else a random "
                       "allowed one: the teacher of the league's imitation warm start",
}


def _filtered_random() -> Agent:
    from palaestra.agents.scripted.filtered import FilteredRandomBomberAgent  # numba: lazily

    return FilteredRandomBomberAgent()


def _cautious_random() -> Agent:
    from palaestra.agents.scripted.filtered import CautiousRandomBomberAgent  # numba: lazily

    return CautiousRandomBomberAgent()


_FACTORIES: dict[str, Callable[[], Agent]] = {
    "random": RandomBomberAgent,
    "static": StaticBomberAgent,
    "simple": SimpleBomberAgent,
    "filtered-random": _filtered_random,
    "cautious-random": _cautious_random,
    "cautious-simple": CautiousSimpleBomberAgent,
}


def make_scripted_bomber_agent(name: str) -> Agent:
    """Build a scripted Bomber agent by name (see :data:`SCRIPTED_BOMBER_AGENTS`).

    Raises:
        UnknownNameError: for an unknown name, listing the known ones.
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        known = ", ".join(SCRIPTED_BOMBER_AGENTS)
        raise UnknownNameError(f"unknown Bomber agent {name!r}; known: {known}")
    return factory()
