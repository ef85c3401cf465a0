"""Grid-world counting (Trask et al. 2018): reach the target exactly at step T."""

from palaestra.envs.counting.env import (
    ACTION_NAMES,
    OUTCOMES,
    GridCountingConfig,
    GridCountingEnv,
    manhattan,
    move,
)

__all__ = [
    "ACTION_NAMES",
    "OUTCOMES",
    "GridCountingConfig",
    "GridCountingEnv",
    "manhattan",
    "move",
]
