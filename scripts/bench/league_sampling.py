#!/usr/bin/env python
"""League sampling in RLlib: the vector EnvRunner against the current path, side by side.

Two PPO algorithms, both with the local env runner (num_env_runners=0), the same module spec (the
league's default MLP, --hidden), the same league (two learners ``m0`` and ``m1``, each facing the
other and the bots simple, random and static) and the same PPO settings (the league's defaults:
--batch env steps per iteration, minibatch 500, 4 epochs):

  current   RLlib's MultiAgentEnvRunner over one BomberLeagueEnv (one board, Python bots,
            RLlib's connectors)
  vector    BomberVectorEnvRunner over --boards boards (compiled bots, one forward pass per
            module and step)

For each, after a warm-up: ``env_runner.sample(num_timesteps=--batch)`` alone (--repeats times,
the two paths interleaved so that the load of a shared machine hits both alike), then
--iterations full ``algo.train()`` iterations. Figures are wall-clock rates: env steps (board
steps) and learner agent-steps (steps of the learners' seats, what PPO trains on) per second.
One line per figure:
``<path> <sample|train> learner-steps/s N env-steps/s M (...)``.

    python scripts/bench/league_sampling.py [--quick] [--boards 32] [--batch 4000] [--iterations 2] [--model cnn]

``--model cnn`` uses the masked CNN module of :mod:`palaestra.league.rllib.cnn` for both paths (the
current path then needs BomberLeagueEnv's ``masked_members`` for its dict observations).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

MEMBERS = ["m0", "m1"]
BOTS = ["bot:simple", "bot:random", "bot:static"]


def build(vector: bool, boards: int, batch: int, hidden: list[int], epochs: int, model: str = "mlp") -> Any:
    """The PPO algorithm of one path (``model``: the MLP on the flat planes, or the masked CNN)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.tune.registry import register_env

    from palaestra.league.population.algorithm import ENV_NAME, make_league_env
    from palaestra.league.population.envs.bomber import ACT_SPACE, OBS_SPACE
    from palaestra.league.population.vector_runner import BomberVectorEnvRunner
    from palaestra.league.rllib.modules import identity_mapping, module_spec

    register_env(ENV_NAME, make_league_env)
    lineups = {m: {o: 1.0 for o in [*MEMBERS, *BOTS] if o != m} for m in MEMBERS}
    env_config = {"lineups": lineups, "bots": BOTS, "shaping": {}, "seed": 0, "agent_ids": MEMBERS,
                  "env": "bomber", "num_boards": boards}
    spec = module_spec(OBS_SPACE, ACT_SPACE, hidden)
    if model == "cnn":
        from palaestra.league.rllib.cnn import cnn_module_spec

        spec = cnn_module_spec()
        env_config["masked_members"] = MEMBERS  # BomberLeagueEnv's dict observations with the mask
    runners: dict[str, Any] = {"env_runner_cls": BomberVectorEnvRunner} if vector else {}
    ppo = (PPOConfig()
           .environment(ENV_NAME, env_config=env_config, disable_env_checking=True)
           .env_runners(num_env_runners=0, num_envs_per_env_runner=1, rollout_fragment_length="auto", **runners)
           .multi_agent(policies=set(MEMBERS), policy_mapping_fn=identity_mapping, policies_to_train=MEMBERS)
           .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={m: spec for m in MEMBERS}))
           .training(train_batch_size_per_learner=batch, minibatch_size=min(500, batch), num_epochs=epochs)
           .debugging(seed=0, log_level="ERROR"))
    return ppo.build_algo()


def sample_rate(algo: Any, steps: int) -> tuple[float, float, float]:
    """(seconds, env steps, learner agent-steps) of one ``sample(num_timesteps=steps)``."""
    t = time.perf_counter()
    episodes = algo.env_runner.sample(num_timesteps=steps)
    dt = time.perf_counter() - t
    env_steps = sum(e.env_steps() for e in episodes)
    learner = sum(len(sa) for e in episodes for aid, sa in e.agent_episodes.items() if aid in MEMBERS)
    algo.env_runner.get_metrics()  # drop the logged counts, as an iteration would
    return dt, env_steps, learner


def train_rate(algo: Any) -> tuple[float, float, float]:
    """(seconds, env steps, learner agent-steps) of one ``algo.train()``."""
    t = time.perf_counter()
    result = algo.train()
    dt = time.perf_counter() - t
    runners = result["env_runners"]
    agents = runners.get("num_agent_steps_sampled", {})
    return dt, float(runners["num_env_steps_sampled"]), float(sum(agents.get(m, 0) for m in MEMBERS))


def line(name: str, what: str, runs: list[tuple[float, float, float]]) -> None:
    secs = sum(r[0] for r in runs)
    env_steps = sum(r[1] for r in runs)
    learner = sum(r[2] for r in runs)
    print(f"{name} {what} learner-steps/s {learner / secs:.0f} env-steps/s {env_steps / secs:.0f} "
          f"({learner:.0f} learner steps, {env_steps:.0f} env steps in {secs:.2f} s, {len(runs)} runs)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boards", type=int, default=32)
    parser.add_argument("--batch", type=int, default=4000)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp",
                        help="the MLP of --hidden, or the masked CNN (cnn.py defaults)")
    parser.add_argument("--quick", action="store_true", help="small batch, one repeat, one iteration")
    args = parser.parse_args()
    if args.quick:
        args.batch, args.repeats, args.iterations = 1000, 1, 1

    import ray
    import torch

    torch.set_num_threads(1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    algos = {"current": build(False, args.boards, args.batch, args.hidden, args.epochs, args.model),
             "vector": build(True, args.boards, args.batch, args.hidden, args.epochs, args.model)}
    model = f"MLP {args.hidden}" if args.model == "mlp" else "masked CNN"
    print(f"boards {args.boards} (vector), batch {args.batch} env steps, {model}, {args.epochs} epochs", flush=True)
    for algo in algos.values():
        sample_rate(algo, min(500, args.batch))  # warm-up: numba, torch, first episodes
    samples: dict[str, list[tuple[float, float, float]]] = {k: [] for k in algos}
    for _ in range(args.repeats):
        for name, algo in algos.items():
            samples[name].append(sample_rate(algo, args.batch))
    for name in algos:
        line(name, "sample", samples[name])
    trains: dict[str, list[tuple[float, float, float]]] = {k: [] for k in algos}
    for _ in range(args.iterations):
        for name, algo in algos.items():
            trains[name].append(train_rate(algo))
    for name in algos:
        line(name, "train", trains[name])
    for algo in algos.values():
        algo.stop()
    ray.shutdown()


if __name__ == "__main__":
    main()
