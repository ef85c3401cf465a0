"""The one table of palaestra environments.

Every env is listed here once; :func:`register_all` hands the Gymnasium ones to
``gymnasium.register`` and the tests are parametrised from :data:`ENVS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym

from palaestra.errors import UnknownNameError


@dataclass(frozen=True)
class EnvSpec:
    """One registered environment."""

    env_id: str
    """Full id, ``palaestra/Name-vN``."""
    kind: Literal["gymnasium", "pettingzoo"]
    """Single-agent Gymnasium env or multi-agent PettingZoo env."""
    entry_point: str
    """``module:attribute`` of the env class (Gymnasium) or module (PettingZoo)."""
    short_name: str
    """The name the CLI accepts, e.g. ``kelly``."""
    description: str
    """One line for ``palaestra envs``."""
    family: Literal["kelly", "counting", "bomber", "hide_and_seek"]
    """The game the env belongs to; code that handles a game asks for its family, never an id."""
    seats: tuple[int, int]
    """Fewest and most agents in one game (a Kelly game is one player's; tournaments seat
    several players on copies of the same game)."""

    def load(self) -> Any:
        module, _, attr = self.entry_point.partition(":")
        obj = importlib.import_module(module)
        return getattr(obj, attr) if attr else obj


ENVS: tuple[EnvSpec, ...] = (
    EnvSpec(
        env_id="palaestra/KellyCoinflip-v0",
        kind="gymnasium",
        entry_point="palaestra.envs.kelly.env:KellyCoinflipEnv",
        short_name="kelly",
        family="kelly",
        seats=(1, 1),
        description="Haghani & Dewey coin flip: $25, p=0.6, cap $250, 300 rounds, bets in cents",
    ),
    EnvSpec(
        env_id="palaestra/KellyCoinflipGeneralized-v0",
        kind="gymnasium",
        entry_point="palaestra.envs.kelly.env:KellyCoinflipGeneralizedEnv",
        short_name="kelly-generalized",
        family="kelly",
        seats=(1, 1),
        description="Kelly coin flip with hidden edge ~ Beta(7,3), Pareto cap, ~N(300,25) rounds",
    ),
    EnvSpec(
        env_id="palaestra/GridCounting-v0",
        kind="gymnasium",
        entry_point="palaestra.envs.counting.env:GridCountingEnv",
        short_name="counting",
        family="counting",
        seats=(1, 1),
        description="5x5 grid: reach the target exactly at step T (T in the observation; NALU paper)",
    ),
    EnvSpec(
        env_id="palaestra/Bomber-v0",
        kind="pettingzoo",
        entry_point="palaestra.envs.bomber.env",
        short_name="bomber",
        family="bomber",
        seats=(4, 4),
        description="Pommerman-rules bomber arena, 11x11, 4 agents; modes ffa, team, team_radio",
    ),
    EnvSpec(
        env_id="palaestra/HideAndSeek-v0",
        kind="pettingzoo",
        entry_point="palaestra.envs.hide_and_seek.env",
        short_name="hide-and-seek",
        family="hide_and_seek",
        seats=(2, 6),
        description="2D-grid hide-and-seek: 1-3 hiders vs 1-3 seekers, rooms, lockable boxes, ramps, vision cones",
    ),
)


def get_spec(name: str) -> EnvSpec:
    """Look an env up by full id or short name; the error lists what exists."""
    for spec in ENVS:
        if name in (spec.env_id, spec.short_name):
            return spec
    known = ", ".join(f"{s.short_name} ({s.env_id})" for s in ENVS)
    raise UnknownNameError(f"unknown environment {name!r}; known: {known}")


def family_specs(*families: str) -> tuple[EnvSpec, ...]:
    """The envs of the given families, in table order (every env when none is named)."""
    unknown = set(families) - {s.family for s in ENVS}
    if unknown:
        raise UnknownNameError(f"unknown env families {sorted(unknown)}")
    return tuple(s for s in ENVS if not families or s.family in families)


def short_names(*families: str) -> tuple[str, ...]:
    """Short names (``kelly``, ``bomber``...) of the given families' envs, for CLI choices."""
    return tuple(s.short_name for s in family_specs(*families))


def env_id(name: str) -> str:
    """The full id (``palaestra/Name-vN``) of an env named by short name or id."""
    return get_spec(name).env_id


def register_all() -> None:
    """Register every Gymnasium env of the table (idempotent)."""
    for spec in ENVS:
        if spec.kind == "gymnasium" and spec.env_id not in gym.registry:
            gym.register(id=spec.env_id, entry_point=spec.entry_point)
