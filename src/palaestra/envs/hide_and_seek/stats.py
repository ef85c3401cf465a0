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


def team_ranks(hidden_steps: int, seek_steps: int) -> tuple[int, int]:
    """(hider rank, seeker rank), 0 best, of a finished game: the hiders win when hidden (no
    seeker saw any hider) for more than half the seek steps, the seekers when for fewer; exactly
    half is a draw. Leagues and tournaments rank their games by it."""
    seen = seek_steps - hidden_steps
    if hidden_steps == seen:
        return (0, 0)
    return (0, 1) if hidden_steps > seen else (1, 0)
