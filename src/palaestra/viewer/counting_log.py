"""A counting replay re-simulated into per-step states and its events (for :mod:`.timeline`).

Event kinds: ``due`` (step T has come and the agent is not on the target yet) and how the episode
ended, as the env says (``info["outcome"]``): ``on_time``, ``early``, ``late`` or ``timeout``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from palaestra.envs.counting.env import ACTION_NAMES
from palaestra.envs.registration import get_spec
from palaestra.evaluation.replay import Replay, ReplayError
from palaestra.viewer.records import CountingState, Event

SEAT = "agent"
"""The one seat of a counting episode."""


def _cell(value: Any) -> tuple[int, int]:
    r, c = (int(v) for v in np.asarray(value))
    return r, c


def simulate_counting(replay: Replay) -> tuple[list[str], list[CountingState], list[Event], dict[str, Any]]:
    """Seat names, every state, the event log and the episode's parameters of a counting replay.

    ``params`` holds ``T``, ``size``, ``grace_steps`` and ``distance`` (city-block, at the
    start). Raises :class:`~palaestra.evaluation.replay.ReplayError` when the replay cannot be
    played.
    """
    cls = get_spec(replay.env_id).load()
    try:
        env = cls(**replay.env_config)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"env_config is not valid for {replay.env_id}: {exc}") from None
    try:
        obs, info = env.reset(seed=replay.seed)
        T = int(info["T"])
        params = {"T": T, "size": int(env.config.size), "grace_steps": int(env.config.grace_steps),
                  "distance": int(info["distance"])}
        states = [CountingState(0, _cell(obs["agent"]), _cell(obs["target"]), None, None, 0.0)]
        events: list[Event] = []
        done = False
        for i, move in enumerate(replay.actions):
            if done:
                raise ReplayError(f"step {i}: the game ended after {i} steps, but the replay "
                                  f"has {len(replay.actions)}")
            try:
                obs, reward, terminated, truncated, info = env.step(move)
            except (ValueError, OverflowError) as exc:
                raise ReplayError(f"step {i}: the env rejects the action: {exc}") from None
            done = bool(terminated or truncated)
            state = CountingState(i + 1, _cell(obs["agent"]), _cell(obs["target"]), int(move),
                                  info.get("outcome"), states[-1].reward + float(reward))
            states.append(state)
            if state.step == T and not done:
                events.append(Event(state.step, "due", 0, SEAT,
                                    f"step T = {T}: the agent should be on the target now"))
            if state.outcome is not None:
                events.append(_ending(state, T))
    finally:
        env.close()
    return [SEAT], states, events, params


def _ending(state: CountingState, T: int) -> Event:
    n = state.step
    text = {
        "on_time": f"on the target exactly at step T = {T}: reward {state.reward:g}",
        "early": f"on the target too early, at step {n} of T = {T}: no reward",
        "late": f"on the target too late, at step {n} (T = {T}): no reward",
        "timeout": f"time out: not on the target by step {n} (T = {T}): no reward",
    }[state.outcome or "timeout"]
    return Event(n, state.outcome or "timeout", 0, SEAT, text)


def move_name(move: int | None) -> str:
    """``up``, ``stay``...: the name of a counting move ("" for None)."""
    return "" if move is None else ACTION_NAMES[move]
