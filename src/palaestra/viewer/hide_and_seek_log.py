"""A hide-and-seek replay re-simulated into per-step states and an event log (for :mod:`.timeline`).

Event kinds: ``seek`` (the preparation phase is over, the seekers are loose), ``lock`` and
``unlock`` (a box is locked or unlocked, by whom when one agent of the team faces it), ``vault``
(an agent vaults from a ramp over a wall or box), ``spotted`` (a seeker sees a hider after a step
in which every hider was hidden), ``hidden`` (every hider is out of sight again) and ``end`` (time
is up: hidden steps and the returns).

Locks and vaults are read off the difference between two states (a box's lock owner changes; an
agent moves two cells in one step, which only a vault does); who sees whom comes from the env's
fields of view.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from palaestra.envs.hide_and_seek.constants import HIDERS, TEAM_NAMES, UNLOCKED
from palaestra.envs.hide_and_seek.env import HideAndSeekParallelEnv
from palaestra.evaluation.replay import Replay, ReplayError
from palaestra.viewer.records import Event, HideAndSeekState, join_labels, seat_label


def _state(env: HideAndSeekParallelEnv, returns: tuple[float, float]) -> HideAndSeekState:
    game = env.game
    return HideAndSeekState(step=int(game.step), game=game.copy(), fov=env.fields_of_view,
                            all_hidden=env.all_hidden, prep=game.step < env.config.prep_steps,
                            returns=returns, stats=env.stats())


def simulate_hide_and_seek(
    replay: Replay,
) -> tuple[list[str], list[HideAndSeekState], list[Event], dict[str, Any]]:
    """Seat names, every state, the event log and the game's parameters of a hide-and-seek replay.

    ``params`` holds ``config`` (the :class:`~palaestra.envs.hide_and_seek.config.HideAndSeekConfig`),
    ``grid_size``, ``max_steps``, ``prep_steps``, ``n_hiders`` and ``n_seekers``. Raises
    :class:`~palaestra.evaluation.replay.ReplayError` when the replay cannot be played.
    """
    try:
        env = HideAndSeekParallelEnv(**replay.env_config)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"env_config is not valid for {replay.env_id}: {exc}") from None
    seats = list(env.possible_agents)
    narrator = _Narrator(seats, list(replay.agents))
    try:
        env.reset(seed=replay.seed)
        teams = [int(t) for t in env.game.agent_team]
        returns = (0.0, 0.0)
        states = [_state(env, returns)]
        events: list[Event] = []
        for i, step in enumerate(replay.actions):
            if not env.agents:
                raise ReplayError(f"step {i}: the game ended after {i} steps, but the replay "
                                  f"has {len(replay.actions)}")
            try:
                _, rewards, _, _, _ = env.step(step)
            except (KeyError, ValueError) as exc:
                raise ReplayError(f"step {i}: the env rejects the action: {exc}") from None
            paid = [0.0, 0.0]
            for name, r in rewards.items():
                paid[teams[seats.index(name)]] = float(r)
            returns = (returns[0] + paid[0], returns[1] + paid[1])
            states.append(_state(env, returns))
            events += narrator.step(states[-2], states[-1], finished=not env.agents)
    finally:
        env.close()
    c = env.config
    params = {"config": c, "grid_size": c.grid_size, "max_steps": c.max_steps,
              "prep_steps": c.prep_steps, "n_hiders": c.n_hiders, "n_seekers": c.n_seekers}
    return seats, states, events, params


class _Narrator:
    """Words the events of each step for the log."""

    def __init__(self, seats: list[str], agents: list[str]) -> None:
        self.seats = seats
        self.agents = agents

    def label(self, k: int) -> str:
        return seat_label(self.seats, self.agents, k)

    def step(self, before: HideAndSeekState, after: HideAndSeekState, finished: bool) -> list[Event]:
        i = after.step
        events: list[Event] = []
        if before.prep and not after.prep:
            events.append(Event(i, "seek", None, "", "the seekers are loose: seek phase"))
        events += self._locks(before, after)
        events += self._vaults(before, after)
        seen, was_seen = after.seen_hiders(), before.seen_hiders()  # none while the seekers are blind
        if seen and not was_seen:
            events.append(self._spotted(after, seen))
        elif was_seen and not seen:
            events.append(Event(i, "hidden", None, "", "every hider is out of sight"))
        if finished:
            seek = after.stats["seek"]
            hider, seeker = after.returns
            events.append(Event(i, "end", None, "",
                                f"time up: hiders hidden {seek['hidden_steps']} of {seek['steps']} "
                                f"seek steps; returns hiders {hider:+g}, seekers {seeker:+g}"))
        return events

    def _locks(self, before: HideAndSeekState, after: HideAndSeekState) -> list[Event]:
        events = []
        game = after.game
        for b in np.flatnonzero(before.game.box_lock != game.box_lock).tolist():
            old, new = int(before.game.box_lock[b]), int(game.box_lock[b])
            team = new if new != UNLOCKED else old
            kind = "lock" if new != UNLOCKED else "unlock"
            r, c = (int(v) for v in game.boxes[b])
            facing = [k for k in range(len(self.seats))
                      if int(game.agent_team[k]) == team and game.front(k) == (r, c)]
            who = self.label(facing[0]) if len(facing) == 1 else f"the {TEAM_NAMES[team]}s"
            k = facing[0] if len(facing) == 1 else None
            events.append(Event(after.step, kind, k, self.seats[k] if k is not None else "",
                                f"{who} {kind}ed box {b} at ({r}, {c})"))
        return events

    def _vaults(self, before: HideAndSeekState, after: HideAndSeekState) -> list[Event]:
        events = []
        moved = np.abs(after.game.agent_pos - before.game.agent_pos).sum(axis=1)
        for k in np.flatnonzero(moved == 2).tolist():
            (r0, c0), (r1, c1) = before.game.agent_pos[k], after.game.agent_pos[k]
            if r0 != r1 and c0 != c1:
                continue  # a diagonal step of two cells is not a vault (it cannot happen)
            events.append(Event(after.step, "vault", k, self.seats[k],
                                f"{self.label(k)} vaulted from the ramp at ({r0}, {c0}) to ({r1}, {c1})"))
        return events

    def _spotted(self, after: HideAndSeekState, seen: list[int]) -> Event:
        spotters = [k for k in range(len(self.seats))
                    if int(after.game.agent_team[k]) != HIDERS and set(after.sees(k)) & set(seen)]
        hiders = join_labels([self.label(k) for k in seen])
        by = join_labels([self.label(k) for k in spotters])
        first = spotters[0] if spotters else None
        return Event(after.step, "spotted", first, self.seats[first] if first is not None else "",
                     f"{by} spotted {hiders}")
