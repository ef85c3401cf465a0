"""Hide-and-seek matches: a hider team against a seeker team, one player per team.

A match has two players: ``seats[0]`` plays every hider seat (``hider_0``, ``hider_1`` ...) and
``seats[1]`` every seeker seat, with one agent instance per env seat (a submission runs one
sandboxed process per seat), instance ``i`` reset with the ``i``-th generator spawned from the
match seed. The hiders win when no seeker saw any of them for more than half of the seek steps,
the seekers when for fewer; exactly half is a draw (:func:`~palaestra.envs.hide_and_seek.stats.team_ranks`,
the league's rule too). The scores are the teams' returns (one member's: they are alike within a team).

A player whose agent fails in any of its seats forfeits: all its seats do nothing (``[0, 0, 0]``)
for the rest of the game and it is ranked last (two forfeits are a draw). The game is kept as one
replay whose agents are the players' names per seat.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from palaestra.envs.hide_and_seek.stats import team_ranks
from palaestra.evaluation.match_types import MatchResult, MatchSpec, record_faults, replay_dict

HIDERS, SEEKERS = 0, 1
"""Player (and team) indices of a match: ``seats[0]`` hides, ``seats[1]`` seeks."""
TEAMS: tuple[str, str] = ("hider", "seeker")


def seat_players(env_config: Mapping[str, Any]) -> list[int]:
    """The player of each env seat: :data:`HIDERS` for every hider, then :data:`SEEKERS`.

    Raises:
        ConfigError: for a config the env refuses (unknown keys are a TypeError).
    """
    from palaestra.envs.hide_and_seek.config import HideAndSeekConfig

    config = HideAndSeekConfig(**dict(env_config))
    return [HIDERS] * config.n_hiders + [SEEKERS] * config.n_seekers


def _forfeit(agents: list[Any], players: list[int], player: int) -> None:
    """Take every seat of ``player`` out of the game (they do nothing from now on)."""
    for i, p in enumerate(players):
        if p == player:
            agents[i] = None


def play_hide_and_seek(spec: MatchSpec, agents: list[Any], players: list[int],
                       faults: dict[str, str]) -> MatchResult:
    """Play the match ``spec``; ``agents`` per env seat (None: its player forfeited), ``players``
    the player of each seat (:func:`seat_players`), ``faults`` by player index."""
    from palaestra.agents.sandbox.host import AgentFault
    from palaestra.envs.hide_and_seek.constants import NOOP_ACTION
    from palaestra.envs.hide_and_seek.env import HideAndSeekParallelEnv
    from palaestra.envs.registration import get_spec
    from palaestra.errors import InvalidActionError
    from palaestra.evaluation.replay import make_replay

    env = HideAndSeekParallelEnv(**spec.env_config)
    obs, _ = env.reset(seed=spec.seed)
    names = list(env.possible_agents)
    first_of = [players.index(HIDERS), players.index(SEEKERS)]
    log: list[dict[str, list[int]]] = []
    returns = [0.0, 0.0]
    while env.agents:
        actions: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            action: Any = list(NOOP_ACTION)
            agent = agents[i]
            if agent is not None:
                try:
                    action = agent.act(obs[name])
                except AgentFault as exc:
                    faults[str(players[i])] = f"{exc.reason}: {exc} (step {len(log)}, {name})"
                    _forfeit(agents, players, players[i])
                    action = list(NOOP_ACTION)
            actions[name] = np.asarray(action).tolist() if isinstance(action, np.ndarray) else list(action)
        try:
            obs, rewards, _, _, _ = env.step(actions)
        except (InvalidActionError, TypeError, ValueError) as exc:  # a built-in's bad action: a bug
            raise RuntimeError(f"match {spec.match_id}: {exc}") from exc
        log.append(actions)
        for team in (HIDERS, SEEKERS):
            returns[team] += float(rewards[names[first_of[team]]])
    seek = env.stats()["seek"]
    env.close()
    for i, agent in enumerate(agents):
        record_faults(agent, players[i], faults)
    forfeit = [all(agents[i] is None for i, p in enumerate(players) if p == team) for team in (HIDERS, SEEKERS)]
    if forfeit[HIDERS] != forfeit[SEEKERS]:
        ranks = [int(forfeit[HIDERS]), int(forfeit[SEEKERS])]  # a forfeit ranks last
    elif forfeit[HIDERS]:
        ranks = [0, 0]
    else:
        ranks = list(team_ranks(int(seek["hidden_steps"]), int(seek["steps"])))
    replay = make_replay(get_spec(spec.env).env_id, spec.env_config, spec.seed,
                         [spec.seats[p] for p in players], log,
                         meta={"match_id": spec.match_id, "faults": faults,
                               "teams": {TEAMS[t]: spec.seats[t] for t in (HIDERS, SEEKERS)}})
    return MatchResult(spec.match_id, spec.seats, [[HIDERS], [SEEKERS]], ranks, returns, len(log),
                       faults, replay_dict(replay))
