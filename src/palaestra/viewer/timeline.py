"""A replay re-simulated once into per-step states and a log of events, for the viewer and export.

:meth:`Timeline.from_replay` plays a :class:`~palaestra.evaluation.replay.Replay` from its seed and
keeps what there is to show at every step: state 0 is the game after ``reset``, state ``i`` the
game after ``i`` steps. Events happen *during* a step and carry the number of the state they lead
to, so the events of step ``i`` are those shown together with state ``i``.

Bomber events (kinds): ``bomb`` (an agent lays a bomb), ``pickup`` (an agent picks up a power-up),
``kill`` (an agent dies in another agent's blast), ``death`` (an agent dies in its own blast or
in flames no bomb can be blamed for), ``win`` and ``tie`` (the game's result). What happened in a
step, and who killed whom, comes from :mod:`palaestra.envs.bomber.events` (see
:mod:`.bomber_log`); an agent that dies is killed by the owners of the bombs whose blast reached
its cell and of the flames it walked into.

Kelly events: ``cap`` (the wealth reaches the cap), ``bust`` (the wealth falls to zero) and
``end`` (the rounds run out).

Hide-and-seek events (:mod:`.hide_and_seek_log`): ``seek``, ``lock``, ``unlock``, ``vault``,
``spotted``, ``hidden`` and ``end``; counting events (:mod:`.counting_log`): ``due`` and the ending,
``on_time``, ``early``, ``late`` or ``timeout``.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from palaestra.envs.bomber.events import blast_cells
from palaestra.envs.registration import family_specs, get_spec
from palaestra.errors import UnknownNameError
from palaestra.evaluation.replay import Replay, load_replay
from palaestra.viewer.bomber_log import POWERUP_NAMES, simulate_bomber
from palaestra.viewer.counting_log import simulate_counting
from palaestra.viewer.hide_and_seek_log import simulate_hide_and_seek
from palaestra.viewer.kelly_log import simulate_kelly
from palaestra.viewer.records import (
    BOMBER_EVENT_KINDS,
    COUNTING_EVENT_KINDS,
    FAMILIES,
    HIDE_AND_SEEK_EVENT_KINDS,
    KELLY_EVENT_KINDS,
    BomberState,
    CountingState,
    Event,
    Family,
    HideAndSeekState,
    KellyState,
    ViewerError,
    seat_label,
)


@dataclass
class Timeline:
    """A game, step by step: states, events and what the viewer shows about the game."""

    replay: Replay
    family: Family
    seats: list[str]
    """Seat names: ``player_0``..``player_3`` (Bomber), ``player`` (Kelly), ``hider_0``.. then
    ``seeker_0``.. (hide-and-seek), ``agent`` (counting)."""
    agents: list[str]
    """Agent name per seat, as recorded in the replay."""
    states: list[Any]
    """State ``i`` is the game after ``i`` steps (:class:`BomberState`, :class:`KellyState`,
    :class:`HideAndSeekState` or :class:`CountingState`)."""
    events: list[Event]
    """All events, in step order."""
    params: dict[str, Any] = field(default_factory=dict)
    """Bomber: mode, agent_view_size, partially_observable, max_steps; Kelly: edge, cap_cents,
    rounds, initial_cents, hidden (whether the game hid them from the agent); hide-and-seek:
    config, grid_size, max_steps, prep_steps, n_hiders, n_seekers; counting: T, size,
    grace_steps, distance."""

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def from_replay(cls, replay: Replay) -> Timeline:
        """Re-simulate ``replay`` once and collect every state and event.

        Raises :class:`ViewerError` for an env the viewer does not know and
        :class:`~palaestra.evaluation.replay.ReplayError` when the actions cannot be played.
        """
        family = _family(replay.env_id)
        played: tuple[list[str], list[Any], list[Event], dict[str, Any]]
        if family == "bomber":
            played = simulate_bomber(replay)
        elif family == "kelly":
            played = simulate_kelly(replay)
        elif family == "hide_and_seek":
            played = simulate_hide_and_seek(replay)
        elif family == "counting":
            played = simulate_counting(replay)
        else:
            known = ", ".join(sorted(s.env_id for s in family_specs(*FAMILIES)))
            raise ViewerError(f"no viewer for env {replay.env_id!r}; the viewer knows {known}")
        seats, states, events, params = played
        return cls(replay, family, seats, list(replay.agents), states, events, params)

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
        return seat_label(self.seats, self.agents, seat)

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


def _family(env_id: str) -> Family | None:
    """The viewer's family of ``env_id`` (from the env registry), None for one it cannot show."""
    try:
        spec = get_spec(env_id)
    except UnknownNameError:
        return None
    if spec.env_id != env_id:  # a replay records the full id, never a short name
        return None
    for family in FAMILIES:
        if spec.family == family:
            return family
    return None


def load_timeline(path: str | os.PathLike[str], verify: bool = True) -> Timeline:
    """Load a replay file and build its timeline.

    Raises :class:`~palaestra.evaluation.replay.ReplayError` (from :func:`load_replay`) for a
    missing, malformed or mismatched file, :class:`ViewerError` for an env with no viewer.
    """
    return Timeline.from_replay(load_replay(path, verify=verify))


__all__ = [
    "BOMBER_EVENT_KINDS",
    "COUNTING_EVENT_KINDS",
    "HIDE_AND_SEEK_EVENT_KINDS",
    "KELLY_EVENT_KINDS",
    "POWERUP_NAMES",
    "BomberState",
    "CountingState",
    "Event",
    "HideAndSeekState",
    "KellyState",
    "Timeline",
    "ViewerError",
    "blast_cells",
    "load_timeline",
]
