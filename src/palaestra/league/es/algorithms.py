"""OpenAI-ES (Salimans et al. 2017) and canonical (mu, lambda)-ES (Chrabaszcz et al. 2018).

Both run ask/tell: ``ask(rng)`` names the generation's perturbations by noise-table offsets, the
caller evaluates ``params_for(p)`` anywhere (workers rebuild the same
:class:`~palaestra.league.es.noise.SharedNoiseTable`), and ``tell`` takes the fitnesses back
(higher is better). Offsets are distinct within a generation, so an offset names one evaluation
(one antithetic pair in OpenAI-ES); a result whose worker was lost is simply absent and ``tell``
uses the rest (at least one). ``tell`` sorts results by offset first, so the update does not depend
on the order in which they arrived.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, NamedTuple

import numpy as np

from palaestra.league.es.noise import DEFAULT_NOISE_SIZE, Perturbation, SharedNoiseTable, perturb
from palaestra.league.es.obs_norm import RunningStat
from palaestra.league.es.optim import make_optimizer
from palaestra.league.es.shaping import canonical_weights, centered_ranks

__all__ = ["CandidateResult", "CanonicalES", "CanonicalESConfig", "EvalResult", "GenerationStats",
           "OpenAIES", "OpenAIESConfig"]


class EvalResult(NamedTuple):
    """OpenAI-ES: the fitnesses of both halves of the antithetic pair at ``index``."""

    index: int  # type: ignore[assignment]  # the field's name hides tuple.index
    fitness_pos: float
    fitness_neg: float
    steps: int = 0  # environment steps of both evaluations
    obs_stat: RunningStat | None = None  # observations seen; merged when obs_norm is on


class CandidateResult(NamedTuple):
    """Canonical ES: the fitness of the candidate at ``index``."""

    index: int  # type: ignore[assignment]  # the field's name hides tuple.index
    fitness: float
    steps: int = 0
    obs_stat: RunningStat | None = None


class GenerationStats(NamedTuple):
    """What one ``tell`` did. Fitness figures are over every evaluation used."""

    generation: int  # generations completed, this one included
    fitness_mean: float
    fitness_max: float
    num_used: int  # antithetic pairs (OpenAI-ES) or candidates (canonical) in the update
    num_missing: int  # asked for but absent from the results
    grad_norm: float  # OpenAI-ES: ||g||; canonical: ||sum_j w_j eps_(j)||
    update_ratio: float  # ||theta_new - theta|| / ||theta|| (denominator floored at 1e-12)
    steps: int
    total_steps: int


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _check_int(name: str, value: object, minimum: int) -> None:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) \
        and int(value) >= minimum
    _check(ok, f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_positive(name: str, value: float) -> None:
    _check(math.isfinite(value) and value > 0, f"{name} must be finite and > 0, got {value}")


@dataclass(frozen=True)
class OpenAIESConfig:
    """OpenAI-ES hyper-parameters (defaults after Salimans et al. 2017)."""

    population_pairs: int = 32
    """Antithetic pairs per generation (twice as many evaluations)."""
    sigma: float = 0.02
    """Standard deviation of the parameter noise."""
    lr: float = 0.01
    """Optimiser step size."""
    l2_coeff: float = 0.005
    """Weight decay: ``l2_coeff * theta`` is added to the gradient the optimiser minimises."""
    optimizer: Literal["adam", "sgd"] = "adam"
    """``"adam"`` or ``"sgd"`` (with dampened momentum)."""
    momentum: float = 0.9
    """SGD momentum, in ``[0, 1)`` (unused by Adam)."""
    noise_size: int = DEFAULT_NOISE_SIZE
    """Float32 draws in the shared noise table (``4 * noise_size`` bytes per process)."""
    seed: int = 0
    """Seed of the shared noise table (the offsets come from the ``rng`` given to ``ask``)."""
    obs_norm: bool = True
    """Keep a running observation statistic, merged from the results' ``obs_stat``."""

    def __post_init__(self) -> None:
        _check_int("population_pairs", self.population_pairs, 1)
        _check_positive("sigma", self.sigma)
        _check_positive("lr", self.lr)
        _check(math.isfinite(self.l2_coeff) and self.l2_coeff >= 0,
               f"l2_coeff must be finite and >= 0, got {self.l2_coeff}")
        _check(self.optimizer in ("adam", "sgd"),
               f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        _check(0.0 <= self.momentum < 1.0, f"momentum must be in [0, 1), got {self.momentum}")
        _check_int("noise_size", self.noise_size, 1)
        _check_int("seed", self.seed, 0)


@dataclass(frozen=True)
class CanonicalESConfig:
    """Canonical (mu, lambda)-ES hyper-parameters (defaults after Chrabaszcz et al. 2018)."""

    lam: int = 20
    """Offspring evaluated per generation (lambda)."""
    mu: int = 10
    """Best offspring recombined into the new parent, ``1 <= mu <= lam``."""
    sigma: float = 0.01
    """Fixed mutation strength; also the recombination step size."""
    noise_size: int = DEFAULT_NOISE_SIZE
    """Float32 draws in the shared noise table (``4 * noise_size`` bytes per process)."""
    seed: int = 0
    """Seed of the shared noise table."""
    obs_norm: bool = False
    """Keep a running observation statistic, merged from the results' ``obs_stat``."""

    def __post_init__(self) -> None:
        _check_int("lam", self.lam, 1)
        _check_int("mu", self.mu, 1)
        _check(self.mu <= self.lam, f"mu must be <= lam={self.lam}, got {self.mu}")
        _check_positive("sigma", self.sigma)
        _check_int("noise_size", self.noise_size, 1)
        _check_int("seed", self.seed, 0)


class _ESBase:
    """Parent vector, noise table, outstanding offsets, counters, observation statistic."""

    algorithm = "base"

    def __init__(self, config: Any, theta0: np.ndarray, per_generation: int,
                 obs_dim: int | None, noise: SharedNoiseTable | None) -> None:
        theta = np.array(theta0, dtype=np.float64)
        _check(theta.ndim == 1 and theta.size >= 1,
               f"theta0 must be a non-empty vector, got shape {theta.shape}")
        _check(bool(np.all(np.isfinite(theta))), "theta0 holds non-finite values")
        noise = noise if noise is not None else SharedNoiseTable(config.seed, config.noise_size)
        _check((noise.seed, noise.size) == (config.seed, config.noise_size),
               f"{noise!r} does not match the config's seed and noise_size")
        _check(noise.size - theta.size + 1 >= per_generation,
               f"{noise!r} has too few offsets for {per_generation} distinct perturbations "
               f"of dim {theta.size}")
        _check(not config.obs_norm or obs_dim is not None, "obs_norm=True needs obs_dim")
        self.config, self.noise, self.sigma, self._theta = config, noise, config.sigma, theta
        self._per_generation = per_generation
        self.obs_stat = RunningStat(obs_dim) if config.obs_norm and obs_dim is not None else None
        self.generation, self.total_steps = 0, 0
        self._pending: list[int] = []

    @property
    def dim(self) -> int:
        """Length of the parameter vector."""
        return int(self._theta.size)

    @property
    def theta(self) -> np.ndarray:
        """A copy of the current parent (mean) parameter vector."""
        return self._theta.copy()

    def params_for(self, p: Perturbation) -> np.ndarray:
        """The parameters to evaluate for ``p``: ``theta + sign * sigma * eps[index]``."""
        return perturb(self._theta, self.noise, p, self.sigma)

    def _ask_indices(self, rng: np.random.Generator) -> list[int]:
        chosen: list[int] = []
        while len(chosen) < self._per_generation:  # distinct: an offset names one evaluation
            index = self.noise.sample_index(rng, self.dim)
            if index not in chosen:
                chosen.append(index)
        self._pending = chosen
        return chosen

    def _accept(self, results: Sequence[Any]) -> list[Any]:
        """Check ``results`` against the outstanding offsets; return them sorted by offset."""
        _check(bool(self._pending), "tell() called without a preceding ask()")
        _check(len(results) > 0, "tell() got no results: every evaluation was lost")
        ordered = sorted(results, key=lambda r: r.index)
        indices = [r.index for r in ordered]
        _check(len(set(indices)) == len(indices), "tell() got two results for one index")
        unknown = sorted(set(indices) - set(self._pending))
        _check(not unknown, f"tell() got results for indices not asked this generation: {unknown}")
        return ordered

    def _finish(self, used: list[Any], new_theta: np.ndarray, fitness: np.ndarray,
                grad_norm: float) -> GenerationStats:
        if self.obs_stat is not None:
            for r in used:
                if r.obs_stat is not None:
                    self.obs_stat.merge(r.obs_stat)
        step = float(np.linalg.norm(new_theta - self._theta))
        ratio = step / max(float(np.linalg.norm(self._theta)), 1e-12)
        steps, missing = int(sum(r.steps for r in used)), len(self._pending) - len(used)
        self._theta, self._pending = new_theta, []
        self.generation += 1
        self.total_steps += steps
        return GenerationStats(self.generation, float(fitness.mean()), float(fitness.max()),
                               len(used), missing, grad_norm, ratio, steps, self.total_steps)

    def state_dict(self) -> dict[str, Any]:
        """All state needed to resume exactly (the ``rng`` given to ``ask`` is the caller's)."""
        return {"algorithm": self.algorithm, "config": asdict(self.config),
                "theta": self._theta.copy(), "generation": self.generation,
                "total_steps": self.total_steps, "pending": list(self._pending),
                "noise": {"seed": self.noise.seed, "size": self.noise.size},
                "obs_stat": None if self.obs_stat is None else self.obs_stat.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (same algorithm, dim, noise table and obs_norm)."""
        _check(state.get("algorithm") == self.algorithm,
               f"state is for {state.get('algorithm')!r}, not {self.algorithm!r}")
        theta = np.array(state["theta"], dtype=np.float64)
        _check(theta.shape == self._theta.shape,
               f"state theta has shape {theta.shape}, expected {self._theta.shape}")
        noise = (state["noise"]["seed"], state["noise"]["size"])
        _check(noise == (self.noise.seed, self.noise.size),
               f"state was made with noise (seed, size) {noise}, this is {self.noise!r}")
        _check((state["obs_stat"] is None) == (self.obs_stat is None),
               "state and config disagree on obs_norm")
        if self.obs_stat is not None:
            self.obs_stat.load_state_dict(state["obs_stat"])
        self._theta, self._pending = theta, [int(i) for i in state["pending"]]
        self.generation, self.total_steps = int(state["generation"]), int(state["total_steps"])


class OpenAIES(_ESBase):
    """OpenAI-ES: antithetic pairs, centred-rank shaping, Adam or SGD on the gradient estimate.

    With ``n`` pairs used and ``r`` the centred ranks of all ``2n`` fitnesses,
    ``g = sum_i (r_pos_i - r_neg_i) * eps_i / (2 n sigma)`` estimates the gradient of the shaped
    fitness, to be *ascended*; the optimiser minimises, so it steps on ``-g + l2_coeff * theta``.
    """

    algorithm = "openai_es"

    def __init__(self, config: OpenAIESConfig, theta0: np.ndarray, obs_dim: int | None = None,
                 noise: SharedNoiseTable | None = None) -> None:
        super().__init__(config, theta0, config.population_pairs, obs_dim, noise)
        self.optimizer = make_optimizer(config.optimizer, self.dim, config.lr, config.momentum)

    def ask(self, rng: np.random.Generator) -> list[Perturbation]:
        """``2 * population_pairs`` perturbations: ``(i, +1), (i, -1)`` per drawn offset ``i``."""
        return [Perturbation(i, s) for i in self._ask_indices(rng) for s in (1, -1)]

    def tell(self, results: Sequence[EvalResult]) -> GenerationStats:
        """Update ``theta`` from the pairs in ``results`` (one :class:`EvalResult` per pair)."""
        used = self._accept(results)
        fitness = np.array([[r.fitness_pos, r.fitness_neg] for r in used], dtype=np.float64)
        ranks = centered_ranks(fitness)
        eps = np.stack([self.noise.get(r.index, self.dim) for r in used]).astype(np.float64)
        g = ((ranks[:, 0] - ranks[:, 1]) @ eps) / (2 * len(used) * self.sigma)
        new_theta = self.optimizer.step(self._theta, -g + self.config.l2_coeff * self._theta)
        return self._finish(used, new_theta, fitness, float(np.linalg.norm(g)))

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        cfg = self.config
        optimizer = make_optimizer(cfg.optimizer, self.dim, cfg.lr, cfg.momentum)
        optimizer.load_state_dict(state["optimizer"])  # validate everything before changing self
        super().load_state_dict(state)
        self.optimizer = optimizer


class CanonicalES(_ESBase):
    """Canonical (mu, lambda)-ES: ``theta += sigma * sum_j w_j eps_(j)`` over the best ``mu``.

    ``eps_(j)`` is the noise of the ``j``-th best candidate (ties go to the lower offset) and ``w``
    are :func:`~palaestra.league.es.shaping.canonical_weights`. When candidates are lost, the best
    ``min(mu, present)`` are recombined.
    """

    algorithm = "canonical_es"

    def __init__(self, config: CanonicalESConfig, theta0: np.ndarray,
                 obs_dim: int | None = None, noise: SharedNoiseTable | None = None) -> None:
        super().__init__(config, theta0, config.lam, obs_dim, noise)

    def ask(self, rng: np.random.Generator) -> list[Perturbation]:
        """``lam`` perturbations ``(i, +1)`` with distinct offsets (no mirroring)."""
        return [Perturbation(i, 1) for i in self._ask_indices(rng)]

    def tell(self, results: Sequence[CandidateResult]) -> GenerationStats:
        """Recombine the best candidates in ``results`` into the new parent."""
        used = self._accept(results)
        fitness = np.array([r.fitness for r in used], dtype=np.float64)
        _check(not np.any(np.isnan(fitness)), "tell() got NaN fitness values")
        order = np.lexsort((np.array([r.index for r in used]), -fitness))
        best = order[:min(self.config.mu, len(used))]
        eps = np.stack([self.noise.get(used[k].index, self.dim) for k in best]).astype(np.float64)
        direction = canonical_weights(len(best)) @ eps
        new_theta = self._theta + self.sigma * direction
        return self._finish(used, new_theta, fitness, float(np.linalg.norm(direction)))
