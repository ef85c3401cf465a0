"""A replay re-simulated once into per-step states and a log of events, for the viewer and export.

:meth:`Timeline.from_replay` plays a :class:`~palaestra.evaluation.replay.Replay` from its seed and
keeps what there is to show at every step: state 0 is the game after ``reset``, state ``i`` the
game after ``i`` steps. Events happen *during* a step and carry the number of the state they lead
to, so the events of step ``i`` are those shown together with state ``i``.

Bomber events (kinds): ``bomb`` (an agent lays a bomb), ``pickup`` (an agent picks up a power-up),
``kill`` (an agent dies in another agent's blast), ``death`` (an agent dies in its own blast or
in flames no bomb can be blamed for), ``win`` and ``tie`` (the game's result).

Kill attribution follows the rules kernel exactly. The bombs that exploded in a step are those
present after the agents and bombs moved but gone after the step; where they were when they went
off is found by stepping a copy of the game in which no bomb can explode (a probe), so kicked and
sliding bombs are placed right. Each exploded bomb's blast is recomputed with Pommerman's rule
from the walls before the step (cells 1..strength-1 up, left and right, 0..strength-1 down;
rigid walls stop a blast, wood is hit and stops it), which is how the kernel computes it, chains
included: every bomb of a chain reaches its own cells. An agent that dies is killed by the owners
of the exploded bombs whose blast reaches its cell, and by the owners of the flames it walked into
(flames remember the bombs that laid them while they burn).

Kelly events: ``cap`` (the wealth reaches the cap), ``bust`` (the wealth falls to zero) and
``end`` (the rounds run out).
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.evaluation.replay import (
    BOMBER_ENV_ID,
    KELLY_ENV_ID,
    KELLY_GENERALIZED_ENV_ID,
    Replay,
    ReplayError,
    load_replay,
)

Family = Literal["bomber", "kelly"]
_FAMILY: dict[str, Family] = {
    BOMBER_ENV_ID: "bomber",
    KELLY_ENV_ID: "kelly",
    KELLY_GENERALIZED_ENV_ID: "kelly",
}

BOMBER_EVENT_KINDS = ("bomb", "pickup", "death", "kill", "win", "tie")
KELLY_EVENT_KINDS = ("cap", "bust", "end")
POWERUP_NAMES = {C.EXTRA_BOMB: "extra bomb", C.INCR_RANGE: "blast range", C.KICK: "kick"}
"""What each power-up code is called in the event log."""


class ViewerError(RuntimeError):
    """The viewer cannot do what was asked: no display, an unwritable file, an env with no viewer."""


@dataclass(frozen=True)
class Event:
    """Something that happened during one step of a game."""

    step: int
    """The state the event leads to (it happened during the step from ``step - 1``)."""
    kind: str
    """Bomber: bomb, pickup, death, kill, win, tie; Kelly: cap, bust, end."""
    agent: int | None
    """Seat of the agent it is about (the killer for a kill), or None (a tie)."""
    name: str
    """Seat name of ``agent`` (``player_2``), or "" when there is none."""
    text: str
    """One line for the event log, e.g. ``player_2 (simple) killed player_1 (random)``."""
    victim: int | None = None
    """Seat of the agent that died (kill and death events)."""
    killers: tuple[int, ...] = ()
    """Owners of the bombs and flames that killed ``victim`` (may include the victim itself)."""


@dataclass(frozen=True)
class BomberState:
    """A Bomber game after ``step`` steps (copies of the kernel's arrays, live rows only)."""

    step: int
    board: np.ndarray
    """(11, 11) int8 Pommerman item codes."""
    agents: np.ndarray
    """(4, 6): alive, row, col, ammo, blast_strength, can_kick per agent."""
    bombs: np.ndarray
    """(n, 6): owner, row, col, life, blast_strength, moving_direction per live bomb."""
    flames: np.ndarray
    """(m, 3): row, col, life per flame."""

    @property
    def alive(self) -> list[bool]:
        return [bool(a) for a in self.agents[:, 0]]

    def bomb_life(self) -> np.ndarray:
        """(11, 11) life of the bomb on each cell, 0 where there is none."""
        out = np.zeros(self.board.shape, dtype=np.int64)
        for _, r, c, life, _, _ in self.bombs:
            out[r, c] = life
        return out

    def flame_life(self) -> np.ndarray:
        """(11, 11) flame life plus one on each burning cell (Pommerman's convention), else 0."""
        out = np.zeros(self.board.shape, dtype=np.int64)
        for r, c, life in self.flames:
            out[r, c] = life + 1
        return out


@dataclass(frozen=True)
class KellyState:
    """A Kelly game after ``step`` rounds."""

    step: int
    wealth_cents: int
    bet_cents: int
    """The bet placed in this round (after clipping to the wealth); 0 for state 0."""
    won: bool | None
    """Whether this round's flip was won; None for state 0."""
    wins: int
    losses: int


@dataclass
class Timeline:
    """A game, step by step: states, events and what the viewer shows about the game."""

    replay: Replay
    family: Family
    seats: list[str]
    """Seat names: ``player_0``..``player_3`` (Bomber), ``player`` (Kelly)."""
    agents: list[str]
    """Agent name per seat, as recorded in the replay."""
    states: list[Any]
    """State ``i`` is the game after ``i`` steps (:class:`BomberState` or :class:`KellyState`)."""
    events: list[Event]
    """All events, in step order."""
    params: dict[str, Any] = field(default_factory=dict)
    """Bomber: mode, agent_view_size, partially_observable, max_steps; Kelly: edge, cap_cents,
    rounds, initial_cents, hidden (whether the game hid them from the agent)."""

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def from_replay(cls, replay: Replay) -> "Timeline":
        """Re-simulate ``replay`` once and collect every state and event.

        Raises :class:`ViewerError` for an env the viewer does not know and
        :class:`~palaestra.evaluation.replay.ReplayError` when the actions cannot be played.
        """
        family = _FAMILY.get(replay.env_id)
        if family == "bomber":
            return _bomber_timeline(replay)
        if family == "kelly":
            return _kelly_timeline(replay)
        known = ", ".join(sorted(_FAMILY))
        raise ViewerError(f"no viewer for env {replay.env_id!r}; the viewer knows {known}")

    # -- queries -----------------------------------------------------------------------------
    @property
    def last_step(self) -> int:
        """Number of the final state (the number of steps played)."""
        return len(self.states) - 1

    def state(self, step: int) -> Any:
        """State after ``step`` steps (clamped to 0..last_step)."""
        return self.states[max(0, min(int(step), self.last_step))]

    def label(self, seat: int) -> str:
        """``player_2 (simple)``: seat name and agent name."""
        return _label(self.seats, self.agents, seat)

    def events_until(self, step: int, kinds: Iterable[str] | None = None) -> list[Event]:
        """Events of steps 0..``step`` (oldest first), only those of ``kinds`` if given."""
        steps = [e.step for e in self.events]
        upto = self.events[: bisect.bisect_right(steps, step)]
        if kinds is None:
            return upto
        wanted = set(kinds)
        return [e for e in upto if e.kind in wanted]

    def death_step(self, seat: int) -> int | None:
        """Step at which ``seat`` died, or None if it never did."""
        for e in self.events:
            if e.kind in ("kill", "death") and e.victim == seat:
                return e.step
        return None


def load_timeline(path: str | os.PathLike[str], verify: bool = True) -> Timeline:
    """Load a replay file and build its timeline.

    Raises :class:`~palaestra.evaluation.replay.ReplayError` (from :func:`load_replay`) for a
    missing, malformed or mismatched file, :class:`ViewerError` for an env with no viewer.
    """
    return Timeline.from_replay(load_replay(path, verify=verify))


def _label(seats: list[str], agents: list[str], seat: int) -> str:
    name = agents[seat] if seat < len(agents) else ""
    return f"{seats[seat]} ({name})" if name and name != seats[seat] else seats[seat]


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


# -- Bomber --------------------------------------------------------------------------------------
_UP, _DOWN, _LEFT, _RIGHT = 1, 2, 3, 4
_DELTAS = {_UP: (-1, 0), _DOWN: (1, 0), _LEFT: (0, -1), _RIGHT: (0, 1)}


def blast_cells(board: np.ndarray, row: int, col: int, strength: int) -> set[tuple[int, int]]:
    """Cells a bomb at (row, col) with ``strength`` sets on fire, by Pommerman's rule.

    Up, left and right: 1..strength-1 cells; down: 0..strength-1 (the bomb's own cell is reached
    through the downward ray). A rigid wall stops the blast; wood is set on fire and stops it.
    """
    n_rows, n_cols = board.shape
    cells: set[tuple[int, int]] = set()
    for d, (dr, dc) in _DELTAS.items():
        for j in range(0 if d == _DOWN else 1, int(strength)):
            r, c = row + dr * j, col + dc * j
            if not (0 <= r < n_rows and 0 <= c < n_cols) or board[r, c] == C.RIGID:
                break
            cells.add((r, c))
            if board[r, c] == C.WOOD:
                break
    return cells


def _snapshot(batch: Any) -> BomberState:
    from palaestra.envs.bomber.core import N_BOMBS, N_FLAMES, STEP

    meta = batch.meta[0]
    return BomberState(
        step=int(meta[STEP]),
        board=batch.board[0].copy(),
        agents=batch.agents[0].copy(),
        bombs=batch.bombs[0, : int(meta[N_BOMBS])].copy(),
        flames=batch.flames[0, : int(meta[N_FLAMES])].copy(),
    )


def _burnt_board(batch: Any) -> np.ndarray:
    """The board after the first phase of a step: flames that die reveal their item or a passage.

    Exactly the kernel's phase 1 (an item under a dying flame is lost if another flame on the same
    cell still burns), so a power-up an agent walks onto in the step shows here.
    """
    from palaestra.envs.bomber.core import N_FLAMES

    board = batch.board[0].copy()
    items = batch.items[0].copy()
    burning = []
    for r, c, life in batch.flames[0, : int(batch.meta[0, N_FLAMES])]:
        if life == 0:
            board[r, c] = items[r, c] if items[r, c] != 0 else C.PASSAGE
            items[r, c] = 0
        else:
            burning.append((r, c))
    for r, c in burning:
        board[r, c] = C.FLAMES
    return board


def _moved_bombs(batch: Any, moves: np.ndarray, blast_cap: int) -> np.ndarray:
    """Every bomb (live ones, then the ones laid this step) where it is once everything has moved.

    Steps a copy of the game in which nothing can explode: flames are cleared (they only matter to
    movement through the items they reveal, which :func:`_burnt_board` puts on the board) and bomb
    lives raised by 1000 for the step. Row ``i`` is the ``i``-th bomb in the kernel's list order,
    with the life it has after the step if it does not explode.
    """
    from palaestra.envs.bomber.core import LIFE, N_BOMBS, N_FLAMES

    probe = batch.copy()
    board = _burnt_board(batch)
    board[board == C.FLAMES] = C.PASSAGE
    probe.board[0] = board
    probe.meta[0, N_FLAMES] = 0
    nb = int(probe.meta[0, N_BOMBS])
    probe.bombs[0, :nb, LIFE] += 1000
    probe.step(moves, blast_cap)
    moved = probe.bombs[0, : int(probe.meta[0, N_BOMBS])].copy()
    moved[:nb, LIFE] -= 1000
    return moved


def _exploded(moved: np.ndarray, after: np.ndarray) -> list[np.ndarray]:
    """Rows of ``moved`` (see :func:`_moved_bombs`) whose bomb is not in ``after`` (it exploded).

    The kernel keeps surviving bombs in list order, so ``after`` is a subsequence of ``moved``;
    a survivor has the same owner, cell, strength and life.
    """
    from palaestra.envs.bomber.core import B_BLAST, B_COL, B_ROW, LIFE, OWNER

    gone, j = [], 0
    for bomb in moved:
        if j < len(after):
            other = after[j]
            same = (other[OWNER] == bomb[OWNER] and other[B_ROW] == bomb[B_ROW]
                    and other[B_COL] == bomb[B_COL] and other[B_BLAST] == bomb[B_BLAST]
                    and other[LIFE] == bomb[LIFE])
            if same:
                j += 1
                continue
        gone.append(bomb)
    return gone


def _moves(step_actions: dict[str, Any], names: list[str]) -> np.ndarray:
    """(1, 4) move codes of one recorded step (the move of a ``[move, word, word]`` radio action)."""
    moves = np.zeros((1, len(names)), dtype=np.int64)
    for k, name in enumerate(names):
        action = step_actions.get(name, 0)
        moves[0, k] = int(action[0]) if isinstance(action, (list, tuple)) else int(action)
    return moves


class _BomberEvents:
    """Turns consecutive states into events; keeps which bombs laid the flames still burning."""

    def __init__(self, seats: list[str], agents: list[str]) -> None:
        self.seats = seats
        self.agents = agents
        self.flame_owners: dict[tuple[int, int], set[int]] = {}

    def label(self, seat: int) -> str:
        return _label(self.seats, self.agents, seat)

    def step(self, before: BomberState, burnt: np.ndarray, moved: np.ndarray,
             n_before: int, after: BomberState) -> list[Event]:
        from palaestra.envs.bomber.core import ALIVE, B_BLAST, B_COL, B_ROW, COL, OWNER, ROW

        i = after.step
        events: list[Event] = []
        for bomb in moved[n_before:]:
            k = int(bomb[OWNER])
            events.append(Event(i, "bomb", k, self.seats[k],
                                f"{self.seats[k]} laid a bomb at ({int(bomb[B_ROW])}, {int(bomb[B_COL])})"))
        for k in range(len(self.seats)):
            if not before.agents[k, ALIVE]:
                continue
            r, c = int(after.agents[k, ROW]), int(after.agents[k, COL])
            moved_here = (r, c) != (int(before.agents[k, ROW]), int(before.agents[k, COL]))
            item = int(burnt[r, c])
            if moved_here and item in POWERUP_NAMES:
                events.append(Event(i, "pickup", k, self.seats[k],
                                    f"{self.seats[k]} picked up {POWERUP_NAMES[item]}"))

        # who set which cell on fire this step
        fired: dict[tuple[int, int], set[int]] = {}
        for bomb in _exploded(moved, after.bombs):
            cells = blast_cells(before.board, int(bomb[B_ROW]), int(bomb[B_COL]), int(bomb[B_BLAST]))
            for cell in cells:
                fired.setdefault(cell, set()).add(int(bomb[OWNER]))

        for k in range(len(self.seats)):
            if not (before.agents[k, ALIVE] and not after.agents[k, ALIVE]):
                continue
            cell = (int(after.agents[k, ROW]), int(after.agents[k, COL]))
            killers = set(fired.get(cell, set()))
            if burnt[cell] == C.FLAMES:  # walked into flames that were already burning
                killers |= self.flame_owners.get(cell, set())
            events.append(self._death(i, k, sorted(killers)))

        owners: dict[tuple[int, int], set[int]] = {}
        for r, c, _ in after.flames:
            cell = (int(r), int(c))
            owners[cell] = fired.get(cell, set()) | (
                self.flame_owners.get(cell, set()) if burnt[cell] == C.FLAMES else set())
        self.flame_owners = owners
        return events

    def _death(self, step: int, victim: int, killers: list[int]) -> Event:
        others = [k for k in killers if k != victim]
        who = self.label(victim)
        if others:
            text = f"{_join([self.label(k) for k in others])} killed {who}"
            if victim in killers:
                text += ", also caught in its own blast"
            return Event(step, "kill", others[0], self.seats[others[0]], text, victim, tuple(killers))
        if killers:
            return Event(step, "death", victim, self.seats[victim], f"{who} died in its own blast",
                         victim, tuple(killers))
        return Event(step, "death", victim, self.seats[victim], f"{who} died in flames", victim)

    def result(self, step: int, info: dict[str, Any], timeout: bool) -> Event:
        from palaestra.envs.bomber.env import AGENT_INDEX

        winners = [AGENT_INDEX[w] for w in info.get("winners", [])]
        if winners:
            verb = "wins" if len(winners) == 1 else "win"
            return Event(step, "win", winners[0], self.seats[winners[0]],
                         f"{_join([self.label(k) for k in winners])} {verb}")
        why = "time ran out" if timeout else "no one is left"
        return Event(step, "tie", None, "", f"tie: {why}")


def _bomber_timeline(replay: Replay) -> Timeline:
    from palaestra.envs.bomber.core import N_BOMBS
    from palaestra.envs.bomber.env import AGENT_NAMES, BomberParallelEnv

    try:
        env = BomberParallelEnv(**replay.env_config)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"env_config is not valid for {replay.env_id}: {exc}") from None
    seats = list(AGENT_NAMES)
    maker = _BomberEvents(seats, list(replay.agents))
    blast_cap = env.config.blast_cap
    try:
        env.reset(seed=replay.seed)
        states = [_snapshot(env.batch)]
        events: list[Event] = []
        for i, step_actions in enumerate(replay.actions):
            if not env.agents:
                raise ReplayError(f"step {i}: the game ended after {i} steps, but the replay "
                                  f"has {len(replay.actions)}")
            before = states[-1]
            burnt = _burnt_board(env.batch)
            n_before = int(env.batch.meta[0, N_BOMBS])
            moved = _moved_bombs(env.batch, _moves(step_actions, seats), blast_cap)
            try:
                _, _, _, truncations, infos = env.step(step_actions)
            except ValueError as exc:
                raise ReplayError(f"step {i}: the env rejects the action: {exc}") from None
            after = _snapshot(env.batch)
            states.append(after)
            events.extend(maker.step(before, burnt, moved, n_before, after))
            info = next((v for v in infos.values() if "result" in v), None)
            if info is not None:
                events.append(maker.result(after.step, info, any(truncations.values())))
    finally:
        env.close()
    c = env.config
    params = {"mode": c.mode, "agent_view_size": c.agent_view_size,
              "partially_observable": c.partially_observable, "max_steps": c.max_steps}
    return Timeline(replay, "bomber", seats, list(replay.agents), states, events, params)


# -- Kelly ---------------------------------------------------------------------------------------
def _kelly_timeline(replay: Replay) -> Timeline:
    from palaestra.envs.registration import get_spec

    cls = get_spec(replay.env_id).load()
    try:
        env = cls(**replay.env_config)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"env_config is not valid for {replay.env_id}: {exc}") from None
    try:
        _, info = env.reset(seed=replay.seed)
        params = _kelly_params(env, int(info["wealth_cents"]))
        states = [KellyState(0, int(info["wealth_cents"]), 0, None, 0, 0)]
        events: list[Event] = []
        done = False
        for i, bet in enumerate(replay.actions):
            if done:
                raise ReplayError(f"step {i}: the game ended after {i} steps, but the replay "
                                  f"has {len(replay.actions)}")
            try:
                _, _, terminated, truncated, info = env.step(np.int64(bet))
            except (ValueError, OverflowError) as exc:
                raise ReplayError(f"step {i}: the env rejects the action: {exc}") from None
            prev = states[-1]
            won = bool(info["won"])
            state = KellyState(i + 1, int(info["wealth_cents"]), int(info["bet_cents"]), won,
                               prev.wins + won, prev.losses + (not won))
            states.append(state)
            done = bool(terminated or truncated)
            if done:
                events.append(_kelly_end(state, params))
    finally:
        env.close()
    seat = "player"
    return Timeline(replay, "kelly", [seat], list(replay.agents), states, events, params)


def _kelly_params(env: Any, initial_cents: int) -> dict[str, Any]:
    """Edge, cap and length of the game just reset (the drawn ones in the generalized game)."""
    hidden = getattr(env, "hidden_parameters", None)
    if hidden is not None:
        edge, cap_cents, rounds = hidden["edge"], round(hidden["max_wealth"] * 100), hidden["max_rounds"]
    else:
        c = env.config
        edge, cap_cents, rounds = c.edge, c.cap_cents, c.max_rounds
    return {"edge": float(edge), "cap_cents": int(cap_cents), "rounds": int(rounds),
            "initial_cents": initial_cents, "hidden": hidden is not None}


def _kelly_end(state: KellyState, params: dict[str, Any]) -> Event:
    wealth = f"${state.wealth_cents / 100:,.2f}"
    if state.wealth_cents <= 0:
        return Event(state.step, "bust", 0, "player", f"bust: wealth $0.00 after round {state.step}")
    if state.wealth_cents >= params["cap_cents"]:
        return Event(state.step, "cap", 0, "player", f"cap reached: {wealth} in round {state.step}")
    return Event(state.step, "end", 0, "player", f"rounds ran out: {wealth} after {state.step} rounds")


__all__ = [
    "BOMBER_EVENT_KINDS",
    "KELLY_EVENT_KINDS",
    "BomberState",
    "Event",
    "KellyState",
    "Timeline",
    "ViewerError",
    "blast_cells",
    "load_timeline",
]
