"""The settings of a league's imitation warm start (:mod:`palaestra.league.population.imitation`).

Kept apart from that module so that the league config can hold them without importing numba.
"""

from __future__ import annotations

from dataclasses import dataclass

from palaestra.errors import ConfigError


@dataclass(frozen=True)
class ImitationConfig:
    """The warm start of a new league (``league train --imitate TEACHER``); off by default."""

    teacher: str | None = None
    """The bot to imitate, one the league's boards play (``cautious-simple``, ``simple``,
    ``cautious-random``, ...); None: no warm start."""
    samples: int = 250_000
    """Teacher steps collected, from finished games only (the last games may add a few more)."""
    epochs: int = 10
    """Passes over the samples."""
    minibatch_size: int = 512
    lr: float = 2e-3
    """Adam's learning rate of the fit (PPO's own optimizer is untouched)."""
    value_coeff: float = 0.5
    """Weight of the value loss beside the cross-entropy."""
    num_boards: int = 64
    """Boards played at once while collecting."""
    opponent: str = "simple"
    """The bot in the other three seats."""

    def __post_init__(self) -> None:
        if self.teacher is not None:  # the bot names live with the boards (numba): only then
            from palaestra.league.population.vector_boards import BOT_KINDS

            for role, name in (("teacher", self.teacher), ("opponent", self.opponent)):
                if name not in BOT_KINDS:
                    raise ConfigError(f"unknown imitation {role} {name!r}; known: {', '.join(BOT_KINDS)}")
        for name in ("samples", "epochs", "minibatch_size", "num_boards"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"imitation {name} must be a positive integer, got {value!r}")
        if not self.lr > 0 or not self.value_coeff >= 0:
            raise ConfigError(f"imitation needs lr > 0 and value_coeff >= 0, got {self.lr} and {self.value_coeff}")
