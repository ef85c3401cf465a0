"""Run one tournament match: load the seated agents, play, rank, and keep every action for the replay.

A match is fully described by a :class:`MatchSpec` (env, env config, seats, seed, sandbox limits),
plain data that can be sent to a worker process or a Ray task. Submissions run sandboxed in their
own subprocess; built-in agents run in the worker itself. An agent that fails is recorded with the
reason and never stops the match: on a forfeit its seat stands still (Bomber) or bets nothing
(Kelly) for the rest of the game and it is ranked last.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from palaestra.envs.registration import get_spec

BUILTIN_PREFIX = "builtin:"

TOURNAMENT_FAMILIES: tuple[str, ...] = ("bomber", "kelly")
"""The env families a match can be played in: Bomber (one four-player game) and Kelly (every
seat plays its own copy of the same game)."""


@dataclass(frozen=True)
class MatchSpec:
    """Everything a worker needs to play one match."""

    match_id: str
    env: str
    """Short name of an env of :data:`TOURNAMENT_FAMILIES` (``bomber``, ``kelly`` ...)."""
    env_config: dict[str, Any]
    seats: list[str]
    """Agent name per seat."""
    specs: list[str]
    """How to launch each seat: ``builtin:NAME`` or a sandbox spec (``python:PATH`` ...)."""
    seed: int
    limits: dict[str, Any] = field(default_factory=dict)
    """:class:`~palaestra.agents.sandbox.host.SandboxLimits` fields."""
    isolate: bool = False
    """Run the non-built-in seats in a jail (:mod:`palaestra.agents.sandbox.isolation`)."""
    hashes: list[str | None] = field(default_factory=list)
    """Per seat, the hash taken at submit that a jailed copy must match (None: no check)."""
    forfeits: dict[int, str] = field(default_factory=dict)
    """Seats not launched at all, each with the fault recorded for it (a replay without an
    entrant that killed its match worker; :mod:`palaestra.evaluation.runners`)."""


@dataclass(frozen=True)
class MatchResult:
    """The outcome of one match."""

    match_id: str
    seats: list[str]
    teams: list[list[int]]
    """Seat indices per team (one seat per team in FFA and Kelly)."""
    ranks: list[int]
    """Rank per team, 0 best; equal ranks are a draw."""
    scores: list[float]
    """Per seat: total reward (Bomber) or final wealth (Kelly)."""
    steps: int
    faults: dict[str, str]
    """Seat index (as text) -> what went wrong, for agents that failed."""
    replay: dict[str, Any]

    def to_dict(self, with_replay: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not with_replay:
            d.pop("replay")
        return d


def match_id(tournament: str, round_: int, ordinal: int, seats: list[str], seed: int) -> str:
    """A stable id: the same schedule gives the same ids, so reruns find their matches."""
    key = json.dumps([tournament, round_, ordinal, seats, seed])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _launch(spec: str, env: str, config: dict[str, Any], seat: int, limits: dict[str, Any],
            isolate: bool = False, sha256: str | None = None) -> Any:
    if spec.startswith(BUILTIN_PREFIX):
        name = spec[len(BUILTIN_PREFIX):]
        if get_spec(env).family == "bomber":
            from palaestra.agents.registry import make_bomber_builtin

            return make_bomber_builtin(name)
        from palaestra.agents.scripted.kelly import make_scripted_kelly_agent
        from palaestra.envs.kelly.env import KellyConfig

        return make_scripted_kelly_agent(name, KellyConfig())
    from palaestra.agents.sandbox.host import SandboxLimits, launch

    return launch(spec, env, config, seat, SandboxLimits(**limits), isolate=isolate, sha256=sha256)


def _ranks_by(values: list[float]) -> list[int]:
    """Competition ranks, 0 best, for values where higher is better."""
    order = sorted(set(values), reverse=True)
    return [order.index(v) for v in values]


def run_match(spec: MatchSpec) -> MatchResult:
    """Play the match described by ``spec`` (in this process; agents may spawn sandboxes)."""
    from palaestra.agents.sandbox.host import AgentFault

    agents: list[Any] = []
    faults: dict[str, str] = {}
    try:
        for k, s in enumerate(spec.specs):
            if k in spec.forfeits:
                agents.append(None)
                faults[str(k)] = spec.forfeits[k]
                continue
            try:
                sha = spec.hashes[k] if k < len(spec.hashes) else None
                agents.append(_launch(s, spec.env, spec.env_config, k, spec.limits, spec.isolate, sha))
            except AgentFault as exc:
                agents.append(None)
                faults[str(k)] = f"{exc.reason}: {exc}"
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(len(agents))]
        for k, agent in enumerate(agents):
            if agent is None:
                continue
            try:
                agent.reset(rngs[k])
            except AgentFault as exc:
                agents[k] = None
                faults[str(k)] = f"{exc.reason}: {exc}"
        if get_spec(spec.env).family == "bomber":
            return _play_bomber(spec, agents, faults)
        return _play_kelly(spec, agents, faults)
    finally:
        for agent in agents:
            close = getattr(agent, "close", None)
            if close is not None:
                close()


def _record_faults(agent: Any, k: int, faults: dict[str, str]) -> None:
    for fault in getattr(agent, "faults", []) or []:
        faults.setdefault(str(k), f"{getattr(fault, 'reason', 'fault')}: {fault}")


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
        _record_faults(agent, k, faults)
    forfeit = [agents[k] is None for k in range(4)]
    # Survivors beat the dead; the later death beats the earlier; a forfeit is last.
    survival = [(-1.0 if forfeit[k] else (steps + 1.0 if died is None else float(died)))
                for k, died in enumerate(death_step)]
    if env.config.team:
        teams = [[0, 2], [1, 3]]
        team_scores = [max(survival[0], survival[2]) if not (forfeit[0] and forfeit[2]) else -1.0,
                       max(survival[1], survival[3]) if not (forfeit[1] and forfeit[3]) else -1.0]
        ranks = _ranks_by(team_scores)
    else:
        teams = [[k] for k in range(4)]
        ranks = _ranks_by(survival)
    replay = make_replay(get_spec(spec.env).env_id, spec.env_config, spec.seed, spec.seats, actions_log,
                         meta={"match_id": spec.match_id, "faults": faults})
    return MatchResult(spec.match_id, spec.seats, teams, ranks, totals, steps, faults,
                       _replay_dict(replay))


def _play_kelly(spec: MatchSpec, agents: list[Any], faults: dict[str, str]) -> MatchResult:
    import gymnasium as gym

    import palaestra.envs  # noqa: F401  (registers the envs)
    from palaestra.agents.sandbox.host import AgentFault
    from palaestra.evaluation.replay import make_replay

    env_id = get_spec(spec.env).env_id
    finals: list[float] = []
    logs: list[list[int]] = []
    steps = 0
    for k, agent in enumerate(agents):
        env = gym.make(env_id, **spec.env_config)
        obs, info = env.reset(seed=spec.seed)  # every seat plays the same game
        bets: list[int] = []
        done = False
        while not done:
            bet = 0
            if agent is not None:
                try:
                    bet = int(agent.act(obs))
                except AgentFault as exc:
                    agents[k] = agent = None
                    faults[str(k)] = f"{exc.reason}: {exc} (round {len(bets)})"
            obs, reward, terminated, truncated, info = env.step(np.int64(bet))
            bets.append(bet)
            done = terminated or truncated
        _record_faults(agent, k, faults)
        finals.append(info["wealth_cents"] / 100.0)
        logs.append(bets)
        steps = max(steps, len(bets))
    scored = [-1.0 if agents[k] is None else finals[k] for k in range(len(agents))]
    replays = [
        _replay_dict(make_replay(env_id, spec.env_config, spec.seed, [spec.seats[k]], logs[k],
                                 meta={"match_id": spec.match_id, "seat": k}))
        for k in range(len(agents))
    ]
    return MatchResult(spec.match_id, spec.seats, [[k] for k in range(len(agents))],
                       _ranks_by(scored), finals, steps, faults, {"games": replays})


def _replay_dict(replay: Any) -> dict[str, Any]:
    from palaestra.evaluation.replay import replay_to_dict

    return replay_to_dict(replay)
