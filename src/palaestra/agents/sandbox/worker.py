"""Serve one agent over the JSON-lines protocol on stdin/stdout (runs inside the sandbox).

    python -m palaestra.agents.sandbox.worker --python FILE
    python -m palaestra.agents.sandbox.worker --checkpoint DIR
    python -m palaestra.agents.sandbox.worker --builtin NAME

The worker keeps the real stdin/stdout to itself for protocol messages and points file
descriptors 0 and 1 at ``/dev/null`` and stderr, so whatever the agent prints (from Python, C
extensions or child processes) lands on stderr and cannot corrupt the protocol.

A Python file must define either a class ``Agent`` (built with ``Agent(config)`` if its
constructor takes an argument, else ``Agent()``; methods ``act(obs)`` and optionally
``reset(rng)``) or a function ``agent(obs, config)``. The agent is loaded after the ``init``
message arrives, so that it can see the env config; load errors are reported with an ``error``
message naming the problem.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from palaestra.agents.sandbox import protocol as P
from palaestra.errors import PalaestraError


class LoadError(Exception):
    """The agent could not be loaded; the message says why."""


class _ObjectAgent:
    """Adapts a user object with ``act(obs)`` and optional ``reset(rng)``."""

    def __init__(self, obj: Any, name: str) -> None:
        self._obj = obj
        self.name = name

    def reset(self, rng: np.random.Generator) -> None:
        reset = getattr(self._obj, "reset", None)
        if callable(reset):
            reset(rng)

    def act(self, observation: Any) -> Any:
        return self._obj.act(observation)


class _FunctionAgent:
    """Adapts a function ``agent(obs, config)`` (or ``agent(obs)``)."""

    def __init__(self, fn: Callable[..., Any], config: dict[str, Any], name: str) -> None:
        self._fn = fn
        self._config = config
        self._with_config = _positional_arity(fn) != 1
        self.name = name

    def reset(self, rng: np.random.Generator) -> None:
        """Functions keep no state between episodes."""

    def act(self, observation: Any) -> Any:
        if self._with_config:
            return self._fn(observation, self._config)
        return self._fn(observation)


def _positional_arity(fn: Callable[..., Any]) -> int | None:
    """How many positional arguments ``fn`` takes (None: unknown or ``*args``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _import_file(path: Path) -> Any:
    """Import a Python file as a module, with its folder first on ``sys.path``."""
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    sys.path.insert(0, str(path.parent))
    module_name = "palaestra_submission_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        traceback.print_exc()
        message = f"cannot import {path}: SyntaxError: {exc.msg} (line {exc.lineno})"
        raise LoadError(message) from None
    except MemoryError:
        raise
    except BaseException as exc:  # the file's top level may raise anything, SystemExit included
        traceback.print_exc()
        raise LoadError(f"cannot import {path}: {type(exc).__name__}: {exc}") from None
    return module


def load_python_agent(path: Path, config: dict[str, Any]) -> Any:
    """The agent defined by a Python file (class ``Agent`` or function ``agent``)."""
    module = _import_file(path)
    cls = getattr(module, "Agent", None)
    if inspect.isclass(cls):
        if not callable(getattr(cls, "act", None)):
            raise LoadError(f"{path}: class Agent has no act(obs) method")
        make: Callable[..., Any] = cls
        try:
            obj = make(config) if _positional_arity(cls) != 0 else make()
        except MemoryError:
            raise
        except Exception as exc:
            traceback.print_exc()
            raise LoadError(f"{path}: Agent() raised {type(exc).__name__}: {exc}") from None
        name = getattr(obj, "name", None)
        return _ObjectAgent(obj, name if isinstance(name, str) and name else path.stem)
    fn = getattr(module, "agent", None)
    if callable(fn):
        return _FunctionAgent(fn, config, path.stem)
    raise LoadError(
        f"{path} defines neither a class Agent (with act(obs)) nor a function agent(obs, config)"
    )


def load_builtin_agent(name: str, env: str, config: dict[str, Any]) -> Any:
    """A built-in palaestra agent of ``env`` by name (:mod:`palaestra.agents.sandbox.builtins`)."""
    from palaestra.agents.sandbox.builtins import make_builtin

    try:
        return make_builtin(name, env, config)
    except (PalaestraError, ValueError) as exc:  # an unknown name is an UnknownNameError (a KeyError)
        raise LoadError(str(exc)) from None


CHECKPOINT_ENVS: tuple[str, ...] = ("bomber", "kelly", "kelly-generalized")
"""The envs whose trained checkpoints a submission can be (counting and hide-and-seek: not yet)."""


def load_checkpoint_agent(directory: Path, env: str) -> Any:
    """A trained palaestra checkpoint: a Kelly agent, or a Bomber league member."""
    from palaestra.agents.learned.checkpoints import CheckpointError, load_kelly_checkpoint

    if env not in CHECKPOINT_ENVS:
        raise LoadError(f"checkpoint submissions are supported for {', '.join(CHECKPOINT_ENVS)} only, "
                        f"not {env}; submit a Python file or a program (--cmd)")
    try:
        if env == "bomber":
            from palaestra.agents.learned.bomber import load_bomber_checkpoint

            return load_bomber_checkpoint(directory)
        return load_kelly_checkpoint(directory, env_id=P.env_ids()[env])
    except CheckpointError as exc:
        raise LoadError(str(exc)) from None


class Worker:
    """The protocol loop around one agent."""

    def __init__(self, source: tuple[str, str], reader: IO[bytes], writer: IO[bytes]) -> None:
        self._kind, self._target = source
        self._reader = reader
        self._writer = writer
        self._env = ""
        self._agent: Any = None

    def send(self, message: dict[str, Any]) -> None:
        self._writer.write(P.dumps(message))
        self._writer.flush()

    def receive(self) -> dict[str, Any] | None:
        line = self._reader.readline()
        return P.loads(line) if line else None

    def serve(self) -> int:
        """Answer messages until ``close`` or end of input; the exit status."""
        try:
            return self._serve()
        except LoadError as exc:
            print(f"agent load failed: {exc}", file=sys.stderr)
            self.send(P.error_message(str(exc)))
            return 1
        except MemoryError:
            traceback.print_exc()
            self.send(P.error_message("MemoryError: out of memory", kind="memory"))
            return 1
        except Exception as exc:
            traceback.print_exc()
            self.send(P.error_message(f"{type(exc).__name__}: {exc}"))
            return 1

    def _serve(self) -> int:
        first = self.receive()
        if first is None:
            return 0
        self._init(first)
        while True:
            message = self.receive()
            if message is None or message["type"] == "close":
                return 0
            if message["type"] == "reset":
                self._agent.reset(np.random.default_rng(int(message["seed"])))
                self.send(P.ok_message())
            elif message["type"] == "act":
                observation = P.decode_observation(self._env, message["obs"])
                self.send(P.action_message(self._agent.act(observation)))
            else:
                raise P.ProtocolError(f"unexpected message type {message['type']!r}")

    def _init(self, message: dict[str, Any]) -> None:
        if message["type"] != "init":
            raise P.ProtocolError(f"expected an init message first, got {message['type']!r}")
        if message.get("protocol") != P.PROTOCOL_VERSION:
            raise P.ProtocolError(
                f"protocol version {message.get('protocol')!r} is not supported "
                f"(this worker speaks {P.PROTOCOL_VERSION})"
            )
        self._env = P.env_name(str(message["env"]))
        config = dict(message.get("config") or {})
        if self._kind == "python":
            self._agent = load_python_agent(Path(self._target).resolve(), config)
        elif self._kind == "checkpoint":
            self._agent = load_checkpoint_agent(Path(self._target), self._env)
        else:
            self._agent = load_builtin_agent(self._target, self._env, config)
        self.send(P.ready_message(getattr(self._agent, "name", "") or self._target))


def take_protocol_streams() -> tuple[IO[bytes], IO[bytes]]:
    """Keep private copies of stdin/stdout for the protocol; send fd 1 to stderr, fd 0 to null."""
    reader = os.fdopen(os.dup(0), "rb")
    writer = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)  # noqa: SIM115  (lives as long as the process)
    sys.stdout = sys.stderr
    return reader, writer


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m palaestra.agents.sandbox.worker``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--python", metavar="FILE", help="Python file with class Agent or agent()")
    group.add_argument("--checkpoint", metavar="DIR", help="checkpoint written by palaestra train")
    group.add_argument("--builtin", metavar="NAME", help="scripted palaestra agent")
    args = parser.parse_args(argv)
    if args.python:
        source = ("python", args.python)
    elif args.checkpoint:
        source = ("checkpoint", args.checkpoint)
    else:
        source = ("builtin", args.builtin)
    reader, writer = take_protocol_streams()
    try:
        return Worker(source, reader, writer).serve()
    except BrokenPipeError:  # the host went away
        return 1


if __name__ == "__main__":
    sys.exit(main())
