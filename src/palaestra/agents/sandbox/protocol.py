"""The JSON-lines protocol between the tournament host and a sandboxed agent (version 1).

The host writes one JSON object per line to the agent's stdin and reads one JSON object per line
from its stdout; stderr is free for logs. A session::

    host  -> {"type": "init", "protocol": 1, "env": "bomber", "config": {...}, "seat": 0,
              "limits": {...}}
    agent <- {"type": "ready", "name": "my-bot"}
    host  -> {"type": "reset", "seed": 12345}
    agent <- {"type": "ok"}
    host  -> {"type": "act", "obs": {...}}
    agent <- {"type": "action", "action": 3}
    ...
    host  -> {"type": "close"}

An agent that cannot go on may answer any request with ``{"type": "error", "message": "...",
"kind": "crash" | "memory"}`` and exit. Anything else on stdout is a protocol error. The full
description, with the observation and action JSON of every env, is ``docs/protocol.md``.

Observations travel as plain JSON (numpy arrays as nested lists); :func:`decode_observation`
restores the exact numpy dtypes and shapes the env produces, so a Python agent behind the
protocol sees what it would see in-process. The protocol names an env by its registry short name
(``bomber``, ``kelly``, ``kelly-generalized``, ``counting``, ``hide-and-seek``: those
:data:`OBSERVATION_FIELDS` describes); the
registry, which imports Gymnasium, is consulted only to turn a name into a full env id or back,
so this module costs a sandboxed worker no more than numpy and the standard library.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np

from palaestra.errors import UnknownNameError

PROTOCOL_VERSION = 1
"""Bumped on any incompatible change; sent in ``init``."""

MAX_LINE_BYTES = 1 << 20
"""Longest line an agent may write (1 MiB); longer output is a protocol error."""

MAX_SEED = 2**53
"""Seeds sent in ``reset`` lie in ``[0, MAX_SEED)`` (exact in every JSON implementation)."""

BOMBER_NUM_ACTIONS = 6
BOMBER_RADIO_WORDS = 8
HIDE_AND_SEEK_IDLE: tuple[int, int, int] = (0, 0, 0)
"""The hide-and-seek action played after a timeout: stay, keep facing, touch nothing."""

MessageType = Literal["init", "ready", "reset", "ok", "act", "action", "close", "error"]
MESSAGE_TYPES: tuple[str, ...] = ("init", "ready", "reset", "ok", "act", "action", "close", "error")


class ProtocolError(ValueError):
    """A line that is not a well-formed protocol message."""


class InvalidAction(ValueError):
    """An action the env would refuse."""


def env_ids() -> dict[str, str]:
    """Protocol env names and the registered env (full id) each stands for."""
    return dict(_registered_ids())


@cache
def _registered_ids() -> dict[str, str]:
    from palaestra.envs.registration import env_id

    return {name: env_id(name) for name in OBSERVATION_FIELDS}


def env_name(env: str) -> str:
    """The protocol name (``bomber``, ``kelly``, ``counting`` ...) of an env name or id.

    Raises:
        UnknownNameError: for an env the protocol does not cover, listing the known ones.
    """
    if env in OBSERVATION_FIELDS:
        return env
    for name, full_id in _registered_ids().items():
        if env == full_id:
            return name
    raise UnknownNameError(
        f"unknown env {env!r} for the agent protocol; known: {', '.join(OBSERVATION_FIELDS)}"
    )


# -- messages -----------------------------------------------------------------------------------


def init_message(
    env: str, config: Mapping[str, Any], seat: int, limits: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Host -> agent: the first message, once per process."""
    return {
        "type": "init",
        "protocol": PROTOCOL_VERSION,
        "env": env_name(env),
        "config": dict(config),
        "seat": int(seat),
        "limits": dict(limits or {}),
    }


def reset_message(seed: int) -> dict[str, Any]:
    """Host -> agent: a new episode; the agent seeds its random choices with ``seed``."""
    return {"type": "reset", "seed": int(seed)}


def act_message(observation: Any) -> dict[str, Any]:
    """Host -> agent: one observation, to be answered with an ``action`` message."""
    return {"type": "act", "obs": to_jsonable(observation)}


def close_message() -> dict[str, Any]:
    """Host -> agent: the session is over; exit."""
    return {"type": "close"}


def ready_message(name: str) -> dict[str, Any]:
    """Agent -> host: the answer to ``init``."""
    return {"type": "ready", "name": str(name), "protocol": PROTOCOL_VERSION}


def ok_message() -> dict[str, Any]:
    """Agent -> host: the answer to ``reset``."""
    return {"type": "ok"}


def action_message(action: Any) -> dict[str, Any]:
    """Agent -> host: the answer to ``act``."""
    return {"type": "action", "action": to_jsonable(action, lenient=True)}


def error_message(message: str, kind: Literal["crash", "memory"] = "crash") -> dict[str, Any]:
    """Agent -> host: the agent cannot go on (it exits after sending this)."""
    return {"type": "error", "kind": kind, "message": str(message)}


def dumps(message: Mapping[str, Any]) -> bytes:
    """One message as a line of compact JSON (with the newline)."""
    return (json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n").encode()


def loads(line: bytes | str) -> dict[str, Any]:
    """Parse one line into a message.

    The line comes from an untrusted program: anything that is not a JSON object of a known type
    is a :class:`ProtocolError`, whatever the parser trips on (bad UTF-8, nesting too deep for
    the parser, numbers too long to convert).

    Raises:
        ProtocolError: the line is not UTF-8, not JSON, not an object, or has no known ``type``.
    """
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"not UTF-8 ({exc.reason} at byte {exc.start}): "
                                f"{_snippet(line.decode('utf-8', errors='replace'))}") from None
    else:
        text = line
    try:
        message = json.loads(text)
    except RecursionError:
        raise ProtocolError(f"JSON nested too deeply: {_snippet(text)}") from None
    except ValueError:  # JSONDecodeError, and ints longer than Python converts
        raise ProtocolError(f"not a JSON line: {_snippet(text)}") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"expected a JSON object, got {_snippet(text)}")
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        raise ProtocolError(f"unknown message type {kind!r} in {_snippet(text)}")
    return message


def _snippet(text: str, limit: int = 200) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


# -- observations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """How one observation entry is restored from JSON."""

    dtype: str
    kind: Literal["array", "numpy_scalar", "int"]
    """``array``: ndarray of ``dtype``; ``numpy_scalar``: 0-d numpy scalar; ``int``: python int."""

    def decode(self, value: Any) -> Any:
        if self.kind == "int":
            return int(value)
        if self.kind == "numpy_scalar":
            return np.dtype(self.dtype).type(value)
        return np.asarray(value, dtype=self.dtype)


_BOMBER_MAP = Field("float32", "array")
OBSERVATION_FIELDS: dict[str, dict[str, Field]] = {
    "bomber": {
        "board": Field("int8", "array"),
        "bomb_blast_strength": _BOMBER_MAP,
        "bomb_life": _BOMBER_MAP,
        "bomb_moving_direction": _BOMBER_MAP,
        "flame_life": _BOMBER_MAP,
        "position": Field("int64", "array"),
        "ammo": Field("int64", "int"),
        "blast_strength": Field("int64", "int"),
        "can_kick": Field("int64", "int"),
        "teammate": Field("int64", "int"),
        "enemies": Field("int64", "array"),
        "alive": Field("int8", "array"),
        "step_count": Field("int64", "int"),
        "game_type": Field("int64", "int"),
        "message": Field("int64", "array"),
    },
    "kelly": {
        "wealth": Field("float64", "array"),
        "rounds_left": Field("int64", "numpy_scalar"),
    },
    "kelly-generalized": {
        "wealth": Field("float64", "array"),
        "max_wealth_seen": Field("float64", "array"),
        "rounds_elapsed": Field("int64", "numpy_scalar"),
        "wins": Field("int64", "numpy_scalar"),
        "losses": Field("int64", "numpy_scalar"),
    },
    "counting": {
        "agent": Field("int64", "array"),
        "target": Field("int64", "array"),
        "T": Field("int64", "numpy_scalar"),
    },
    "hide-and-seek": {
        "entities": Field("float32", "array"),
        "entity_mask": Field("int8", "array"),
        "grid": Field("float32", "array"),
        "self": Field("float32", "array"),
    },
}
"""Per env (by protocol name), the dtype and kind of every observation entry (what the env itself
returns); its keys are the envs the protocol covers."""

BOMBER_PLANES_DTYPE = "float32"
"""Bomber with ``observation="planes"`` sends one (22, 11, 11) array instead of a dict."""


def to_jsonable(value: Any, lenient: bool = False) -> Any:
    """Plain JSON data from numpy arrays and scalars, dicts, lists and tuples.

    With ``lenient``, anything else that JSON cannot hold becomes its ``repr`` (so the receiver
    can report it); otherwise it raises ``TypeError``.
    """
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, lenient) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, lenient) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if np.isfinite(value) or not lenient:
            return value
        return repr(value)
    if lenient:
        return repr(value)
    raise TypeError(f"cannot send a {type(value).__name__} as JSON")


def encode_observation(observation: Any) -> Any:
    """An env observation as JSON data (arrays become nested lists)."""
    return to_jsonable(observation)


def decode_observation(env: str, data: Any) -> Any:
    """Restore an observation as the env returns it: numpy arrays of the env's dtypes and shapes.

    Entries the schema does not know (from a newer env) become numpy arrays if they are lists and
    stay as they are otherwise.
    """
    name = env_name(env)
    if name == "bomber" and isinstance(data, list):
        return np.asarray(data, dtype=BOMBER_PLANES_DTYPE)
    if not isinstance(data, Mapping):
        raise ProtocolError(f"a {name} observation is a JSON object, got {type(data).__name__}")
    fields = OBSERVATION_FIELDS[name]
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = fields.get(key)
        if field is not None:
            out[key] = field.decode(value)
        elif isinstance(value, list):
            out[key] = np.asarray(value)
        else:
            out[key] = value
    return out


# -- actions ------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class ActionRule:
    """What an env accepts as one agent's action (checked by the host on every reply)."""

    env: str
    radio: bool = False
    """Bomber ``team_radio``: actions are ``[move, word, word]``."""
    max_bet: int | None = None
    """Kelly: the largest bet in cents the env's action space holds (None: no upper bound)."""
    choices: tuple[int, ...] = ()
    """Counting: ``(n,)``, actions 0..n-1; hide-and-seek: the ``MultiDiscrete`` sizes of
    ``[move, face, interact]``."""

    def check(self, action: Any) -> int | list[int]:
        """The action as plain python data the env accepts.

        Raises:
            InvalidAction: naming what was expected.
        """
        if self.env == "bomber":
            return self._check_bomber(action)
        if self.env == "hide-and-seek":
            return self._check_hide_and_seek(action)
        if self.env == "counting":
            if not _is_int(action) or not 0 <= action < self.choices[0]:
                raise InvalidAction(f"a counting action is an int in 0..{self.choices[0] - 1} (stay, up, "
                                    f"down, left, right), got {action!r}")
            return int(action)
        if not _is_int(action):
            raise InvalidAction(f"a Kelly action is a bet in whole cents (an int), got {action!r}")
        bet = int(action)
        if bet < 0 or (self.max_bet is not None and bet > self.max_bet):
            top = "" if self.max_bet is None else f"..{self.max_bet}"
            raise InvalidAction(f"a Kelly bet must lie in 0{top} cents, got {bet}")
        return bet

    def _check_bomber(self, action: Any) -> int | list[int]:
        if self.radio and _is_int(action) and 0 <= action < BOMBER_NUM_ACTIONS:
            return [int(action), 0, 0]  # a bare move is silent, as in Pommerman's radio env
        if self.radio:
            ok = (
                isinstance(action, (list, tuple))
                and len(action) == 3
                and all(_is_int(a) for a in action)
                and 0 <= action[0] < BOMBER_NUM_ACTIONS
                and all(0 <= w < BOMBER_RADIO_WORDS for w in action[1:])
            )
            if not ok:
                raise InvalidAction(
                    "a team_radio action is [move, word, word] with move in 0..5 and words in "
                    f"0..7, got {action!r}"
                )
            return [int(a) for a in action]
        if isinstance(action, (list, tuple)) and len(action) == 1:
            action = action[0]
        if not _is_int(action) or not 0 <= action < BOMBER_NUM_ACTIONS:
            raise InvalidAction(f"a Bomber action is an int in 0..5, got {action!r}")
        return int(action)

    def _check_hide_and_seek(self, action: Any) -> list[int]:
        sizes = self.choices
        ok = (isinstance(action, (list, tuple)) and len(action) == len(sizes)
              and all(_is_int(a) and 0 <= a < n for a, n in zip(action, sizes)))
        if not ok:
            ranges = ", ".join(f"{what} 0..{n - 1}" for what, n in zip(("move", "face", "interact"), sizes))
            raise InvalidAction(f"a hide-and-seek action is [move, face, interact] with {ranges}, got {action!r}")
        return [int(a) for a in action]

    def default(self, action: int) -> int | list[int]:
        """The configured default action in this env's form (``[a, 0, 0]`` with radio); in
        hide-and-seek always :data:`HIDE_AND_SEEK_IDLE`, in counting ``stay`` (0) when ``action``
        is not a move."""
        if self.env == "hide-and-seek":
            return list(HIDE_AND_SEEK_IDLE)
        if self.env == "counting":
            return int(action) if 0 <= action < self.choices[0] else 0
        return [int(action), 0, 0] if self.radio else int(action)


def action_rule(env: str, config: Mapping[str, Any] | None = None) -> ActionRule:
    """The :class:`ActionRule` of an env with the given env keyword arguments.

    For Kelly, counting and hide-and-seek the bounds come from the env's own action space.
    """
    name = env_name(env)
    config = dict(config or {})
    if name == "bomber":
        return ActionRule(name, radio=config.get("mode") == "team_radio")
    if name == "hide-and-seek":
        from palaestra.envs.hide_and_seek.env import action_space

        return ActionRule(name, choices=tuple(int(n) for n in action_space().nvec))
    from palaestra.envs.registration import get_spec

    space = get_spec(name).load()(**config).action_space
    if name == "counting":
        return ActionRule(name, choices=(int(space.n),))
    return ActionRule(name, max_bet=int(space.n) - 1)
