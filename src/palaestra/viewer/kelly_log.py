"""A Kelly replay re-simulated into per-round states and its end event (for :mod:`.timeline`).

Event kinds: ``cap`` (the wealth reaches the cap), ``bust`` (the wealth falls to zero) and ``end``
(the rounds run out).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from palaestra.envs.registration import get_spec
from palaestra.evaluation.replay import Replay, ReplayError
from palaestra.viewer.records import Event, KellyState

SEAT = "player"
"""The one seat of a Kelly game."""


def simulate_kelly(replay: Replay) -> tuple[list[str], list[KellyState], list[Event], dict[str, Any]]:
    """Seat names, every state, the event log and the game's parameters of a Kelly replay.

    Raises :class:`~palaestra.evaluation.replay.ReplayError` when the replay cannot be played.
    """
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
    return [SEAT], states, events, params


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
        return Event(state.step, "bust", 0, SEAT, f"bust: wealth $0.00 after round {state.step}")
    if state.wealth_cents >= params["cap_cents"]:
        return Event(state.step, "cap", 0, SEAT, f"cap reached: {wealth} in round {state.step}")
    return Event(state.step, "end", 0, SEAT, f"rounds ran out: {wealth} after {state.step} rounds")
