"""Fitness shaping: centred ranks (OpenAI-ES) and log recombination weights (canonical ES)."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["canonical_weights", "centered_ranks"]


def centered_ranks(x: np.ndarray) -> np.ndarray:
    """Replace each value of ``x`` by its rank, scaled to ``[-0.5, 0.5]``; same shape as ``x``.

    All entries are ranked together whatever the shape: the smallest gets rank 0, the largest
    ``n - 1``, and the result is ``rank / (n - 1) - 0.5`` (float64). **Ties** share the mean of the
    ranks they span (``[1, 2, 2, 3]`` -> ranks ``[0, 1.5, 1.5, 3]``), so equal fitnesses get equal
    weights and the result always sums to 0. A single value maps to 0. Infinite values rank as the
    extremes; NaN raises ``ValueError``.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("centered_ranks needs at least one value")
    if np.any(np.isnan(arr)):
        raise ValueError("centered_ranks got NaN fitness values")
    flat = arr.ravel()
    n = flat.size
    if n == 1:
        return np.zeros_like(arr)
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    starts_group = np.empty(n, dtype=bool)
    starts_group[0] = True
    starts_group[1:] = ordered[1:] != ordered[:-1]
    group = np.cumsum(starts_group) - 1
    first = np.flatnonzero(starts_group)
    last = np.append(first[1:], n) - 1
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = ((first + last) / 2.0)[group]
    return (ranks / (n - 1) - 0.5).reshape(arr.shape)


def canonical_weights(mu: int) -> np.ndarray:
    """Recombination weights ``w_j = log(mu + 0.5) - log(j)``, ``j = 1..mu``, normalised to sum 1.

    ``w_1`` (for the best of the ``mu`` selected) is the largest; all are positive (Chrabaszcz et
    al. 2018, "Back to Basics: Benchmarking Canonical Evolution Strategies for Playing Atari").
    """
    if isinstance(mu, bool) or not isinstance(mu, numbers.Integral) or mu < 1:
        raise ValueError(f"mu must be an integer >= 1, got {mu!r}")
    w = np.log(mu + 0.5) - np.log(np.arange(1, int(mu) + 1, dtype=np.float64))
    return w / w.sum()
