"""Trained agents that ship inside the package, playable by name like the scripted bots.

Each lives in ``agents/learned/shipped/<name>/`` as a Bomber checkpoint directory with the policy
as TorchScript only (``palaestra.json`` and ``policy.pt``, written by ``palaestra league export``
and trimmed of the RLlib module): it loads with torch alone, without Ray, and fits the sandbox's
memory limit. How each was trained, and how well it plays, is in ``palaestra.json`` and
docs/league.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from palaestra.errors import UnknownNameError, require_extra

SHIPPED_DIR = Path(__file__).with_name("shipped")

SHIPPED_BOMBER_AGENTS: dict[str, str] = {
    "league": "the best FFA league learner, shipped with palaestra: a CNN behind the action "
              "filter, trained against SimpleAgents (needs torch; docs/league.md)",
    "league-team": "the best 2v2 team league learner, shipped with palaestra: one CNN for both "
                   "seats of a side, behind the cautious filter, warm-started from cautious-simple "
                   "and trained against SimpleAgent teams (team modes; needs torch; docs/league.md)",
}


def shipped_checkpoint(name: str) -> Path:
    """The checkpoint directory of the shipped agent ``name``.

    Raises:
        UnknownNameError: no shipped agent has that name.
        FileNotFoundError: the package was installed without the agent's files.
    """
    if name not in SHIPPED_BOMBER_AGENTS:
        raise UnknownNameError(f"no shipped agent {name!r}; shipped: {', '.join(SHIPPED_BOMBER_AGENTS)}")
    path = SHIPPED_DIR / name
    if not (path / "palaestra.json").is_file():
        raise FileNotFoundError(f"the shipped agent {name!r} is missing from this install ({path})")
    return path


def load_shipped_bomber_agent(name: str) -> Any:
    """The shipped agent ``name``, sampling its moves as in training (seeded by ``reset``).

    Raises:
        UnknownNameError, FileNotFoundError: see :func:`shipped_checkpoint`.
        MissingExtraError: torch is not installed.
    """
    path = shipped_checkpoint(name)
    require_extra("rllib", f"the built-in agent {name!r}", "torch")
    from palaestra.agents.learned.bomber import load_bomber_checkpoint

    agent = load_bomber_checkpoint(path)
    agent.name = name
    return agent
