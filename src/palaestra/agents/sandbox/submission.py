"""Validate a tournament submission: check it statically, then play a probe game in the sandbox.

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
    """Steps it played in the probe game."""


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
    from palaestra.agents.sandbox.worker import CHECKPOINT_ENVS

    if env not in CHECKPOINT_ENVS:
        raise SubmissionError(f"checkpoint submissions are supported for {', '.join(CHECKPOINT_ENVS)} "
                              f"only, not {env}; submit a Python file or a program (--cmd)")
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
    from palaestra.agents.sandbox.builtins import builtin_agents, is_builtin

    if not is_builtin(name, env):
        raise SubmissionError(f"unknown built-in {env} agent {name!r}; known: {', '.join(builtin_agents(env))}")


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


@dataclass(frozen=True)
class ProbeSeating:
    """Where and on what the probe seats a submission: drawn like a tournament match's."""

    seat: int
    seats: int
    seed: int
    """The game's seed; the agent's ``reset`` seed is drawn from it as in a match."""
    opponents: tuple[str, ...] = ()
    """Bomber and hide-and-seek: the built-ins in the other seats, in seat order."""

    @classmethod
    def draw(cls, env: str, config: Mapping[str, Any] | None = None) -> ProbeSeating:
        """A secret seating (operating-system entropy): a submission cannot tell the probe from a
        match by its seat, its seed or its opponents. ``config`` (the env's keywords) sets the
        number of hide-and-seek seats."""
        import secrets

        from palaestra.envs.registration import get_spec

        if get_spec(env).family == "hide_and_seek":
            from palaestra.envs.hide_and_seek.config import HideAndSeekConfig

            game = HideAndSeekConfig(**dict(config or {}))
            seats = game.n_hiders + game.n_seekers
            both_sides = ("heuristic", "random")  # built-ins that play either team
            return cls(secrets.randbelow(seats), seats, secrets.randbits(63),
                       tuple(secrets.choice(both_sides) for _ in range(seats - 1)))
        if get_spec(env).family == "bomber":
            from palaestra.agents.scripted.bomber import SCRIPTED_BOMBER_AGENTS

            names = sorted(SCRIPTED_BOMBER_AGENTS)  # the scripted bots: cheap, and in the core install
            seats = get_spec(env).seats[1]
            return cls(secrets.randbelow(seats), seats, secrets.randbits(63),
                       tuple(secrets.choice(names) for _ in range(seats - 1)))
        return cls(secrets.randbelow(2), 2, secrets.randbits(63))


def play_probe(agent: SandboxedAgent, env: str, config: Mapping[str, Any], seating: ProbeSeating) -> int:
    """Play one whole game with the agent in ``seating.seat``, as a tournament match would: a
    Bomber or hide-and-seek game beside built-ins to its end (Bomber: or the agent's death), or a
    whole Kelly or counting game. Returns the steps the agent played."""
    reset_seeds = np.random.SeedSequence(seating.seed).spawn(seating.seats)
    agent.reset(np.random.default_rng(reset_seeds[seating.seat]))
    if env == "hide-and-seek":
        return _probe_hide_and_seek(agent, config, seating, reset_seeds)
    if env == "bomber":
        from palaestra.agents.scripted.bomber import make_scripted_bomber_agent
        from palaestra.envs.bomber.env import AGENT_NAMES, BomberParallelEnv

        game = BomberParallelEnv(**config)
        obs, _ = game.reset(seed=seating.seed)
        others = iter(seating.opponents)
        bots = {k: make_scripted_bomber_agent(next(others)) for k in range(seating.seats) if k != seating.seat}
        for k, bot in bots.items():
            bot.reset(np.random.default_rng(reset_seeds[k]))
        me = AGENT_NAMES[seating.seat]
        played = 0
        while game.agents:
            actions: dict[str, Any] = {}
            for name in game.agents:
                player = agent if name == me else bots[AGENT_NAMES.index(name)]
                action = player.act(obs[name]) if game.alive(name) else game.idle_action()
                if isinstance(action, np.ndarray):
                    action = action.tolist()
                if game.config.radio and not isinstance(action, (list, tuple)):
                    action = [int(action), 0, 0]  # a built-in without radio stays silent
                actions[name] = action
            played += game.alive(me)
            obs, *_ = game.step(actions)
        return played
    import gymnasium as gym

    import palaestra.envs  # noqa: F401  (registers the envs)

    solo = gym.make(P.env_ids()[env], **config)  # Kelly, counting
    obs, _ = solo.reset(seed=seating.seed)
    played = 0
    while True:
        obs, _, terminated, truncated, _ = solo.step(np.int64(agent.act(obs)))
        played += 1
        if terminated or truncated:
            return played


def _probe_hide_and_seek(agent: SandboxedAgent, config: Mapping[str, Any], seating: ProbeSeating,
                         reset_seeds: list[np.random.SeedSequence]) -> int:
    """A whole hide-and-seek game, the agent in ``seating.seat`` and built-ins in the others."""
    from palaestra.agents.scripted.hide_and_seek import make_scripted_hns_agent
    from palaestra.envs.hide_and_seek.env import HideAndSeekParallelEnv

    game = HideAndSeekParallelEnv(**config)
    obs, _ = game.reset(seed=seating.seed)
    others = iter(seating.opponents)
    players: list[Any] = [agent if k == seating.seat else make_scripted_hns_agent(next(others))
                          for k in range(seating.seats)]
    for k, player in enumerate(players):
        if k != seating.seat:
            player.reset(np.random.default_rng(reset_seeds[k]))
    played = 0
    while game.agents:
        game_obs = obs
        obs, *_ = game.step({name: players[k].act(game_obs[name]) for k, name in enumerate(game.possible_agents)})
        played += 1
    return played


def validate_submission(
    spec: str,
    env: str,
    name: str | None = None,
    limits: SandboxLimits | None = None,
    config: Mapping[str, Any] | None = None,
    seating: ProbeSeating | None = None,
) -> SubmissionInfo:
    """Check a submission, then play one probe game with it in the sandbox (jailed wherever a
    jail can be built). The probe is a real game, seated and seeded at random like a match
    (:class:`ProbeSeating`), so a submission cannot behave only while it is being validated.

    Args:
        spec: ``python:FILE``, ``checkpoint:DIR``, ``cmd:COMMAND``, ``builtin:NAME`` or a bare
            path.
        env: ``bomber``, ``kelly``, ``kelly-generalized``, ``counting`` or ``hide-and-seek``.
        name: the name to register (default: derived from the spec).
        limits: sandbox limits for the probe (the defaults if None).
        config: env keyword arguments for the probe (e.g. ``{"mode": "team_radio"}``).
        seating: the probe's seat, seed and opponents (default: drawn in secret).

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
        seating = seating or ProbeSeating.draw(env, config)
        with launch(spec, env, config, seating.seat, limits, isolate=isolation_problem() is None) as agent:
            played = play_probe(agent, env, config, seating)
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
