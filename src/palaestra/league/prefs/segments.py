"""Trajectory segments: what a preference label compares.

A :class:`Segment` is ``length`` consecutive steps of one agent in one episode: the observations it
acted on (the learner's feature vectors), its actions, the true rewards it got (used by the
synthetic oracle only; a human labeller never sees them) and, when asked for, RGB frames for the
labelling window. :func:`collect_segments` cuts them out of rollouts of a policy.

A segment may run past the end of its episode: the steps after the end are *absorbing* steps
(observation and action all zero, true reward 0, ``absorbing[t]`` True). They let a label say
"ending here was better (or worse) than going on", and they pin the free constant of a learned
reward (a Bradley-Terry model sees only differences between equally long segments): the reward
model learns a value for the absorbing step, and the reward paid to a learner is measured from it,
so that finishing an episode is worth exactly what the true reward makes it worth, nothing.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from palaestra.errors import ConfigError, FileFormatError

__all__ = ["Collected", "Segment", "SegmentError", "collect_segments"]

Policy = Callable[[np.ndarray], Any]


class SegmentError(FileFormatError):
    """Segment data that cannot be used (the message names the field)."""


@dataclass(frozen=True, eq=False)
class Segment:
    """``length`` steps of one agent: ``obs[t]`` was seen, ``actions[t]`` taken, ``rewards[t]``
    received."""

    env: str
    """Env short name (``kelly``, ...)."""
    obs: np.ndarray
    """``(length, obs_dim)`` float32."""
    actions: np.ndarray
    """``(length, act_dim)`` float32 (a discrete action is stored as its index, act_dim 1)."""
    rewards: np.ndarray
    """``(length,)`` float64 true rewards."""
    seed: int = 0
    """Seed of the episode the segment was cut from."""
    start: int = 0
    """Step of the episode at which the segment starts."""
    agent: str = ""
    """Who acted (an agent id or a description of the policy)."""
    frames: np.ndarray | None = field(default=None)
    """``(length, H, W, 3)`` uint8 frames for human labelling, or None."""
    absorbing: np.ndarray | None = field(default=None)
    """``(length,)`` bool, True for the steps after the episode ended (None: none are)."""

    def __post_init__(self) -> None:
        obs = np.asarray(self.obs, dtype=np.float32)
        actions = np.asarray(self.actions, dtype=np.float32)
        rewards = np.asarray(self.rewards, dtype=np.float64)
        if actions.ndim == 1:
            actions = actions[:, None]
        if obs.ndim != 2 or obs.shape[0] < 1:
            raise SegmentError(f"obs must have shape (length >= 1, obs_dim), got {obs.shape}")
        n = obs.shape[0]
        if actions.ndim != 2 or actions.shape[0] != n:
            raise SegmentError(f"actions must have shape ({n}, act_dim), got {actions.shape}")
        if rewards.shape != (n,):
            raise SegmentError(f"rewards must have shape ({n},), got {rewards.shape}")
        for name, arr in (("obs", obs), ("actions", actions), ("rewards", rewards)):
            if not np.all(np.isfinite(arr)):
                raise SegmentError(f"{name} holds non-finite values")
        if self.frames is not None:
            frames = np.asarray(self.frames)
            if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[0] != n \
                    or frames.shape[3] != 3:
                raise SegmentError(f"frames must be uint8 of shape ({n}, H, W, 3), "
                                   f"got {frames.dtype} {frames.shape}")
            object.__setattr__(self, "frames", frames)
        absorbing = np.zeros(n, dtype=bool) if self.absorbing is None \
            else np.asarray(self.absorbing)
        if absorbing.shape != (n,) or absorbing.dtype != bool:
            raise SegmentError(f"absorbing must be bool of shape ({n},), got {absorbing.dtype} "
                               f"{absorbing.shape}")
        object.__setattr__(self, "absorbing", absorbing)
        object.__setattr__(self, "obs", obs)
        object.__setattr__(self, "actions", actions)
        object.__setattr__(self, "rewards", rewards)

    @property
    def length(self) -> int:
        return int(self.obs.shape[0])

    @property
    def true_return(self) -> float:
        """Sum of the true rewards."""
        return float(self.rewards.sum())

    def to_bytes(self) -> bytes:
        """Compressed ``.npz`` bytes (what the label store keeps)."""
        buf = io.BytesIO()
        arrays: dict[str, Any] = {"obs": self.obs, "actions": self.actions,
                                  "rewards": self.rewards, "absorbing": self.absorbing,
                                  "meta": np.array([self.env, str(self.seed), str(self.start),
                                                    self.agent])}
        if self.frames is not None:
            arrays["frames"] = self.frames
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Segment:
        """The segment :meth:`to_bytes` wrote; SegmentError for anything else."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                env, seed, start, agent = (str(x) for x in z["meta"])
                frames = z["frames"] if "frames" in z.files else None
                return cls(env, z["obs"], z["actions"], z["rewards"], int(seed), int(start),
                           agent, frames, z["absorbing"])
        except SegmentError:
            raise
        except Exception as exc:
            raise SegmentError(f"not a stored segment: {type(exc).__name__}: {exc}") from None


class Collected(NamedTuple):
    """What :func:`collect_segments` cut, and the env steps it played for them."""

    segments: list[Segment]
    steps: int


def collect_segments(env: gym.Env, env_name: str, policy: Policy, n: int, length: int,
                     rng: np.random.Generator, agent: str = "", render: bool = False,
                     per_episode: int = 1) -> Collected:
    """Play episodes of ``env`` with ``policy`` until ``n`` segments of ``length`` steps are cut.

    Each episode yields up to ``per_episode`` non-overlapping segments: the windows of ``length``
    steps from a random offset in the first ``length`` steps (one window, at a uniform start, when
    ``per_episode`` is 1), drawn at random when there are more. A segment that runs past the
    episode's end is filled with absorbing steps (see the module docstring). With ``render`` the
    env's ``rgb_array`` frames are kept (an absorbing step shows the last frame).
    """
    if n < 1 or length < 1 or per_episode < 1:
        raise ConfigError(f"n, length and per_episode must be positive, got {n}, {length}, "
                          f"{per_episode}")
    out: list[Segment] = []
    steps = 0
    while len(out) < n:
        seed = int(rng.integers(2**31))
        obs, _ = env.reset(seed=seed)
        rows_o, rows_a, rows_r, frames = [], [], [], []
        while True:
            if render:
                frames.append(np.asarray(env.render(), dtype=np.uint8))
            action = policy(obs)
            rows_o.append(np.asarray(obs, dtype=np.float32).reshape(-1))
            rows_a.append(np.asarray(action, dtype=np.float32).reshape(-1))
            obs, reward, terminated, truncated, _ = env.step(action)
            rows_r.append(float(reward))
            steps += 1
            if terminated or truncated:
                break
        real = len(rows_o)
        if per_episode == 1:
            starts = [int(rng.integers(real))]
        else:
            starts = list(range(int(rng.integers(min(length, real))), real, length))
            if len(starts) > per_episode:
                starts = sorted(int(x) for x in rng.choice(starts, per_episode, replace=False))
        for s in starts[:n - len(out)]:
            pad = max(0, s + length - real)
            o = np.concatenate([np.stack(rows_o[s:]), np.zeros((pad, rows_o[0].size))])[:length]
            a = np.concatenate([np.stack(rows_a[s:]), np.zeros((pad, rows_a[0].size))])[:length]
            r = np.concatenate([np.asarray(rows_r[s:]), np.zeros(pad)])[:length]
            f = np.stack((frames[s:] + [frames[-1]] * pad)[:length]) if render else None
            out.append(Segment(env_name, o, a, r, seed, s, agent, f,
                               np.arange(s, s + length) >= real))
    return Collected(out, steps)
