"""Turn an agent name from the command line into an agent.

Scripted agents need nothing beyond the core install; a checkpoint directory is loaded by the
learned-agent loaders, which import their optional extras (torch, Stable-Baselines3, Ray) only
when a checkpoint is actually loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from palaestra.agents.scripted.kelly import KellyAgentBase, make_scripted_kelly_agent
from palaestra.envs.kelly.env import KellyCoinflipEnv, KellyConfig


def resolve_kelly_agent(spec: str, env: gym.Env, env_id: str) -> KellyAgentBase:
    """A scripted agent by name, or a trained checkpoint by directory.

    Raises:
        UnknownNameError: no scripted agent has that name.
        FileFormatError, FileNotFoundError: the checkpoint is missing, malformed or for another env.
        MissingExtraError: loading the checkpoint needs an extra that is not installed.
    """
    if Path(spec).exists() or "/" in spec or spec.startswith("."):
        from palaestra.agents.learned.checkpoints import load_kelly_checkpoint

        return load_kelly_checkpoint(spec, env_id=env_id)
    base = env.unwrapped
    config = base.config if isinstance(base, KellyCoinflipEnv) else KellyConfig()
    return make_scripted_kelly_agent(spec, config)


def resolve_bomber_agent(spec: str) -> Any:
    """A scripted Bomber agent by name, or a trained one by checkpoint directory
    (``palaestra league export`` writes those).

    Raises:
        UnknownNameError: no scripted agent has that name.
        FileFormatError, FileNotFoundError: the checkpoint is missing or malformed.
        MissingExtraError: loading the checkpoint needs an extra that is not installed.
    """
    if Path(spec).is_dir() or "/" in spec or spec.startswith("."):
        from palaestra.agents.learned.bomber import load_bomber_checkpoint

        return load_bomber_checkpoint(spec)
    from palaestra.agents.scripted.bomber import make_scripted_bomber_agent

    return make_scripted_bomber_agent(spec)
