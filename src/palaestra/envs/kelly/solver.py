"""Exact dynamic-programming solution of the classic Kelly coin-flip game, over cents.

With ``n`` rounds left and wealth ``w`` cents (cap ``C``), the value is

    V_0(w) = w,   V_n(0) = 0,   V_n(C) = C,
    V_n(w) = max_{0 <= b <= min(w, C - w)} p V_{n-1}(w + b) + (1 - p) V_{n-1}(w - b).

(Bets above ``C - w`` only add downside, so they are never better.) If ``V_{n-1}`` is concave in
``w``, the bracket is concave in ``b``: its forward difference
``p dV(w + b) - (1 - p) dV(w - b - 1)`` is non-increasing, so the smallest maximiser is the first
``b`` where it stops being positive, found by walking from the previous wealth's maximiser. The
solver checks that concavity for every round; where it fails (it does not for the classic game,
but may for other parameters) that round falls back to the exhaustive search, so the answer is
exact either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from palaestra.errors import ConfigError

_CONCAVITY_TOL = 1e-12


@numba.njit(cache=True)
def _is_concave(v: np.ndarray) -> bool:
    for x in range(1, v.shape[0] - 1):
        if v[x + 1] - v[x] > v[x] - v[x - 1] + _CONCAVITY_TOL:
            return False
    return True


@numba.njit(cache=True)
def _backup_concave(v: np.ndarray, p: float, out: np.ndarray, bets: np.ndarray) -> None:
    cap = v.shape[0] - 1
    q = 1.0 - p
    out[0] = v[0]
    out[cap] = v[cap]
    bets[0] = 0
    bets[cap] = 0
    b = 0
    for w in range(1, cap):
        # The maximiser moves little from one wealth to the next: walk from the previous one to
        # the first b whose forward difference is not positive (exact, since it is monotone).
        hi = min(w, cap - w)
        if b > hi:
            b = hi
        while b < hi and p * (v[w + b + 1] - v[w + b]) - q * (v[w - b] - v[w - b - 1]) > 0.0:
            b += 1
        while b > 0 and p * (v[w + b] - v[w + b - 1]) - q * (v[w - b + 1] - v[w - b]) <= 0.0:
            b -= 1
        bets[w] = b
        out[w] = p * v[w + b] + q * v[w - b]


@numba.njit(cache=True)
def _backup_exhaustive(v: np.ndarray, p: float, out: np.ndarray, bets: np.ndarray) -> None:
    cap = v.shape[0] - 1
    q = 1.0 - p
    out[0] = v[0]
    out[cap] = v[cap]
    bets[0] = 0
    bets[cap] = 0
    for w in range(1, cap):
        best = -1.0
        best_b = 0
        for b in range(0, min(w, cap - w) + 1):
            val = p * v[w + b] + q * v[w - b]
            if val > best + _CONCAVITY_TOL:
                best = val
                best_b = b
        bets[w] = best_b
        out[w] = best


@numba.njit(cache=True)
def _solve(cap: int, p: float, rounds: int, bets: np.ndarray, values: np.ndarray) -> int:
    """Fill ``bets[n - 1, w]`` and ``values[n, w]``; return the number of non-concave rounds."""
    for w in range(cap + 1):
        values[0, w] = w / 100.0
    fallbacks = 0
    for n in range(1, rounds + 1):
        if _is_concave(values[n - 1]):
            _backup_concave(values[n - 1], p, values[n], bets[n - 1])
        else:
            fallbacks += 1
            _backup_exhaustive(values[n - 1], p, values[n], bets[n - 1])
    return fallbacks


@dataclass(frozen=True)
class KellySolution:
    """Optimal values and bets of the classic game for every wealth and number of rounds left."""

    edge: float
    cap_cents: int
    rounds: int
    values: np.ndarray
    """``values[n, w]``: expected final wealth in dollars with n rounds left and w cents."""
    bets: np.ndarray
    """``bets[n - 1, w]``: the smallest optimal bet in cents with n >= 1 rounds left."""
    exhaustive_rounds: int
    """Rounds where the value was not concave and the exhaustive search was used."""

    def value(self, wealth_cents: int, rounds_left: int) -> float:
        """Expected final wealth in dollars under optimal play."""
        self._check(wealth_cents, rounds_left)
        return float(self.values[rounds_left, wealth_cents])

    def bet(self, wealth_cents: np.ndarray, rounds_left: np.ndarray) -> np.ndarray:
        """Optimal bets in cents (0 where no round is left), vectorised over states."""
        w = np.asarray(wealth_cents, dtype=np.int64)
        n = np.asarray(rounds_left, dtype=np.int64)
        if np.any((w < 0) | (w > self.cap_cents)) or np.any((n < 0) | (n > self.rounds)):
            raise ConfigError(
                f"state out of the solved range: wealth 0..{self.cap_cents} cents, "
                f"rounds 0..{self.rounds}"
            )
        return np.where(n > 0, self.bets[np.maximum(n - 1, 0), w], 0).astype(np.int64)

    def _check(self, wealth_cents: int, rounds_left: int) -> None:
        if not 0 <= wealth_cents <= self.cap_cents or not 0 <= rounds_left <= self.rounds:
            raise ConfigError(
                f"state (wealth {wealth_cents} cents, {rounds_left} rounds) is outside the solved "
                f"range: wealth 0..{self.cap_cents} cents, rounds 0..{self.rounds}"
            )


def solve_kelly(edge: float = 0.6, cap_cents: int = 25_000, rounds: int = 300) -> KellySolution:
    """Solve the classic game exactly.

    Args:
        edge: probability of winning a flip, in (0, 1).
        cap_cents: the wealth cap in cents.
        rounds: the number of rounds to solve for (the tables cover 0..rounds rounds left).

    Returns:
        A :class:`KellySolution`; ``solve_kelly().value(2500, 300)`` is 246.6062931797...
    """
    if not 0.0 < edge < 1.0:
        raise ConfigError(f"edge must lie in (0, 1), got {edge}")
    if cap_cents < 2:
        raise ConfigError(f"cap_cents must be at least 2, got {cap_cents}")
    if rounds < 0:
        raise ConfigError(f"rounds must be >= 0, got {rounds}")
    values = np.empty((rounds + 1, cap_cents + 1), dtype=np.float64)
    bets = np.zeros((max(rounds, 1), cap_cents + 1), dtype=np.int32)
    fallbacks = _solve(cap_cents, float(edge), rounds, bets, values)
    return KellySolution(
        edge=edge,
        cap_cents=cap_cents,
        rounds=rounds,
        values=values,
        bets=bets[:rounds],
        exhaustive_rounds=int(fallbacks),
    )
