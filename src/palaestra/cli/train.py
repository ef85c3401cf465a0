"""``palaestra train``: PPO on a single-agent env (Stable-Baselines3 or RLlib), then evaluate."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from palaestra.errors import require_extra


def build_train(p: argparse.ArgumentParser) -> None:
    from palaestra.envs import short_names
    from palaestra.league.training.config import TrainConfig

    d = TrainConfig()
    p.description = ("Train a PPO agent on a single-agent env, save a checkpoint directory, "
                     "then evaluate it. The checkpoint is what `palaestra evaluate --agent DIR` loads.")
    p.add_argument("env", help=f"env short name or id: {', '.join(short_names('kelly'))}")
    p.add_argument("--algo", choices=["ppo"], default="ppo", help="algorithm (default ppo)")
    p.add_argument(
        "--backend", choices=["sb3", "rllib"], default=d.backend,
        help="sb3: Stable-Baselines3 in-process; rllib: RLlib on a local Ray (default sb3)",
    )
    p.add_argument("--timesteps", type=int, default=d.timesteps, help=f"env steps ({d.timesteps})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"seed ({d.seed})")
    p.add_argument("--out", type=Path, required=True, help="checkpoint directory to create")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--n-envs", type=int, default=d.n_envs, help=f"parallel envs ({d.n_envs})")
    p.add_argument("--lr", type=float, default=d.learning_rate, help="learning rate")
    p.add_argument(
        "--reward", choices=["increment", "final"], default=d.reward,
        help="learning signal: per-step wealth change or final wealth (same optimum)",
    )
    p.add_argument(
        "--reward-model", help="pay the learner a learned reward instead: a reward model "
        "directory from `palaestra prefs train` (its reward_model/)",
    )
    p.add_argument(
        "--eval-episodes", type=int, default=d.eval_episodes,
        help=f"games for the evaluation after training ({d.eval_episodes})",
    )
    p.add_argument("--ray-address", help="rllib: address of an existing Ray cluster")
    p.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard logs")
    p.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace, console: Console) -> int:
    if args.backend == "rllib":
        require_extra("rllib", "palaestra train --backend rllib", "ray", "torch")
    else:
        require_extra("sb3", "palaestra train", "stable_baselines3", "torch")
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from palaestra.evaluation.reports import print_kelly_table
    from palaestra.league.training.config import TrainConfig
    from palaestra.league.training.run import train

    config = TrainConfig(
        env=args.env,
        algo=args.algo,
        backend=args.backend,
        timesteps=args.timesteps,
        seed=args.seed,
        n_envs=args.n_envs,
        learning_rate=args.lr,
        reward=args.reward,
        reward_model=args.reward_model,
        eval_episodes=args.eval_episodes,
        ray_address=args.ray_address,
        tensorboard=not args.no_tensorboard,
    )
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} steps"), TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(), TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{config.algo}/{config.backend}", total=config.timesteps, stats="")

        def report(steps: int, stats: dict[str, float]) -> None:
            text = f"final wealth ${stats['final_wealth']:.2f}" if "final_wealth" in stats else ""
            bar.update(task, completed=min(steps, config.timesteps), stats=text)

        result = train(config, args.out, force=args.force, progress=report)
    console.print(f"checkpoint saved to {args.out}")
    print_kelly_table([result], console)
    return 0
