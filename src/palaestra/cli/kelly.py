"""``palaestra solve`` and ``palaestra evaluate``: the exact Kelly optimum and agents measured
against it."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from palaestra.errors import ConfigError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def build_solve(p: argparse.ArgumentParser) -> None:
    p.description = "Solve the classic Kelly coin-flip game exactly and print the optimal value."
    # the solver handles the classic game only, not the generalized one of the same family
    p.add_argument("env", choices=["kelly"], help="the game to solve")
    p.add_argument("--edge", type=float, default=0.6, help="win probability (default 0.6)")
    p.add_argument("--cap", type=float, default=250.0, help="wealth cap in dollars (default 250)")
    p.add_argument("--rounds", type=int, default=300, help="rounds (default 300)")
    p.add_argument("--wealth", type=float, default=25.0, help="starting wealth (default 25)")
    p.set_defaults(func=_cmd_solve)


def build_evaluate(p: argparse.ArgumentParser) -> None:
    from palaestra.agents.scripted.kelly import SCRIPTED_KELLY_AGENTS
    from palaestra.envs import short_names

    agents = "\n".join(f"  {k:<13} {v}" for k, v in SCRIPTED_KELLY_AGENTS.items())
    p.description = ("Play many seeded games per agent and report the mean final wealth with a "
                     "95% confidence interval and the regret against the exact optimum.")
    p.epilog = f"agents (or a checkpoint directory written by `palaestra train`):\n{agents}"
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("env", help=f"env short name or id: {', '.join(short_names('kelly'))}")
    p.add_argument(
        "--agent", action="append", required=True, help="agent name or checkpoint (repeatable)"
    )
    p.add_argument("--episodes", type=int, default=10_000, help="games per agent (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the game draws (default 0)")
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    p.set_defaults(func=_cmd_evaluate)


def _cmd_solve(args: argparse.Namespace, console: Console) -> int:
    import numpy as np

    from palaestra.envs.kelly import KellyConfig, solve_kelly

    config = KellyConfig(args.wealth, args.edge, args.cap, args.rounds)
    start = time.perf_counter()
    solution = solve_kelly(config.edge, config.cap_cents, config.max_rounds)
    elapsed = time.perf_counter() - start
    value = solution.value(config.initial_cents, config.max_rounds)
    console.print(
        f"V(${config.initial_wealth:.2f}, {config.max_rounds} rounds) = ${value:.6f}  "
        f"(edge {config.edge}, cap ${config.max_wealth:.2f}; solved in {elapsed:.2f} s"
        f"{', numba compilation included' if elapsed > 1 else ''})"
    )
    first = int(solution.bet(np.asarray(config.initial_cents), np.asarray(config.max_rounds)))
    console.print(f"optimal first bet: ${first / 100:.2f}")
    return 0


def _cmd_evaluate(args: argparse.Namespace, console: Console) -> int:
    import gymnasium as gym
    from rich.progress import Progress

    from palaestra.agents.registry import resolve_kelly_agent
    from palaestra.envs import get_spec, short_names
    from palaestra.evaluation.kelly import KellyEnv, evaluate_kelly
    from palaestra.evaluation.reports import print_kelly_table

    spec = get_spec(args.env)
    env = gym.make(spec.env_id).unwrapped
    if not isinstance(env, KellyEnv):
        raise ConfigError(f"evaluate plays the Kelly envs ({', '.join(short_names('kelly'))}), "
                          f"not {spec.short_name!r}")
    agents = [resolve_kelly_agent(a, env, spec.env_id) for a in args.agent]
    results = []
    with Progress(console=console, transient=True) as bar:
        for agent in agents:
            task = bar.add_task(f"{agent.name}: rounds", total=None)
            results.append(
                evaluate_kelly(
                    env, agent, spec.env_id, args.episodes, args.seed,
                    on_round=_round_reporter(bar, task, agent.name),
                )
            )
    print_kelly_table(results, console)
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n")
        console.print(f"results written to {args.json}")
    return 0


def _round_reporter(bar: Progress, task: TaskID, name: str) -> Callable[[int, int], None]:
    """The progress callback of one agent's games: the round reached, the games still live."""

    def on_round(t: int, live: int) -> None:
        bar.update(task, completed=t, description=f"{name}: round {t}, {live} live")

    return on_round
