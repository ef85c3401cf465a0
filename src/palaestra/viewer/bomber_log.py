"""A Bomber replay re-simulated into per-step states and an event log (for :mod:`.timeline`).

Event kinds: ``bomb`` (an agent lays a bomb), ``pickup`` (an agent picks up a power-up), ``kill``
(an agent dies in another agent's blast), ``death`` (an agent dies in its own blast or in flames
no bomb can be blamed for), ``win`` and ``tie`` (the game's result).

What happened in each step (bombs laid, explosions, pick-ups, deaths and who caused them) is read
from :mod:`palaestra.envs.bomber.events`, which owns those rules; this module only words it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.core import N_BOMBS, N_FLAMES, STEP, BomberBatch
from palaestra.envs.bomber.env import AGENT_INDEX, AGENT_NAMES, BomberParallelEnv
from palaestra.envs.bomber.events import Death, FlameOwners, StepEvents, step_events
from palaestra.evaluation.replay import Replay, ReplayError
from palaestra.viewer.records import BomberState, Event, join_labels, seat_label

POWERUP_NAMES = {C.EXTRA_BOMB: "extra bomb", C.INCR_RANGE: "blast range", C.KICK: "kick"}
"""What each power-up code is called in the event log."""


def snapshot(batch: BomberBatch) -> BomberState:
    """Board 0 of ``batch`` as a :class:`BomberState` (copies, live bombs and flames only)."""
    meta = batch.meta[0]
    return BomberState(
        step=int(meta[STEP]),
        board=batch.board[0].copy(),
        agents=batch.agents[0].copy(),
        bombs=batch.bombs[0, : int(meta[N_BOMBS])].copy(),
        flames=batch.flames[0, : int(meta[N_FLAMES])].copy(),
    )


def _moves(step_actions: dict[str, Any], names: list[str]) -> np.ndarray:
    """(1, 4) move codes of one recorded step (the move of a ``[move, word, word]`` radio action)."""
    moves = np.zeros((1, len(names)), dtype=np.int64)
    for k, name in enumerate(names):
        action = step_actions.get(name, 0)
        moves[0, k] = int(action[0]) if isinstance(action, (list, tuple)) else int(action)
    return moves


class _Narrator:
    """Words the events of each step for the log."""

    def __init__(self, seats: list[str], agents: list[str]) -> None:
        self.seats = seats
        self.agents = agents

    def label(self, seat: int) -> str:
        return seat_label(self.seats, self.agents, seat)

    def step(self, happened: StepEvents) -> list[Event]:
        i = happened.step
        events: list[Event] = []
        for bomb in happened.laid:
            k = bomb.owner
            events.append(Event(i, "bomb", k, self.seats[k],
                                f"{self.seats[k]} laid a bomb at ({bomb.row}, {bomb.col})"))
        for pickup in happened.pickups:
            k = pickup.agent
            events.append(Event(i, "pickup", k, self.seats[k],
                                f"{self.seats[k]} picked up {POWERUP_NAMES[pickup.item]}"))
        events.extend(self._death(i, death) for death in happened.deaths)
        return events

    def _death(self, step: int, death: Death) -> Event:
        victim, killers = death.agent, list(death.killers)
        others = [k for k in killers if k != victim]
        who = self.label(victim)
        if others:
            text = f"{join_labels([self.label(k) for k in others])} killed {who}"
            if victim in killers:
                text += ", also caught in its own blast"
            return Event(step, "kill", others[0], self.seats[others[0]], text, victim, tuple(killers))
        if killers:
            return Event(step, "death", victim, self.seats[victim], f"{who} died in its own blast",
                         victim, tuple(killers))
        return Event(step, "death", victim, self.seats[victim], f"{who} died in flames", victim)

    def result(self, step: int, info: dict[str, Any], timeout: bool) -> Event:
        winners = [AGENT_INDEX[w] for w in info.get("winners", [])]
        if winners:
            verb = "wins" if len(winners) == 1 else "win"
            return Event(step, "win", winners[0], self.seats[winners[0]],
                         f"{join_labels([self.label(k) for k in winners])} {verb}")
        why = "time ran out" if timeout else "no one is left"
        return Event(step, "tie", None, "", f"tie: {why}")


def simulate_bomber(replay: Replay) -> tuple[list[str], list[BomberState], list[Event], dict[str, Any]]:
    """Seat names, every state, the event log and the game's parameters of a Bomber replay.

    Raises :class:`~palaestra.evaluation.replay.ReplayError` when the replay cannot be played.
    """
    try:
        env = BomberParallelEnv(**replay.env_config)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"env_config is not valid for {replay.env_id}: {exc}") from None
    seats = list(AGENT_NAMES)
    narrator = _Narrator(seats, list(replay.agents))
    blast_cap = env.config.blast_cap
    owners: FlameOwners | None = None
    try:
        env.reset(seed=replay.seed)
        states = [snapshot(env.batch)]
        events: list[Event] = []
        for i, step_actions in enumerate(replay.actions):
            if not env.agents:
                raise ReplayError(f"step {i}: the game ended after {i} steps, but the replay "
                                  f"has {len(replay.actions)}")
            before = env.batch.copy()
            try:
                _, _, _, truncations, infos = env.step(step_actions)
            except ValueError as exc:
                raise ReplayError(f"step {i}: the env rejects the action: {exc}") from None
            happened = step_events(before, env.batch, _moves(step_actions, seats), blast_cap, owners)
            owners = happened.flame_owners
            after = snapshot(env.batch)
            states.append(after)
            events.extend(narrator.step(happened))
            info = next((v for v in infos.values() if "result" in v), None)
            if info is not None:
                events.append(narrator.result(after.step, info, any(truncations.values())))
    finally:
        env.close()
    c = env.config
    params = {"mode": c.mode, "agent_view_size": c.agent_view_size,
              "partially_observable": c.partially_observable, "max_steps": c.max_steps}
    return seats, states, events, params
