"""What a tournament match is and what it gives: :class:`MatchSpec`, :class:`MatchResult`, and the
small pieces every game loop shares (ranking by score, collecting faults, storing a replay).

The game loops live in :mod:`palaestra.evaluation.match` (Bomber, and the dispatch),
:mod:`palaestra.evaluation.match_solo` (Kelly and counting: every seat plays its own copy of the
game) and :mod:`palaestra.evaluation.match_hns` (hide-and-seek: a hider team against a seeker
team); all of them import from here, never from each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

BUILTIN_PREFIX = "builtin:"
"""The launch spec of a built-in agent: ``builtin:NAME``."""


@dataclass(frozen=True)
class MatchSpec:
    """Everything a worker needs to play one match."""

    match_id: str
    env: str
    """Short name of an env of :data:`~palaestra.evaluation.match.TOURNAMENT_FAMILIES`
    (``bomber``, ``kelly``, ``hide-and-seek``, ``counting`` ...)."""
    env_config: dict[str, Any]
    seats: list[str]
    """Agent name per seat; in hide-and-seek per team: the hider player, then the seeker player
    (each plays every seat of its team)."""
    specs: list[str]
    """How to launch each seat's agent (each team's, in hide-and-seek): ``builtin:NAME`` or a
    sandbox spec (``python:PATH`` ...)."""
    seed: int
    limits: dict[str, Any] = field(default_factory=dict)
    """:class:`~palaestra.agents.sandbox.host.SandboxLimits` fields."""
    isolate: bool = False
    """Run the non-built-in seats in a jail (:mod:`palaestra.agents.sandbox.isolation`)."""
    hashes: list[str | None] = field(default_factory=list)
    """Per seat, the hash taken at submit that a jailed copy must match (None: no check)."""
    forfeits: dict[int, str] = field(default_factory=dict)
    """Seats (players) not launched at all, each with the fault recorded for it (a replay without
    an entrant that killed its match worker; :mod:`palaestra.evaluation.runners`)."""


@dataclass(frozen=True)
class MatchResult:
    """The outcome of one match."""

    match_id: str
    seats: list[str]
    """As :attr:`MatchSpec.seats`: one entry per player."""
    teams: list[list[int]]
    """Indices into ``seats`` per team (one per team in FFA, Kelly, counting and hide-and-seek)."""
    ranks: list[int]
    """Rank per team, 0 best; equal ranks are a draw."""
    scores: list[float]
    """Per seat: total reward (Bomber), final wealth (Kelly), the return (counting: 1 on time,
    else 0) or the team's return (hide-and-seek)."""
    steps: int
    faults: dict[str, str]
    """Seat index (as text) -> what went wrong, for agents that failed."""
    replay: dict[str, Any]

    def to_dict(self, with_replay: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not with_replay:
            d.pop("replay")
        return d


def ranks_by(values: list[float]) -> list[int]:
    """Competition ranks, 0 best, for values where higher is better."""
    order = sorted(set(values), reverse=True)
    return [order.index(v) for v in values]


def record_faults(agent: Any, k: int, faults: dict[str, str]) -> None:
    """Keep the faults a sandboxed agent survived (a timeout under ``on_timeout="default"``) as
    seat ``k``'s, unless the seat already has one."""
    for fault in getattr(agent, "faults", []) or []:
        faults.setdefault(str(k), f"{getattr(fault, 'reason', 'fault')}: {fault}")


def replay_dict(replay: Any) -> dict[str, Any]:
    """A :class:`~palaestra.evaluation.replay.Replay` as the JSON object the store keeps."""
    from palaestra.evaluation.replay import replay_to_dict

    return replay_to_dict(replay)
