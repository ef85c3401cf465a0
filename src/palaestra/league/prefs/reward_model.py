"""An ensemble of reward models fitted to pairwise preferences (Christiano et al. 2017).

Each member is an MLP ``r(obs, action, absorbing) -> scalar``. A segment's predicted return is the
sum of ``r`` over its steps, and the probability that the left segment is preferred is the
Bradley-Terry model with a label-noise term::

    P(left > right) = eps / 2 + (1 - eps) * sigmoid(R_left - R_right)

(``eps`` = ``label_noise``: the chance that a label is a coin flip, which keeps a few wrong labels
from dominating the fit). The loss is the cross-entropy against the label (1 left, 0 right,
0.5 tie). Every member trains on its own bootstrap resample of the labels, so where labels are
scarce the members disagree; :meth:`RewardEnsemble.disagreement` measures that on candidate pairs
for active query selection.

The reward paid to a learner (:meth:`RewardEnsemble.reward`) is the members' mean, minus the
learned value of the absorbing step (see :mod:`~palaestra.league.prefs.segments`), scaled so that
its standard deviation over the labelled segments' real steps is ``reward_std``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from palaestra.errors import FileFormatError, RunStateError
from palaestra.league.prefs.model_config import CONFIG_FILE, MODEL_FILE, RewardModelConfig, require_model_dir
from palaestra.league.prefs.segments import Segment

__all__ = ["FitStats", "RewardEnsemble", "RewardModelConfig", "require_model_dir"]

class FitStats(NamedTuple):
    """One :meth:`RewardEnsemble.fit`: mean final loss and how many labels the mean model gets
    right (ties left out) over all the labels."""

    loss: float
    accuracy: float
    labels: int


def _mlp(n_in: int, hidden: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.LeakyReLU(0.01)]
        n_in = h
    layers.append(nn.Linear(n_in, 1))
    return nn.Sequential(*layers)


class _Batch(NamedTuple):
    x: torch.Tensor       # (segments, max length, input), zero-padded
    mask: torch.Tensor    # (segments, max length): 1 on a segment's steps


def _absorbing(segment: Segment) -> np.ndarray:
    """The segment's absorbing mask (``Segment`` always fills it in)."""
    if segment.absorbing is None:
        raise AssertionError("Segment.__post_init__ sets absorbing")
    return segment.absorbing


def _inputs(obs: np.ndarray, actions: np.ndarray, absorbing: np.ndarray) -> np.ndarray:
    return np.concatenate([obs, actions, absorbing[:, None].astype(np.float32)], axis=1)


class RewardEnsemble:
    """Reward models for one env's observation and action sizes (see the module docstring)."""

    def __init__(self, obs_dim: int, act_dim: int,
                 config: RewardModelConfig = RewardModelConfig()) -> None:  # noqa: B008 (frozen)
        self.obs_dim, self.act_dim, self.config = int(obs_dim), int(act_dim), config
        torch.manual_seed(config.seed)
        n_in = self.obs_dim + self.act_dim + 1
        self.members = nn.ModuleList([_mlp(n_in, config.hidden) for _ in range(config.ensemble)])
        self.in_mean = np.zeros(n_in, dtype=np.float32)
        self.in_std = np.ones(n_in, dtype=np.float32)
        self.offset = 0.0
        self.scale = 1.0
        self.fitted = False

    # -- inputs -----------------------------------------------------------------------------
    def _check(self, seg: Segment) -> None:
        if seg.obs.shape[1] != self.obs_dim or seg.actions.shape[1] != self.act_dim:
            raise FileFormatError(f"segment has obs_dim {seg.obs.shape[1]}, act_dim "
                                  f"{seg.actions.shape[1]}; the model takes {self.obs_dim}, "
                                  f"{self.act_dim}")

    def _batch(self, segments: Sequence[Segment]) -> _Batch:
        for seg in segments:
            self._check(seg)
        longest = max(s.length for s in segments)
        x = np.zeros((len(segments), longest, self.obs_dim + self.act_dim + 1), np.float32)
        mask = np.zeros((len(segments), longest), np.float32)
        for k, s in enumerate(segments):
            x[k, :s.length] = (_inputs(s.obs, s.actions, _absorbing(s)) - self.in_mean) / self.in_std
            mask[k, :s.length] = 1.0
        return _Batch(torch.from_numpy(x), torch.from_numpy(mask))

    @staticmethod
    def _member_returns(member: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (member(x)[..., 0] * mask).sum(-1)

    def _returns(self, batch: _Batch) -> torch.Tensor:
        """(members, segments) predicted returns."""
        return torch.stack([self._member_returns(m, batch.x, batch.mask) for m in self.members])

    def _prob(self, ra: torch.Tensor, rb: torch.Tensor) -> torch.Tensor:
        eps = self.config.label_noise
        return eps / 2 + (1 - eps) * torch.sigmoid(ra - rb)

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, comparisons: Sequence[tuple[Segment, Segment, float]],
            rng: np.random.Generator) -> FitStats:
        """Fit every member to ``(left, right, label)`` comparisons (from scratch each call, on
        its own bootstrap resample), then set the paid reward's offset and scale."""
        if not comparisons:
            raise RunStateError("no labelled comparisons to fit the reward model to")
        c = self.config
        segments: list[Segment] = []
        index: dict[int, int] = {}
        pairs = np.zeros((len(comparisons), 2), dtype=np.int64)
        labels = np.zeros(len(comparisons), dtype=np.float32)
        for k, (left, right, label) in enumerate(comparisons):
            if label not in (0.0, 0.5, 1.0):
                raise ValueError(f"comparison {k}: label must be 0, 0.5 or 1, got {label!r}")
            for j, seg in enumerate((left, right)):
                if id(seg) not in index:
                    index[id(seg)] = len(segments)
                    segments.append(seg)
                pairs[k, j] = index[id(seg)]
            labels[k] = label
        raw = np.concatenate([_inputs(s.obs, s.actions, _absorbing(s)) for s in segments])
        self.in_mean = raw.mean(axis=0).astype(np.float32)
        self.in_std = np.maximum(raw.std(axis=0), 1e-3).astype(np.float32)
        batch = self._batch(segments)
        torch.manual_seed(int(rng.integers(2**31)))
        n = len(comparisons)
        boots = [rng.integers(n, size=n) for _ in self.members]
        self.members = nn.ModuleList([_mlp(batch.x.shape[-1], c.hidden) for _ in self.members])
        opts = [torch.optim.Adam(m.parameters(), lr=c.lr, weight_decay=c.weight_decay)
                for m in self.members]
        y = torch.from_numpy(labels)
        pair_t = torch.from_numpy(pairs)
        last = []
        for member, opt, boot in zip(self.members, opts, boots):
            order_rng = np.random.default_rng(int(rng.integers(2**31)))
            for _ in range(c.epochs):
                perm = boot[order_rng.permutation(n)]
                for start in range(0, n, c.batch_size):
                    idx = torch.from_numpy(perm[start:start + c.batch_size])
                    a, b = pair_t[idx, 0], pair_t[idx, 1]
                    p = self._prob(self._member_returns(member, batch.x[a], batch.mask[a]),
                                   self._member_returns(member, batch.x[b], batch.mask[b]))
                    yy = y[idx]
                    loss = -(yy * torch.log(p) + (1 - yy) * torch.log(1 - p)).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            last.append(float(loss.detach()))
        with torch.no_grad():
            mean_r = self._returns(batch).mean(0)
            decided = labels != 0.5
            pred = (mean_r[pair_t[:, 0]] > mean_r[pair_t[:, 1]]).numpy()
            acc = float((pred[decided] == (labels[decided] == 1.0)).mean()) if decided.any() \
                else float("nan")
        self._set_scale(segments)
        self.fitted = True
        return FitStats(float(np.mean(last)), acc, n)

    def _set_scale(self, segments: Sequence[Segment]) -> None:
        absorbing = np.zeros((1, self.obs_dim + self.act_dim + 1), dtype=np.float32)
        absorbing[0, -1] = 1.0
        self.offset = float(self._raw(absorbing).mean())
        real = [(s.obs[~_absorbing(s)], s.actions[~_absorbing(s)]) for s in segments]
        x = np.concatenate([_inputs(o, a, np.zeros(len(o), dtype=bool)) for o, a in real])
        std = float(self._raw(x).std())
        self.scale = self.config.reward_std / max(std, 1e-8)

    def _raw(self, x: np.ndarray) -> np.ndarray:
        """(members, N) member outputs for unnormalised inputs."""
        xt = torch.from_numpy(((x - self.in_mean) / self.in_std).astype(np.float32))
        with torch.no_grad():
            return torch.cat([m(xt).T for m in self.members]).numpy()

    # -- use --------------------------------------------------------------------------------
    def reward(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The paid reward of real steps: ``(N,)`` for ``obs (N, obs_dim)``, ``actions (N, act_dim)``."""
        obs = np.asarray(obs, dtype=np.float32).reshape(-1, self.obs_dim)
        actions = np.asarray(actions, dtype=np.float32).reshape(-1, self.act_dim)
        x = _inputs(obs, actions, np.zeros(len(obs), dtype=bool))
        return (self._raw(x).mean(0) - self.offset) * self.scale

    def preference_probs(self, pairs: Sequence[tuple[Segment, Segment]]) -> np.ndarray:
        """``(members, pairs)``: each member's probability that the left segment is preferred."""
        segments = [s for pair in pairs for s in pair]
        with torch.no_grad():
            r = self._returns(self._batch(segments))
            return self._prob(r[:, 0::2], r[:, 1::2]).numpy()

    def disagreement(self, pairs: Sequence[tuple[Segment, Segment]]) -> np.ndarray:
        """``(pairs,)``: the members' standard deviation of P(left preferred)."""
        return self.preference_probs(pairs).std(axis=0)

    # -- storage ----------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        state = {"members": self.members.state_dict(), "in_mean": self.in_mean,
                 "in_std": self.in_std, "offset": self.offset, "scale": self.scale,
                 "fitted": self.fitted}
        tmp = d / (MODEL_FILE + ".tmp")
        torch.save(state, tmp)
        tmp.replace(d / MODEL_FILE)
        meta: dict[str, Any] = {"obs_dim": self.obs_dim, "act_dim": self.act_dim,
                                "config": asdict(self.config)}
        (d / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        return d

    @classmethod
    def load(cls, directory: str | Path) -> RewardEnsemble:
        d = require_model_dir(directory)
        meta = json.loads((d / CONFIG_FILE).read_text())
        config = RewardModelConfig(**{**meta["config"], "hidden": tuple(meta["config"]["hidden"])})
        model = cls(meta["obs_dim"], meta["act_dim"], config)
        state = torch.load(d / MODEL_FILE, weights_only=False)
        model.members.load_state_dict(state["members"])
        model.in_mean, model.in_std = state["in_mean"], state["in_std"]
        model.offset, model.scale, model.fitted = state["offset"], state["scale"], state["fitted"]
        return model
