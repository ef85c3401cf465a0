"""Play Bomber games between agents and tally the results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from palaestra.agents.base import Agent
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.env import AGENT_NAMES, BomberParallelEnv
from palaestra.errors import ConfigError

Outcome = Literal["win", "tie", "loss"]
"""How one seat fared in a game."""


@dataclass(frozen=True)
class BomberGameResult:
    """One finished game."""

    seed: int
    agents: list[str]
    """Agent name per seat (player_0..3)."""
    steps: int
    result: str
    """``win`` or ``tie``."""
    winners: list[int]
    """Seats of the winners (empty on a tie)."""
    rewards: list[float] = field(default_factory=list)
    """Total reward per seat."""
    standing: list[int] = field(default_factory=list)
    """Seats alive when the last step began. On a tie these share it (a time-out, or everyone
    left dying together) and the other seats lost; on a win everyone but the winners lost."""
    env_seed: int | None = None
    """The seed the env was reset with (drawn from :attr:`seed`): a replay's seed."""

    def outcome(self, seat: int) -> Outcome:
        """``win``, ``tie`` or ``loss`` for ``seat`` (see :attr:`standing`)."""
        if seat in self.winners:
            return "win"
        return "tie" if self.result == "tie" and seat in self.standing else "loss"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def play_bomber_game(
    agents: Sequence[Agent],
    config: BomberConfig,
    seed: int,
    env: BomberParallelEnv | None = None,
    on_step: Callable[[BomberParallelEnv], None] | None = None,
    on_actions: Callable[[dict[str, Any]], None] | None = None,
) -> BomberGameResult:
    """Play one game, seat k taken by ``agents[k]``.

    ``seed`` fixes the board and every agent's generator, so a game replays exactly.
    ``on_actions`` is called with each step's joint action (bare moves of radio games already made
    silent ``[move, 0, 0]``) before it is applied: with :attr:`BomberGameResult.env_seed` it makes
    a replay (:func:`palaestra.evaluation.replay.make_replay`).

    Raises:
        ConfigError: if there are not 4 agents.
        ValueError: if an agent returns an invalid action (the env names it).
    """
    if len(agents) != len(AGENT_NAMES):
        raise ConfigError(f"Bomber needs {len(AGENT_NAMES)} agents, got {len(agents)}")
    env = env if env is not None else BomberParallelEnv(**asdict(config))
    seeds = np.random.SeedSequence(seed).spawn(len(agents) + 1)
    env_seed = int(np.random.default_rng(seeds[0]).integers(2**31))
    obs, _ = env.reset(seed=env_seed)
    for agent, s in zip(agents, seeds[1:]):
        agent.reset(np.random.default_rng(s))
    totals = [0.0] * len(agents)
    info: dict[str, Any] = {}
    steps = 0
    standing: list[int] = []
    while env.agents:
        standing = [AGENT_NAMES.index(n) for n in env.agents if env.alive(n)]
        actions = {}
        for name in env.agents:
            k = AGENT_NAMES.index(name)
            # Pommerman asks only the living; the dead of a team mode stand still
            action = agents[k].act(obs[name]) if env.alive(name) else env.idle_action()
            if env.config.radio and np.ndim(action) == 0:
                action = [int(action), 0, 0]  # a bare move is a silent action, as in tournaments
            actions[name] = action
        if on_actions is not None:
            on_actions(actions)
        obs, rewards, _, _, infos = env.step(actions)
        steps += 1
        for name, r in rewards.items():
            totals[AGENT_NAMES.index(name)] += r
        for i in infos.values():
            if "result" in i:
                info = i
        if on_step is not None:
            on_step(env)
    winners = [AGENT_NAMES.index(w) for w in info.get("winners", [])]
    return BomberGameResult(seed, [a.name for a in agents], steps, info.get("result", "tie"),
                            winners, totals, standing, env_seed)


def tally(results: Sequence[BomberGameResult]) -> list[dict[str, Any]]:
    """Wins, ties and losses per seat over many games (:meth:`BomberGameResult.outcome`)."""
    rows = []
    for seat in range(len(AGENT_NAMES)):
        wins = sum(r.outcome(seat) == "win" for r in results)
        ties = sum(r.outcome(seat) == "tie" for r in results)
        rows.append({
            "seat": AGENT_NAMES[seat],
            "agent": results[0].agents[seat] if results else "",
            "wins": wins,
            "ties": ties,
            "losses": len(results) - wins - ties,
            "win_rate": wins / len(results) if results else 0.0,
        })
    return rows
