"""A table of standard-normal noise that every ES worker rebuilds from ``(seed, size)``.

Evolution strategies perturb a parameter vector ``theta`` with ``sigma * eps``. Rather than sending
``eps`` (as long as ``theta``) between the master and its workers, every process builds the same
table of ``size`` float32 draws from ``seed`` and a perturbation is named by one integer: the offset
``index`` of a slice ``table[index : index + dim]`` (Salimans et al. 2017, "Evolution Strategies as
a Scalable Alternative to Reinforcement Learning").

Memory: ``size * 4`` bytes per process (the default 25,000,000 draws take 100 MB; tests use
100,000, i.e. 400 kB). Building it draws from NumPy's PCG64 ``Generator``; NumPy does not promise
that a ``Generator``'s stream is the same across releases, so all workers must run the same NumPy
version (:attr:`SharedNoiseTable.fingerprint` lets a master check that they do).

Pickling a table sends only ``(seed, size)``; the receiver rebuilds it. A :class:`Perturbation`
names one evaluation point, ``theta + sign * sigma * table[index : index + dim]`` (:func:`perturb`).
"""

from __future__ import annotations

import hashlib
import numbers
from typing import NamedTuple

import numpy as np

__all__ = ["DEFAULT_NOISE_SIZE", "Perturbation", "SharedNoiseTable", "perturb"]

DEFAULT_NOISE_SIZE = 25_000_000
"""Default number of float32 draws (100 MB)."""


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


class SharedNoiseTable:
    """A read-only float32 array of ``size`` standard-normal draws made from ``seed``."""

    def __init__(self, seed: int, size: int = DEFAULT_NOISE_SIZE) -> None:
        self._seed = _check_int("seed", seed, 0)
        self._size = _check_int("size", size, 1)
        rng = np.random.default_rng(self._seed)
        table = rng.standard_normal(self._size, dtype=np.float32)
        table.flags.writeable = False
        self._table = table
        self._fingerprint: str | None = None

    @property
    def seed(self) -> int:
        """The seed the table was drawn from."""
        return self._seed

    @property
    def size(self) -> int:
        """Number of float32 draws in the table."""
        return self._size

    @property
    def nbytes(self) -> int:
        """Memory held by the table: ``size * 4`` bytes."""
        return int(self._table.nbytes)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the table's bytes (computed once): do two processes hold the same table?"""
        if self._fingerprint is None:
            self._fingerprint = hashlib.sha256(self._table.tobytes()).hexdigest()
        return self._fingerprint

    def _check_dim(self, dim: int) -> int:
        dim = _check_int("dim", dim, 1)
        if dim > self._size:
            raise ValueError(f"dim {dim} is larger than the noise table (size {self._size})")
        return dim

    def get(self, index: int, dim: int) -> np.ndarray:
        """The read-only view ``table[index : index + dim]`` (float32, shape ``(dim,)``)."""
        dim = self._check_dim(dim)
        index = _check_int("index", index, 0)
        if index + dim > self._size:
            raise ValueError(f"noise slice [{index}, {index + dim}) runs past the end of the table "
                             f"(size {self._size}); index must be <= {self._size - dim}")
        return self._table[index:index + dim]

    def sample_index(self, rng: np.random.Generator, dim: int) -> int:
        """A uniformly drawn valid offset for a slice of length ``dim``."""
        dim = self._check_dim(dim)
        return int(rng.integers(0, self._size - dim + 1))

    def __reduce__(self) -> tuple[type, tuple[int, int]]:
        return (SharedNoiseTable, (self._seed, self._size))

    def __repr__(self) -> str:
        return f"SharedNoiseTable(seed={self._seed}, size={self._size})"


class Perturbation(NamedTuple):
    """Evaluate ``theta + sign * sigma * noise[index : index + dim]``."""

    index: int  # type: ignore[assignment]  # the field's name hides tuple.index
    sign: int  # +1 or -1; the two halves of an antithetic pair share ``index``


def perturb(theta: np.ndarray, noise: SharedNoiseTable, p: Perturbation,
            sigma: float) -> np.ndarray:
    """``theta + p.sign * sigma * noise[p.index : p.index + len(theta)]`` as float64."""
    if p.sign not in (1, -1):
        raise ValueError(f"perturbation sign must be +1 or -1, got {p.sign!r}")
    theta = np.asarray(theta, dtype=np.float64)
    return theta + (p.sign * sigma) * noise.get(p.index, theta.size).astype(np.float64)
