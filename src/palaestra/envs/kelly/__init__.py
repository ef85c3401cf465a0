"""The Kelly coin-flip betting game and its exact solver."""

from palaestra.envs.kelly.env import (
    KellyCoinflipEnv,
    KellyCoinflipGeneralizedEnv,
    KellyConfig,
    KellyGeneralizedConfig,
)
from palaestra.envs.kelly.solver import KellySolution, solve_kelly

__all__ = [
    "KellyCoinflipEnv",
    "KellyCoinflipGeneralizedEnv",
    "KellyConfig",
    "KellyGeneralizedConfig",
    "KellySolution",
    "solve_kelly",
]
