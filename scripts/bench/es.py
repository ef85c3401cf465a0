#!/usr/bin/env python
"""Evolution strategies benchmark: ES against PPO at equal env steps, and ES scaling with workers.

Prints, in one run on this machine:

* **Kelly** (``KellyLearningEnv``, final wealth): OpenAI-ES (``palaestra es`` on Ray actors) and
  PPO (the SB3 trainer of ``palaestra train kelly``), each given the same env-step budget; both
  final policies are evaluated on the same unseen games (mean final wealth in dollars; the exact
  optimum is $246.61).
* **Counting** (GridCounting, success = arriving exactly at step T): OpenAI-ES with the
  accumulator policy against recurrent PPO (sb3-contrib ``RecurrentPPO``, LSTM), same budget,
  same unseen episodes (success rate).
* **Scaling**: ES evaluations (episodes of perturbed parameters) per second on Kelly with 1 and
  with 2 worker actors, after a warm-up generation, and their ratio.

    python scripts/bench/es.py [--kelly-steps 300000] [--counting-steps 200000] [--seeds 0]
    python scripts/bench/es.py --quick      # small budgets, a smoke run (~2 min)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.league.es.obs_norm import RunningStat
from palaestra.league.es.run import ESRun, ESRunConfig
from palaestra.league.es.workers import evaluate_parameters, make_es_env
from palaestra.league.rllib.session import ray_session

KELLY_DOLLARS = 250.0
"""KellyLearningEnv's final reward is the final wealth over $250."""


def unseen_seeds(episodes: int) -> list[int]:
    """The evaluation episodes both methods play (the ES evaluator draws them the same way)."""
    return [int(s) for s in np.random.default_rng([EVAL_SEED, 99]).integers(2**31, size=episodes)]


EVAL_SEED = 7_777_777


def es_to_budget(config: ESRunConfig, out: Path, budget: int) -> tuple[ESRun, int, float]:
    """Run ES generations until ``budget`` env steps are spent; returns (run, steps, seconds)."""
    run = ESRun(config, out)
    start = time.perf_counter()
    try:
        steps = 0
        while steps < budget:
            steps = run.generation()["total_steps"]
    finally:
        run.close()
    return run, steps, time.perf_counter() - start


def es_eval(run: ESRun, episodes: int) -> np.ndarray:
    obs_norm = None
    if run.es.obs_stat is not None:
        obs_norm = RunningStat.from_state_dict(run.es.obs_stat.state_dict())
    return evaluate_parameters(run.config.env, run.spec, run.es.theta, obs_norm, episodes,
                               EVAL_SEED)


def es_initial(run: ESRun, episodes: int) -> np.ndarray:
    """The run's starting parameters on the same episodes (no observation normalisation yet)."""
    return evaluate_parameters(run.config.env, run.spec, run.theta0, None, episodes, EVAL_SEED)


def play(env_name: str, act: Callable[[Any, bool], Any], episodes: int) -> np.ndarray:
    """Returns of ``act(obs, first_step)`` on the unseen episodes."""
    env = make_es_env(env_name)
    out = []
    for s in unseen_seeds(episodes):
        obs, _ = env.reset(seed=s)
        total, first = 0.0, True
        while True:
            obs, r, term, trunc, _ = env.step(act(obs, first))
            total, first = total + float(r), False
            if term or trunc:
                break
        out.append(total)
    return np.asarray(out)


def ppo_kelly(budget: int, seed: int, episodes: int, tmp: Path) -> tuple[np.ndarray, int, float]:
    from stable_baselines3 import PPO

    from palaestra.league.training.config import TrainConfig
    from palaestra.league.training.sb3 import SB3_MODEL, train_sb3

    out = tmp / f"ppo-kelly-{seed}"
    out.mkdir()
    config = TrainConfig(timesteps=budget, seed=seed, tensorboard=False)
    start = time.perf_counter()
    train_sb3(config, out)
    seconds = time.perf_counter() - start
    model = PPO.load(str(out / SB3_MODEL), device="cpu")
    returns = play("kelly", lambda o, _: model.predict(o, deterministic=True)[0], episodes)
    steps = -(-budget // (config.n_envs * config.n_steps)) * config.n_envs * config.n_steps
    return returns, steps, seconds


def ppo_counting(budget: int, seed: int, episodes: int) -> tuple[np.ndarray, int, float]:
    import torch
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    venv = make_vec_env(lambda: make_es_env("counting"), n_envs=8, seed=seed)
    model = RecurrentPPO("MlpLstmPolicy", venv, n_steps=128, batch_size=256, ent_coef=0.01,
                         seed=seed, device="cpu", verbose=0)
    start = time.perf_counter()
    model.learn(budget)
    seconds = time.perf_counter() - start
    state: dict[str, Any] = {}

    def act(obs: Any, first: bool) -> int:
        if first:
            state["lstm"] = None
        action, state["lstm"] = model.predict(obs, state=state["lstm"],
                                              episode_start=np.array([first]), deterministic=True)
        return int(action)

    return play("counting", act, episodes), int(model.num_timesteps), seconds


def scaling(generations: int, tmp: Path) -> dict[int, float]:
    """Evaluations/s of ES on Kelly with 1 and 2 workers (a warm-up generation not timed)."""
    rates = {}
    for workers in (1, 2):
        config = ESRunConfig(env="kelly", population=16, episodes=2, workers=workers,
                             generations=generations + 1, seed=0)
        run = ESRun(config, tmp / f"scale-{workers}")
        try:
            run.generation()  # actors start, numba caches load
            start = time.perf_counter()
            for _ in range(generations):
                run.generation()
            seconds = time.perf_counter() - start
        finally:
            run.close()
        rates[workers] = generations * config.population * 2 * config.episodes / seconds
    return rates


def mean_sem(x: np.ndarray) -> str:
    return f"{x.mean():.4g} ± {x.std(ddof=1) / np.sqrt(len(x)):.2g}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kelly-steps", type=int, default=300_000)
    p.add_argument("--counting-steps", type=int, default=200_000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--eval-episodes", type=int, default=2000)
    p.add_argument("--scaling-generations", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="small budgets (a smoke run)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args()
    if args.quick:
        args.kelly_steps, args.counting_steps = 40_000, 20_000
        args.eval_episodes, args.scaling_generations = 200, 2
    rows: list[dict[str, Any]] = []
    config = ESRunConfig(num_cpus=2)
    with ray_session(config), tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for seed in args.seeds:
            kelly = ESRunConfig(env="kelly", population=8, episodes=4, sigma=0.02, lr=0.01,
                                hidden=(16,), workers=2, generations=10**6, seed=seed)
            run, steps, secs = es_to_budget(kelly, tmp / f"es-kelly-{seed}", args.kelly_steps)
            rows.append({"env": "kelly", "method": "(ES initial params)", "seed": seed,
                         "steps": 0, "seconds": 0.0, "returns": es_initial(run, args.eval_episodes)
                         * KELLY_DOLLARS})
            rows.append({"env": "kelly", "method": "OpenAI-ES", "seed": seed, "steps": steps,
                         "seconds": secs, "returns": es_eval(run, args.eval_episodes) * KELLY_DOLLARS})
            ret, steps, secs = ppo_kelly(args.kelly_steps, seed, args.eval_episodes, tmp)
            rows.append({"env": "kelly", "method": "PPO (SB3)", "seed": seed, "steps": steps,
                         "seconds": secs, "returns": ret * KELLY_DOLLARS})
            counting = ESRunConfig(env="counting", population=16, episodes=16, sigma=0.5, lr=0.1,
                                   hidden=(), workers=2, generations=10**6, seed=seed)
            run, steps, secs = es_to_budget(counting, tmp / f"es-count-{seed}", args.counting_steps)
            rows.append({"env": "counting", "method": "(ES initial params)", "seed": seed,
                         "steps": 0, "seconds": 0.0,
                         "returns": es_initial(run, args.eval_episodes)})
            rows.append({"env": "counting", "method": "OpenAI-ES (accumulator)", "seed": seed,
                         "steps": steps, "seconds": secs,
                         "returns": es_eval(run, args.eval_episodes)})
            ret, steps, secs = ppo_counting(args.counting_steps, seed, args.eval_episodes)
            rows.append({"env": "counting", "method": "RecurrentPPO (LSTM)", "seed": seed,
                         "steps": steps, "seconds": secs, "returns": ret})
        rates = scaling(args.scaling_generations, tmp)

    print(f"\nES vs PPO at equal env steps (evaluation: {args.eval_episodes} unseen episodes; "
          "Kelly: final wealth in $, optimum $246.61; counting: success rate)")
    print(f"{'env':<9}{'method':<26}{'seed':>5}{'env steps':>12}{'train s':>9}  result")
    for r in rows:
        print(f"{r['env']:<9}{r['method']:<26}{r['seed']:>5}{r['steps']:>12,}{r['seconds']:>9.1f}  "
              f"{mean_sem(r['returns'])}")
    print("\nES evaluations/s on Kelly (16 antithetic pairs x 2 episodes per generation)")
    print(f"  1 worker : {rates[1]:8.1f}/s")
    print(f"  2 workers: {rates[2]:8.1f}/s   ratio {rates[2] / rates[1]:.2f}x")
    if args.json:
        data = {"rows": [{**{k: v for k, v in r.items() if k != "returns"},
                          "mean": float(r["returns"].mean())} for r in rows],
                "evals_per_s": {str(k): v for k, v in rates.items()}}
        args.json.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
