"""The two populations of a hide-and-seek league: hiders and seekers.

A hide-and-seek league trains ``population`` hider learners (``h0``, ``h1``, ...) and as many
seeker learners (``s0``, ``s1``, ...). A member's side is the letter its id starts with; its
snapshots (``h0@it10``) keep their parent's. Hiders only meet seekers: PFSP draws a hider's
opponent among the seeker learners and snapshots, and the other way round, and PBT copies
weights only within a side.
"""

from __future__ import annotations

from typing import Literal

from palaestra.errors import ConfigError

Side = Literal["hider", "seeker"]
SIDES: tuple[Side, Side] = ("hider", "seeker")
PREFIX: dict[Side, str] = {"hider": "h", "seeker": "s"}
"""The first letter of each side's learner ids."""


def side_learner_ids(population: int) -> list[str]:
    """``["h0", .., "h{n-1}", "s0", .., "s{n-1}"]``: the learners of a league of ``population``
    per side."""
    return [f"{PREFIX[side]}{i}" for side in SIDES for i in range(population)]


def side_of(member_id: str) -> Side:
    """The side of a learner or snapshot id (``h3`` and ``h3@it20`` are hiders)."""
    base = member_id.split("@", 1)[0]
    for side, prefix in PREFIX.items():
        if base.startswith(prefix) and base[len(prefix):].isdigit():
            return side
    raise ConfigError(f"{member_id!r} is not a hide-and-seek member id (h<N> or s<N>, "
                      "with @it<K> for a snapshot)")


def rivals(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` play on opposite sides."""
    return side_of(a) != side_of(b)


def members_of(side: Side, ids: list[str]) -> list[str]:
    """The ids of ``ids`` on ``side``, in order."""
    return [m for m in ids if side_of(m) == side]
