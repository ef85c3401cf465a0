"""Run one tournament match: load the seated agents, play, rank, and keep every action for the replay.

A match is fully described by a :class:`MatchSpec` (env, env config, seats, seed, sandbox limits),
plain data that can be sent to a worker process or a Ray task. Submissions run sandboxed in their
own subprocess; built-in agents run in the worker itself. An agent that fails is recorded with the
reason and never stops the match: on a forfeit its seat stands still (Bomber), bets nothing
(Kelly), stays (counting) or does nothing in every seat of its team (hide-and-seek) for the rest
of the game, and it is ranked last.

This module plays Bomber and dispatches the other families to their game loops:
:mod:`~palaestra.evaluation.match_solo` (Kelly, counting: every seat plays its own copy of the
game) and :mod:`~palaestra.evaluation.match_hns` (hide-and-seek: a hider team against a seeker
team). The records themselves are :mod:`~palaestra.evaluation.match_types`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from palaestra.envs.registration import get_spec
from palaestra.evaluation.match_types import (
    BUILTIN_PREFIX,
    MatchResult,
    MatchSpec,
    ranks_by,
    record_faults,
    replay_dict,
)

__all__ = ["BUILTIN_PREFIX", "TOURNAMENT_FAMILIES", "MatchResult", "MatchSpec", "match_id", "run_match"]

TOURNAMENT_FAMILIES: tuple[str, ...] = ("bomber", "kelly", "hide_and_seek", "counting")
"""The env families a match can be played in: Bomber (one four-player game), hide-and-seek (one
game, a hider team against a seeker team), Kelly and counting (every seat plays its own copy of
the same game)."""


def match_id(tournament: str, round_: int, ordinal: int, seats: list[str], seed: int) -> str:
    """A stable id: the same schedule gives the same ids, so reruns find their matches."""
    key = json.dumps([tournament, round_, ordinal, seats, seed])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _launch(spec: str, env: str, config: dict[str, Any], seat: int, limits: dict[str, Any],
            isolate: bool = False, sha256: str | None = None) -> Any:
    if spec.startswith(BUILTIN_PREFIX):
        from palaestra.agents.sandbox.builtins import make_builtin

        return make_builtin(spec[len(BUILTIN_PREFIX):], env, config)
    from palaestra.agents.sandbox.host import SandboxLimits, launch

    return launch(spec, env, config, seat, SandboxLimits(**limits), isolate=isolate, sha256=sha256)


def _seat_players(spec: MatchSpec, family: str) -> list[int]:
    """The player (index into ``spec.specs``) of every agent instance: one per seat, except in
    hide-and-seek, where each team's player has one instance per seat of its team."""
    if family == "hide_and_seek":
        from palaestra.evaluation.match_hns import seat_players

        return seat_players(spec.env_config)
    return list(range(len(spec.specs)))


def run_match(spec: MatchSpec) -> MatchResult:
    """Play the match described by ``spec`` (in this process; agents may spawn sandboxes)."""
    from palaestra.agents.sandbox.host import AgentFault

    family = get_spec(spec.env).family
    players = _seat_players(spec, family)
    agents: list[Any] = [None] * len(players)
    launched: list[Any] = []
    faults: dict[str, str] = {str(k): why for k, why in spec.forfeits.items()}
    try:
        for i, p in enumerate(players):
            if str(p) in faults:
                continue  # forfeited, or one of its seats did not start
            try:
                sha = spec.hashes[p] if p < len(spec.hashes) else None
                agents[i] = _launch(spec.specs[p], spec.env, spec.env_config, i, spec.limits, spec.isolate, sha)
                launched.append(agents[i])
            except AgentFault as exc:
                faults[str(p)] = f"{exc.reason}: {exc}"
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(len(players))]
        for i, agent in enumerate(agents):
            if agent is None or str(players[i]) in faults:
                continue
            try:
                agent.reset(rngs[i])
            except AgentFault as exc:
                faults[str(players[i])] = f"{exc.reason}: {exc}"
        agents = [None if str(players[i]) in faults else agent for i, agent in enumerate(agents)]
        if family == "bomber":
            return _play_bomber(spec, agents, faults)
        if family == "hide_and_seek":
            from palaestra.evaluation.match_hns import play_hide_and_seek

            return play_hide_and_seek(spec, agents, players, faults)
        from palaestra.evaluation.match_solo import play_copies

        return play_copies(spec, agents, faults)
    finally:
        for agent in launched:
            close = getattr(agent, "close", None)
            if close is not None:
                close()


def _play_bomber(spec: MatchSpec, agents: list[Any], faults: dict[str, str]) -> MatchResult:
    from palaestra.agents.sandbox.host import AgentFault
    from palaestra.envs.bomber.env import AGENT_NAMES, BomberParallelEnv
    from palaestra.evaluation.replay import make_replay

    env = BomberParallelEnv(**spec.env_config)
    obs, _ = env.reset(seed=spec.seed)
    radio = env.config.radio
    idle: Any = [0, 0, 0] if radio else 0
    actions_log: list[dict[str, Any]] = []
    totals = [0.0] * 4
    death_step: list[int | None] = [None] * 4
    steps = 0
    while env.agents:
        actions = {}
        for name in env.agents:
            k = AGENT_NAMES.index(name)
            action = idle
            if agents[k] is not None and env.batch.agents[0, k, 0]:
                try:
                    action = agents[k].act(obs[name])
                except AgentFault as exc:
                    agents[k] = None
                    faults[str(k)] = f"{exc.reason}: {exc} (step {steps})"
                    action = idle
            if isinstance(action, np.ndarray):
                action = action.tolist()
            if radio and not isinstance(action, (list, tuple)):
                action = [int(action), 0, 0]  # an agent without radio stays silent
            actions[name] = action
        try:
            obs, rewards, _, _, infos = env.step(actions)
        except ValueError as exc:  # a built-in returned something the env refuses: a bug, say so
            raise RuntimeError(f"match {spec.match_id}: {exc}") from exc
        actions_log.append(actions)
        steps += 1
        for name, r in rewards.items():
            totals[AGENT_NAMES.index(name)] += r
        for k in range(4):
            if death_step[k] is None and not env.batch.agents[0, k, 0]:
                death_step[k] = steps
    for k, agent in enumerate(agents):
        record_faults(agent, k, faults)
    forfeit = [agents[k] is None for k in range(4)]
    # Survivors beat the dead; the later death beats the earlier; a forfeit is last.
    survival = [(-1.0 if forfeit[k] else (steps + 1.0 if died is None else float(died)))
                for k, died in enumerate(death_step)]
    if env.config.team:
        teams = [[0, 2], [1, 3]]
        team_scores = [max(survival[0], survival[2]) if not (forfeit[0] and forfeit[2]) else -1.0,
                       max(survival[1], survival[3]) if not (forfeit[1] and forfeit[3]) else -1.0]
        ranks = ranks_by(team_scores)
    else:
        teams = [[k] for k in range(4)]
        ranks = ranks_by(survival)
    replay = make_replay(get_spec(spec.env).env_id, spec.env_config, spec.seed, spec.seats, actions_log,
                         meta={"match_id": spec.match_id, "faults": faults})
    return MatchResult(spec.match_id, spec.seats, teams, ranks, totals, steps, faults,
                       replay_dict(replay))
