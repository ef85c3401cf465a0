"""Train recurrent policies on GridCounting and measure how far they extrapolate in T.

The NALU paper's experiment (Trask et al. 2018, section 4): agents are trained with instructions
T in 5..12 and evaluated on larger T. :func:`train_counting` trains one policy
(:class:`~palaestra.agents.learned.nalu.CountingPolicy`, LSTM, NAC or NALU core) with REINFORCE and a
learned baseline on the env's own reward (1 for arriving at the target exactly at step T, else 0;
nothing is shaped), then measures its success rate for every T of ``eval_t_min..eval_t_max`` on
unseen episodes. :mod:`palaestra.league.training.counting_compare` runs it for several kinds and
seeds and plots success rate against T.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from palaestra.agents.learned.nalu import POLICY_KINDS, CountingPolicy, PolicyKind
from palaestra.agents.learned.nau import RegularizerSchedule
from palaestra.envs.counting.env import GridCountingConfig, GridCountingEnv
from palaestra.errors import ConfigError, FileFormatError

ProgressFn = Callable[[int, dict[str, float]], None]
"""Called after every update with the number of updates done and running statistics."""

EVAL_SEED_OFFSET = 1_000_003
"""Evaluation episodes are seeded apart from the training seed, so they are unseen episodes."""
SELECT_SEED_OFFSET = 2_000_029
"""The held-out episodes that choose among restarts are seeded apart from both."""


@dataclass(frozen=True)
class CountingTrainConfig:
    """One training run of a counting policy, and its evaluation."""

    kind: PolicyKind = "nac"
    """Recurrent core: ``lstm``, ``nac``, ``nalu`` or ``nau``."""
    seed: int = 0
    """Seeds torch, the action sampling and every episode (through a numpy Generator)."""
    updates: int = 1500
    """Policy-gradient updates; each one plays ``batch_episodes`` whole episodes."""
    batch_episodes: int = 256
    """Episodes per update, played in lockstep."""
    learning_rate: float = 5e-3
    """Adam step size (at the first update)."""
    lr_decay: bool | None = None
    """Whether the step size decays linearly from ``learning_rate`` to 0 at the last update;
    ``None``: for NAU policies only. A step size that decays to 0 lets the regularised NAU
    weights settle exactly on -1, 0 or 1 instead of jittering around them."""
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
    regularizer: float = 10.0
    """NAU policies: the weight of the NAU sparsity regulariser
    (:meth:`CountingPolicy.sparsity_penalty`) once fully on; 0 for none. Ignored by other kinds."""
    regularizer_start: float = 0.3
    """Fraction of the updates after which the regulariser starts to rise from 0."""
    regularizer_end: float = 0.6
    """Fraction of the updates at which it reaches ``regularizer``
    (:class:`~palaestra.agents.learned.nau.RegularizerSchedule`)."""
    max_grad_norm: float = 1.0
    """Gradients are clipped to this global norm."""
    hidden: int | None = None
    """Size of the recurrent state; ``None``: 32 for the LSTM, 8 for NAC, NALU and NAU cores (the
    sizes that did best in our runs)."""
    gain: float | None = None
    """Inverse temperature of the head's logits: fixed for NAC and NALU policies (``None``: 20),
    the initial value of a learned one for NAU policies (``None``: 1, so that the NAU weights, not
    the scale, first carry the policy and grow to the -1 and 1 the regulariser rounds them to)."""
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
    eval_t_max: int = 30
    """Largest T of the final evaluation (beyond ``t_max``: extrapolation)."""
    eval_episodes: int = 500
    """Evaluation episodes per value of T."""
    eval_greedy: bool = True
    """Evaluate the most likely action (True) or sample from the policy (False)."""
    log_every: int = 50
    """Updates between entries of the training curve."""
    restarts: int = 1
    """Policies trained, each from its own seed (:func:`candidate_seed`); the one with the best
    greedy success on the held-out T ``select_t_min..select_t_max`` is kept (among equals, the
    one whose NAU weights are nearest to -1, 0 and 1). Model selection
    sees neither the evaluation's episodes nor, with the defaults, any T beyond 14."""
    select_t_min: int = 13
    """Smallest held-out T that chooses among restarts."""
    select_t_max: int = 14
    """Largest held-out T that chooses among restarts."""
    select_episodes: int = 200
    """Held-out episodes per T for choosing among restarts."""

    def __post_init__(self) -> None:
        if self.kind not in POLICY_KINDS:
            raise ConfigError(f"kind must be one of {POLICY_KINDS}, got {self.kind!r}")
        if self.hidden is not None and (int(self.hidden) != self.hidden or self.hidden < 1):
            raise ConfigError(f"hidden must be a positive integer, got {self.hidden!r}")
        for name in ("updates", "batch_episodes", "eval_episodes", "log_every", "restarts",
                     "select_episodes"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.curriculum_updates < 0:
            raise ConfigError(f"curriculum_updates must be >= 0, got {self.curriculum_updates}")
        if not self.learning_rate > 0 or not self.max_grad_norm > 0 or not self.feature_scale > 0:
            raise ConfigError("learning_rate, max_grad_norm and feature_scale must be positive")
        if self.gain is not None and not self.gain > 0:
            raise ConfigError(f"gain must be positive, got {self.gain}")
        if min(self.entropy_start, self.entropy_end, self.value_coef, self.sparsity) < 0:
            raise ConfigError("entropy_start, entropy_end, value_coef and sparsity must be >= 0")
        if not 1 <= self.t_min <= self.t_max:
            raise ConfigError(f"need 1 <= t_min <= t_max, got {self.t_min}, {self.t_max}")
        if not 1 <= self.eval_t_min <= self.eval_t_max:
            raise ConfigError("need 1 <= eval_t_min <= eval_t_max")
        if not 1 <= self.select_t_min <= self.select_t_max <= max(30, self.eval_t_max):
            raise ConfigError("need 1 <= select_t_min <= select_t_max <= the largest T")
        # Validates the env parameters and the regulariser schedule too (max_t bounds the
        # largest evaluated T).
        self.env_config(self.t_min, self.t_max)
        self.regularizer_schedule()


    def regularizer_schedule(self) -> RegularizerSchedule:
        """The NAU regulariser's weight over training."""
        return RegularizerSchedule(self.regularizer, self.regularizer_start, self.regularizer_end)

    @property
    def gain_value(self) -> float:
        """``gain``, or the default for ``kind``."""
        if self.gain is not None:
            return float(self.gain)
        return 1.0 if self.kind == "nau" else 20.0

    @property
    def decays_lr(self) -> bool:
        """``lr_decay``, or the default for ``kind``."""
        return self.kind == "nau" if self.lr_decay is None else bool(self.lr_decay)

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
    selection: list[dict[str, Any]] = field(default_factory=list)
    """With restarts: each candidate's seed, held-out success and ``residual`` (the NAU
    regulariser's value: how far its weights are from -1, 0 and 1), the kept one ``chosen``."""

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
            "selection": self.selection,
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


def candidate_seed(seed: int, index: int) -> int:
    """The seed of restart ``index`` of a run seeded ``seed``: ``seed`` itself for the first, so
    that one restart is the plain run; derived from both for the others."""
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] & 0x7FFFFFFF)


def train_counting(config: CountingTrainConfig, progress: ProgressFn | None = None) -> CountingResult:
    """Train a counting policy on T in ``t_min..t_max``, then evaluate it on every T.

    With ``restarts > 1``, that many policies are trained (seeds :func:`candidate_seed`) and the
    one with the best greedy success on the held-out ``select_t_min..select_t_max`` (on episodes
    of their own, apart from the evaluation's) is kept and evaluated; the others are dropped. Ties
    go to the smallest NAU residual (:meth:`CountingPolicy.sparsity_penalty`), then the earliest.
    ``progress`` counts the updates of all restarts.
    """
    with _torch_threads(1):
        if config.restarts == 1:
            policy, curve, seconds = _train(config, progress)
            return _evaluate(config, policy, curve, seconds, [])
        selection: list[dict[str, Any]] = []
        trained: list[tuple[CountingPolicy, list[dict[str, float]]]] = []
        seconds = 0.0
        held_out = range(config.select_t_min, config.select_t_max + 1)
        for index in range(config.restarts):
            seed = candidate_seed(config.seed, index)
            offset = index * config.updates
            report = None if progress is None else (
                lambda u, stats, offset=offset: progress(offset + u, stats))
            policy, curve, took = _train(replace(config, seed=seed, restarts=1), report)
            seconds += took
            held, _ = evaluate_counting_policy(
                policy, held_out, config.select_episodes, seed=seed + SELECT_SEED_OFFSET,
                greedy=config.eval_greedy, env_config=config.env_config(config.t_min, config.t_max))
            score = float(np.mean(list(held.values())))
            selection.append({"seed": seed, "held_out_success": score,
                              "held_out_by_T": {str(t): v for t, v in held.items()},
                              "residual": _residual(policy)})
            trained.append((policy, curve))
        chosen = max(range(len(selection)), key=lambda i: _rank(selection[i], i))
        selection[chosen]["chosen"] = True
        return _evaluate(config, *trained[chosen], seconds, selection)


def _residual(policy: CountingPolicy) -> float:
    """How far the policy's NAU weights are from -1, 0 or 1 (the regulariser's value; 0 for the
    other kinds)."""
    with torch.no_grad():
        return float(policy.sparsity_penalty())


def _rank(candidate: dict[str, Any], index: int) -> tuple[float, float, int]:
    """Sort key of a restart (the largest wins): the best held-out success; among equals, the
    smallest residual, since only integer weights count exactly at every T (a held-out success
    of 1.00 on T 13..14 does not tell an exact counter from one whose small weight errors add up
    only later); then the earliest restart."""
    return (candidate["held_out_success"], -round(candidate["residual"], 4), -index)


def _evaluate(config: CountingTrainConfig, policy: CountingPolicy, curve: list[dict[str, float]],
              train_seconds: float, selection: list[dict[str, Any]]) -> CountingResult:
    c = config
    start = time.perf_counter()
    success, outcomes = evaluate_counting_policy(
        policy, range(c.eval_t_min, c.eval_t_max + 1), c.eval_episodes,
        seed=c.seed + EVAL_SEED_OFFSET, greedy=c.eval_greedy,
        env_config=c.env_config(c.t_min, c.t_max),
    )
    return CountingResult(c, success, outcomes, curve, train_seconds,
                          time.perf_counter() - start, policy, selection)


def _train(config: CountingTrainConfig, progress: ProgressFn | None
           ) -> tuple[CountingPolicy, list[dict[str, float]], float]:
    """One training run: the policy, its training curve and the seconds it took."""
    c = config
    torch.manual_seed(c.seed)
    rng = np.random.default_rng(c.seed)
    generator = torch.Generator().manual_seed(c.seed)
    policy = CountingPolicy(c.kind, hidden=c.hidden_size, gain=c.gain_value,
                            feature_scale=c.feature_scale)
    optimizer = torch.optim.Adam(policy.parameters(), lr=c.learning_rate)
    envs = [GridCountingEnv(c.env_config(c.t_min, c.t_max)) for _ in range(c.batch_episodes)]
    curve: list[dict[str, float]] = []
    window: list[float] = []
    schedule = c.regularizer_schedule()
    start = time.perf_counter()
    for update in range(1, c.updates + 1):
        frac = (update - 1) / max(1, c.updates - 1)
        entropy_coef = c.entropy_start + (c.entropy_end - c.entropy_start) * frac
        if c.decays_lr:
            for group in optimizer.param_groups:
                group["lr"] = c.learning_rate * (1.0 - frac)
        top = c.t_max
        if c.curriculum_updates:
            top = c.t_min + round((c.t_max - c.t_min) * min(1.0, update / c.curriculum_updates))
        seeds = rng.integers(0, 2**31 - 1, size=c.batch_episodes)
        ts = rng.integers(c.t_min, top + 1, size=c.batch_episodes)
        rollout = _play(policy, envs, seeds, [{"T": int(t)} for t in ts], generator)
        loss = _loss(rollout, entropy_coef, c.value_coef)
        if c.sparsity:
            loss = loss + c.sparsity * policy.nac_l1()
        lam = schedule.weight(frac) if c.kind == "nau" else 0.0
        if lam:
            loss = loss + lam * policy.sparsity_penalty()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), c.max_grad_norm)
        optimizer.step()
        policy.clamp_()
        window.append(float(rollout.returns.mean()))
        if update % c.log_every == 0 or update == c.updates:
            curve.append({"update": update, "episodes": update * c.batch_episodes,
                          "success": float(np.mean(window)), "t_max": float(top)})
            window = []
        if progress is not None:
            progress(update, {"success": float(rollout.returns.mean()), "t_max": float(top)})
    return policy, curve, time.perf_counter() - start


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
