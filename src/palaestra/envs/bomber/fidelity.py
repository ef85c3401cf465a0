"""Differential testing against recorded Pommerman games: replay, compare, report the first divergence.

A trajectory (one JSON line of the reference files) holds ``initial`` (a state), and ``steps``, each
``{"actions": [a0..a3], "state": ...}`` with the state the original forward model produced. We load
``initial``, apply each step's actions with our rules and compare every state field.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.pommerman_io import load_state, state_to_json
from palaestra.errors import FileFormatError

RECORDED_MODES: dict[str, str] = {"FFA": C.FFA, "Team": C.TEAM, "TeamRadio": C.TEAM_RADIO}
"""Pommerman's ``game_type`` names in a recorded trajectory, as Bomber modes."""


def recorded_mode(trajectory: dict[str, Any]) -> str:
    """The Bomber mode of a recorded game (a trajectory without ``game_type`` is FFA)."""
    game_type = trajectory.get("game_type", "FFA")
    if game_type not in RECORDED_MODES:
        raise FileFormatError(f"unknown game_type {game_type!r}; known: {', '.join(RECORDED_MODES)}")
    return RECORDED_MODES[game_type]


def recorded_blast_cap(trajectory: dict[str, Any]) -> int:
    """The blast-strength cap the recorded game was played with (its mode's, from BomberConfig)."""
    return BomberConfig.default_blast_cap(recorded_mode(trajectory))


@dataclass(frozen=True)
class Divergence:
    """Where a replay first differs from the recording."""

    step: int
    """1-based index of the step whose resulting state differs."""
    field: str
    expected: Any
    got: Any
    actions: list[int]

    def __str__(self) -> str:
        return (
            f"step {self.step} (actions {self.actions}): {self.field} differs\n"
            f"  expected: {self.expected}\n  got:      {self.got}"
        )


def _canonical(state: dict[str, Any]) -> dict[str, Any]:
    """Order-free fields sorted, so that only real differences count."""
    out = dict(state)
    out["items"] = sorted([[list(p), int(v)] for p, v in state["items"]])
    out["flames"] = sorted([[list(f["position"]), int(f["life"])] for f in state["flames"]])
    return out


def compare_states(expected: dict[str, Any], got: dict[str, Any]) -> tuple[str, Any, Any] | None:
    """The first differing field as ``(name, expected, got)``, or None when equal."""
    e, g = _canonical(expected), _canonical(got)
    if int(e["step_count"]) != g["step_count"]:
        return "step_count", e["step_count"], g["step_count"]
    eb, gb = np.asarray(e["board"]), np.asarray(g["board"])
    if not np.array_equal(eb, gb):
        cells = [(int(r), int(c)) for r, c in zip(*np.nonzero(eb != gb))]
        return (f"board at {cells}", [int(eb[x]) for x in cells], [int(gb[x]) for x in cells])
    for k, (ea, ga) in enumerate(zip(e["agents"], g["agents"])):
        ea = {**ea, "position": list(ea["position"])}
        if ea != ga:
            return f"agent {k}", ea, ga
    eb_list = [{**b, "position": list(b["position"])} for b in e["bombs"]]
    if eb_list != g["bombs"]:
        return "bombs", eb_list, g["bombs"]
    for key in ("flames", "items"):
        if e[key] != g[key]:
            return key, e[key], g[key]
    return None


def replay(trajectory: dict[str, Any], max_blast_strength: int = C.MAX_BLAST_STRENGTH) -> Divergence | None:
    """Replay one recorded game; None when every state matches."""
    batch = load_state(trajectory["initial"])
    start = compare_states(trajectory["initial"], state_to_json(batch))
    if start is not None:
        return Divergence(0, "initial " + start[0], start[1], start[2], [])
    for t, step in enumerate(trajectory["steps"], start=1):
        actions = [int(a[0]) if isinstance(a, (list, tuple)) else int(a) for a in step["actions"]]
        batch.step(np.array([actions]), max_blast_strength)
        diff = compare_states(step["state"], state_to_json(batch))
        if diff is not None:
            return Divergence(t, diff[0], diff[1], diff[2], actions)
    return None


def read_trajectories(path: str | Path) -> Iterator[dict[str, Any]]:
    """Trajectories from a .jsonl or .jsonl.gz file, one JSON object per line."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise FileFormatError(f"{p}:{n}: not a JSON line ({exc})") from None
