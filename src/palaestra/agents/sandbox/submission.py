"""Validate a tournament submission: check it statically, then play a short probe in the sandbox.

A submission is a spec (see :func:`palaestra.agents.sandbox.host.launch`): ``python:FILE``,
``checkpoint:DIR``, ``cmd:COMMAND`` or ``builtin:NAME``; a bare path is read as a Python file
(``*.py``) or a checkpoint directory. :func:`validate_submission` returns a
:class:`SubmissionInfo` to register, or raises :class:`SubmissionError` naming the problem.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from palaestra.agents.sandbox import protocol as P
from palaestra.agents.sandbox.host import AgentFault, SandboxedAgent, SandboxLimits, launch, parse_spec
from palaestra.agents.sandbox.isolation import isolation_problem, sha256_of
from palaestra.errors import ConfigError, UnknownNameError

SubmissionKind = Literal["python", "checkpoint", "program", "builtin"]
PROBE_STEPS = 5
"""Steps the probe plays."""

_KIND_OF_SPEC: dict[str, SubmissionKind] = {
    "python": "python", "checkpoint": "checkpoint", "cmd": "program", "builtin": "builtin",
}


class SubmissionError(ConfigError):
    """A submission that cannot be registered; the message names the problem."""


@dataclass(frozen=True)
class SubmissionInfo:
    """A validated submission."""

    name: str
    kind: SubmissionKind
    spec: str
    """What :func:`~palaestra.agents.sandbox.host.launch` takes (paths made absolute)."""
    env: str
    sha256: str
    """Of the file, the directory's files (names and contents) or the command and its files."""
    validated_at: str
    """UTC time of the validation, ISO 8601."""
    agent_name: str = ""
    """The name the agent reported when it started."""
    probe_steps: int = 0
    """Steps it played in the probe."""


def normalise_spec(spec: str) -> str:
    """``kind:value`` with paths made absolute; a bare path becomes ``python:`` or ``checkpoint:``.

    Raises:
        SubmissionError: for a malformed spec.
    """
    if spec.split(":", 1)[0] not in ("python", "checkpoint", "cmd", "builtin"):
        path = Path(spec)
        if path.is_dir():
            spec = f"checkpoint:{spec}"
        elif path.suffix == ".py" or path.is_file():
            spec = f"python:{spec}"
    try:
        kind, value = parse_spec(spec)
    except ConfigError as exc:
        raise SubmissionError(str(exc)) from None
    if kind in ("python", "checkpoint"):
        return f"{kind}:{Path(value).expanduser().resolve()}"
    return f"{kind}:{value.strip()}"


def _check_python(path: Path) -> None:
    if not path.exists():
        raise SubmissionError(f"{path}: no such file")
    if not path.is_file():
        raise SubmissionError(f"{path}: not a file (a Python submission is one .py file)")
    if path.suffix != ".py":
        raise SubmissionError(f"{path}: expected a Python file ending in .py")
    try:
        source = path.read_bytes()
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise SubmissionError(
            f"{path}, line {exc.lineno}: SyntaxError: {exc.msg}"
        ) from None
    except (OSError, ValueError) as exc:
        raise SubmissionError(f"{path}: cannot read it ({exc})") from None


def _check_checkpoint(path: Path, env: str) -> None:
    from palaestra.agents.learned.checkpoints import CheckpointError, CheckpointMeta

    if not path.exists():
        raise SubmissionError(f"{path}: no such directory")
    try:
        meta = CheckpointMeta.read(path)
    except CheckpointError as exc:
        raise SubmissionError(str(exc)) from None
    ids = P.env_ids()
    if meta.env_id != ids[env]:
        raise SubmissionError(
            f"{path} was trained on {meta.env_id}, not {ids[env]}; submit it for "
            f"{P.env_name(meta.env_id) if meta.env_id in ids.values() else meta.env_id}"
        )


def _check_program(command: str) -> list[Path]:
    """The program's files that exist (the executable and file arguments), for the digest."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise SubmissionError(f"bad command {command!r}: {exc}") from None
    if not argv:
        raise SubmissionError("empty command")
    exe = shutil.which(argv[0])
    if exe is None:
        raise SubmissionError(f"command not found: {argv[0]!r} (in {command!r})")
    files = [Path(exe)] if "/" in argv[0] else []  # a program of its own, not e.g. python
    files += [Path(a) for a in argv[1:] if Path(a).is_file()]
    return files


def _check_builtin(name: str, env: str) -> None:
    if env == "bomber":
        from palaestra.agents.scripted.bomber import SCRIPTED_BOMBER_AGENTS as known
    else:
        from palaestra.agents.scripted.kelly import SCRIPTED_KELLY_AGENTS as known
    if name not in known and not (env != "bomber" and name.startswith("fraction:")):
        raise SubmissionError(f"unknown built-in {env} agent {name!r}; known: {', '.join(known)}")


def _digest(kind: str, value: str) -> str:
    if kind in ("python", "checkpoint"):
        return sha256_of(Path(value))
    digest = hashlib.sha256(f"{kind}:{value}".encode())
    if kind == "cmd":
        for file in _check_program(value):
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _default_name(kind: str, value: str) -> str:
    if kind in ("python", "checkpoint"):
        return Path(value).stem
    if kind == "builtin":
        return value
    argv = shlex.split(value)
    scripts = [a for a in argv[1:] if Path(a).is_file()]
    return Path(scripts[0] if scripts else argv[0]).stem


def play_probe(agent: SandboxedAgent, env: str, config: Mapping[str, Any], steps: int) -> int:
    """Reset the agent and let it act on real observations for up to ``steps`` steps.

    Bomber: the agent plays ``player_0`` of a game reset with seed 0, the others stand still.
    Kelly: the agent bets in a game reset with seed 0. Returns the steps played.
    """
    agent.reset(np.random.default_rng(0))
    if env == "bomber":
        from palaestra.envs.bomber import parallel_env

        game = parallel_env(**config)
        obs, _ = game.reset(seed=0)
        idle: Any = [0, 0, 0] if config.get("mode") == "team_radio" else 0
        played = 0
        while played < steps and "player_0" in game.agents:
            actions = {name: idle for name in game.agents}
            actions["player_0"] = agent.act(obs["player_0"])
            obs, *_ = game.step(actions)
            played += 1
        return played
    import gymnasium as gym

    import palaestra.envs  # noqa: F401  (registers the envs)

    kelly = gym.make(P.env_ids()[env], **config)
    obs, _ = kelly.reset(seed=0)
    for played in range(1, steps + 1):
        obs, _, terminated, truncated, _ = kelly.step(np.int64(agent.act(obs)))
        if terminated or truncated:
            return played
    return steps


def validate_submission(
    spec: str,
    env: str,
    name: str | None = None,
    limits: SandboxLimits | None = None,
    config: Mapping[str, Any] | None = None,
    probe_steps: int = PROBE_STEPS,
) -> SubmissionInfo:
    """Check a submission and play a probe with it in the sandbox.

    Args:
        spec: ``python:FILE``, ``checkpoint:DIR``, ``cmd:COMMAND``, ``builtin:NAME`` or a bare
            path.
        env: ``bomber``, ``kelly`` or ``kelly-generalized``.
        name: the name to register (default: derived from the spec).
        limits: sandbox limits for the probe (the defaults if None).
        config: env keyword arguments for the probe (e.g. ``{"mode": "team_radio"}``).
        probe_steps: how many steps the probe plays.

    Raises:
        SubmissionError: naming the problem: missing file, syntax error, no ``Agent``/``agent``,
            import error, wrong env for a checkpoint, start-up timeout, invalid action, ...
    """
    try:
        env = P.env_name(env)
    except UnknownNameError as exc:
        raise SubmissionError(str(exc)) from None
    spec = normalise_spec(spec)
    kind, value = parse_spec(spec)
    if kind == "python":
        _check_python(Path(value))
    elif kind == "checkpoint":
        _check_checkpoint(Path(value), env)
    elif kind == "cmd":
        _check_program(value)
    else:
        _check_builtin(value, env)
    config = dict(config or {})
    limits = limits or SandboxLimits()
    what = f"{_KIND_OF_SPEC[kind]} submission {value!r}"
    try:
        # probed where it will play: in the jail, wherever a jail can be built
        with launch(spec, env, config, 0, limits, isolate=isolation_problem() is None) as agent:
            played = play_probe(agent, env, config, probe_steps)
            faults = list(agent.faults)
            agent_name = agent.name
    except AgentFault as fault:
        raise SubmissionError(f"{what} failed validation ({fault.reason}): {fault}") from None
    if faults:
        first = faults[0]
        raise SubmissionError(f"{what} failed validation ({first.reason}): {first}")
    return SubmissionInfo(
        name=name or _default_name(kind, value),
        kind=_KIND_OF_SPEC[kind],
        spec=spec,
        env=env,
        sha256=_digest(kind, value),
        validated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        agent_name=agent_name,
        probe_steps=played,
    )
