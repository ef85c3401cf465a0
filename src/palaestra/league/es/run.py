"""``palaestra es train``: OpenAI-ES or canonical ES on Ray actors, with checkpoints and resume.

Each generation the driver asks the ES for perturbations, deals them round-robin to the worker
actors with the parent parameters (one object-store copy), and tells the ES whatever came back
within ``timeout_s``. A worker that dies or hangs costs only its share of the generation (the
ES updates from the rest) and is replaced by a fresh actor. After every generation the ES state,
the driver's generator and the history are pickled to ``es_state.pkl`` atomically, so
``--resume`` continues exactly where the last complete generation ended.

On ``bomber`` the run plays against a league run (``league``): the ES agent joins it as an
external member, draws its opponents from its PFSP distribution each generation, and after each
generation plays ``rate_games`` matches with the unperturbed parameters that are recorded in the
league state, so the agent is rated in the league's table.
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

from palaestra.errors import ConfigError, RunStateError
from palaestra.league.es.algorithms import CanonicalES, CanonicalESConfig, OpenAIES, OpenAIESConfig
from palaestra.league.es.obs_norm import RunningStat
from palaestra.league.es.workers import (
    ES_ENVS,
    LEAGUE_ENVS,
    ESWorker,
    PolicySpec,
    es_spaces,
    evaluate_parameters,
)

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
    memory: int | None = None
    """Memory units of an accumulator policy (0: feed-forward); None: 4 on counting, else 0."""
    workers: int = 2
    noise_size: int = 5_000_000
    seed: int = 0
    timeout_s: float = 300.0
    """A worker's share of a generation that takes longer is given up (the worker is replaced)."""
    address: str | None = None
    num_cpus: int = 2
    league: str | None = None
    """League envs: the league run directory the opponents come from and the ratings go to."""
    member: str | None = None
    """League envs: the ES agent's id in the league (default ``es:<out directory name>``)."""
    rate_games: int = 8
    """League envs: rated matches of the unperturbed parameters after each generation."""

    def __post_init__(self) -> None:
        if self.env not in ES_ENVS:
            raise ConfigError(f"ES trains on {', '.join(ES_ENVS)}, not {self.env!r}")
        if self.env in LEAGUE_ENVS and not self.league:
            raise ConfigError(f"ES on {self.env} plays against a league: pass --league RUN_DIR "
                              "(a run of `palaestra league train --env bomber`)")
        if self.env not in LEAGUE_ENVS and (self.league or self.member):
            raise ConfigError(f"{self.env} is single-agent: --league/--member do not apply")
        if self.memory is not None and (isinstance(self.memory, bool)
                                        or not isinstance(self.memory, int) or self.memory < 0):
            raise ConfigError(f"memory must be an integer >= 0, got {self.memory!r}")
        if isinstance(self.rate_games, bool) or not isinstance(self.rate_games, int) \
                or self.rate_games < 0:
            raise ConfigError(f"rate_games must be an integer >= 0, got {self.rate_games!r}")
        if self.algo not in ("openai", "canonical"):
            raise ConfigError(f"algo must be 'openai' or 'canonical', got {self.algo!r}")
        for name in ("generations", "population", "episodes", "workers", "noise_size",
                     "num_cpus"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not (self.sigma > 0 and self.lr > 0 and self.timeout_s > 0):
            raise ConfigError("sigma, lr and timeout_s must be positive")

    @property
    def memory_units(self) -> int:
        if self.memory is not None:
            return self.memory
        return 4 if self.env == "counting" else 0

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
        self.spec = PolicySpec.for_spaces(*es_spaces(config.env), config.hidden,
                                          config.memory_units)
        self.member = config.member or f"es:{self.out.resolve().name}"
        state_path = self.out / STATE_FILE
        if resume:
            if not state_path.is_file():
                raise RunStateError(f"{out}: nothing to resume (no {STATE_FILE})")
            stored = json.loads((self.out / CONFIG_FILE).read_text())
            stored.pop("package_version", None)
            if stored != _plain(config, keep_placement=False):
                raise RunStateError(f"{out}: --resume needs the run's own settings ({CONFIG_FILE})")
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
            import palaestra

            (self.out / CONFIG_FILE).write_text(json.dumps(
                {**_plain(config, False), "package_version": palaestra.__version__}, indent=2))
            policy = self.spec.build()
            self.rng = np.random.default_rng(config.seed)
            self.theta0 = policy.init(self.rng)
            self.es = config.make_es(self.theta0, self.spec.obs_dim)
            self.history = []
        if config.league:
            from palaestra.league.es.league_fitness import join_league

            join_league(config.league, self.member, {"sigma": config.sigma, "lr": config.lr})
        self._workers: list[Any] = []

    # -- workers ----------------------------------------------------------------------------
    def _actor(self) -> Any:
        import ray

        remote = ray.remote(num_cpus=1, max_restarts=0)(ESWorker)
        return remote.remote(self.config.env, self.spec, self.config.seed, self.config.noise_size,
                             self.config.league, self.member)

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
        lineup = None
        if c.league:
            from palaestra.league.es.league_fitness import es_lineup

            lineup = es_lineup(c.league, self.member)
        theta_ref = ray.put(es.theta)
        shares = [indices[k::len(self._workers)] for k in range(len(self._workers))]
        calls = {w.evaluate.remote(theta_ref, [(i, i) for i in share], es.sigma, c.episodes,
                                   gen_seed, obs_state, antithetic, lineup): k
                 for k, (w, share) in enumerate(zip(self._workers, shares)) if share}
        results, lost = self._gather(calls)
        if not results:
            raise RuntimeError(f"generation {es.generation + 1}: every evaluation was lost "
                               f"({lost} of {len(calls)} workers failed or did not start within "
                               f"{c.timeout_s:.0f} s; does Ray have {c.workers} free CPUs?)")
        stats = es.tell(results)
        row = {**stats._asdict(), "lost_workers": lost, "seconds": time.perf_counter() - start}
        if c.league and c.rate_games:
            row.update(self._rate(c.league, lineup))
        self.history.append(row)
        self._save()
        return row

    def _gather(self, calls: dict[Any, int]) -> tuple[list[Any], int]:
        """Results of the calls that came back within the timeout; workers that died or hung are
        replaced. Returns (results, number of workers lost).

        Only a lost actor (dead, unreachable, or late) costs its share: an exception raised by
        the worker's own code is a bug, re-raised here with the worker's traceback."""
        import ray
        from ray.exceptions import ActorUnavailableError, RayActorError

        ready, late = ray.wait(list(calls), num_returns=len(calls), timeout=self.config.timeout_s)
        results, lost = [], 0
        for ref in ready:
            try:
                results.extend(ray.get(ref))
            except (RayActorError, ActorUnavailableError):
                # a dead worker (ActorDiedError is a RayActorError): its evaluations are lost
                lost += 1
                self._workers[calls[ref]] = self._actor()
        for ref in late:
            lost += 1
            ray.kill(self._workers[calls[ref]])
            self._workers[calls[ref]] = self._actor()
        return results, lost

    def _rate(self, league: str, lineup: Any) -> dict[str, Any]:
        """Play the rated matches of the parent and record them in the league."""
        import ray

        from palaestra.league.es.league_fitness import record_matches

        es = self.es
        seeds = [int(s) for s in self.rng.integers(2**31, size=self.config.rate_games)]
        obs_state = es.obs_stat.state_dict() if es.obs_stat is not None else None
        theta_ref = ray.put(es.theta)
        n = len(self._workers)
        calls = {w.play_parent.remote(theta_ref, seeds[k::n], obs_state, lineup): k
                 for k, w in enumerate(self._workers) if seeds[k::n]}
        games, _ = self._gather(calls)
        games.sort(key=lambda g: g["seed"])
        record_matches(league, self.member, games)
        return {"rated_games": len(games),
                "rated_score": float(np.mean([g["score"] for g in games])) if games else None}

    def evaluate(self, episodes: int, seed: int) -> np.ndarray:
        """Single-agent envs: returns of the unperturbed parameters on ``episodes`` episodes."""
        if self.config.env in LEAGUE_ENVS:
            raise ValueError("league envs are evaluated by their rated matches")
        obs_norm = None
        if self.es.obs_stat is not None:
            obs_norm = RunningStat.from_state_dict(self.es.obs_stat.state_dict())
        return evaluate_parameters(self.config.env, self.spec, self.es.theta, obs_norm,
                                   episodes, seed)

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
        for k in ("address", "num_cpus", "workers", "timeout_s", "generations", "rate_games"):
            data.pop(k)
    return data
