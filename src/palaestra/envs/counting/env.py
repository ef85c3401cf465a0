"""Grid-world counting: reach the target exactly at step T (the NALU paper's time-tracking task)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from palaestra.errors import ConfigError, InvalidActionError

STAY, UP, DOWN, LEFT, RIGHT = range(5)
ACTION_NAMES: tuple[str, ...] = ("stay", "up", "down", "left", "right")
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int64)
"""(row, column) displacement of each action; up is towards row 0."""

OUTCOMES: tuple[str, ...] = ("on_time", "early", "late", "timeout")
"""How an episode can end: at the target at step T, before it, after it, or never."""


@dataclass(frozen=True)
class GridCountingConfig:
    """Parameters of the grid-world counting task."""

    size: int = 5
    """Side of the square grid, in cells."""
    t_min: int = 5
    """Smallest instruction T drawn at reset (unless ``options={"T": t}`` sets it)."""
    t_max: int = 12
    """Largest instruction T drawn at reset; T is uniform on ``t_min..t_max``."""
    max_t: int = 30
    """Largest T the env accepts at all (through ``options``); bounds the observation space."""
    grace_steps: int = 5
    """Steps the episode goes on after step T when the agent has not arrived (late arrivals)."""

    def __post_init__(self) -> None:
        for name in ("size", "t_min", "t_max", "max_t", "grace_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value:
                raise ConfigError(f"{name} must be an integer, got {value!r}")
        if self.size < 2:
            raise ConfigError(f"size must be at least 2, got {self.size}")
        if not 1 <= self.t_min <= self.t_max <= self.max_t:
            raise ConfigError(
                f"need 1 <= t_min <= t_max <= max_t, got {self.t_min}, {self.t_max}, {self.max_t}"
            )
        if self.grace_steps < 0:
            raise ConfigError(f"grace_steps must be >= 0, got {self.grace_steps}")


def manhattan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """City-block distance between (row, column) positions (last axis of length 2)."""
    return np.abs(np.asarray(a) - np.asarray(b)).sum(axis=-1)


def move(position: np.ndarray, action: int, size: int) -> np.ndarray:
    """Where ``action`` takes ``position``; a move into the border leaves it in place."""
    return np.clip(position + MOVES[action], 0, size - 1)


class GridCountingEnv(gym.Env[dict[str, Any], np.int64]):
    """Walk to the target and arrive exactly at step T: the agent must count.

    ## Description
    The grid-world time-tracking task of Trask et al. (2018), *Neural Arithmetic Logic Units*,
    section 4: on a 5x5 grid the agent and a target are placed at random and the agent is given an
    instruction T. It earns a reward only if it first steps onto the target exactly at step T. It
    may wait with the ``stay`` action. The observation holds T and the two positions but never the
    number of steps already taken, so a policy has to count them itself (a recurrent policy with an
    internal counter). Train with T in ``t_min..t_max`` (5..12 by default) and test extrapolation
    with larger T through ``reset(options={"T": 19})``.

    Every episode can be won: the positions are drawn uniformly among distinct pairs whose
    distance is at most T (for T >= 2 * (size - 1), among all distinct pairs).

    ## Action Space
    ``Discrete(5)``: 0 stay, 1 up (row - 1), 2 down (row + 1), 3 left (column - 1), 4 right
    (column + 1). A move into the border leaves the agent where it is.

    ## Observation Space
    ``Dict`` with ``agent`` and ``target`` (``MultiDiscrete([size, size])``, (row, column)) and
    ``T`` (``Discrete(max_t, start=1)``, the instruction, the same at every step).

    ## Rewards
    1.0 on the step that first brings the agent onto the target if that is step T (the first step
    is step 1); 0 on every other step. The return is 1 (success) or 0.

    ## Starting State
    T uniform on ``t_min..t_max`` (or ``options["T"]``); agent and target on distinct cells at
    distance at most T, uniform among such pairs (``options["agent"]`` and ``options["target"]``
    set them).

    ## Episode End
    Terminated when the agent steps onto the target (on time, early or late), or after
    ``T + grace_steps`` steps without arriving. Both are terminal states of the task (no reward can
    follow), so ``truncated`` is always False. ``info["outcome"]`` says which ending it was and
    ``info["is_success"]`` whether it was on time.

    ## Arguments
    ``config`` (:class:`GridCountingConfig`) or its fields as keyword arguments (``size``,
    ``t_min``, ``t_max``, ``max_t``, ``grace_steps``); ``render_mode`` ``"rgb_array"`` (pygame,
    off-screen: grid, agent, target, T and the step count) or ``"ansi"``.

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(
        self,
        config: GridCountingConfig | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        if config is not None and overrides:
            raise TypeError("pass either config or keyword overrides, not both")
        self.config = config if config is not None else GridCountingConfig(**overrides)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.render_mode = render_mode
        n = self.config.size
        self.action_space = spaces.Discrete(len(ACTION_NAMES))
        self.observation_space = spaces.Dict(
            {
                "agent": spaces.MultiDiscrete([n, n]),
                "target": spaces.MultiDiscrete([n, n]),
                "T": spaces.Discrete(self.config.max_t, start=1),
            }
        )
        self._agent = np.zeros(2, dtype=np.int64)
        self._target = np.zeros(2, dtype=np.int64)
        self._T = 0
        self._steps = 0
        self._distance = 0
        self._outcome: str | None = None
        self._started = False

    # ------------------------------------------------------------------------------ the task

    @property
    def instruction(self) -> int:
        """T, the step at which the agent must arrive."""
        return self._T

    @property
    def steps(self) -> int:
        """Steps taken so far in this episode (for analysis and rendering; never observed)."""
        return self._steps

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"T", "agent", "target"}
        if unknown:
            raise ConfigError(f"unknown reset options {sorted(unknown)}; known: T, agent, target")
        c = self.config
        if "T" in options:
            t = options["T"]
            if isinstance(t, bool) or int(t) != t or not 1 <= int(t) <= c.max_t:
                raise ConfigError(f"options['T'] must be an integer in 1..{c.max_t}, got {t!r}")
            self._T = int(t)
        else:
            self._T = int(self.np_random.integers(c.t_min, c.t_max + 1))
        self._agent, self._target = self._place(options)
        self._steps = 0
        self._distance = int(manhattan(self._agent, self._target))
        self._outcome = None
        self._started = True
        return self._observation(), self._info()

    def _place(self, options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        n = self.config.size
        fixed = {k: self._position(options[k], k) for k in ("agent", "target") if k in options}
        if len(fixed) == 2:
            d = int(manhattan(fixed["agent"], fixed["target"]))
            if not 1 <= d <= self._T:
                raise ConfigError(f"agent and target must be 1..T={self._T} apart, got {d}")
            return fixed["agent"], fixed["target"]
        while True:  # rejection: uniform over the allowed (distinct, reachable) pairs
            agent = fixed.get("agent", self.np_random.integers(0, n, size=2))
            target = fixed.get("target", self.np_random.integers(0, n, size=2))
            if 1 <= int(manhattan(agent, target)) <= self._T:
                return agent.astype(np.int64), target.astype(np.int64)

    def _position(self, value: Any, name: str) -> np.ndarray:
        p = np.asarray(value)
        if p.shape != (2,) or not np.all((p >= 0) & (p < self.config.size)) or np.any(p != p.astype(int)):
            raise ConfigError(f"options[{name!r}] must be a (row, column) inside the grid, got {value!r}")
        return p.astype(np.int64)

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if self._outcome is not None:
            raise RuntimeError("the episode is over: call reset()")
        if not self.action_space.contains(action):
            raise InvalidActionError(f"invalid action {action!r}: expected an integer in 0..4")
        self._agent = move(self._agent, int(action), self.config.size)
        self._steps += 1
        reward = 0.0
        if np.array_equal(self._agent, self._target):
            if self._steps == self._T:
                self._outcome, reward = "on_time", 1.0
            else:
                self._outcome = "early" if self._steps < self._T else "late"
        elif self._steps >= self._T + self.config.grace_steps:
            self._outcome = "timeout"
        return self._observation(), reward, self._outcome is not None, False, self._info()

    def _observation(self) -> dict[str, Any]:
        return {"agent": self._agent.copy(), "target": self._target.copy(), "T": np.int64(self._T)}

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"T": self._T, "steps": self._steps, "distance": self._distance}
        if self._outcome is not None:
            info["outcome"] = self._outcome
            info["is_success"] = self._outcome == "on_time"
        return info

    # ------------------------------------------------------------------------------ rendering

    def render(self) -> np.ndarray | str | None:  # type: ignore[override]  # frames or ansi text
        if self.render_mode is None:
            return None
        if not self._started:
            raise RuntimeError("call reset() before render()")
        if self.render_mode == "ansi":
            return self._render_ansi()
        return self._render_rgb()

    def _status(self) -> str:
        return {None: "", "on_time": "on time!", "early": "too early", "late": "too late",
                "timeout": "time out"}[self._outcome]

    def _render_ansi(self) -> str:
        n = self.config.size
        rows = [["." for _ in range(n)] for _ in range(n)]
        tr, tc = self._target
        ar, ac = self._agent
        rows[tr][tc] = "X"
        rows[ar][ac] = "*" if (ar, ac) == (tr, tc) else "A"
        status = self._status()
        head = f"T={self._T} step {self._steps}" + (f" ({status})" if status else "")
        return head + "\n" + "\n".join(" ".join(r) for r in rows) + "\n"

    def _render_rgb(self) -> np.ndarray:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        if not pygame.font.get_init():
            pygame.font.init()
        n, cell, header = self.config.size, 64, 48
        surf = pygame.Surface((n * cell, header + n * cell))
        surf.fill((36, 39, 46))
        for r in range(n):
            for c in range(n):
                shade = (222, 214, 190) if (r + c) % 2 == 0 else (210, 201, 176)
                surf.fill(shade, pygame.Rect(c * cell, header + r * cell, cell, cell))
        tr, tc = (int(v) for v in self._target)
        target_rect = pygame.Rect(tc * cell + 8, header + tr * cell + 8, cell - 16, cell - 16)
        pygame.draw.rect(surf, (214, 48, 49), target_rect, border_radius=6)
        ar, ac = (int(v) for v in self._agent)
        agent_color = {"on_time": (46, 204, 113), "early": (241, 196, 15),
                       "late": (241, 196, 15)}.get(self._outcome or "", (52, 120, 219))
        pygame.draw.circle(surf, agent_color, (ac * cell + cell // 2, header + ar * cell + cell // 2),
                           cell // 3)
        font = pygame.font.Font(None, 30)
        surf.blit(font.render(f"T = {self._T}", True, (236, 236, 240)), (10, 14))
        step_img = font.render(f"step {self._steps}", True, (236, 236, 240))
        surf.blit(step_img, step_img.get_rect(topright=(n * cell - 10, 14)))
        status = self._status()
        if status:
            img = pygame.font.Font(None, 24).render(status, True, agent_color)
            surf.blit(img, img.get_rect(center=(n * cell // 2, 24)))
        return np.ascontiguousarray(pygame.surfarray.array3d(surf).transpose(1, 0, 2))
