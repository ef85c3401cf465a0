"""The one table of palaestra environments.

Every env is listed here once; :func:`register_all` hands the Gymnasium ones to
``gymnasium.register`` and the tests are parametrised from :data:`ENVS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym


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
        description="Haghani & Dewey coin flip: $25, p=0.6, cap $250, 300 rounds, bets in cents",
    ),
    EnvSpec(
        env_id="palaestra/KellyCoinflipGeneralized-v0",
        kind="gymnasium",
        entry_point="palaestra.envs.kelly.env:KellyCoinflipGeneralizedEnv",
        short_name="kelly-generalized",
        description="Kelly coin flip with hidden edge ~ Beta(7,3), Pareto cap, ~N(300,25) rounds",
    ),
    EnvSpec(
        env_id="palaestra/GridCounting-v0",
        kind="gymnasium",
        entry_point="palaestra.envs.counting.env:GridCountingEnv",
        short_name="counting",
        description="5x5 grid: reach the target exactly at step T (T in the observation; NALU paper)",
    ),
    EnvSpec(
        env_id="palaestra/Bomber-v0",
        kind="pettingzoo",
        entry_point="palaestra.envs.bomber.env",
        short_name="bomber",
        description="Pommerman-rules bomber arena, 11x11, 4 agents; modes ffa, team, team_radio",
    ),
    EnvSpec(
        env_id="palaestra/HideAndSeek-v0",
        kind="pettingzoo",
        entry_point="palaestra.envs.hide_and_seek.env",
        short_name="hide-and-seek",
        description="2D-grid hide-and-seek: 1-3 hiders vs 1-3 seekers, rooms, lockable boxes, ramps, vision cones",
    ),
)


def get_spec(name: str) -> EnvSpec:
    """Look an env up by full id or short name; the error lists what exists."""
    for spec in ENVS:
        if name in (spec.env_id, spec.short_name):
            return spec
    known = ", ".join(f"{s.short_name} ({s.env_id})" for s in ENVS)
    raise KeyError(f"unknown environment {name!r}; known: {known}")


def register_all() -> None:
    """Register every Gymnasium env of the table (idempotent)."""
    for spec in ENVS:
        if spec.kind == "gymnasium" and spec.env_id not in gym.registry:
            gym.register(id=spec.env_id, entry_point=spec.entry_point)
