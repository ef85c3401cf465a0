"""Bomber: Pommerman's bomber arena, rule-exact and compiled (PettingZoo ``env``/``parallel_env``)."""

from palaestra.envs.bomber.env import BomberParallelEnv, env, parallel_env, raw_env

__all__ = ["BomberParallelEnv", "env", "parallel_env", "raw_env"]
