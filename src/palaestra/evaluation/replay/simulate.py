"""Re-simulating replays: play recorded actions from the seed, record games, verify recordings.

:func:`simulate` plays a list of actions from ``reset(seed=...)`` and returns the final state and
outcome; :func:`make_replay` records a game that way (so a replay is self-consistent by
construction); :func:`verify_replay` plays a loaded replay again and checks its snapshots, final
state and outcome against the recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from palaestra.envs.registration import get_spec
from palaestra.evaluation.replay.format import (
    FAMILIES,
    Replay,
    ReplayError,
    ReplayStepError,
    bomber_actions,
    canonical_json,
    check_agents,
    check_seed,
    check_snapshot_every,
    counting_actions,
    family_actions,
    hide_and_seek_actions,
    kelly_actions,
    package_version,
    plain,
    resolve_env_id,
    state_sha256,
)


@dataclass(frozen=True)
class SimulationResult:
    """What re-simulating a game gives."""

    final_state: dict[str, Any]
    """Bomber: ``env.get_state_json()``; Kelly: ``{"wealth_cents", "rounds_elapsed"}``;
    hide-and-seek: :func:`hide_and_seek_state`; counting: ``{"T", "steps", "agent", "target",
    "outcome"}``."""
    outcome: dict[str, Any]
    """As :attr:`Replay.outcome`."""
    steps: int
    """Number of steps played."""
    snapshots: list[dict[str, Any]] | None = None
    """States after 0, k, 2k, ... steps when asked for, else None."""

    @property
    def final_state_sha256(self) -> str:
        return state_sha256(self.final_state)


class _Snapshots:
    """Takes a state every ``every`` steps; with ``expected`` checks each against the recording."""

    def __init__(self, every: int | None, expected: list[dict[str, Any]] | None = None) -> None:
        self.every = every
        self.expected = expected
        self.taken: list[dict[str, Any]] = []

    def due(self, steps_done: int) -> bool:
        return self.every is not None and self.every != 0 and steps_done % self.every == 0

    def take(self, steps_done: int, state: dict[str, Any]) -> None:
        state = plain(state, "state")
        j = len(self.taken)
        if self.expected is not None:
            if j >= len(self.expected):
                raise ReplayError(f"replay does not re-simulate: step {steps_done} has no snapshot "
                                  f"(only {len(self.expected)} recorded)")
            if canonical_json(self.expected[j]) != canonical_json(state):
                raise ReplayError(f"replay does not re-simulate: step {steps_done} differs (the "
                                  f"state after {steps_done} steps does not match snapshot {j})")
        self.taken.append(state)

    def result(self) -> list[dict[str, Any]] | None:
        if self.expected is not None and len(self.taken) != len(self.expected):
            raise ReplayError(f"replay does not re-simulate: {len(self.expected)} snapshots "
                              f"recorded, {len(self.taken)} re-simulated")
        return self.taken if self.every else None


def simulate(
    env_id: str,
    env_config: dict[str, Any],
    seed: int,
    actions: list[Any],
    snapshot_every: int | None = None,
) -> SimulationResult:
    """Play ``actions`` from ``reset(seed=seed)`` and return the final state and outcome.

    Raises :class:`ReplayError` for an unknown env id, a config the env refuses, or an action the
    env rejects or that comes after the game ended (the message names the step, counted from 0).
    """
    full_id = resolve_env_id(env_id, allow_short_name=True)
    if not isinstance(env_config, dict):
        raise ReplayError(f"env_config must be a dict, got {type(env_config).__name__}")
    seed = check_seed(seed)
    every = check_snapshot_every(snapshot_every)
    return _simulate(full_id, env_config, seed, actions, _Snapshots(every))


def _simulate(
    env_id: str, config: dict[str, Any], seed: int, actions: Any, snaps: _Snapshots,
    agents: list[str] | None = None,
) -> SimulationResult:
    """Dispatch on the env's family; ``agents`` (when known) are checked against the seats the
    config makes (hide-and-seek, whose number of agents the config sets)."""
    family = FAMILIES[env_id]
    if family == "bomber":
        return _simulate_bomber(env_id, config, seed, actions, snaps)
    if family == "hide_and_seek":
        return _simulate_hide_and_seek(env_id, config, seed, actions, snaps, agents)
    if family == "counting":
        return _simulate_counting(env_id, config, seed, actions, snaps)
    return _simulate_kelly(env_id, config, seed, actions, snaps)


def _check_live(i: int, step: dict[str, Any], live: list[str]) -> None:
    """Every agent in the game acts at step ``i``, and no other."""
    missing = sorted(set(live) - set(step))
    extra = sorted(set(step) - set(live))
    if missing:
        raise ReplayStepError(i, f"no action for {', '.join(missing)} (every agent in the game "
                                 f"must act)")
    if extra:
        raise ReplayStepError(i, f"an action for {', '.join(extra)}, which is not in the game at "
                                 f"that step")


def _check_config_keys(env_id: str, config: dict[str, Any], refused: tuple[str, ...]) -> None:
    """A replay's env_config holds the env's game fields only (no window, no config object)."""
    bad = sorted(set(config) & set(refused))
    if bad:
        raise ReplayError(f"env_config is not valid for {env_id}: {', '.join(map(repr, bad))} "
                          f"cannot be part of a replay (give the game's fields as keywords)")


def _simulate_bomber(
    env_id: str, config: dict[str, Any], seed: int, actions: Any, snaps: _Snapshots
) -> SimulationResult:
    from palaestra.envs.bomber.env import AGENT_INDEX, BomberParallelEnv

    try:
        env = BomberParallelEnv(**config)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"env_config is not valid for {env_id}: {exc}") from None
    steps = bomber_actions(actions, env.config.radio)
    try:
        env.reset(seed=seed)
        totals = [0.0] * len(env.possible_agents)
        if snaps.due(0):
            snaps.take(0, env.get_state_json())
        result, winners = "unfinished", []
        for i, step in enumerate(steps):
            if not env.agents:
                raise ReplayStepError(i, f"the game ended after {i} steps, but the replay has "
                                  f"{len(steps)}")
            _check_live(i, step, env.agents)
            try:
                _, rewards, _, _, infos = env.step(step)
            except ValueError as exc:
                raise ReplayStepError(i, f"the env rejects the action: {exc}") from None
            for name, r in rewards.items():
                totals[AGENT_INDEX[name]] += float(r)
            for info in infos.values():
                if "result" in info:
                    result, winners = info["result"], list(info["winners"])
                    break
            if snaps.due(i + 1):
                snaps.take(i + 1, env.get_state_json())
        outcome = {"result": result, "winners": winners, "rewards": totals, "steps": len(steps)}
        return SimulationResult(plain(env.get_state_json(), "state"), plain(outcome, "outcome"),
                                len(steps), snaps.result())
    finally:
        env.close()


def _simulate_kelly(
    env_id: str, config: dict[str, Any], seed: int, actions: Any, snaps: _Snapshots
) -> SimulationResult:
    bets = kelly_actions(actions)
    cls = get_spec(env_id).load()
    try:
        env = cls(**config)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"env_config is not valid for {env_id}: {exc}") from None

    def state(info: dict[str, Any]) -> dict[str, int]:
        return {"wealth_cents": int(info["wealth_cents"]), "rounds_elapsed": int(info["rounds_elapsed"])}

    try:
        _, info = env.reset(seed=seed)
        if snaps.due(0):
            snaps.take(0, state(info))
        done = False
        for i, bet in enumerate(bets):
            if done:
                raise ReplayStepError(i, f"the game ended after {i} steps, but the replay has "
                                  f"{len(bets)}")
            try:
                _, _, terminated, truncated, info = env.step(np.int64(bet))
            except (ValueError, OverflowError) as exc:
                raise ReplayStepError(i, f"the env rejects the action: {exc}") from None
            done = bool(terminated or truncated)
            if snaps.due(i + 1):
                snaps.take(i + 1, state(info))
        final = state(info)
        outcome = {"final_wealth": final["wealth_cents"] / 100.0, "finished": done, "steps": len(bets)}
        return SimulationResult(final, plain(outcome, "outcome"), len(bets), snaps.result())
    finally:
        env.close()


def hide_and_seek_state(env: Any) -> dict[str, Any]:
    """The state of a hide-and-seek game as JSON data (what snapshots hold and the hash covers).

    Walls are one string per row (``#`` wall, ``.`` floor); agents are keyed by name, each with
    its cell, facing code and team; ``all_hidden`` and the per-phase ``stats`` come from the env.
    """
    from palaestra.envs.hide_and_seek.constants import TEAM_NAMES

    game = env.game
    return {
        "step": int(game.step),
        "walls": ["".join("#" if w else "." for w in row) for row in game.walls],
        "ramps": game.ramps.tolist(),
        "boxes": game.boxes.tolist(),
        "box_lock": game.box_lock.tolist(),
        "agents": {name: {"cell": game.agent_pos[k].tolist(), "face": int(game.agent_face[k]),
                          "team": TEAM_NAMES[int(game.agent_team[k])]}
                   for k, name in enumerate(env.possible_agents)},
        "all_hidden": bool(env.all_hidden),
        "stats": env.stats(),
    }


def _simulate_hide_and_seek(
    env_id: str, config: dict[str, Any], seed: int, actions: Any, snaps: _Snapshots,
    agents: list[str] | None,
) -> SimulationResult:
    from palaestra.envs.hide_and_seek.constants import TEAM_NAMES

    _check_config_keys(env_id, config, ("render_mode",))
    cls = get_spec(env_id).load().parallel_env
    try:
        env = cls(**config)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"env_config is not valid for {env_id}: {exc}") from None
    seats = list(env.possible_agents)
    if agents is not None and len(agents) != len(seats):
        raise ReplayError(f"agents: this config of {env_id} has {len(seats)} seats "
                          f"({', '.join(seats)}), the replay names {len(agents)} agent(s)")
    steps = hide_and_seek_actions(actions)
    try:
        env.reset(seed=seed)
        team_of = {name: TEAM_NAMES[int(t)] for name, t in zip(seats, env.game.agent_team)}
        returns = dict.fromkeys(TEAM_NAMES, 0.0)
        if snaps.due(0):
            snaps.take(0, hide_and_seek_state(env))
        for i, step in enumerate(steps):
            if not env.agents:
                raise ReplayStepError(i, f"the game ended after {i} steps, but the replay has "
                                         f"{len(steps)}")
            _check_live(i, step, env.agents)
            try:
                _, rewards, _, _, _ = env.step(step)
            except ValueError as exc:
                raise ReplayStepError(i, f"the env rejects the action: {exc}") from None
            paid = {team_of[name]: float(r) for name, r in rewards.items()}  # alike within a team
            for team, r in paid.items():
                returns[team] += r
            if snaps.due(i + 1):
                snaps.take(i + 1, hide_and_seek_state(env))
        outcome = {"returns": returns, "stats": env.stats(), "finished": not env.agents,
                   "steps": len(steps)}
        return SimulationResult(plain(hide_and_seek_state(env), "state"), plain(outcome, "outcome"),
                                len(steps), snaps.result())
    finally:
        env.close()


def _counting_state(obs: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    return {"T": int(info["T"]), "steps": int(info["steps"]), "agent": np.asarray(obs["agent"]).tolist(),
            "target": np.asarray(obs["target"]).tolist(), "outcome": info.get("outcome")}


def _simulate_counting(
    env_id: str, config: dict[str, Any], seed: int, actions: Any, snaps: _Snapshots
) -> SimulationResult:
    moves = counting_actions(actions)
    _check_config_keys(env_id, config, ("render_mode", "config"))
    cls = get_spec(env_id).load()
    try:
        env = cls(**config)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"env_config is not valid for {env_id}: {exc}") from None
    try:
        obs, info = env.reset(seed=seed)
        if snaps.due(0):
            snaps.take(0, _counting_state(obs, info))
        done, reward = False, 0.0
        for i, move in enumerate(moves):
            if done:
                raise ReplayStepError(i, f"the game ended after {i} steps, but the replay has "
                                         f"{len(moves)}")
            try:
                obs, r, terminated, truncated, info = env.step(move)
            except (ValueError, OverflowError) as exc:
                raise ReplayStepError(i, f"the env rejects the action: {exc}") from None
            reward += float(r)
            done = bool(terminated or truncated)
            if snaps.due(i + 1):
                snaps.take(i + 1, _counting_state(obs, info))
        final = _counting_state(obs, info)
        outcome = {"T": final["T"], "steps": len(moves), "result": info.get("outcome", "unfinished"),
                   "success": bool(info.get("is_success", False)), "reward": reward}
        return SimulationResult(plain(final, "state"), plain(outcome, "outcome"), len(moves),
                                snaps.result())
    finally:
        env.close()


def make_replay(
    env_id: str,
    env_config: dict[str, Any],
    seed: int,
    agents: list[str],
    actions: list[Any],
    meta: dict[str, Any] | None = None,
    snapshot_every: int | None = None,
    created: str | None = None,
) -> Replay:
    """Record a game: simulate ``actions`` to fill in the outcome, final hash and snapshots.

    The replay is self-consistent by construction. ``env_id`` may be a short name (``bomber``);
    the replay stores the full id. ``created`` defaults to now (UTC, ISO 8601); pass a fixed value
    for byte-identical files. Raises :class:`ReplayError` when the game cannot be simulated.
    """
    full_id = resolve_env_id(env_id, allow_short_name=True)
    config = plain(dict(env_config or {}), "env_config")
    seats = check_agents(agents, full_id)
    if meta is not None and not isinstance(meta, dict):
        raise ReplayError(f"meta must be a dict, got {type(meta).__name__}")
    meta_plain = plain(dict(meta or {}), "meta")
    every = check_snapshot_every(snapshot_every)
    plain_actions = family_actions(full_id, actions)
    sim = _simulate(full_id, config, check_seed(seed), plain_actions, _Snapshots(every), seats)
    return Replay(
        env_id=full_id,
        env_config=config,
        seed=int(seed),
        agents=seats,
        actions=plain_actions,
        outcome=sim.outcome,
        final_state_sha256=sim.final_state_sha256,
        package_version=package_version(),
        created=created if created is not None else datetime.now(timezone.utc).isoformat(),
        snapshot_every=every,
        snapshots=sim.snapshots,
        meta=meta_plain,
    )


def verify_replay(replay: Replay) -> SimulationResult:
    """Re-simulate ``replay`` and check its snapshots, final state and outcome.

    Raises :class:`ReplayError` ("replay does not re-simulate: step N differs" / "final state
    differs" / "outcome differs") on any difference; returns the simulation otherwise.
    """
    env_id = resolve_env_id(replay.env_id)
    snaps = _Snapshots(replay.snapshot_every if replay.snapshots is not None else None,
                       replay.snapshots)
    try:
        sim = _simulate(env_id, replay.env_config, check_seed(replay.seed), replay.actions, snaps,
                        list(replay.agents))
    except ReplayStepError as exc:
        raise ReplayError(f"replay does not re-simulate: {exc}") from None
    if sim.final_state_sha256 != replay.final_state_sha256:
        raise ReplayError(f"replay does not re-simulate: final state differs (recorded sha256 "
                          f"{replay.final_state_sha256}, re-simulated {sim.final_state_sha256})")
    if canonical_json(sim.outcome) != canonical_json(replay.outcome):
        raise ReplayError(f"replay does not re-simulate: outcome differs (recorded "
                          f"{canonical_json(replay.outcome)}, re-simulated {canonical_json(sim.outcome)})")
    return sim
