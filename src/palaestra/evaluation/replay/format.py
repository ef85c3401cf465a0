"""Replays: a game as its seed, env id and per-step actions, re-simulated deterministically.

A replay holds what is needed to play a game again exactly: the env id (with its version), the
env config, the reset seed, the agents per seat and every step's actions. It also holds what the
game came to: the outcome and the SHA-256 of the final state's canonical JSON, so that a loader can
re-simulate the game and check that it still ends the same way (a changed action, a changed env or
a damaged file shows up as a difference). Optional state snapshots every ``snapshot_every`` steps
locate a divergence to the step.

On disk a replay is versioned JSON (gzip-compressed when the file name ends with ``.gz``)::

    {"format": "palaestra-replay", "version": 1, "env_id": "palaestra/Bomber-v0",
     "env_config": {"mode": "team"}, "seed": 7, "agents": ["a", "b", "c", "d"],
     "actions": [{"player_0": 5, "player_1": 0, ...}, ...], "outcome": {...},
     "final_state_sha256": "...", "package_version": "0.1.0", "created": "2025-...",
     "snapshot_every": null, "snapshots": null, "meta": {}}

Bomber actions are one dict per step, live agent -> action (an int 0..5, or ``[move, word, word]``
in ``team_radio`` mode); Kelly actions are one bet in cents per step. :func:`load_replay` rejects a
malformed or mismatched file with a :class:`ReplayError` that names the problem.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import re
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np

REPLAY_FORMAT = "palaestra-replay"
"""The ``format`` field of every replay file."""
REPLAY_VERSION = 1
"""The version this module writes."""
SUPPORTED_VERSIONS: tuple[int, ...] = (1,)
"""The versions this module reads."""

BOMBER_ENV_ID = "palaestra/Bomber-v0"
KELLY_ENV_ID = "palaestra/KellyCoinflip-v0"
KELLY_GENERALIZED_ENV_ID = "palaestra/KellyCoinflipGeneralized-v0"

_GZIP_MAGIC = b"\x1f\x8b"
_ENV_ID_RE = re.compile(r"^(?P<name>.+)-v(?P<version>\d+)$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")

EnvFamily = Literal["bomber", "kelly"]
_FAMILIES: dict[str, EnvFamily] = {
    BOMBER_ENV_ID: "bomber",
    KELLY_ENV_ID: "kelly",
    KELLY_GENERALIZED_ENV_ID: "kelly",
}
_SEATS: dict[EnvFamily, int] = {"bomber": 4, "kelly": 1}


class ReplayError(ValueError):
    """A replay is malformed, does not match this palaestra, or does not re-simulate."""


class ReplayStepError(ReplayError):
    """The actions of one step cannot be played (the message starts with ``step N:``)."""

    def __init__(self, step: int, message: str) -> None:
        super().__init__(f"step {step}: {message}")
        self.step = step


# -- data ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Replay:
    """One recorded game; see the module docstring for the file format."""

    env_id: str
    """Full env id with version, e.g. ``palaestra/Bomber-v0``."""
    env_config: dict[str, Any]
    """Keyword arguments of the env, e.g. ``{"mode": "team"}``."""
    seed: int
    """The seed passed to ``env.reset``; it fixes the board (Bomber) or every flip (Kelly)."""
    agents: list[str]
    """Agent name or id per seat (four for Bomber, one for Kelly)."""
    actions: list[Any]
    """Per step: Bomber, a dict live agent -> action; Kelly, the bet in cents."""
    outcome: dict[str, Any]
    """Bomber: ``result`` (win/tie/unfinished), ``winners``, ``rewards`` (total per seat),
    ``steps``; Kelly: ``final_wealth`` (dollars), ``finished``, ``steps``."""
    final_state_sha256: str
    """SHA-256 of the canonical JSON of the final state (see :func:`state_sha256`)."""
    package_version: str
    """The palaestra version that recorded the game."""
    created: str = field(default="", compare=False)
    """ISO 8601 time of recording (not part of equality)."""
    snapshot_every: int | None = None
    """Snapshot interval in steps, or None for no snapshots."""
    snapshots: list[dict[str, Any]] | None = None
    """States after 0, k, 2k, ... steps (k = ``snapshot_every``), or None."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Free-form JSON: tournament id, match id, faults, ..."""

    @property
    def steps(self) -> int:
        """Number of recorded steps."""
        return len(self.actions)


@dataclass(frozen=True)
class SimulationResult:
    """What re-simulating a game gives."""

    final_state: dict[str, Any]
    """Bomber: ``env.get_state_json()``; Kelly: ``{"wealth_cents", "rounds_elapsed"}``."""
    outcome: dict[str, Any]
    """As :attr:`Replay.outcome`."""
    steps: int
    """Number of steps played."""
    snapshots: list[dict[str, Any]] | None = None
    """States after 0, k, 2k, ... steps when asked for, else None."""

    @property
    def final_state_sha256(self) -> str:
        return state_sha256(self.final_state)


# -- canonical JSON ------------------------------------------------------------------------------
def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def canonical_json(obj: Any) -> str:
    """Compact JSON with sorted keys (numpy scalars and arrays become plain numbers and lists)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      default=_json_default)


def state_sha256(state: Any) -> str:
    """The SHA-256 (hex) of a state's canonical JSON."""
    return hashlib.sha256(canonical_json(state).encode("utf-8")).hexdigest()


def _plain(obj: Any, what: str) -> Any:
    """``obj`` as plain JSON data (tuples become lists, numpy values Python ones)."""
    try:
        return json.loads(canonical_json(obj))
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"{what} is not JSON data: {exc}") from None


# -- envs ----------------------------------------------------------------------------------------
def _known_ids() -> list[str]:
    return sorted(_FAMILIES)


def resolve_env_id(env_id: Any, allow_short_name: bool = False) -> str:
    """The full id of a replayable env; a :class:`ReplayError` says what is wrong otherwise.

    A known env name with another version (``palaestra/Bomber-v1`` where this palaestra has
    ``-v0``) is a version mismatch; ``allow_short_name`` also accepts ``bomber``, ``kelly``, ...
    """
    if not isinstance(env_id, str):
        raise ReplayError(f"env_id must be a string, got {type(env_id).__name__}")
    if env_id in _FAMILIES:
        return env_id
    if allow_short_name:
        from palaestra.envs.registration import ENVS

        for spec in ENVS:
            if env_id == spec.short_name and spec.env_id in _FAMILIES:
                return spec.env_id
    m = _ENV_ID_RE.match(env_id)
    if m is not None:
        ours = [k for k in _FAMILIES if _ENV_ID_RE.match(k).group("name") == m.group("name")]  # type: ignore[union-attr]
        if ours:
            raise ReplayError(
                f"env version mismatch: the replay is for {env_id}, but this palaestra "
                f"(version {_package_version()}) has {', '.join(ours)}"
            )
    raise ReplayError(f"unknown env id {env_id!r}; replays exist for {', '.join(_known_ids())}")


def _package_version() -> str:
    from palaestra import __version__

    return __version__


def _bomber_actions(actions: Any, radio: bool | None) -> list[dict[str, Any]]:
    """Bomber actions as plain data, checked for shape (the env checks the values).

    ``radio`` None accepts both an int and a ``[move, word, word]`` list (the mode is not known).
    """
    if not isinstance(actions, (list, tuple)):
        raise ReplayError(f"actions must be a list (one dict per step), got {type(actions).__name__}")
    out = []
    for i, step in enumerate(actions):
        if not isinstance(step, dict):
            raise ReplayError(f"step {i}: Bomber actions must be a dict agent -> action, got "
                              f"{type(step).__name__}")
        row: dict[str, Any] = {}
        for name, action in step.items():
            if not isinstance(name, str):
                raise ReplayError(f"step {i}: agent names must be strings, got {name!r}")
            if isinstance(action, (np.ndarray, tuple)):
                action = list(np.asarray(action).reshape(-1).tolist())
            elif isinstance(action, np.integer):
                action = int(action)
            is_int = isinstance(action, int) and not isinstance(action, bool)
            is_radio = (isinstance(action, list) and len(action) == 3
                        and all(isinstance(w, (int, np.integer)) and not isinstance(w, bool)
                                for w in action))
            if radio is True and not is_radio:
                raise ReplayError(f"step {i}: {name}: a team_radio action is [move, word, word], "
                                  f"got {action!r}")
            if radio is False and not is_int:
                raise ReplayError(f"step {i}: {name}: action must be an integer 0..5, got {action!r}")
            if radio is None and not (is_int or is_radio):
                raise ReplayError(f"step {i}: {name}: action must be an integer or "
                                  f"[move, word, word], got {action!r}")
            row[name] = [int(w) for w in action] if is_radio else int(action)
        out.append(row)
    return out


def _kelly_actions(actions: Any) -> list[int]:
    """Kelly bets as plain ints, checked for type (the env checks the range)."""
    if not isinstance(actions, (list, tuple, np.ndarray)):
        raise ReplayError(f"actions must be a list (one bet per step), got {type(actions).__name__}")
    out = []
    for i, bet in enumerate(actions):
        if isinstance(bet, np.integer):
            bet = int(bet)
        if not isinstance(bet, int) or isinstance(bet, bool):
            raise ReplayError(f"step {i}: a Kelly action is a bet in whole cents, got {bet!r}")
        out.append(bet)
    return out


def _check_snapshot_every(snapshot_every: Any) -> int | None:
    if snapshot_every is None:
        return None
    if isinstance(snapshot_every, bool) or not isinstance(snapshot_every, (int, np.integer)) \
            or snapshot_every < 1:
        raise ReplayError(f"snapshot_every must be a positive integer or None, got {snapshot_every!r}")
    return int(snapshot_every)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ReplayError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


class _Snapshots:
    """Takes a state every ``every`` steps; with ``expected`` checks each against the recording."""

    def __init__(self, every: int | None, expected: list[dict[str, Any]] | None = None) -> None:
        self.every = every
        self.expected = expected
        self.taken: list[dict[str, Any]] = []

    def due(self, steps_done: int) -> bool:
        return bool(self.every) and steps_done % self.every == 0  # type: ignore[operator]

    def take(self, steps_done: int, state: dict[str, Any]) -> None:
        state = _plain(state, "state")
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
    seed = _check_seed(seed)
    every = _check_snapshot_every(snapshot_every)
    return _simulate(full_id, env_config, seed, actions, _Snapshots(every))


def _simulate(
    env_id: str, config: dict[str, Any], seed: int, actions: Any, snaps: _Snapshots
) -> SimulationResult:
    if _FAMILIES[env_id] == "bomber":
        return _simulate_bomber(config, seed, actions, snaps)
    return _simulate_kelly(env_id, config, seed, actions, snaps)


def _simulate_bomber(
    config: dict[str, Any], seed: int, actions: Any, snaps: _Snapshots
) -> SimulationResult:
    from palaestra.envs.bomber.env import AGENT_INDEX, BomberParallelEnv

    try:
        env = BomberParallelEnv(**config)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"env_config is not valid for {BOMBER_ENV_ID}: {exc}") from None
    steps = _bomber_actions(actions, env.config.radio)
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
            missing = sorted(set(env.agents) - set(step))
            extra = sorted(set(step) - set(env.agents))
            if missing:
                raise ReplayStepError(i, f"no action for {', '.join(missing)} (every agent in "
                                  f"the game must act)")
            if extra:
                raise ReplayStepError(i, f"an action for {', '.join(extra)}, which is not in "
                                  f"the game at that step")
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
        return SimulationResult(_plain(env.get_state_json(), "state"), _plain(outcome, "outcome"),
                                len(steps), snaps.result())
    finally:
        env.close()



def _simulate_kelly(
    env_id: str, config: dict[str, Any], seed: int, actions: Any, snaps: _Snapshots
) -> SimulationResult:
    from palaestra.envs.registration import get_spec

    bets = _kelly_actions(actions)
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
        return SimulationResult(final, _plain(outcome, "outcome"), len(bets), snaps.result())
    finally:
        env.close()


# -- making and checking replays -----------------------------------------------------------------
def _check_agents(agents: Any, env_id: str) -> list[str]:
    if not isinstance(agents, (list, tuple)) or not all(isinstance(a, str) for a in agents):
        raise ReplayError(f"agents must be a list of strings (one per seat), got {agents!r}")
    seats = _SEATS[_FAMILIES[env_id]]
    if len(agents) != seats:
        raise ReplayError(f"agents: {env_id} has {seats} seat(s), got {len(agents)} agent(s)")
    return list(agents)


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
    config = _plain(dict(env_config or {}), "env_config")
    seats = _check_agents(agents, full_id)
    if meta is not None and not isinstance(meta, dict):
        raise ReplayError(f"meta must be a dict, got {type(meta).__name__}")
    meta_plain = _plain(dict(meta or {}), "meta")
    every = _check_snapshot_every(snapshot_every)
    if _FAMILIES[full_id] == "bomber":
        plain_actions: list[Any] = _bomber_actions(actions, None)
    else:
        plain_actions = _kelly_actions(actions)
    sim = simulate(full_id, config, seed, plain_actions, every)
    return Replay(
        env_id=full_id,
        env_config=config,
        seed=int(seed),
        agents=seats,
        actions=plain_actions,
        outcome=sim.outcome,
        final_state_sha256=sim.final_state_sha256,
        package_version=_package_version(),
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
        sim = _simulate(env_id, replay.env_config, _check_seed(replay.seed), replay.actions, snaps)
    except ReplayStepError as exc:
        raise ReplayError(f"replay does not re-simulate: {exc}") from None
    if sim.final_state_sha256 != replay.final_state_sha256:
        raise ReplayError(f"replay does not re-simulate: final state differs (recorded sha256 "
                          f"{replay.final_state_sha256}, re-simulated {sim.final_state_sha256})")
    if canonical_json(sim.outcome) != canonical_json(replay.outcome):
        raise ReplayError(f"replay does not re-simulate: outcome differs (recorded "
                          f"{canonical_json(replay.outcome)}, re-simulated {canonical_json(sim.outcome)})")
    return sim


# -- dicts ---------------------------------------------------------------------------------------
_REQUIRED: dict[str, tuple[type, ...]] = {
    "env_id": (str,),
    "env_config": (dict,),
    "seed": (int,),
    "agents": (list,),
    "actions": (list,),
    "outcome": (dict,),
    "final_state_sha256": (str,),
    "package_version": (str,),
    "created": (str,),
}
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "snapshot_every": (int, type(None)),
    "snapshots": (list, type(None)),
    "meta": (dict,),
}
_TYPE_NAMES = {str: "a string", dict: "an object", int: "an integer", list: "a list",
               type(None): "null"}


def replay_to_dict(replay: Replay) -> dict[str, Any]:
    """The replay as the JSON object written to disk (with ``format`` and ``version``).

    The dict is a deep copy: changing it does not change ``replay``.
    """
    return copy.deepcopy({
        "format": REPLAY_FORMAT,
        "version": REPLAY_VERSION,
        "env_id": replay.env_id,
        "env_config": replay.env_config,
        "seed": replay.seed,
        "agents": list(replay.agents),
        "actions": list(replay.actions),
        "outcome": replay.outcome,
        "final_state_sha256": replay.final_state_sha256,
        "package_version": replay.package_version,
        "created": replay.created,
        "snapshot_every": replay.snapshot_every,
        "snapshots": replay.snapshots,
        "meta": replay.meta,
    })


def replay_from_dict(data: Any) -> Replay:
    """Read and check a replay object (format, version, fields, env id); does not re-simulate.

    Raises :class:`ReplayError` naming the first problem found.
    """
    if not isinstance(data, dict):
        raise ReplayError(f"a replay is a JSON object, got {type(data).__name__}")
    data = copy.deepcopy(data)  # the replay shares nothing with the caller's dict
    if "format" not in data:
        raise ReplayError(f"not a palaestra replay: no 'format' field (expected {REPLAY_FORMAT!r})")
    if data["format"] != REPLAY_FORMAT:
        raise ReplayError(f"not a palaestra replay: format is {data['format']!r}, expected "
                          f"{REPLAY_FORMAT!r}")
    version = data.get("version")
    if "version" not in data:
        raise ReplayError("missing field 'version'")
    supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ReplayError(f"field 'version' must be an integer, got {version!r} (supported: {supported})")
    if version not in SUPPORTED_VERSIONS:
        raise ReplayError(f"unsupported replay version {version}; this palaestra reads version(s) "
                          f"{supported}")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL) - {"format", "version"})
    if unknown:
        raise ReplayError(f"unknown field(s) {', '.join(map(repr, unknown))} in a version {version} replay")
    for name, types in {**_REQUIRED, **_OPTIONAL}.items():
        if name not in data:
            if name in _REQUIRED:
                raise ReplayError(f"missing field {name!r}")
            continue
        value = data[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            want = " or ".join(_TYPE_NAMES[t] for t in types)
            raise ReplayError(f"field {name!r} must be {want}, got {type(value).__name__} {value!r:.80}")

    env_id = resolve_env_id(data["env_id"])
    seed = _check_seed(data["seed"])
    agents = _check_agents(data["agents"], env_id)
    if _FAMILIES[env_id] == "bomber":
        actions: list[Any] = _bomber_actions(data["actions"], None)
    else:
        actions = _kelly_actions(data["actions"])
    if "steps" in data["outcome"] and data["outcome"]["steps"] != len(actions):
        raise ReplayError(f"outcome says {data['outcome']['steps']!r} steps, but the replay has "
                          f"{len(actions)} actions")
    digest = data["final_state_sha256"]
    if not _HEX64_RE.match(digest):
        raise ReplayError(f"field 'final_state_sha256' must be 64 lowercase hex digits, got {digest!r}")
    every = data.get("snapshot_every")
    snapshots = data.get("snapshots")
    if (every is None) != (snapshots is None):
        raise ReplayError("fields 'snapshot_every' and 'snapshots' must be both set or both null")
    if every is not None:
        every = _check_snapshot_every(every)
        assert every is not None and snapshots is not None
        want = len(actions) // every + 1
        if len(snapshots) != want:
            raise ReplayError(f"{len(actions)} steps with snapshot_every={every} need {want} "
                              f"snapshots, got {len(snapshots)}")
        for j, s in enumerate(snapshots):
            if not isinstance(s, dict):
                raise ReplayError(f"snapshot {j} must be an object, got {type(s).__name__}")
    return Replay(
        env_id=env_id,
        env_config=data["env_config"],
        seed=seed,
        agents=agents,
        actions=actions,
        outcome=data["outcome"],
        final_state_sha256=digest,
        package_version=data["package_version"],
        created=data["created"],
        snapshot_every=every,
        snapshots=snapshots,
        meta=data.get("meta", {}),
    )


# -- files ---------------------------------------------------------------------------------------
def replay_bytes(replay: Replay, compress: bool = False) -> bytes:
    """The file contents: sorted-key compact JSON and a newline; gzip with a zero mtime if asked.

    The same replay always gives the same bytes.
    """
    replay_from_dict(_plain(replay_to_dict(replay), "replay"))  # never write a malformed file
    text = canonical_json(replay_to_dict(replay)) + "\n"
    data = text.encode("utf-8")
    return gzip.compress(data, compresslevel=9, mtime=0) if compress else data


def save_replay(replay: Replay, path: str | os.PathLike[str]) -> Path:
    """Write ``replay`` to ``path`` atomically (temp file + rename); gzip when it ends with .gz."""
    target = Path(path)
    data = replay_bytes(replay, compress=target.name.endswith(".gz"))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def load_replay(path: str | os.PathLike[str], verify: bool = True) -> Replay:
    """Read a replay file (plain or gzip JSON) and, with ``verify``, re-simulate and check it.

    Raises :class:`ReplayError` naming the file and the problem: missing file, not gzip / not JSON,
    wrong format, unsupported version, missing or mistyped field, unknown env or env version
    mismatch, and with ``verify`` any difference from the re-simulation.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ReplayError(f"replay file not found: {p}") from None
    except OSError as exc:
        raise ReplayError(f"cannot read replay file {p}: {exc}") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ReplayError(f"{p}: corrupt or truncated gzip data ({exc})") from None
    elif p.name.endswith(".gz"):
        raise ReplayError(f"{p}: not a gzip file, though its name ends with .gz")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ReplayError(f"{p}: not a replay (neither gzip nor UTF-8 JSON)") from None
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno} column "
                          f"{exc.colno}); the file may be truncated") from None
    try:
        replay = replay_from_dict(data)
        if verify:
            verify_replay(replay)
    except ReplayError as exc:
        raise ReplayError(f"{p}: {exc}") from None
    return replay


__all__ = [
    "REPLAY_FORMAT",
    "REPLAY_VERSION",
    "SUPPORTED_VERSIONS",
    "Replay",
    "ReplayError",
    "ReplayStepError",
    "SimulationResult",
    "canonical_json",
    "load_replay",
    "make_replay",
    "replay_bytes",
    "replay_from_dict",
    "replay_to_dict",
    "resolve_env_id",
    "save_replay",
    "simulate",
    "state_sha256",
    "verify_replay",
]
