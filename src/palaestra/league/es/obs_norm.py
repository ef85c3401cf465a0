"""Running mean and variance of observations, mergeable across workers.

Workers each fill a fresh :class:`RunningStat` during their rollouts and send it back; the master
:meth:`~RunningStat.merge` s them into its own. The statistics are ``count``, ``mean`` and ``m2``
(sum of squared deviations from the mean), combined with the pairwise update of Chan, Golub and
LeVeque (1979); merging is exact up to float64 rounding and much more stable than sum / sum-of-
squares. Everything is float64.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, cast

import numpy as np

__all__ = ["RunningStat"]


class RunningStat:
    """Mean and (population) variance of vectors of shape ``shape`` seen so far.

    ``std_floor`` bounds :attr:`std` from below, so constant features are not blown up; ``clip``
    bounds :meth:`normalise`'s output to ``[-clip, clip]``. Before any data ``mean`` is 0 and
    ``std`` is 1, so :meth:`normalise` only clips.
    """

    def __init__(self, shape: int | tuple[int, ...], std_floor: float = 1e-2,
                 clip: float = 5.0) -> None:
        shape = (shape,) if isinstance(shape, numbers.Integral) \
            else tuple(cast("tuple[int, ...]", shape))
        if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1
                   for d in shape):
            raise ValueError(f"shape must be positive integers, got {shape!r}")
        if not (math.isfinite(std_floor) and std_floor > 0):
            raise ValueError(f"std_floor must be finite and > 0, got {std_floor}")
        if not (clip > 0):
            raise ValueError(f"clip must be > 0, got {clip}")
        self.shape: tuple[int, ...] = tuple(int(d) for d in shape)
        self.std_floor = float(std_floor)
        self.clip = float(clip)
        self.count = 0
        self.mean = np.zeros(self.shape, dtype=np.float64)
        self.m2 = np.zeros(self.shape, dtype=np.float64)

    def _combine(self, count: int, mean: np.ndarray, m2: np.ndarray) -> None:
        if count == 0:
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta * delta * (self.count * count / total)
        self.count = total

    def push(self, x: np.ndarray) -> None:
        """Add one observation of shape ``shape``."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.shape != self.shape:
            raise ValueError(f"observation must have shape {self.shape}, got {arr.shape}")
        self.push_batch(arr[None])

    def push_batch(self, x: np.ndarray) -> None:
        """Add a batch of shape ``(B, *shape)`` (``B`` may be 0)."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.shape[1:] != self.shape or arr.ndim != len(self.shape) + 1:
            raise ValueError(f"batch must have shape (B, *{self.shape}), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("observations hold non-finite values")
        if arr.shape[0] == 0:
            return
        mean = arr.mean(axis=0)
        self._combine(arr.shape[0], mean, ((arr - mean) ** 2).sum(axis=0))

    def merge(self, other: RunningStat) -> None:
        """Fold ``other``'s statistics into this one (``other`` is unchanged)."""
        if not isinstance(other, RunningStat):
            raise ValueError(f"can only merge a RunningStat, got {type(other).__name__}")
        if other.shape != self.shape:
            raise ValueError(f"cannot merge shape {other.shape} into shape {self.shape}")
        self._combine(other.count, other.mean, other.m2)

    @property
    def var(self) -> np.ndarray:
        """Population variance ``m2 / count`` (ones before any data)."""
        if self.count == 0:
            return np.ones(self.shape, dtype=np.float64)
        return self.m2 / self.count

    @property
    def std(self) -> np.ndarray:
        """``max(sqrt(var), std_floor)`` elementwise."""
        return np.maximum(np.sqrt(self.var), self.std_floor)

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """``clip((x - mean) / std, -clip, clip)``; ``x`` may be one observation or a batch."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim < len(self.shape) or arr.shape[arr.ndim - len(self.shape):] != self.shape:
            raise ValueError(f"observations must end in shape {self.shape}, got {arr.shape}")
        return np.clip((arr - self.mean) / self.std, -self.clip, self.clip)

    def copy(self) -> RunningStat:
        """An independent copy."""
        out = RunningStat(self.shape, self.std_floor, self.clip)
        out.load_state_dict(self.state_dict())
        return out

    def state_dict(self) -> dict[str, Any]:
        """Copies of all statistics and settings."""
        return {"shape": list(self.shape), "std_floor": self.std_floor, "clip": self.clip,
                "count": self.count, "mean": self.mean.copy(), "m2": self.m2.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (the shape must match)."""
        if tuple(state["shape"]) != self.shape:
            raise ValueError(f"state has shape {tuple(state['shape'])}, expected {self.shape}")
        mean = np.array(state["mean"], dtype=np.float64).reshape(self.shape)
        m2 = np.array(state["m2"], dtype=np.float64).reshape(self.shape)
        count = int(state["count"])
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        self.std_floor = float(state["std_floor"])
        self.clip = float(state["clip"])
        self.count, self.mean, self.m2 = count, mean, m2

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> RunningStat:
        """A new :class:`RunningStat` built from :meth:`state_dict` output."""
        out = cls(tuple(state["shape"]), float(state["std_floor"]), float(state["clip"]))
        out.load_state_dict(state)
        return out
