"""Matches of single-agent games (Kelly, counting): every seat plays its own copy of the same game.

Each seat's copy is reset with the match seed, so all seats face the same game (the same coin
flips; the same T and cells). The seats are ranked by their score, higher better, equal scores a
draw; a seat that forfeits (its agent failed) plays the idle action (bet 0 / stay) for the rest of
its game and is ranked last. Every copy is kept as its own replay: the match's replay is
``{"games": [one replay per seat]}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from palaestra.envs.registration import get_spec
from palaestra.evaluation.match_types import MatchResult, MatchSpec, ranks_by, record_faults, replay_dict

FORFEIT_SCORE = -1.0
"""What a forfeited seat is ranked by: below every score a game can give (wealth, a return)."""


@dataclass(frozen=True)
class SoloGame:
    """How one family's games are scored and their steps named."""

    score: Callable[[dict[str, Any], float], float]
    """The seat's score from the last step's info and the sum of its rewards."""
    step_word: str
    """What a step is called in a fault's text (``round``, ``step``)."""
    idle: int = 0
    """The action of a forfeited seat."""


SOLO_GAMES: dict[str, SoloGame] = {
    "kelly": SoloGame(lambda info, _: info["wealth_cents"] / 100.0, "round"),
    "counting": SoloGame(lambda _, total: float(total), "step"),
}
"""Kelly: the final wealth in dollars; counting: the return (1 on time, else 0)."""


def play_copies(spec: MatchSpec, agents: list[Any], faults: dict[str, str]) -> MatchResult:
    """Play the match ``spec``: every seat's agent (None: forfeited) on its own copy of the game."""
    import gymnasium as gym

    import palaestra.envs  # noqa: F401  (registers the envs)
    from palaestra.agents.sandbox.host import AgentFault
    from palaestra.evaluation.replay import make_replay

    env_spec = get_spec(spec.env)
    game = SOLO_GAMES[env_spec.family]
    finals: list[float] = []
    logs: list[list[int]] = []
    for k, agent in enumerate(agents):
        env = gym.make(env_spec.env_id, **spec.env_config)
        obs, info = env.reset(seed=spec.seed)  # every seat plays the same game
        moves: list[int] = []
        total = 0.0
        done = False
        while not done:
            move = game.idle
            if agent is not None:
                try:
                    move = int(agent.act(obs))
                except AgentFault as exc:
                    agents[k] = agent = None
                    faults[str(k)] = f"{exc.reason}: {exc} ({game.step_word} {len(moves)})"
            obs, reward, terminated, truncated, info = env.step(np.int64(move))
            total += float(reward)
            moves.append(move)
            done = terminated or truncated
        env.close()
        record_faults(agent, k, faults)
        finals.append(game.score(info, total))
        logs.append(moves)
    scored = [FORFEIT_SCORE if agents[k] is None else finals[k] for k in range(len(agents))]
    replays = [
        replay_dict(make_replay(env_spec.env_id, spec.env_config, spec.seed, [spec.seats[k]], logs[k],
                                meta={"match_id": spec.match_id, "seat": k}))
        for k in range(len(agents))
    ]
    steps = max((len(log) for log in logs), default=0)
    return MatchResult(spec.match_id, spec.seats, [[k] for k in range(len(agents))],
                       ranks_by(scored), finals, steps, faults, {"games": replays})
