"""HideAndSeek: OpenAI's hide-and-seek on a 2D grid (PettingZoo ``env``/``parallel_env``)."""

from palaestra.envs.hide_and_seek.config import HideAndSeekConfig
from palaestra.envs.hide_and_seek.env import HideAndSeekParallelEnv, env, parallel_env, raw_env

__all__ = ["HideAndSeekConfig", "HideAndSeekParallelEnv", "env", "parallel_env", "raw_env"]
