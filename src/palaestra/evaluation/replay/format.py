"""The replay format: the :class:`Replay` record, its JSON object, and the checks on both.

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

Actions, one entry per step:

* Bomber: a dict live agent -> action (an int 0..5, or ``[move, word, word]`` in ``team_radio``
  mode);
* Kelly: the bet in cents;
* hide-and-seek: a dict live agent -> ``[move, face, interact]`` (every agent acts every step);
* counting: the agent's move, an int 0..4 (stay, up, down, left, right).

Which envs can be replayed, and how many seats each has, is the registry's answer for the families
in :data:`REPLAY_FAMILIES`. A malformed or mismatched replay is a :class:`ReplayError` that names
the problem.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from palaestra.envs.counting.env import ACTION_NAMES as COUNTING_ACTION_NAMES
from palaestra.envs.registration import env_id as _registered_id
from palaestra.envs.registration import family_specs, get_spec
from palaestra.errors import FileFormatError

REPLAY_FORMAT = "palaestra-replay"
"""The ``format`` field of every replay file."""
REPLAY_VERSION = 1
"""The version this module writes."""
SUPPORTED_VERSIONS: tuple[int, ...] = (1,)
"""The versions this module reads."""

EnvFamily = Literal["bomber", "kelly", "hide_and_seek", "counting"]
REPLAY_FAMILIES: tuple[EnvFamily, ...] = ("bomber", "kelly", "hide_and_seek", "counting")
"""The env families whose games can be recorded and re-simulated."""

BOMBER_ENV_ID = _registered_id("bomber")
KELLY_ENV_ID = _registered_id("kelly")
KELLY_GENERALIZED_ENV_ID = _registered_id("kelly-generalized")
HIDE_AND_SEEK_ENV_ID = _registered_id("hide-and-seek")
COUNTING_ENV_ID = _registered_id("counting")

_ENV_ID_RE = re.compile(r"^(?P<name>.+)-v(?P<version>\d+)$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")

FAMILIES: dict[str, EnvFamily] = {
    spec.env_id: spec.family for spec in family_specs(*REPLAY_FAMILIES)
}
"""Full id -> family of every replayable env."""


class ReplayError(FileFormatError):
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
    """The seed passed to ``env.reset``; it fixes the board (Bomber), every flip (Kelly), the
    layout and the turn order (hide-and-seek) or T and the two cells (counting)."""
    agents: list[str]
    """Agent name or id per seat (four for Bomber, one for Kelly and counting, one per hider and
    seeker for hide-and-seek: ``hider_0``.. then ``seeker_0``..)."""
    actions: list[Any]
    """Per step: Bomber, a dict live agent -> action; Kelly, the bet in cents; hide-and-seek, a
    dict agent -> ``[move, face, interact]``; counting, the move (0..4)."""
    outcome: dict[str, Any]
    """Bomber: ``result`` (win/tie/unfinished), ``winners``, ``rewards`` (total per seat),
    ``steps``; Kelly: ``final_wealth`` (dollars), ``finished``, ``steps``; hide-and-seek:
    ``returns`` (per team: ``hider``, ``seeker``; each member's return), ``stats`` (the env's
    per-phase counters), ``finished``, ``steps``; counting: ``T``, ``steps``, ``result``
    (on_time/early/late/timeout/unfinished), ``success``, ``reward``."""
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


def plain(obj: Any, what: str) -> Any:
    """``obj`` as plain JSON data (tuples become lists, numpy values Python ones)."""
    try:
        return json.loads(canonical_json(obj))
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"{what} is not JSON data: {exc}") from None


# -- envs ----------------------------------------------------------------------------------------
def _known_ids() -> list[str]:
    return sorted(FAMILIES)


def resolve_env_id(env_id: Any, allow_short_name: bool = False) -> str:
    """The full id of a replayable env; a :class:`ReplayError` says what is wrong otherwise.

    A known env name with another version (``palaestra/Bomber-v1`` where this palaestra has
    ``-v0``) is a version mismatch; ``allow_short_name`` also accepts ``bomber``, ``kelly``, ...
    """
    if not isinstance(env_id, str):
        raise ReplayError(f"env_id must be a string, got {type(env_id).__name__}")
    if env_id in FAMILIES:
        return env_id
    if allow_short_name:
        for spec in family_specs(*REPLAY_FAMILIES):
            if env_id == spec.short_name:
                return spec.env_id
    m = _ENV_ID_RE.match(env_id)
    if m is not None:
        ours = [k for k in FAMILIES if _name_of(k) == m.group("name")]
        if ours:
            raise ReplayError(
                f"env version mismatch: the replay is for {env_id}, but this palaestra "
                f"(version {package_version()}) has {', '.join(ours)}"
            )
    raise ReplayError(f"unknown env id {env_id!r}; replays exist for {', '.join(_known_ids())}")


def _name_of(full_id: str) -> str:
    """``palaestra/Bomber`` of ``palaestra/Bomber-v0``."""
    m = _ENV_ID_RE.match(full_id)
    return m.group("name") if m is not None else full_id


def package_version() -> str:
    """The installed palaestra version (written into every replay)."""
    from palaestra import __version__

    return __version__


def bomber_actions(actions: Any, radio: bool | None) -> list[dict[str, Any]]:
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


def kelly_actions(actions: Any) -> list[int]:
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


def check_snapshot_every(snapshot_every: Any) -> int | None:
    if snapshot_every is None:
        return None
    if isinstance(snapshot_every, bool) or not isinstance(snapshot_every, (int, np.integer)) \
            or snapshot_every < 1:
        raise ReplayError(f"snapshot_every must be a positive integer or None, got {snapshot_every!r}")
    return int(snapshot_every)


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ReplayError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def hide_and_seek_actions(actions: Any) -> list[dict[str, list[int]]]:
    """Hide-and-seek actions as plain data: per step a dict agent -> ``[move, face, interact]``.

    Checks the shape (three integers per agent); the env checks the ranges. A malformed step is a
    :class:`ReplayStepError`.
    """
    if not isinstance(actions, (list, tuple)):
        raise ReplayError(f"actions must be a list (one dict per step), got {type(actions).__name__}")
    out = []
    for i, step in enumerate(actions):
        if not isinstance(step, dict):
            raise ReplayStepError(i, f"hide-and-seek actions must be a dict agent -> [move, face, "
                                     f"interact], got {type(step).__name__}")
        row: dict[str, list[int]] = {}
        for name, action in step.items():
            if not isinstance(name, str):
                raise ReplayStepError(i, f"agent names must be strings, got {name!r}")
            value = action.tolist() if isinstance(action, np.ndarray) else action
            if isinstance(value, tuple):
                value = list(value)
            if not (isinstance(value, list) and len(value) == 3 and all(_is_int(v) for v in value)):
                raise ReplayStepError(i, f"{name}: a hide-and-seek action is 3 integers [move, face, "
                                         f"interact], got {action!r}")
            row[name] = [int(v) for v in value]
        out.append(row)
    return out


def counting_actions(actions: Any) -> list[int]:
    """Counting moves as plain ints, checked for type (the env checks the range 0..4).

    A move that is not an integer is a :class:`ReplayStepError`.
    """
    if not isinstance(actions, (list, tuple, np.ndarray)):
        raise ReplayError(f"actions must be a list (one move per step), got {type(actions).__name__}")
    out = []
    for i, move in enumerate(actions):
        if not _is_int(move):
            names = ", ".join(f"{k} {name}" for k, name in enumerate(COUNTING_ACTION_NAMES))
            raise ReplayStepError(i, f"a counting action is an integer ({names}), got {move!r}")
        out.append(int(move))
    return out


def family_actions(env_id: str, actions: Any) -> list[Any]:
    """The actions of a game of the replayable env ``env_id`` as plain data, checked for shape."""
    family = FAMILIES[env_id]
    if family == "bomber":
        return bomber_actions(actions, None)
    if family == "hide_and_seek":
        return hide_and_seek_actions(actions)
    if family == "counting":
        return counting_actions(actions)
    return kelly_actions(actions)


def check_agents(agents: Any, env_id: str) -> list[str]:
    if not isinstance(agents, (list, tuple)) or not all(isinstance(a, str) for a in agents):
        raise ReplayError(f"agents must be a list of strings (one per seat), got {agents!r}")
    low, high = get_spec(env_id).seats
    if not low <= len(agents) <= high:
        seats = str(low) if low == high else f"{low} to {high}"
        raise ReplayError(f"agents: {env_id} has {seats} seat(s), got {len(agents)} agent(s)")
    return list(agents)


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
    seed = check_seed(data["seed"])
    agents = check_agents(data["agents"], env_id)
    actions = family_actions(env_id, data["actions"])
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
        every = check_snapshot_every(every)
        assert every is not None and snapshots is not None
        needed = len(actions) // every + 1
        if len(snapshots) != needed:
            raise ReplayError(f"{len(actions)} steps with snapshot_every={every} need {needed} "
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
