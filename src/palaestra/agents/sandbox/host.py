"""Run an agent in its own subprocess, under time and memory limits, behind the JSON-lines protocol.

:class:`SandboxedAgent` is an ordinary :class:`~palaestra.agents.base.Agent` to the code that
plays a match; behind it a subprocess (in its own session and process group, with ``RLIMIT_AS``
and ``RLIMIT_CPU`` set) answers over :mod:`palaestra.agents.sandbox.protocol`. Limits
(:class:`SandboxLimits`):

* start-up (process start to ``ready``) within ``init_time_s``, else ``init_timeout``;
* each ``act`` (and ``reset``) within ``step_time_s`` plus what is left of the overage bank;
  time over ``step_time_s`` is drawn from the bank. On an overrun the whole process group is
  killed; then either the default action is played for this and every later step (the fault is
  recorded in ``.faults``) or :class:`AgentFault` is raised (``on_timeout="forfeit"``);
* a crash, output that is not a protocol message, or an action the env would refuse raise
  :class:`AgentFault` with the reason and the tail of the agent's stderr.

The limits themselves and the time accounting are :mod:`palaestra.agents.sandbox.limits`; the
line exchange (all reads wait with ``select`` against a deadline, nothing blocks on the agent) is
:mod:`palaestra.agents.sandbox.pipes`.

Specs (:func:`launch`): ``python:FILE``, ``checkpoint:DIR``, ``builtin:NAME`` (all served by
:mod:`palaestra.agents.sandbox.worker`) and ``cmd:COMMAND`` (any program speaking the protocol,
split into words like a shell would, run without a shell).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from palaestra.agents.sandbox import protocol as P
from palaestra.agents.sandbox.isolation import (
    MAX_PROCESSES,
    Jail,
    SubmissionChanged,
    TreeLimits,
    private_copy,
)
from palaestra.agents.sandbox.limits import CPU_LIMIT_S, OverageBank, SandboxLimits, apply_limits
from palaestra.agents.sandbox.pipes import DeadlineExpired, Pipes, StdoutClosed
from palaestra.errors import ConfigError

FAULT_REASONS: tuple[str, ...] = (
    "init_timeout", "timeout", "crash", "protocol", "invalid_action", "memory",
)
"""The kinds of :class:`AgentFault`."""

EXIT_GRACE_S = 0.5
"""How long a closing or crashing agent gets to exit (and flush stderr) before it is killed."""

_MEMORY_HINTS = ("MemoryError", "bad_alloc", "Cannot allocate memory", "out of memory")
_SRC_DIR = str(Path(P.__file__).resolve().parents[2])


class AgentFault(Exception):
    """A sandboxed agent failed; ``reason`` is one of :data:`FAULT_REASONS`."""

    def __init__(
        self, reason: str, message: str, stderr: str = "", step: int | None = None
    ) -> None:
        if reason not in FAULT_REASONS:
            raise ValueError(f"unknown fault reason {reason!r}")
        self.reason = reason
        self.message = message
        self.stderr = stderr
        self.step = step
        text = message if not stderr else f"{message}\n--- agent stderr (last lines) ---\n{stderr}"
        super().__init__(text)

    def __reduce__(self) -> tuple[Any, ...]:  # picklable, for worker processes and Ray
        return (AgentFault, (self.reason, self.message, self.stderr, self.step))


def _child_environment() -> dict[str, str]:
    """The parent's environment, palaestra importable, one thread per numeric library."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _SRC_DIR + (os.pathsep + path if path else "")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[name] = "1"
    env["MALLOC_ARENA_MAX"] = "2"
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group and reap the child (idempotent)."""
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            pass


def _release(workdir: Path | None, tree: TreeLimits | None) -> None:
    """Kill what is left of a jailed tree and remove its cgroups and working directory."""
    if tree is not None:
        tree.kill_and_remove()
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


def _dispose(proc: subprocess.Popen[bytes], workdir: Path | None = None,
             tree: TreeLimits | None = None) -> None:
    """Kill the process group, reap the child and close its pipes (the finalizer); release a
    jail's cgroups and working directory."""
    _kill_group(proc)
    _release(workdir, tree)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass


def _exited(pid: int) -> bool:
    """Whether the child has exited, without reaping it (so its process group id stays reserved)."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "the agent closed its stdout"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the agent process was killed by {name}"
    return f"the agent process exited with status {code}"


class SandboxedAgent:
    """An agent running in a sandboxed subprocess; an :class:`~palaestra.agents.base.Agent`.

    Args:
        argv: the command that serves the protocol.
        env: ``bomber``, ``kelly``, ``kelly-generalized``, ``counting`` or ``hide-and-seek`` (or
            the env id).
        config: the env's keyword arguments (sent to the agent in ``init``; Bomber's ``mode``
            decides whether actions carry radio words).
        seat: the agent's seat in the match.
        limits: time and memory limits.
        label: a name to use if the agent does not report one.
        cwd: working directory of the process.
        jail: run ``argv`` inside this jail (:mod:`.isolation`); the jail's working directory is
            removed when the agent is closed.

    Raises:
        AgentFault: ``init_timeout``, ``crash``, ``memory`` or ``protocol`` if it does not start.
    """

    def __init__(
        self,
        argv: list[str],
        env: str,
        config: Mapping[str, Any] | None = None,
        seat: int = 0,
        limits: SandboxLimits | None = None,
        label: str | None = None,
        cwd: str | Path | None = None,
        jail: Jail | None = None,
    ) -> None:
        self.env = P.env_name(env)
        self.limits = limits or SandboxLimits()
        self.config = dict(config or {})
        self.seat = int(seat)
        self.name = label or Path(argv[0]).name
        self.faults: list[AgentFault] = []
        self.steps = 0
        self._rule = P.action_rule(self.env, self.config)
        self._bank = OverageBank(self.limits.step_time_s, self.limits.overage_bank_s)
        self._failed: AgentFault | None = None
        self._closed = False
        started = time.monotonic()
        memory = self.limits.memory_mb * 1024 * 1024
        per_process = apply_limits(memory, CPU_LIMIT_S)
        # a jailed agent's whole process tree shares one memory, process and CPU budget where
        # cgroups are writable; elsewhere its processes are counted inside the jail, and memory
        # is limited per process
        self._tree = None if jail is None else TreeLimits.create(memory, MAX_PROCESSES)
        tree = self._tree
        if jail is not None and tree is None:  # no cgroups: count processes in the jail itself
            jail = dataclasses.replace(jail, max_processes=MAX_PROCESSES)

        def preexec() -> None:
            if tree is not None:
                tree.enter()
            per_process()

        popen_args: dict[str, Any] = dict(
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
            start_new_session=True, close_fds=True, preexec_fn=preexec)
        try:
            if jail is None:
                self._proc: subprocess.Popen[bytes] = subprocess.Popen(
                    argv, env=_child_environment(), **popen_args)
            else:
                self._proc = jail.popen(argv, **popen_args)
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            _release(None if jail is None else jail.workdir, tree)
            raise AgentFault("crash", f"cannot start {argv[0]!r}: {exc}") from None
        self._finalizer = weakref.finalize(self, _dispose, self._proc,
                                           None if jail is None else jail.workdir, tree)
        self._pipes = Pipes(self._proc)
        self._handshake(started)

    # -- the Agent protocol --------------------------------------------------------------------
    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode: the agent is sent a seed drawn from ``rng``."""
        seed = int(rng.integers(0, P.MAX_SEED))
        if self._failed is not None:
            self._refail()
            return
        try:
            self._request(P.reset_message(seed), "ok", "reset")
        except AgentFault as fault:
            self._handle_timeout(fault)

    def act(self, observation: Any) -> Any:
        """The agent's action for ``observation`` (the default action after a timeout)."""
        if self._failed is not None:
            self._refail()
            return self._rule.default(self.limits.default_action)
        step = self.steps
        self.steps += 1
        try:
            reply = self._request(P.act_message(observation), "action", f"act (step {step})")
        except AgentFault as fault:
            self._handle_timeout(fault)
            return self._rule.default(self.limits.default_action)
        try:
            return self._rule.check(reply.get("action"))
        except P.InvalidAction as exc:
            raise self._fail("invalid_action", f"invalid action at step {step}: {exc}") from None

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Ask the agent to exit, then kill whatever is left of its process group."""
        if self._closed:
            return
        self._closed = True
        if self._failed is None and self._proc.returncode is None:
            self._pipes.send_nowait(P.dumps(P.close_message()))
            deadline = time.monotonic() + EXIT_GRACE_S
            while not _exited(self._proc.pid) and time.monotonic() < deadline:
                time.sleep(0.005)
            _kill_group(self._proc)
            self._pipes.drain_stderr(time.monotonic() + 0.1)  # its last words, for stderr_tail
        self._finalizer()
        self._pipes.close()

    def __enter__(self) -> SandboxedAgent:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- inspection ----------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """The agent process's id (also its process group id)."""
        return self._proc.pid

    @property
    def bank_left(self) -> float:
        """Seconds left in the overage bank."""
        return self._bank.left

    @property
    def alive(self) -> bool:
        """Whether the agent still answers (no fault, not closed)."""
        return self._failed is None and not self._closed

    def stderr_tail(self) -> str:
        """The last lines the agent wrote to stderr so far."""
        return self._pipes.stderr_tail()

    # -- internals -----------------------------------------------------------------------------
    def _handshake(self, started: float) -> None:
        init = P.init_message(self.env, self.config, self.seat, self.limits.to_dict())
        deadline = started + self.limits.init_time_s
        try:
            reply = self._exchange(
                init, "ready", "start-up", deadline, timeout_reason="init_timeout"
            )
        except AgentFault:
            self.close()
            raise
        if reply.get("protocol", P.PROTOCOL_VERSION) != P.PROTOCOL_VERSION:
            self.close()
            raise self._fail(
                "protocol", f"the agent speaks protocol {reply.get('protocol')!r}, "
                f"the host {P.PROTOCOL_VERSION}"
            )
        name = reply.get("name")
        if isinstance(name, str) and name.strip():
            self.name = name.strip()[:100]

    def _request(self, message: dict[str, Any], expected: str, what: str) -> dict[str, Any]:
        """One timed request: step time plus the bank; the overrun is drawn from the bank."""
        start = time.monotonic()
        allowance = self._bank.allowance()
        reply = self._exchange(message, expected, what, start + allowance, timeout_reason="timeout",
                               allowance=allowance)
        self._bank.charge(time.monotonic() - start)
        return reply

    def _exchange(
        self,
        message: dict[str, Any],
        expected: str,
        what: str,
        deadline: float,
        timeout_reason: str,
        allowance: float | None = None,
    ) -> dict[str, Any]:
        if self._closed:
            raise AgentFault("crash", "the sandboxed agent was closed")
        try:
            line = self._pipes.exchange(P.dumps(message), deadline)
        except DeadlineExpired:
            if timeout_reason == "init_timeout":
                text = f"no ready answer within init_time_s={self.limits.init_time_s:g} s"
            else:
                text = (f"{what} took longer than {allowance:.3f} s (step_time_s="
                        f"{self.limits.step_time_s:g} s + {self._bank.left:.3f} s left in the overage "
                        f"bank)")
            raise self._fail(timeout_reason, text + "; process group killed") from None
        except StdoutClosed:
            raise self._crashed(what) from None
        except P.ProtocolError as exc:
            raise self._fail("protocol", f"{what}: {exc}") from None
        try:
            reply = P.loads(line)
        except P.ProtocolError as exc:
            raise self._fail("protocol", f"{what}: unexpected output on stdout: {exc}") from None
        if reply["type"] == "error":
            kind = "memory" if reply.get("kind") == "memory" else "crash"
            text = str(reply.get("message", ""))[:2000]
            if kind == "crash" and any(h in text for h in _MEMORY_HINTS):
                kind = "memory"
            raise self._fail(kind, f"{what}: the agent reported an error: {text}", grace=True)
        if reply["type"] != expected:
            raise self._fail("protocol", f"{what}: expected a {expected!r} message, got "
                             f"{reply['type']!r}")
        return reply

    def _crashed(self, what: str) -> AgentFault:
        """The fault for an agent whose stdout closed: its exit status and stderr decide."""
        deadline = time.monotonic() + EXIT_GRACE_S
        while not _exited(self._proc.pid) and time.monotonic() < deadline:
            time.sleep(0.005)
        _kill_group(self._proc)  # leftovers in the group too; reaps
        self._pipes.drain_stderr(time.monotonic() + 0.2)
        code = self._proc.returncode
        tail = self._pipes.stderr_tail()
        reason = "crash"
        if code == -signal.SIGXCPU:
            reason = "timeout"
        elif any(h in tail for h in _MEMORY_HINTS) or (
                self._tree is not None and self._tree.hit_memory_limit()):
            reason = "memory"
        return self._record(AgentFault(reason, f"{what}: {_describe_exit(code)}", tail, self.steps))

    def _fail(self, reason: str, message: str, grace: bool = False) -> AgentFault:
        """Kill the process group and build the fault (with the stderr tail)."""
        if grace:  # let it finish writing stderr and exit on its own
            deadline = time.monotonic() + EXIT_GRACE_S
            while not _exited(self._proc.pid) and time.monotonic() < deadline:
                time.sleep(0.005)
        _kill_group(self._proc)
        self._pipes.drain_stderr(time.monotonic() + 0.2)
        return self._record(AgentFault(reason, message, self._pipes.stderr_tail(), self.steps))

    def _record(self, fault: AgentFault) -> AgentFault:
        self._failed = fault
        self.faults.append(fault)
        return fault

    def _handle_timeout(self, fault: AgentFault) -> None:
        """Swallow a timeout under ``on_timeout="default"``; re-raise anything else."""
        if fault.reason != "timeout" or self.limits.on_timeout != "default":
            raise fault

    def _refail(self) -> None:
        """After a fault: nothing to do for a swallowed timeout, else raise it again."""
        assert self._failed is not None
        self._handle_timeout(self._failed)


SPEC_KINDS: tuple[str, ...] = ("python", "checkpoint", "cmd", "builtin")


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``kind:value``.

    Raises:
        ConfigError: for an unknown kind or an empty value.
    """
    kind, sep, value = spec.partition(":")
    if not sep or kind not in SPEC_KINDS:
        raise ConfigError(
            f"bad agent spec {spec!r}: expected python:FILE, checkpoint:DIR, cmd:COMMAND or "
            "builtin:NAME"
        )
    if not value.strip():
        raise ConfigError(f"bad agent spec {spec!r}: nothing after {kind}:")
    return kind, value


def command_for(spec: str) -> list[str]:
    """The argv that serves ``spec`` over the protocol."""
    kind, value = parse_spec(spec)
    if kind == "cmd":
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise ConfigError(f"bad command in {spec!r}: {exc}") from None
        if not argv:
            raise ConfigError(f"bad agent spec {spec!r}: empty command")
        return argv
    worker = [sys.executable, "-m", "palaestra.agents.sandbox.worker"]
    return worker + [f"--{kind}", value]


def launch(
    spec: str,
    env: str,
    config: Mapping[str, Any] | None = None,
    seat: int = 0,
    limits: SandboxLimits | None = None,
    isolate: bool = False,
    sha256: str | None = None,
) -> SandboxedAgent:
    """Start the agent described by ``spec`` in the sandbox and do the ``init`` handshake.

    With ``isolate``, the agent runs in a :class:`~.isolation.Jail` on a private copy of its
    files, checked against ``sha256`` (the hash taken at submit) when given.

    Raises:
        ConfigError: for a malformed spec.
        AgentFault: if the agent does not start (``init_timeout``, ``crash``, ...), or its files
            changed since they were submitted (``crash``).
    """
    kind, value = parse_spec(spec)
    jail = None
    if isolate:
        try:
            workdir, value = private_copy(kind, value, sha256)
        except (OSError, SubmissionChanged) as exc:
            raise AgentFault("crash", f"cannot start {spec!r}: {exc}") from None
        jail = Jail(workdir)
        spec = f"{kind}:{value}"
    argv = command_for(spec)
    label = Path(value).stem if kind in ("python", "checkpoint") else (
        value if kind == "builtin" else Path(argv[0]).name)
    return SandboxedAgent(argv, env, config, seat, limits, label=label, jail=jail)


__all__ = [
    "FAULT_REASONS",
    "SPEC_KINDS",
    "AgentFault",
    "SandboxLimits",
    "SandboxedAgent",
    "command_for",
    "launch",
    "parse_spec",
]
