"""A flat-parameter policy with memory: a linear accumulator in front of an MLP head.

Tasks such as GridCounting ("arrive exactly at step T") need the number of steps taken, which the
observation does not hold. This policy keeps a memory vector ``h`` (``memory`` numbers, zero at
the start of each episode) and at every step::

    h <- h + x_raw @ W_acc + b_acc          (x_raw: the observation, not normalised)
    action = head([normalise(x_raw), h])    (head: a FlatMLPPolicy)

``b_acc`` alone makes a unit of ``h`` count steps exactly and without bound, and ``W_acc`` lets it
sum features over the episode (a neural accumulator, as in the NAC of Trask et al. 2018, without
the weight constraint). The accumulator reads the raw observation because normalisation would
zero a constant feature and shift the others by statistics that move between generations.

Flat layout: ``W_acc`` ``(obs_dim, memory)`` row-major, ``b_acc`` ``(memory,)``, then the head's
parameters (see :class:`~palaestra.league.es.policy.FlatMLPPolicy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from palaestra.league.es.obs_norm import RunningStat
from palaestra.league.es.policy import FlatMLPPolicy, _positive_int

__all__ = ["FlatAccumulatorPolicy"]


class FlatAccumulatorPolicy:
    """Observation -> (accumulated memory, normalised observation) -> MLP head -> action.

    Same interface as :class:`~palaestra.league.es.policy.FlatMLPPolicy` plus :meth:`reset`,
    which the episode loop calls before the first step. Acts on one observation at a time.
    """

    def __init__(self, obs_dim: int, act_space_kind: Literal["discrete", "continuous"],
                 act_dim: int, memory: int = 4, hidden: Sequence[int] = (32,)) -> None:
        self.obs_dim = _positive_int("obs_dim", obs_dim)
        self.memory = _positive_int("memory", memory)
        self.head = FlatMLPPolicy(self.obs_dim + self.memory, act_space_kind, act_dim, hidden)
        self.act_space_kind = act_space_kind
        self.act_dim = self.head.act_dim
        n_acc = self.obs_dim * self.memory + self.memory
        self._acc = np.zeros(n_acc, dtype=np.float64)
        self._w = self._acc[:self.obs_dim * self.memory].reshape(self.obs_dim, self.memory)
        self._b = self._acc[self.obs_dim * self.memory:]
        self.h = np.zeros(self.memory, dtype=np.float64)

    @property
    def num_params(self) -> int:
        """Length of the flat parameter vector."""
        return int(self._acc.size + self.head.num_params)

    def get_flat(self) -> np.ndarray:
        """A copy of the parameters as one vector of length :attr:`num_params`."""
        return np.concatenate([self._acc, self.head.get_flat()])

    def set_flat(self, flat: np.ndarray) -> None:
        """Copy ``flat`` (length :attr:`num_params`, finite) into the parameters."""
        arr = np.asarray(flat, dtype=np.float64)
        if arr.shape != (self.num_params,):
            raise ValueError(f"flat parameters must have shape ({self.num_params},), "
                             f"got {arr.shape}")
        self.head.set_flat(arr[self._acc.size:])  # checks finiteness
        self._acc[:] = arr[:self._acc.size]

    def init(self, rng: np.random.Generator, acc_std: float = 0.1) -> np.ndarray:
        """Draw new parameters: accumulator weights and biases normal with std ``acc_std``, the
        head as :meth:`FlatMLPPolicy.init`. Returns a copy of them."""
        self._w[:] = rng.standard_normal(self._w.shape) * acc_std
        self._b[:] = rng.standard_normal(self._b.shape) * acc_std
        self.head.init(rng)
        return self.get_flat()

    def reset(self) -> None:
        """Clear the memory (start of an episode)."""
        self.h[:] = 0.0

    def act(self, obs: np.ndarray, obs_norm: RunningStat | None = None) -> int | np.ndarray:
        """Accumulate ``obs`` (shape ``(obs_dim,)``) into the memory and act on both."""
        x = np.asarray(obs, dtype=np.float64)
        if x.shape != (self.obs_dim,):
            raise ValueError(f"obs must have shape ({self.obs_dim},), got {x.shape}")
        self.h += x @ self._w + self._b
        xn = obs_norm.normalise(x) if obs_norm is not None else x
        return self.head.act(np.concatenate([xn, self.h]))
