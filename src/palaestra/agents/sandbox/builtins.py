"""The built-in agents of every tournament env: which names exist, and building one by name.

One table for the three places that need it: the sandbox worker (``--builtin NAME``), the
validation of a ``builtin:NAME`` submission and the tournament's match loop
(:mod:`palaestra.evaluation.match`), which plays built-ins in its own process.

* Bomber: the scripted bots and the shipped trained agents (:func:`~palaestra.agents.registry.bomber_builtins`);
* Kelly: the scripted bettors (``optimal``, ``kelly``, ``fraction:F`` ...);
* hide-and-seek: :data:`~palaestra.agents.scripted.hide_and_seek.SCRIPTED_HNS_AGENTS` (``hider``
  and ``seeker`` play one side only: :func:`one_side_only`);
* counting: :data:`~palaestra.agents.scripted.counting.SCRIPTED_COUNTING_AGENTS`.

Everything is imported when asked for, so that this module costs a sandboxed worker nothing at
start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KELLY_FRACTION_PREFIX = "fraction:"
"""``fraction:F`` names a Kelly bettor of the constant fraction F (any F in 0..1)."""


def _family(env: str) -> str:
    from palaestra.envs.registration import get_spec

    return get_spec(env).family


def builtin_agents(env: str) -> dict[str, str]:
    """Every built-in agent of ``env`` (a short name or id) with a line about it.

    Raises:
        UnknownNameError: for an unknown env.
    """
    family = _family(env)
    table: Mapping[str, str]
    if family == "bomber":
        from palaestra.agents.registry import bomber_builtins

        table = bomber_builtins()
    elif family == "hide_and_seek":
        from palaestra.agents.scripted.hide_and_seek import SCRIPTED_HNS_AGENTS as table
    elif family == "counting":
        from palaestra.agents.scripted.counting import SCRIPTED_COUNTING_AGENTS as table
    else:
        from palaestra.agents.scripted.kelly import SCRIPTED_KELLY_AGENTS as table
    return dict(table)


def is_builtin(name: str, env: str) -> bool:
    """Whether ``name`` is a built-in agent of ``env`` (Kelly: also any ``fraction:F``)."""
    if _family(env) == "kelly" and name.startswith(KELLY_FRACTION_PREFIX):
        return True
    return name in builtin_agents(env)


def one_side_only(name: str, env: str) -> str | None:
    """The team a hide-and-seek built-in is limited to (``hiders`` for ``hider``, ``seekers`` for
    ``seeker``), or None for an agent that plays either side (and in every other env)."""
    if _family(env) != "hide_and_seek":
        return None
    return {"hider": "hiders", "seeker": "seekers"}.get(name)


def make_builtin(name: str, env: str, config: Mapping[str, Any] | None = None) -> Any:
    """A fresh built-in agent of ``env`` by name; ``config`` is the env's keyword arguments (the
    Kelly bettors of ``kelly`` read the game's parameters from it).

    Raises:
        UnknownNameError: for an unknown name, listing the known ones.
        ConfigError: for a malformed name (``fraction:2``) or a config the agent cannot read.
        MissingExtraError: a shipped trained Bomber agent needs torch, which is not installed.
    """
    family = _family(env)
    if family == "bomber":
        from palaestra.agents.registry import make_bomber_builtin

        return make_bomber_builtin(name)
    if family == "hide_and_seek":
        from palaestra.agents.scripted.hide_and_seek import make_scripted_hns_agent

        return make_scripted_hns_agent(name)
    if family == "counting":
        from palaestra.agents.scripted.counting import make_scripted_counting_agent

        return make_scripted_counting_agent(name)
    from palaestra.agents.scripted.kelly import make_scripted_kelly_agent
    from palaestra.envs.kelly.env import KellyConfig
    from palaestra.envs.registration import get_spec

    kelly_config = KellyConfig(**dict(config or {})) if get_spec(env).short_name == "kelly" else KellyConfig()
    return make_scripted_kelly_agent(name, kelly_config)
