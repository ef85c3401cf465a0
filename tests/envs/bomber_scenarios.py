"""Bomber states drawn as 11-row maps, for the rules and action-filter tests."""

from __future__ import annotations

from typing import Any

from palaestra.envs.bomber import constants as C

CODES = {".": C.PASSAGE, "#": C.RIGID, "w": C.WOOD, "e": C.EXTRA_BOMB, "r": C.INCR_RANGE,
         "k": C.KICK}


def scenario(rows: list[str], agents: dict[int, tuple[int, int]], **extra: Any) -> dict[str, Any]:
    """A Pommerman JSON state from an 11-row map; agents not listed are dead, parked in the far
    corner. ``agent_fields`` ({seat: {field: value}}) changes agents' fields; other keywords
    (``bombs``, ``flames``, ...) replace the state's entries, and bombs and flames are drawn on
    the board."""
    board = [[CODES[ch] for ch in row] for row in rows]
    assert len(board) == 11 and all(len(r) == 11 for r in board)
    out = []
    for k in range(4):
        pos = agents.get(k)
        if pos is not None:
            board[pos[0]][pos[1]] = C.AGENT0 + k
        out.append({"agent_id": k, "is_alive": pos is not None, "position": list(pos or (10, 10)),
                    "ammo": 1, "blast_strength": 2, "can_kick": False})
    for k, fields in extra.pop("agent_fields", {}).items():
        out[k].update(fields)
    state = {"step_count": 0, "board": board, "agents": out, "bombs": [], "flames": [], "items": []}
    state.update(extra)
    for b in state["bombs"]:
        r, c = b["position"]
        if board[r][c] == C.PASSAGE:
            board[r][c] = C.BOMB
    for f in state["flames"]:
        r, c = f["position"]
        board[r][c] = C.FLAMES
    return state
