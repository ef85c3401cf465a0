"""Per-phase counters of what the teams did (logged in the agents' infos)."""

from __future__ import annotations

from palaestra.envs.hide_and_seek.constants import PHASE_NAMES, TEAM_NAMES
from palaestra.envs.hide_and_seek.mechanics import Events

EVENT_KEYS = ("box_moves", "locks", "unlocks", "ramp_uses")
"""Counted per phase in total and per team (``hider_box_moves``, ``seeker_locks``, ...)."""
STAT_KEYS = ("steps", "hidden_steps", *EVENT_KEYS,
             *(f"{team}_{key}" for team in TEAM_NAMES for key in EVENT_KEYS))
"""Keys of each phase's dict: ``steps`` played, ``hidden_steps`` (steps after which no seeker saw
any hider; counted in the preparation phase too, as if the seekers were looking), the events in
total and per team."""


class PhaseStats:
    """Counters for the two phases, ``prep`` and ``seek``."""

    def __init__(self) -> None:
        self.counts = [dict.fromkeys(STAT_KEYS, 0) for _ in PHASE_NAMES]

    def add_events(self, phase: int, team: int, events: Events) -> None:
        counts = self.counts[phase]
        prefix = TEAM_NAMES[team]
        for key in EVENT_KEYS:
            value = getattr(events, key)
            if value:
                counts[key] += value
                counts[f"{prefix}_{key}"] += value

    def add_step(self, phase: int, all_hidden: bool) -> None:
        counts = self.counts[phase]
        counts["steps"] += 1
        counts["hidden_steps"] += int(all_hidden)

    def as_dict(self) -> dict[str, dict[str, int]]:
        """A fresh ``{"prep": {...}, "seek": {...}}`` copy."""
        return {name: dict(counts) for name, counts in zip(PHASE_NAMES, self.counts)}
