"""``palaestra es train``: OpenAI-ES or canonical ES on Ray actors, with checkpoints and resume.

Each generation the driver asks the ES for perturbations, deals them round-robin to the worker
actors with the parent parameters (one object-store copy), and tells the ES whatever came back
within ``timeout_s``. A worker that dies or hangs costs only its share of the generation (the
ES updates from the rest) and is replaced by a fresh actor. After every generation the ES state,
the driver's generator and the history are pickled to ``es_state.pkl`` atomically, so
``--resume`` continues exactly where the last complete generation ended.
"""

from __future__ import annotations

import json
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.league.es.algorithms import CanonicalES, CanonicalESConfig, OpenAIES, OpenAIESConfig
from palaestra.league.es.workers import ES_ENVS, ESWorker, PolicySpec, make_es_env

STATE_FILE = "es_state.pkl"
CONFIG_FILE = "es_config.json"


@dataclass(frozen=True)
class ESRunConfig:
    """One ES run."""

    env: str = "kelly"
    """Env (see :data:`~palaestra.league.es.workers.ES_ENVS`)."""
    algo: str = "openai"
    """``openai`` (OpenAI-ES) or ``canonical`` ((mu, lambda)-ES)."""
    generations: int = 100
    population: int = 32
    """Antithetic pairs (openai) or candidates lambda (canonical) per generation."""
    sigma: float = 0.05
    lr: float = 0.02
    """OpenAI-ES step size (Adam)."""
    episodes: int = 4
    """Episodes per evaluation (each perturbation's fitness is their mean return)."""
    hidden: tuple[int, ...] = (32, 32)
    workers: int = 2
    noise_size: int = 5_000_000
    seed: int = 0
    timeout_s: float = 300.0
    """A worker's share of a generation that takes longer is given up (the worker is replaced)."""
    address: str | None = None
    num_cpus: int = 2

    def __post_init__(self) -> None:
        if self.env not in ES_ENVS:
            raise ValueError(f"ES trains on {', '.join(ES_ENVS)}, not {self.env!r}")
        if self.algo not in ("openai", "canonical"):
            raise ValueError(f"algo must be 'openai' or 'canonical', got {self.algo!r}")
        for name in ("generations", "population", "episodes", "workers", "noise_size",
                     "num_cpus"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (self.sigma > 0 and self.lr > 0 and self.timeout_s > 0):
            raise ValueError("sigma, lr and timeout_s must be positive")

    def make_es(self, theta0: np.ndarray, obs_dim: int) -> OpenAIES | CanonicalES:
        if self.algo == "openai":
            return OpenAIES(OpenAIESConfig(population_pairs=self.population, sigma=self.sigma,
                                           lr=self.lr, noise_size=self.noise_size,
                                           seed=self.seed), theta0, obs_dim=obs_dim)
        mu = max(1, self.population // 2)
        return CanonicalES(CanonicalESConfig(lam=self.population, mu=mu, sigma=self.sigma,
                                             noise_size=self.noise_size, seed=self.seed,
                                             obs_norm=True), theta0, obs_dim=obs_dim)


ProgressFn = Callable[[dict[str, Any]], None]


class ESRun:
    """An ES run in ``out``: :meth:`train` runs it to ``config.generations``."""

    def __init__(self, config: ESRunConfig, out: Path, resume: bool = False) -> None:
        self.config, self.out = config, Path(out)
        env = make_es_env(config.env)
        self.spec = PolicySpec.for_env(env, config.hidden)
        state_path = self.out / STATE_FILE
        if resume:
            if not state_path.is_file():
                raise ValueError(f"{out}: nothing to resume (no {STATE_FILE})")
            stored = json.loads((self.out / CONFIG_FILE).read_text())
            if stored != _plain(config, keep_placement=False):
                raise ValueError(f"{out}: --resume needs the run's own settings ({CONFIG_FILE})")
            saved = pickle.loads(state_path.read_bytes())
            self.es = config.make_es(saved["theta0"], self.spec.obs_dim)
            self.es.load_state_dict(saved["es"])
            self.rng = np.random.default_rng()
            self.rng.bit_generator.state = saved["rng"]
            self.history: list[dict[str, Any]] = saved["history"]
            self.theta0 = saved["theta0"]
        else:
            if state_path.exists():
                raise FileExistsError(f"{out} already holds an ES run; pass --resume")
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / CONFIG_FILE).write_text(json.dumps(_plain(config, False), indent=2))
            policy = self.spec.build()
            self.rng = np.random.default_rng(config.seed)
            self.theta0 = policy.init(self.rng)
            self.es = config.make_es(self.theta0, self.spec.obs_dim)
            self.history = []
        self._workers: list[Any] = []

    # -- workers ----------------------------------------------------------------------------
    def _actor(self) -> Any:
        import ray

        remote = ray.remote(num_cpus=1, max_restarts=0)(ESWorker)
        return remote.remote(self.config.env, self.spec, self.config.seed, self.config.noise_size)

    def _ensure_workers(self) -> None:
        while len(self._workers) < self.config.workers:
            self._workers.append(self._actor())

    def close(self) -> None:
        """Stop the worker actors (their CPUs go back to Ray)."""
        import ray

        for w in self._workers:
            ray.kill(w)
        self._workers = []

    # -- the loop ---------------------------------------------------------------------------
    def train(self, progress: ProgressFn | None = None) -> list[dict[str, Any]]:
        while self.es.generation < self.config.generations:
            row = self.generation()
            if progress is not None:
                progress(row)
        return self.history

    def generation(self) -> dict[str, Any]:
        import ray

        c, es = self.config, self.es
        self._ensure_workers()
        start = time.perf_counter()
        asked = es.ask(self.rng)
        antithetic = c.algo == "openai"
        indices = list(dict.fromkeys(p.index for p in asked))
        gen_seed = int(self.rng.integers(2**31))
        obs_state = es.obs_stat.state_dict() if es.obs_stat is not None else None
        theta_ref = ray.put(es.theta)
        shares = [indices[k::len(self._workers)] for k in range(len(self._workers))]
        calls = {w.evaluate.remote(theta_ref, [(i, i) for i in share], es.sigma, c.episodes,
                                   gen_seed, obs_state, antithetic): k
                 for k, (w, share) in enumerate(zip(self._workers, shares)) if share}
        ready, late = ray.wait(list(calls), num_returns=len(calls), timeout=c.timeout_s)
        results, lost = [], 0
        for ref in ready:
            try:
                results.extend(ray.get(ref))
            except Exception:  # a dead worker: its evaluations are lost, the actor replaced
                lost += 1
                self._workers[calls[ref]] = self._actor()
        for ref in late:
            lost += 1
            ray.kill(self._workers[calls[ref]])
            self._workers[calls[ref]] = self._actor()
        if not results:
            raise RuntimeError(f"generation {es.generation + 1}: every evaluation was lost "
                               f"({lost} of {len(calls)} workers failed or did not start within "
                               f"{c.timeout_s:.0f} s; does Ray have {c.workers} free CPUs?)")
        stats = es.tell(results)
        row = {**stats._asdict(), "lost_workers": lost, "seconds": time.perf_counter() - start}
        self.history.append(row)
        self._save()
        return row

    def _save(self) -> None:
        state = {"es": self.es.state_dict(), "rng": self.rng.bit_generator.state,
                 "history": self.history, "theta0": self.theta0}
        tmp = self.out / (STATE_FILE + ".tmp")
        with open(tmp, "wb") as f:
            pickle.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.out / STATE_FILE)


def _plain(config: ESRunConfig, keep_placement: bool) -> dict[str, Any]:
    """The config as JSON data; without the fields that may change between machines."""
    data = json.loads(json.dumps(asdict(config)))
    if not keep_placement:
        for k in ("address", "num_cpus", "workers", "timeout_s", "generations"):
            data.pop(k)
    return data
