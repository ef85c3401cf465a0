"""What a reward model is made of, without torch: its config, its files, the directory check.

Kept apart from :mod:`~palaestra.league.prefs.reward_model` (the torch ensemble) so that option
defaults and config validation work in an install without the [sb3] extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from palaestra.errors import ConfigError

MODEL_FILE = "reward_model.pt"
CONFIG_FILE = "reward_model.json"


@dataclass(frozen=True)
class RewardModelConfig:
    """The reward-model ensemble and how it is fitted."""

    ensemble: int = 3
    """Members (each on its own bootstrap resample of the labels)."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layers of each member."""
    lr: float = 1e-3
    """Adam step size."""
    epochs: int = 40
    """Passes over the labels per :meth:`RewardEnsemble.fit` call."""
    batch_size: int = 64
    """Comparisons per gradient step."""
    label_noise: float = 0.1
    """``eps`` of the Bradley-Terry likelihood (chance a label is a coin flip)."""
    weight_decay: float = 1e-4
    """Adam weight decay (L2) on every member."""
    reward_std: float = 0.1
    """Standard deviation of the paid reward over the labelled segments' real steps."""
    seed: int = 0
    """Initialisation and bootstrap of the members."""

    def __post_init__(self) -> None:
        for name in ("ensemble", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not all(isinstance(h, int) and h >= 1 for h in self.hidden):
            raise ConfigError(f"hidden sizes must be positive integers, got {self.hidden!r}")
        if not 0.0 <= self.label_noise < 1.0:
            raise ConfigError(f"label_noise must be in [0, 1), got {self.label_noise}")
        if not (self.lr > 0 and self.reward_std > 0 and self.weight_decay >= 0):
            raise ConfigError("lr and reward_std must be positive, weight_decay >= 0")


def require_model_dir(directory: str | Path) -> Path:
    """``directory`` as a Path; ValueError unless it holds a saved reward model."""
    d = Path(directory)
    if not ((d / MODEL_FILE).is_file() and (d / CONFIG_FILE).is_file()):
        raise ConfigError(f"{d}: no reward model there ({MODEL_FILE} and {CONFIG_FILE}); write "
                          "one with `palaestra prefs train` or `palaestra prefs fit`")
    return d
