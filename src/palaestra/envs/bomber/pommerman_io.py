"""Bomber states in Pommerman's JSON format.

Two spellings are read:

* the plain form (what :func:`state_to_json` writes and the recorded reference trajectories use):
  ``{"step_count", "board", "agents": [{agent_id, is_alive, position, ammo, blast_strength,
  can_kick}], "bombs": [{bomber_id, position, life, blast_strength, moving_direction}],
  "flames": [{position, life}], "items": [[[row, col], code], ...]}``;
* the playground's ``env.get_json_info()`` form, where each of those values is itself a JSON string
  (``board_size`` and ``intended_actions`` are accepted and ignored).

Anything else is rejected with a :class:`StateFormatError` naming the field.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.core import (
    ALIVE,
    AMMO,
    B_BLAST,
    B_COL,
    B_ROW,
    BLAST,
    COL,
    DIRECTION,
    KICK,
    LIFE,
    MAX_BOMBS,
    MAX_FLAMES,
    N_BOMBS,
    N_FLAMES,
    OWNER,
    ROW,
    STEP,
    BomberBatch,
)
from palaestra.errors import FileFormatError

JSON_FIELDS = ("step_count", "board", "agents", "bombs", "flames", "items")


class StateFormatError(FileFormatError):
    """A state is not a well-formed Pommerman/Bomber JSON state."""


def _decode(raw: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key in JSON_FIELDS:
        if key not in raw:
            raise StateFormatError(f"state has no {key!r} field")
        value = raw[key]
        if isinstance(value, str):  # get_json_info() form
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise StateFormatError(f"state field {key!r} is not valid JSON ({exc})") from None
        out[key] = value
    return out


def _cell(value: Any, what: str) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise StateFormatError(f"{what}: position must be [row, col], got {value!r}")
    r, c = int(value[0]), int(value[1])
    if not (0 <= r < C.BOARD_SIZE and 0 <= c < C.BOARD_SIZE):
        raise StateFormatError(f"{what}: position {value!r} is off the {C.BOARD_SIZE}x{C.BOARD_SIZE} board")
    return r, c


def load_state(raw: dict[str, Any] | str, batch: BomberBatch | None = None, i: int = 0) -> BomberBatch:
    """Read a state (dict or JSON text) into board ``i`` of ``batch`` (a new batch of 1 if None).

    Raises:
        StateFormatError: naming the first malformed field.
    """
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise StateFormatError(f"state is not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise StateFormatError(f"state must be a JSON object, got {type(raw).__name__}")
    s = _decode(raw)
    out = batch if batch is not None else BomberBatch.empty(1)
    try:
        board = np.asarray(s["board"], dtype=np.int64)
    except (TypeError, ValueError):
        raise StateFormatError("board must be an 11x11 array of item codes") from None
    if board.shape != (C.BOARD_SIZE, C.BOARD_SIZE) or board.min() < 0 or board.max() > C.AGENT0 + 3:
        raise StateFormatError(f"board must be {C.BOARD_SIZE}x{C.BOARD_SIZE} item codes 0..13")
    out.board[i] = board
    out.items[i] = 0
    for entry in s["items"]:
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise StateFormatError(f"items: each entry must be [[row, col], code], got {entry!r}")
        r, c = _cell(entry[0], "items")
        if int(entry[1]) not in C.POWERUPS:
            raise StateFormatError(f"items: {entry[1]!r} is not a power-up code {C.POWERUPS}")
        out.items[i, r, c] = int(entry[1])
    agents = s["agents"]
    if not isinstance(agents, list) or len(agents) != C.NUM_AGENTS:
        raise StateFormatError(f"agents must list {C.NUM_AGENTS} agents")
    try:
        for a in agents:
            k = int(a["agent_id"])
            if not 0 <= k < C.NUM_AGENTS:
                raise StateFormatError(f"agents: agent_id {k} is not in 0..3")
            r, c = _cell(a["position"], f"agent {k}")
            out.agents[i, k, ALIVE] = int(bool(a["is_alive"]))
            out.agents[i, k, ROW], out.agents[i, k, COL] = r, c
            out.agents[i, k, AMMO] = int(a["ammo"])
            out.agents[i, k, BLAST] = int(a["blast_strength"])
            out.agents[i, k, KICK] = int(bool(a["can_kick"]))
        bombs = s["bombs"]
        if len(bombs) > MAX_BOMBS:
            raise StateFormatError(f"bombs: more than {MAX_BOMBS}")
        for j, b in enumerate(bombs):
            r, c = _cell(b["position"], f"bomb {j}")
            direction = b["moving_direction"]
            direction = 0 if direction is None else int(direction)
            if not 0 <= direction <= C.RIGHT:
                raise StateFormatError(f"bomb {j}: moving_direction {direction} is not 1..4 or null")
            out.bombs[i, j] = (int(b["bomber_id"]), r, c, int(b["life"]), int(b["blast_strength"]),
                               direction)
        flames = s["flames"]
        if len(flames) > MAX_FLAMES:
            raise StateFormatError(f"flames: more than {MAX_FLAMES}")
        for j, f in enumerate(flames):
            r, c = _cell(f["position"], f"flame {j}")
            out.flames[i, j] = (r, c, int(f["life"]))
        out.meta[i] = (int(s["step_count"]), len(bombs), len(flames))
    except (KeyError, TypeError) as exc:
        raise StateFormatError(f"state is missing or mistypes a field ({exc!r})") from None
    return out


def state_to_json(batch: BomberBatch, i: int = 0) -> dict[str, Any]:
    """Board ``i`` as a plain Pommerman JSON state (see the module docstring)."""
    agents = [
        {
            "agent_id": k,
            "is_alive": bool(batch.agents[i, k, ALIVE]),
            "position": [int(batch.agents[i, k, ROW]), int(batch.agents[i, k, COL])],
            "ammo": int(batch.agents[i, k, AMMO]),
            "blast_strength": int(batch.agents[i, k, BLAST]),
            "can_kick": bool(batch.agents[i, k, KICK]),
        }
        for k in range(C.NUM_AGENTS)
    ]
    bombs = [
        {
            "bomber_id": int(b[OWNER]),
            "position": [int(b[B_ROW]), int(b[B_COL])],
            "life": int(b[LIFE]),
            "blast_strength": int(b[B_BLAST]),
            "moving_direction": None if b[DIRECTION] == 0 else int(b[DIRECTION]),
        }
        for b in batch.bombs[i, : batch.meta[i, N_BOMBS]]
    ]
    flames = [
        {"position": [int(f[0]), int(f[1])], "life": int(f[2])}
        for f in batch.flames[i, : batch.meta[i, N_FLAMES]]
    ]
    rows, cols = np.nonzero(batch.items[i])
    items = [[[int(r), int(c)], int(batch.items[i, r, c])] for r, c in zip(rows, cols)]
    return {
        "step_count": int(batch.meta[i, STEP]),
        "board": batch.board[i].astype(int).tolist(),
        "agents": agents,
        "bombs": bombs,
        "flames": flames,
        "items": items,
    }


def to_json_info(batch: BomberBatch, i: int = 0, intended_actions: list[int] | None = None) -> dict[str, str]:
    """Board ``i`` in the playground's ``get_json_info()`` form (every value a JSON string)."""
    state = state_to_json(batch, i)
    out = {"board_size": json.dumps(C.BOARD_SIZE)}
    out.update({k: json.dumps(v) for k, v in state.items()})
    out["intended_actions"] = json.dumps(intended_actions or [0] * C.NUM_AGENTS)
    return out
