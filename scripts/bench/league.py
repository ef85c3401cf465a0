#!/usr/bin/env python
"""League training speed: the new path against the old one, and the compute ceiling, in one run.

Both paths are what ``palaestra league train --env bomber`` builds (LeagueConfig ->
league/population/algorithm.py), with the same league (two learners, the default bots and
curriculum), the same PPO settings and the local env runner (num_env_runners=0, 2 cores):

  old      ``--sampler env --model mlp --no-action-mask``: RLlib's runner over one BomberLeagueEnv
           (one board, Python bots, RLlib's connectors), the MLP over the flat planes
  new      the default: ``--sampler boards`` (BomberVectorEnvRunner: --boards boards per step,
           compiled bots, one forward pass per module and step), the CNN behind the action mask
  ceiling  the new path's module alone: its sampling forward pass plus the PPO epochs on a random
           batch of the same size (league/rllib/ceiling.py), no env at all

Figures are learner env-steps per second of wall time over whole training iterations
(``algo.train()``: sampling and learning), after one warm-up iteration per path; the two paths
alternate so that the load of a shared machine hits both alike. The last line is exactly
``league learner steps/s: new N, old M, ratio R, ceiling C``.

    python scripts/bench/league.py [--quick] [--boards 32] [--steps 4000] [--iterations 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any


def build(config: Any, out: Path) -> tuple[Any, list[str]]:
    """The league's own PPO algorithm for ``config``, with its lineups installed."""
    from palaestra.league.population import algorithm
    from palaestra.league.population.run import active_lineups, env_config, prepare_run, shaping_table

    config, state = prepare_run(config, out, resume=False, force=True)
    algo = algorithm.build_algorithm(config, state.learners(), [], env_config(state, config))
    algorithm.push_league(algo, active_lineups(state, config), state.bots(), shaping_table(state))
    return algo, state.learners()


def train_rate(algo: Any, learners: list[str]) -> tuple[float, float]:
    """(seconds, learner agent-steps) of one ``algo.train()``."""
    from palaestra.league.population import algorithm

    start = time.perf_counter()
    result = algo.train()
    seconds = time.perf_counter() - start
    algorithm.pop_results(algo)  # the driver collects match records every iteration
    agents = result["env_runners"].get("num_agent_steps_sampled", {})
    return seconds, float(sum(agents.get(m, 0) for m in learners))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boards", type=int, default=32, help="boards per runner, new path (32)")
    parser.add_argument("--steps", type=int, default=4000, help="env steps per iteration (4000)")
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations per path (3)")
    parser.add_argument("--quick", action="store_true", help="1000 steps, one timed iteration (< 1 min)")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.iterations = 1000, 1

    import ray
    import torch

    from palaestra.league.population.algorithm import module_spec
    from palaestra.league.population.config import LeagueConfig
    from palaestra.league.rllib.ceiling import compute_ceiling

    torch.set_num_threads(1)
    common: dict[str, Any] = dict(population=2, steps_per_iteration=args.steps, minibatch_size=min(500, args.steps),
                                  epochs=4, snapshot_every=0, eval_every=0, num_boards=args.boards)
    configs = {"new": LeagueConfig(**common),
               "old": LeagueConfig(**common, sampler="env", model="mlp", action_mask=False)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in configs}
    with tempfile.TemporaryDirectory() as tmp:
        algos = {k: build(c, Path(tmp) / k) for k, c in configs.items()}
        for algo, learners in algos.values():
            train_rate(algo, learners)  # warm-up: numba, torch, first episodes
        for _ in range(args.iterations):
            for name, (algo, learners) in algos.items():
                runs[name].append(train_rate(algo, learners))
        for algo, _ in algos.values():
            algo.stop()
    ray.shutdown()
    rate = {k: sum(r[1] for r in v) / sum(r[0] for r in v) for k, v in runs.items()}
    for name in ("new", "old"):
        steps, secs = sum(r[1] for r in runs[name]), sum(r[0] for r in runs[name])
        print(f"{name}: {steps:.0f} learner steps in {secs:.1f} s over {len(runs[name])} iterations "
              f"-> {rate[name]:.0f}/s", flush=True)
    ceiling = compute_ceiling(module_spec(configs["new"]), batch_size=args.steps,
                              minibatch_size=min(500, args.steps), epochs=4, threads=1)
    print(f"ceiling (new module, forward + 4 PPO epochs, 1 thread): {ceiling.samples_per_s:.0f}/s; "
          f"new path at {rate['new'] / ceiling.samples_per_s:.0%} of it", flush=True)
    print(f"league learner steps/s: new {rate['new']:.0f}, old {rate['old']:.0f}, "
          f"ratio {rate['new'] / rate['old']:.2f}, ceiling {ceiling.samples_per_s:.0f}")


if __name__ == "__main__":
    main()
