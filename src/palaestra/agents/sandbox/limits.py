"""What a sandboxed agent may use: time per step, the overage bank, memory, and how it is enforced.

:class:`SandboxLimits` is the configuration (validated on construction); :class:`OverageBank` does
the time accounting of one agent's requests; :func:`apply_limits` is the ``preexec_fn`` that sets
the agent process's resource limits (``RLIMIT_AS``, ``RLIMIT_CPU``, no core dumps).
"""

from __future__ import annotations

import math
import resource
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from palaestra.errors import ConfigError

CPU_LIMIT_S = 3600
"""RLIMIT_CPU of a sandboxed process (generous: wall-clock limits do the real work)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed agent."""

    init_time_s: float = 10.0
    """Seconds from process start to the ``ready`` answer."""
    step_time_s: float = 0.1
    """Seconds per ``act`` (and ``reset``) before the overage bank is drawn on."""
    overage_bank_s: float = 5.0
    """Extra seconds, shared by all steps of the process's life."""
    memory_mb: int = 1024
    """Address-space limit (RLIMIT_AS) in MiB."""
    on_timeout: Literal["default", "forfeit"] = "default"
    """Out of time: play ``default_action`` from then on, or raise ``AgentFault``."""
    default_action: int = 0
    """Bomber: 0 = STOP (``[0, 0, 0]`` with radio); Kelly: bet 0 cents; counting: 0 = stay (also
    for a value that is no move); hide-and-seek: always ``[0, 0, 0]`` (do nothing)."""

    def __post_init__(self) -> None:
        for name in ("init_time_s", "step_time_s"):
            value = getattr(self, name)
            if not _is_real(value) or not 0 < value < math.inf:
                raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}")
        if not _is_real(self.overage_bank_s) or not 0 <= self.overage_bank_s < math.inf:
            raise ConfigError(f"overage_bank_s must be >= 0 seconds, got {self.overage_bank_s!r}")
        if not _is_int(self.memory_mb) or self.memory_mb < 32:
            raise ConfigError(f"memory_mb must be an int >= 32, got {self.memory_mb!r}")
        if self.on_timeout not in ("default", "forfeit"):
            raise ConfigError(f"on_timeout must be 'default' or 'forfeit', got {self.on_timeout!r}")
        if not _is_int(self.default_action) or self.default_action < 0:
            raise ConfigError(f"default_action must be an int >= 0, got {self.default_action!r}")

    def to_dict(self) -> dict[str, Any]:
        """The limits as plain data (what ``init`` sends to the agent)."""
        return asdict(self)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


class OverageBank:
    """The time accounting of one agent over its process's life.

    Each request may take ``step_time_s`` plus whatever is left in the bank; the time a request
    takes beyond ``step_time_s`` is drawn from the bank (never below zero). A request answered
    within ``step_time_s`` costs the bank nothing.
    """

    def __init__(self, step_time_s: float, bank_s: float) -> None:
        self.step_time_s = float(step_time_s)
        self.left = float(bank_s)
        """Seconds left in the bank."""

    def allowance(self) -> float:
        """How long the next request may take, in seconds."""
        return self.step_time_s + self.left

    def charge(self, elapsed: float) -> None:
        """Draw a request of ``elapsed`` seconds' overrun from the bank."""
        self.left = max(0.0, self.left - max(0.0, elapsed - self.step_time_s))


def apply_limits(memory_bytes: int, cpu_s: int) -> Callable[[], None]:
    """A ``preexec_fn`` setting the child's resource limits (never raising above the hard limit)."""

    def lower(kind: int, value: int) -> None:
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value if hard == resource.RLIM_INFINITY else hard))

    def apply() -> None:
        lower(resource.RLIMIT_AS, memory_bytes)
        lower(resource.RLIMIT_CPU, cpu_s)
        lower(resource.RLIMIT_CORE, 0)

    return apply
