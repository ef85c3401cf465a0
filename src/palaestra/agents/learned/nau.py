"""Neural addition and multiplication units (NAU, NMU), and their sparsity regulariser.

Madsen & Johansen (ICLR 2020), *Neural Arithmetic Units*, replace the NAC's ``tanh * sigmoid``
weights, which only approach -1, 0 and 1, by plain weights that a regulariser drives there:

* NAU: ``y = W x``, each weight clamped to [-1, 1] after every optimiser step
  (:meth:`NAU.clamp_`). Sums and differences of its inputs, nothing else.
* NMU: ``y_j = prod_i (W_ji x_i + 1 - W_ji)``, weights clamped to [0, 1]: a weight of 1 takes
  ``x_i`` into the product, a weight of 0 leaves the factor at 1.

The regulariser (:func:`sparsity_penalty`) is the mean over weights of ``min(|w|, 1 - |w|)``:
zero exactly when every weight is -1, 0 or 1, and pulling each weight towards the nearest of
them. It is switched on by :class:`RegularizerSchedule`, which raises its weight linearly from 0
to ``strength`` between two points of training: early on the units are free to find which inputs
matter, later they are pushed to exact integer weights, and with them to exact arithmetic far
outside the range they were trained on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from palaestra.errors import ConfigError

__all__ = ["NAU", "NMU", "RegularizerSchedule", "arithmetic_units", "clamp_units",
           "sparsity_penalty"]


class NAU(nn.Module):
    """Neural addition unit: ``y = W x``, ``W`` clamped to [-1, 1], regularised to {-1, 0, 1}.

    The initial weights are uniform with mean 0 and variance ``2 / (in + out)`` (Glorot), cut to
    [-1/2, 1/2] so that no weight starts on the far side of a regulariser's ridge.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ConfigError(f"NAU needs positive sizes, got {in_features}, {out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r = min(0.5, math.sqrt(6.0 / (self.in_features + self.out_features)))
        nn.init.uniform_(self.weight, -r, r)

    @torch.no_grad()
    def clamp_(self) -> None:
        """Clamp the weights to [-1, 1]; call after every optimiser step."""
        self.weight.clamp_(-1.0, 1.0)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class NMU(nn.Module):
    """Neural multiplication unit: ``y_j = prod_i (W_ji x_i + 1 - W_ji)``, ``W`` in [0, 1].

    Initial weights are uniform on ``0.5 +- 0.25``: every input half in the product, so that the
    gradient reaches all of them.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ConfigError(f"NMU needs positive sizes, got {in_features}, {out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.uniform_(self.weight, 0.25, 0.75)

    @torch.no_grad()
    def clamp_(self) -> None:
        """Clamp the weights to [0, 1]; call after every optimiser step."""
        self.weight.clamp_(0.0, 1.0)

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight  # (out, in)
        factors = w * x.unsqueeze(-2) + 1.0 - w  # (..., out, in)
        return factors.prod(dim=-1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


Unit = NAU | NMU


def arithmetic_units(module: nn.Module) -> list[Unit]:
    """Every NAU and NMU inside ``module`` (itself included), in module order."""
    return [m for m in module.modules() if isinstance(m, (NAU, NMU))]


def sparsity_penalty(units: Iterable[Unit]) -> Tensor:
    """Mean over all their weights of ``min(|w|, 1 - |w|)``; 0 when there are none.

    Zero exactly when every weight is -1, 0 or 1 (0 or 1 for an NMU, whose weights are >= 0).
    """
    total = torch.zeros(())
    count = 0
    for unit in units:
        a = unit.weight.abs()
        total = total + torch.minimum(a, 1.0 - a).sum()
        count += a.numel()
    return total / count if count else total


def clamp_units(units: Iterable[Unit]) -> None:
    """Clamp every unit's weights to its range (after an optimiser step)."""
    for unit in units:
        unit.clamp_()


@dataclass(frozen=True)
class RegularizerSchedule:
    """The regulariser's weight over training: 0 until ``start``, then a linear rise to
    ``strength`` at ``end``, then ``strength`` (Madsen & Johansen's lambda schedule).

    ``start`` and ``end`` are fractions of training (0 = the first update, 1 = the last).
    """

    strength: float = 1.0
    """The regulariser's weight once it is fully on."""
    start: float = 0.3
    """Where it begins to rise, as a fraction of training."""
    end: float = 0.6
    """Where it reaches ``strength``, as a fraction of training."""

    def __post_init__(self) -> None:
        if not math.isfinite(self.strength) or self.strength < 0:
            raise ConfigError(f"regulariser strength must be >= 0, got {self.strength}")
        if not 0.0 <= self.start <= self.end <= 1.0:
            raise ConfigError(
                f"regulariser schedule needs 0 <= start <= end <= 1, got {self.start}, {self.end}")

    def weight(self, progress: float) -> float:
        """The regulariser's weight at ``progress`` (a fraction of training, 0..1)."""
        if progress < self.start:
            return 0.0
        if progress >= self.end:
            return self.strength
        return self.strength * (progress - self.start) / (self.end - self.start)
