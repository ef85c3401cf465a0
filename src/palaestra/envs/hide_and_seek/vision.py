"""Line of sight and vision cones on the grid (numba).

Sight runs between cell centres. The line is traced with a supercover walk: every cell the
segment passes through is visited, so a wall can not be seen through by a thin diagonal. When the
segment passes exactly through a grid corner it slips between the two cells beside the corner
unless both are opaque. The end cells themselves never block: an agent sees the wall or box it
looks at. Tracing is symmetric: A sees B's cell exactly when B sees A's (cones aside).

An agent sees a cell when it lies within ``vision_range`` (Euclidean, in cells), within the cone of
half-angle ``acos(cos_half)`` around the agent's facing direction, and in line of sight. Its own
cell is always seen.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from palaestra.envs.hide_and_seek.constants import DIRECTIONS

_DR = DIRECTIONS[:, 0].copy()
_DC = DIRECTIONS[:, 1].copy()


@numba.njit(cache=True)
def line_of_sight(opaque: np.ndarray, r0: int, c0: int, r1: int, c1: int) -> bool:
    """Whether no opaque cell lies strictly between cells (r0, c0) and (r1, c1)."""
    nr, nc = abs(r1 - r0), abs(c1 - c0)
    sr = 1 if r1 > r0 else -1
    sc = 1 if c1 > c0 else -1
    r, c, ir, ic = r0, c0, 0, 0
    while ir < nr or ic < nc:
        # Which grid line does the segment cross next: a column boundary (at parameter
        # (ic + 1/2) / nc) or a row boundary (at (ir + 1/2) / nr)? Cross-multiplied, in integers.
        decision = (1 + 2 * ic) * nr - (1 + 2 * ir) * nc
        if decision == 0:  # exactly through a corner
            if opaque[r, c + sc] and opaque[r + sr, c]:
                return False
            r += sr
            c += sc
            ir += 1
            ic += 1
        elif decision < 0:
            c += sc
            ic += 1
        else:
            r += sr
            ir += 1
        if (r != r1 or c != c1) and opaque[r, c]:
            return False
    return True


@numba.njit(cache=True)
def _field_of_view(opaque, r, c, face, vision_range, cos_half, out):
    h, w = opaque.shape
    fr, fc = _DR[face], _DC[face]
    reach = int(math.floor(vision_range))
    range2 = vision_range * vision_range
    for rr in range(max(0, r - reach), min(h, r + reach + 1)):
        for cc in range(max(0, c - reach), min(w, c + reach + 1)):
            dr, dc = rr - r, cc - c
            d2 = dr * dr + dc * dc
            if d2 == 0:
                out[rr, cc] = True
                continue
            if d2 > range2:
                continue
            if dr * fr + dc * fc < cos_half * math.sqrt(d2) - 1e-9:
                continue
            if line_of_sight(opaque, r, c, rr, cc):
                out[rr, cc] = True


@numba.njit(cache=True)
def fields_of_view(opaque, rows, cols, faces, vision_range, cos_half):
    """(n, H, W) bool: the cells each of n agents sees (positions ``rows``/``cols``, facings)."""
    n = rows.shape[0]
    out = np.zeros((n, opaque.shape[0], opaque.shape[1]), np.bool_)
    for k in range(n):
        _field_of_view(opaque, rows[k], cols[k], faces[k], vision_range, cos_half, out[k])
    return out


@numba.njit(cache=True)
def seen_from_anywhere(opaque, rows, cols, vision_range):
    """(H, W) bool: cells some of the given viewers could see by turning (no cone)."""
    out = np.zeros(opaque.shape, np.bool_)
    for k in range(rows.shape[0]):
        _field_of_view(opaque, rows[k], cols[k], 0, vision_range, -1.0, out)
    return out


def field_of_view(opaque: np.ndarray, row: int, col: int, face: int, vision_range: float,
                  cos_half: float) -> np.ndarray:
    """(H, W) bool: the cells one agent at (row, col) facing ``face`` sees."""
    return fields_of_view(np.ascontiguousarray(opaque, dtype=np.bool_), np.array([row], np.int64),
                          np.array([col], np.int64), np.array([face], np.int64),
                          float(vision_range), float(cos_half))[0]


__all__ = ["field_of_view", "fields_of_view", "line_of_sight", "seen_from_anywhere"]
