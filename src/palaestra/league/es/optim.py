"""First-order optimisers for one flat parameter vector, with exact state round trips.

Both **minimise**: ``step(theta, grad)`` moves ``theta`` against ``grad``. Evolution strategies that
ascend a fitness pass ``-g`` (see :mod:`palaestra.league.es.algorithms`). The internal state is kept
in float64 whatever the dtype of ``theta``; the returned vector has the dtype of ``theta``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["SGD", "Adam", "Optimizer", "make_optimizer"]


def _check_positive(name: str, value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return float(value)


def _check_fraction(name: str, value: float) -> float:
    if not (0.0 <= value < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


class Optimizer:
    """Shared bookkeeping: the vector length, the step counter and input checks."""

    kind = "base"

    def __init__(self, dim: int, lr: float) -> None:
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim < 1:
            raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
        self.dim: int = int(dim)
        self.lr: float = _check_positive("lr", lr)
        self.t: int = 0
        """Number of steps taken."""

    def _check(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        grad = np.asarray(grad, dtype=np.float64)
        for name, arr in (("theta", np.asarray(theta)), ("grad", grad)):
            if arr.shape != (self.dim,):
                raise ValueError(f"{name} must have shape ({self.dim},), got {arr.shape}")
        if not np.all(np.isfinite(grad)):
            raise ValueError("grad holds non-finite values")
        return grad

    def _direction(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """A new vector ``theta + update`` (``theta`` itself is not modified)."""
        grad = self._check(theta, grad)
        self.t += 1
        update = self._direction(grad)
        return (np.asarray(theta, dtype=np.float64) + update).astype(np.asarray(theta).dtype)

    def _arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _hyper(self) -> dict[str, float]:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters, step counter and copies of the moment vectors."""
        return {"kind": self.kind, "dim": self.dim, "t": self.t, "hyper": self._hyper(),
                **{k: v.copy() for k, v in self._arrays().items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (kind and dim must match; arrays are copied)."""
        if state.get("kind") != self.kind:
            raise ValueError(f"state is for optimiser {state.get('kind')!r}, not {self.kind!r}")
        if state.get("dim") != self.dim:
            raise ValueError(f"state is for dim {state.get('dim')}, not {self.dim}")
        arrays = self._arrays()
        for key, current in arrays.items():
            value = np.asarray(state[key], dtype=np.float64)
            if value.shape != current.shape:
                raise ValueError(f"state[{key!r}] has shape {value.shape}, "
                                 f"expected {current.shape}")
        for key in arrays:
            setattr(self, key, np.array(state[key], dtype=np.float64))
        for key in self._hyper():
            setattr(self, key, float(state["hyper"][key]))
        self.t = int(state["t"])


class SGD(Optimizer):
    """SGD with momentum as an exponential average (dampened):
    ``v <- momentum * v + (1 - momentum) * grad``, ``theta <- theta - lr * v``.

    With ``momentum = 0`` this is plain SGD; the dampening keeps the step size independent of the
    momentum (the form used by Salimans et al. 2017)."""

    kind = "sgd"

    def __init__(self, dim: int, lr: float, momentum: float = 0.9) -> None:
        super().__init__(dim, lr)
        self.momentum = _check_fraction("momentum", momentum)
        self.v = np.zeros(dim, dtype=np.float64)

    def _direction(self, grad: np.ndarray) -> np.ndarray:
        self.v = self.momentum * self.v + (1.0 - self.momentum) * grad
        return -self.lr * self.v

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"v": self.v}

    def _hyper(self) -> dict[str, float]:
        return {"lr": self.lr, "momentum": self.momentum}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction:
    ``theta <- theta - lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)``."""

    kind = "adam"

    def __init__(self, dim: int, lr: float, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        super().__init__(dim, lr)
        self.beta1 = _check_fraction("beta1", beta1)
        self.beta2 = _check_fraction("beta2", beta2)
        self.eps = _check_positive("eps", eps)
        self.m = np.zeros(dim, dtype=np.float64)
        self.v = np.zeros(dim, dtype=np.float64)

    def _direction(self, grad: np.ndarray) -> np.ndarray:
        self.m = self.beta1 * self.m + (1.0 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1.0 - self.beta2) * grad * grad
        a = self.lr * math.sqrt(1.0 - self.beta2 ** self.t) / (1.0 - self.beta1 ** self.t)
        return -a * self.m / (np.sqrt(self.v) + self.eps)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"m": self.m, "v": self.v}

    def _hyper(self) -> dict[str, float]:
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


def make_optimizer(kind: str, dim: int, lr: float, momentum: float = 0.9) -> Optimizer:
    """``Adam(dim, lr)`` for ``"adam"`` or ``SGD(dim, lr, momentum)`` for ``"sgd"``."""
    if kind == "adam":
        return Adam(dim, lr)
    if kind == "sgd":
        return SGD(dim, lr, momentum)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {kind!r}")
