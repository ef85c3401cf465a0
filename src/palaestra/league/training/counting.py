"""Train recurrent policies on GridCounting and measure how far they extrapolate in T.

The NALU paper's experiment (Trask et al. 2018, section 4): agents are trained with instructions
T in 5..12 and evaluated on larger T. :func:`train_counting` trains one policy
(:class:`~palaestra.agents.learned.nalu.CountingPolicy`, LSTM, NAC or NALU core) with REINFORCE and a
learned baseline on the env's own reward (1 for arriving at the target exactly at step T, else 0;
nothing is shaped), then measures its success rate for every T of ``eval_t_min..eval_t_max`` on
unseen episodes. :func:`run_comparison` does that for several kinds and
:func:`plot_extrapolation` draws success rate against T.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from palaestra.agents.learned.nalu import POLICY_KINDS, CountingPolicy, PolicyKind
from palaestra.envs.counting.env import GridCountingConfig, GridCountingEnv
from palaestra.errors import ConfigError, FileFormatError

ProgressFn = Callable[[int, dict[str, float]], None]
"""Called after every update with the number of updates done and running statistics."""

EVAL_SEED_OFFSET = 1_000_003
"""Evaluation episodes are seeded apart from the training seed, so they are unseen episodes."""


@dataclass(frozen=True)
class CountingTrainConfig:
    """One training run of a counting policy, and its evaluation."""

    kind: PolicyKind = "nac"
    """Recurrent core: ``lstm``, ``nac`` or ``nalu``."""
    seed: int = 0
    """Seeds torch, the action sampling and every episode (through a numpy Generator)."""
    updates: int = 1500
    """Policy-gradient updates; each one plays ``batch_episodes`` whole episodes."""
    batch_episodes: int = 256
    """Episodes per update, played in lockstep."""
    learning_rate: float = 5e-3
    """Adam step size."""
    entropy_start: float = 0.02
    """Entropy bonus at the first update; decays linearly to ``entropy_end`` at the last."""
    entropy_end: float = 0.0
    """Entropy bonus at the last update."""
    value_coef: float = 0.5
    """Weight of the baseline's squared error in the loss."""
    sparsity: float = 1e-3
    """Weight of an L1 penalty on the NAC weights (:meth:`CountingPolicy.nac_l1`); 0 for none.
    Without it the NAC policy leans on accumulated terms that only fit the training range of T
    (at T=19, 1,500 updates: 68% on time without, 72% with 1e-3, 24% with 3e-3, 14% with 1e-2)."""
    max_grad_norm: float = 1.0
    """Gradients are clipped to this global norm."""
    hidden: int | None = None
    """Size of the recurrent state; ``None``: 32 for the LSTM, 8 for NAC and NALU cores (the
    sizes that did best in our runs)."""
    gain: float = 20.0
    """Fixed inverse temperature of the NAC head's logits (NAC and NALU policies)."""
    feature_scale: float = 4.0
    """Step counts in the features are divided by this."""
    t_min: int = 5
    """Smallest instruction T in training."""
    t_max: int = 12
    """Largest instruction T in training."""
    curriculum_updates: int = 0
    """If positive, the largest training T grows linearly from ``t_min`` to ``t_max`` over these
    many updates (a curriculum inside the training range)."""
    eval_t_min: int = 5
    """Smallest T of the final evaluation."""
    eval_t_max: int = 25
    """Largest T of the final evaluation (beyond ``t_max``: extrapolation)."""
    eval_episodes: int = 500
    """Evaluation episodes per value of T."""
    eval_greedy: bool = True
    """Evaluate the most likely action (True) or sample from the policy (False)."""
    log_every: int = 50
    """Updates between entries of the training curve."""

    def __post_init__(self) -> None:
        if self.kind not in POLICY_KINDS:
            raise ConfigError(f"kind must be one of {POLICY_KINDS}, got {self.kind!r}")
        if self.hidden is not None and (int(self.hidden) != self.hidden or self.hidden < 1):
            raise ConfigError(f"hidden must be a positive integer, got {self.hidden!r}")
        for name in ("updates", "batch_episodes", "eval_episodes", "log_every"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.curriculum_updates < 0:
            raise ConfigError(f"curriculum_updates must be >= 0, got {self.curriculum_updates}")
        if not self.learning_rate > 0 or not self.max_grad_norm > 0 or not self.feature_scale > 0:
            raise ConfigError("learning_rate, max_grad_norm and feature_scale must be positive")
        if min(self.entropy_start, self.entropy_end, self.value_coef, self.sparsity) < 0:
            raise ConfigError("entropy_start, entropy_end, value_coef and sparsity must be >= 0")
        if not 1 <= self.t_min <= self.t_max:
            raise ConfigError(f"need 1 <= t_min <= t_max, got {self.t_min}, {self.t_max}")
        if not 1 <= self.eval_t_min <= self.eval_t_max:
            raise ConfigError("need 1 <= eval_t_min <= eval_t_max")
        # Validates the env parameters too (max_t bounds the largest evaluated T).
        self.env_config(self.t_min, self.t_max)


    @property
    def hidden_size(self) -> int:
        """``hidden``, or the default size for ``kind``."""
        if self.hidden is not None:
            return int(self.hidden)
        return 32 if self.kind == "lstm" else 8

    def env_config(self, t_min: int, t_max: int) -> GridCountingConfig:
        """The env configuration with T drawn from ``t_min..t_max``."""
        return GridCountingConfig(t_min=t_min, t_max=t_max,
                                  max_t=max(30, self.eval_t_max, self.t_max))


@dataclass
class CountingResult:
    """What a training run produced."""

    config: CountingTrainConfig
    """The run's configuration."""
    success_by_t: dict[int, float]
    """Evaluation success rate for each T of ``eval_t_min..eval_t_max``."""
    outcomes_by_t: dict[int, dict[str, float]]
    """Fraction of evaluation episodes per outcome (``on_time``, ``early``, ``late``,
    ``timeout``) for each T."""
    curve: list[dict[str, float]]
    """Training curve: update, episodes, success rate over the last ``log_every`` updates."""
    train_seconds: float
    """Wall time of training."""
    eval_seconds: float
    """Wall time of the evaluation."""
    policy: CountingPolicy | None = field(default=None, repr=False, compare=False)
    """The trained policy (not part of the JSON)."""

    def success_at(self, t: int) -> float:
        return self.success_by_t[t]

    @property
    def train_range_success(self) -> float:
        """Mean success rate over the training range of T."""
        c = self.config
        ts = [t for t in self.success_by_t if c.t_min <= t <= c.t_max]
        return float(np.mean([self.success_by_t[t] for t in ts])) if ts else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.config.kind,
            "config": asdict(self.config),
            "success_by_T": {str(t): s for t, s in self.success_by_t.items()},
            "outcomes_by_T": {str(t): o for t, o in self.outcomes_by_t.items()},
            "train_range_success": self.train_range_success,
            "curve": self.curve,
            "train_seconds": self.train_seconds,
            "eval_seconds": self.eval_seconds,
        }


# ------------------------------------------------------------------------------ episodes


def _stack(observations: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    return {k: np.stack([np.asarray(o[k]) for o in observations]) for k in observations[0]}


@dataclass
class _Rollout:
    log_probs: list[torch.Tensor]
    values: list[torch.Tensor]
    entropies: list[torch.Tensor]
    masks: list[torch.Tensor]
    returns: np.ndarray
    outcomes: list[str]


def _play(
    policy: CountingPolicy,
    envs: Sequence[GridCountingEnv],
    seeds: Sequence[int] | np.ndarray,
    options: Sequence[dict[str, Any] | None],
    generator: torch.Generator | None,
    greedy: bool = False,
) -> _Rollout:
    """Play one episode in each env, in lockstep; sample with ``generator`` unless ``greedy``."""
    first = [env.reset(seed=int(s), options=o)[0] for env, s, o in zip(envs, seeds, options)]
    obs = list(first)
    n = len(envs)
    alive = np.ones(n, dtype=bool)
    returns = np.zeros(n)
    outcomes = [""] * n
    state = policy.initial_state(n)
    rollout = _Rollout([], [], [], [], returns, outcomes)
    while alive.any():
        logits, value, state = policy(policy.features(_stack(obs)), state)
        log_p = torch.log_softmax(logits, dim=1)
        if greedy:
            actions = torch.argmax(logits, dim=1)
        else:
            actions = torch.multinomial(log_p.exp(), 1, generator=generator).squeeze(1)
        rollout.masks.append(torch.from_numpy(alive.astype(np.float32)))
        rollout.log_probs.append(log_p.gather(1, actions[:, None]).squeeze(1))
        rollout.entropies.append(-(log_p.exp() * log_p).sum(dim=1))
        rollout.values.append(value)
        acts = actions.numpy()
        for i in np.flatnonzero(alive):
            obs[i], reward, terminated, truncated, info = envs[int(i)].step(np.int64(acts[i]))
            returns[i] += reward
            if terminated or truncated:
                alive[i] = False
                outcomes[i] = info["outcome"]
    return rollout


def _loss(
    rollout: _Rollout, entropy_coef: float, value_coef: float, normalize: bool = True
) -> torch.Tensor:
    """REINFORCE with a learned baseline; undiscounted, the return is the episode's reward."""
    masks = torch.stack(rollout.masks)  # (steps, B)
    log_probs = torch.stack(rollout.log_probs)
    values = torch.stack(rollout.values)
    entropies = torch.stack(rollout.entropies)
    returns = torch.from_numpy(rollout.returns.astype(np.float32))[None, :].expand_as(values)
    count = masks.sum()
    advantages = (returns - values).detach()
    if normalize:
        mean = (advantages * masks).sum() / count
        std = torch.sqrt((((advantages - mean) * masks) ** 2).sum() / count + 1e-8)
        advantages = (advantages - mean) / std
    policy_loss = -(log_probs * advantages * masks).sum() / count
    value_loss = (((returns - values) ** 2) * masks).sum() / count
    entropy = (entropies * masks).sum() / count
    return policy_loss + value_coef * value_loss - entropy_coef * entropy


# ------------------------------------------------------------------------------ training


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch threads: the networks are tiny, and extra threads only contend."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_counting(config: CountingTrainConfig, progress: ProgressFn | None = None) -> CountingResult:
    """Train a counting policy on T in ``t_min..t_max``, then evaluate it on every T."""
    with _torch_threads(1):
        return _train(config, progress)


def _train(config: CountingTrainConfig, progress: ProgressFn | None) -> CountingResult:
    c = config
    torch.manual_seed(c.seed)
    rng = np.random.default_rng(c.seed)
    generator = torch.Generator().manual_seed(c.seed)
    policy = CountingPolicy(c.kind, hidden=c.hidden_size, gain=c.gain,
                            feature_scale=c.feature_scale)
    optimizer = torch.optim.Adam(policy.parameters(), lr=c.learning_rate)
    envs = [GridCountingEnv(c.env_config(c.t_min, c.t_max)) for _ in range(c.batch_episodes)]
    curve: list[dict[str, float]] = []
    window: list[float] = []
    start = time.perf_counter()
    for update in range(1, c.updates + 1):
        frac = (update - 1) / max(1, c.updates - 1)
        entropy_coef = c.entropy_start + (c.entropy_end - c.entropy_start) * frac
        top = c.t_max
        if c.curriculum_updates:
            top = c.t_min + round((c.t_max - c.t_min) * min(1.0, update / c.curriculum_updates))
        seeds = rng.integers(0, 2**31 - 1, size=c.batch_episodes)
        ts = rng.integers(c.t_min, top + 1, size=c.batch_episodes)
        rollout = _play(policy, envs, seeds, [{"T": int(t)} for t in ts], generator)
        loss = _loss(rollout, entropy_coef, c.value_coef)
        if c.sparsity:
            loss = loss + c.sparsity * policy.nac_l1()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), c.max_grad_norm)
        optimizer.step()
        window.append(float(rollout.returns.mean()))
        if update % c.log_every == 0 or update == c.updates:
            curve.append({"update": update, "episodes": update * c.batch_episodes,
                          "success": float(np.mean(window)), "t_max": float(top)})
            window = []
        if progress is not None:
            progress(update, {"success": float(rollout.returns.mean()), "t_max": float(top)})
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    success, outcomes = evaluate_counting_policy(
        policy, range(c.eval_t_min, c.eval_t_max + 1), c.eval_episodes,
        seed=c.seed + EVAL_SEED_OFFSET, greedy=c.eval_greedy,
        env_config=c.env_config(c.t_min, c.t_max),
    )
    return CountingResult(c, success, outcomes, curve, train_seconds,
                          time.perf_counter() - start, policy)


@torch.no_grad()
def evaluate_counting_policy(
    policy: CountingPolicy,
    ts: Sequence[int] | range,
    episodes: int,
    seed: int = 0,
    greedy: bool = True,
    env_config: GridCountingConfig | None = None,
) -> tuple[dict[int, float], dict[int, dict[str, float]]]:
    """Success rate (and outcome fractions) of ``policy`` for each T, on seeded episodes."""
    env_config = env_config or GridCountingConfig(max_t=max(30, max(ts)))
    envs = [GridCountingEnv(env_config) for _ in range(episodes)]
    generator = torch.Generator().manual_seed(seed)
    success: dict[int, float] = {}
    outcomes: dict[int, dict[str, float]] = {}
    for t in ts:
        seeds = np.random.default_rng([seed, t]).integers(0, 2**31 - 1, size=episodes)
        rollout = _play(policy, envs, seeds, [{"T": int(t)}] * episodes, generator, greedy)
        success[int(t)] = float(rollout.returns.mean())
        names, counts = np.unique(rollout.outcomes, return_counts=True)
        outcomes[int(t)] = {str(k): float(v) / episodes for k, v in zip(names, counts)}
    return success, outcomes


# ------------------------------------------------------------------------------ saving


POLICY_FILE = "policy.pt"
RESULT_FILE = "result.json"


def save_counting_run(result: CountingResult, directory: str | Path) -> Path:
    """Write the trained policy (``policy.pt``: its spec and weights) and ``result.json``."""
    if result.policy is None:
        raise ValueError("the result holds no policy to save")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (POLICY_FILE + ".tmp")
    torch.save({"spec": result.policy.spec(), "state_dict": result.policy.state_dict()}, tmp)
    tmp.replace(out / POLICY_FILE)
    tmp = out / (RESULT_FILE + ".tmp")
    tmp.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    tmp.replace(out / RESULT_FILE)
    return out


def load_counting_policy(directory: str | Path) -> CountingPolicy:
    """The policy that :func:`save_counting_run` wrote to ``directory``.

    Raises:
        ValueError: naming the directory when it holds no readable counting policy.
    """
    path = Path(directory) / POLICY_FILE
    if not path.is_file():
        raise FileFormatError(f"{directory}: no counting policy here (missing {POLICY_FILE})")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        policy = CountingPolicy(**saved["spec"])
        policy.load_state_dict(saved["state_dict"])
    except Exception as exc:  # noqa: BLE001 - any failure means the file is not a policy
        raise FileFormatError(f"{path}: not a readable counting policy ({exc})") from exc
    policy.eval()
    return policy


# ------------------------------------------------------------------------------ comparison


def run_comparison(
    kinds: Sequence[str],
    seeds: Sequence[int],
    base: CountingTrainConfig,
    progress: Callable[[str, int, int, dict[str, float]], None] | None = None,
) -> list[CountingResult]:
    """Train ``base`` once per kind and seed (same everything else); results in that order."""
    results = []
    for kind in kinds:
        for seed in seeds:
            config = CountingTrainConfig(**{**asdict(base), "kind": kind, "seed": seed})
            tag = f"{kind} seed {seed}"
            report = None if progress is None else (
                lambda u, s, tag=tag, total=config.updates: progress(tag, u, total, s))
            results.append(train_counting(config, report))
    return results


def plot_extrapolation(results: Sequence[CountingResult], path: str | Path,
                       goal: tuple[int, float] | None = (19, 0.9)) -> Path:
    """Success rate against T, one line per kind (mean over seeds, seeds as thin lines); a PNG.

    The training range of T is shaded; ``goal`` (T, success rate) is marked.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not results:
        raise ValueError("no results to plot")
    colors = {"lstm": "tab:orange", "nac": "tab:blue", "nalu": "tab:green"}
    labels = {"lstm": "LSTM", "nac": "NAC", "nalu": "NALU"}
    fig = Figure(figsize=(8.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    c0 = results[0].config
    ax.axvspan(c0.t_min - 0.5, c0.t_max + 0.5, color="0.92", zorder=0,
               label=f"training T ({c0.t_min}..{c0.t_max})")
    for kind in dict.fromkeys(r.config.kind for r in results):
        runs = [r for r in results if r.config.kind == kind]
        ts = sorted(runs[0].success_by_t)
        table = np.array([[r.success_by_t[t] for t in ts] for r in runs])
        color = colors.get(kind, None)
        if len(runs) > 1:
            for row in table:
                ax.plot(ts, row, color=color, linewidth=0.7, alpha=0.35)
        ax.plot(ts, table.mean(axis=0), color=color, linewidth=2.2, marker="o", markersize=3.5,
                label=f"{labels.get(kind, kind)} ({len(runs)} seed{'s' if len(runs) > 1 else ''})")
    if goal is not None:
        ax.plot([goal[0]], [goal[1]], marker="*", markersize=13, color="crimson", linestyle="none",
                label=f"goal: {goal[1]:.0%} at T={goal[0]}")
    ax.set_xlabel("instruction T (steps to arrive in)")
    ax.set_ylabel("success rate (greedy policy)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Grid-world counting: extrapolation beyond the training range of T")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    out = Path(path)
    FigureCanvasAgg(fig)
    fig.savefig(out, format="png", dpi=120)
    return out
