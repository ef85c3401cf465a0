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
from palaestra.errors import UnknownNameError


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


def bomber_builtins() -> dict[str, str]:
    """Every Bomber agent playable by name, with its description: the scripted bots and the
    trained agents shipped in the package (:mod:`palaestra.agents.learned.shipped`)."""
    from palaestra.agents.learned.shipped import SHIPPED_BOMBER_AGENTS
    from palaestra.agents.scripted.bomber import SCRIPTED_BOMBER_AGENTS

    return {**SCRIPTED_BOMBER_AGENTS, **SHIPPED_BOMBER_AGENTS}


def make_bomber_builtin(name: str) -> Any:
    """A built-in Bomber agent by name (see :func:`bomber_builtins`).

    Raises:
        UnknownNameError: for an unknown name, listing the known ones.
        MissingExtraError: a shipped trained agent needs torch, which is not installed.
    """
    from palaestra.agents.learned.shipped import SHIPPED_BOMBER_AGENTS, load_shipped_bomber_agent
    from palaestra.agents.scripted.bomber import SCRIPTED_BOMBER_AGENTS, make_scripted_bomber_agent

    if name in SHIPPED_BOMBER_AGENTS:
        return load_shipped_bomber_agent(name)
    if name not in SCRIPTED_BOMBER_AGENTS:
        raise UnknownNameError(f"unknown Bomber agent {name!r}; known: {', '.join(bomber_builtins())}")
    return make_scripted_bomber_agent(name)


def resolve_bomber_agent(spec: str) -> Any:
    """A built-in Bomber agent by name (:func:`bomber_builtins`), or a trained one by checkpoint
    directory (``palaestra league export`` writes those).

    Raises:
        UnknownNameError: no built-in has that name.
        FileFormatError, FileNotFoundError: the checkpoint is missing or malformed.
        MissingExtraError: loading the checkpoint needs an extra that is not installed.
    """
    if Path(spec).is_dir() or "/" in spec or spec.startswith("."):
        from palaestra.agents.learned.bomber import load_bomber_checkpoint

        return load_bomber_checkpoint(spec)
    return make_bomber_builtin(spec)
