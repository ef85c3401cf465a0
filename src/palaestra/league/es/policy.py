"""A small numpy MLP whose parameters are one flat vector, as evolution strategies want them.

Layout of the flat vector: for each layer in order (input -> hidden... -> output), the weight matrix
of shape ``(fan_in, fan_out)`` in row-major order, then its bias ``(fan_out,)``.

Actions are deterministic (ES explores in parameter space, not in action space):

* ``"discrete"``: the argmax of the ``act_dim`` outputs (the lowest index on ties).
* ``"continuous"``: with ``squash=True`` (default) ``tanh`` of the outputs, in ``[-1, 1]`` (rescale
  to the action bounds outside); with ``squash=False`` the raw outputs.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from palaestra.league.es.obs_norm import RunningStat

__all__ = ["FlatMLPPolicy"]

_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


class FlatMLPPolicy:
    """Observation -> hidden layers (``activation``) -> linear output -> deterministic action."""

    def __init__(self, obs_dim: int, act_space_kind: Literal["discrete", "continuous"],
                 act_dim: int, hidden: Sequence[int] = (32, 32),
                 activation: Literal["tanh", "relu"] = "tanh", squash: bool = True,
                 dtype: type = np.float64) -> None:
        self.obs_dim = _positive_int("obs_dim", obs_dim)
        self.act_dim = _positive_int("act_dim", act_dim)
        if act_space_kind not in ("discrete", "continuous"):
            raise ValueError(f"act_space_kind must be 'discrete' or 'continuous', "
                             f"got {act_space_kind!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, "
                             f"got {activation!r}")
        self.act_space_kind = act_space_kind
        self.hidden = tuple(_positive_int("hidden size", h) for h in hidden)
        self.activation = activation
        self.squash = bool(squash)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        sizes = (self.obs_dim, *self.hidden, self.act_dim)
        self.layer_shapes: tuple[tuple[int, int], ...] = tuple(zip(sizes[:-1], sizes[1:]))
        self._flat = np.zeros(sum(i * o + o for i, o in self.layer_shapes), dtype=self.dtype)
        self._layers: list[tuple[np.ndarray, np.ndarray]] = []
        start = 0
        for fan_in, fan_out in self.layer_shapes:  # views into self._flat
            w = self._flat[start:start + fan_in * fan_out].reshape(fan_in, fan_out)
            start += fan_in * fan_out
            self._layers.append((w, self._flat[start:start + fan_out]))
            start += fan_out

    @property
    def num_params(self) -> int:
        """Length of the flat parameter vector."""
        return int(self._flat.size)

    def reset(self) -> None:
        """Start of an episode: nothing to clear (the policy has no memory)."""

    def get_flat(self) -> np.ndarray:
        """A copy of the parameters as one vector of length :attr:`num_params`."""
        return self._flat.copy()

    def set_flat(self, flat: np.ndarray) -> None:
        """Copy ``flat`` (length :attr:`num_params`, finite) into the parameters."""
        arr = np.asarray(flat)
        if arr.shape != (self.num_params,):
            raise ValueError(f"flat parameters must have shape ({self.num_params},), "
                             f"got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("flat parameters hold non-finite values")
        self._flat[:] = arr

    def init(self, rng: np.random.Generator, hidden_std: float = 1.0,
             output_std: float = 0.01) -> np.ndarray:
        """Draw new parameters (normc) and return a copy of them.

        Each weight column (the inputs of one unit) is a standard-normal draw rescaled to norm
        ``hidden_std`` (hidden layers) or ``output_std`` (output layer); biases are 0. A small
        ``output_std`` starts the policy near-indifferent between actions.
        """
        for k, (w, b) in enumerate(self._layers):
            std = output_std if k == len(self._layers) - 1 else hidden_std
            cols = rng.standard_normal(w.shape)
            w[:] = cols * (std / np.sqrt(np.square(cols).sum(axis=0, keepdims=True)))
            b[:] = 0.0
        return self.get_flat()

    def forward(self, obs: np.ndarray, obs_norm: RunningStat | None = None) -> np.ndarray:
        """Raw outputs (logits or pre-squash means): shape ``(act_dim,)`` or ``(B, act_dim)``."""
        x = np.asarray(obs, dtype=np.float64)
        if x.ndim not in (1, 2) or x.shape[-1] != self.obs_dim:
            raise ValueError(f"obs must have shape ({self.obs_dim},) or (B, {self.obs_dim}), "
                             f"got {x.shape}")
        if obs_norm is not None:
            x = obs_norm.normalise(x)
        x = x.astype(self.dtype, copy=False)
        act_fn = _ACTIVATIONS[self.activation]
        for k, (w, b) in enumerate(self._layers):
            x = x @ w + b
            if k < len(self._layers) - 1:
                x = act_fn(x)
        return x

    def act(self, obs: np.ndarray, obs_norm: RunningStat | None = None) -> int | np.ndarray:
        """Deterministic action(s) for one observation ``(obs_dim,)`` or a batch ``(B, obs_dim)``.

        Discrete: an ``int`` for one observation, an int64 array ``(B,)`` for a batch. Continuous:
        an array ``(act_dim,)`` or ``(B, act_dim)`` (tanh-squashed when ``squash``).
        """
        out = self.forward(obs, obs_norm)
        if self.act_space_kind == "discrete":
            idx = np.argmax(out, axis=-1)
            return int(idx) if out.ndim == 1 else idx.astype(np.int64)
        return np.tanh(out) if self.squash else out
