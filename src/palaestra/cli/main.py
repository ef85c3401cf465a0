"""The ``palaestra`` command line: parses arguments and dispatches; the work lives elsewhere."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

EPILOG = """examples:
  palaestra envs
  palaestra solve kelly
  palaestra evaluate kelly --agent optimal --agent kelly --episodes 10000
  palaestra train kelly --algo ppo --timesteps 300000 --out runs/ppo
  palaestra evaluate kelly --agent runs/ppo
  palaestra bomber play --agent simple --agent random --agent random --agent random --games 20
  palaestra bomber check ../shared/reference/pommerman/*.jsonl.gz
  palaestra tournament --help
  palaestra replay view match.json.gz
  palaestra play bomber --vs simple simple random
"""


def _add_envs(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("envs", help="list the registered environments")
    p.set_defaults(func=_cmd_envs)


def _add_solve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "solve",
        help="solve a game exactly (Kelly coin flip: dynamic programming over cents)",
        description="Solve the classic Kelly coin-flip game exactly and print the optimal value.",
    )
    p.add_argument("env", choices=["kelly"], help="the game to solve")
    p.add_argument("--edge", type=float, default=0.6, help="win probability (default 0.6)")
    p.add_argument("--cap", type=float, default=250.0, help="wealth cap in dollars (default 250)")
    p.add_argument("--rounds", type=int, default=300, help="rounds (default 300)")
    p.add_argument("--wealth", type=float, default=25.0, help="starting wealth (default 25)")
    p.set_defaults(func=_cmd_solve)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    from palaestra.agents.scripted.kelly import SCRIPTED_KELLY_AGENTS

    agents = "\n".join(f"  {k:<13} {v}" for k, v in SCRIPTED_KELLY_AGENTS.items())
    p = sub.add_parser(
        "evaluate",
        help="evaluate agents on a single-agent env (mean return, 95%% CI, regret)",
        description="Play many seeded games per agent and report the mean final wealth with a "
        "95% confidence interval and the regret against the exact optimum.",
        epilog=f"agents (or a checkpoint directory written by `palaestra train`):\n{agents}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("env", help="env short name or id: kelly, kelly-generalized")
    p.add_argument(
        "--agent", action="append", required=True, help="agent name or checkpoint (repeatable)"
    )
    p.add_argument("--episodes", type=int, default=10_000, help="games per agent (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the game draws (default 0)")
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    p.set_defaults(func=_cmd_evaluate)


def _add_train(sub: argparse._SubParsersAction) -> None:
    from palaestra.league.training.config import TrainConfig

    d = TrainConfig()
    p = sub.add_parser(
        "train",
        help="train an agent with PPO (Stable-Baselines3 or RLlib)",
        description="Train a PPO agent on a single-agent env, save a checkpoint directory, "
        "then evaluate it. The checkpoint is what `palaestra evaluate --agent DIR` loads.",
    )
    p.add_argument("env", help="env short name or id: kelly, kelly-generalized")
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


def _add_bomber(sub: argparse._SubParsersAction) -> None:
    from palaestra.agents.scripted.bomber import SCRIPTED_BOMBER_AGENTS

    agents = "\n".join(f"  {k:<8} {v}" for k, v in SCRIPTED_BOMBER_AGENTS.items())
    p = sub.add_parser("bomber", help="play Bomber games; check the rules against Pommerman recordings")
    bsub = p.add_subparsers(dest="bomber_command", metavar="ACTION", required=True)
    play = bsub.add_parser(
        "play",
        help="play games between scripted agents and print who won",
        description="Play Bomber games with the given agents in seats player_0..3 and tally them.",
        epilog=f"agents:\n{agents}\nexample:\n  palaestra bomber play --agent simple "
        "--agent random --agent random --agent random --games 20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    play.add_argument("--agent", action="append", required=True,
                      help="agent per seat, 4 times (or once: all seats): a name below, or a "
                      "checkpoint directory from `palaestra league export`")
    play.add_argument("--mode", choices=["ffa", "team", "team_radio"], default="ffa")
    play.add_argument("--games", type=int, default=1, help="games to play (default 1)")
    play.add_argument("--seed", type=int, default=0, help="seed of game 0; game i uses seed + i")
    play.add_argument("--partial", action="store_true", help="partially observable (view 4)")
    play.add_argument("--show", action="store_true", help="print the board (text) after every step")
    play.add_argument("--png", type=Path, help="save the last frame of the last game as a PNG")
    play.add_argument("--json", type=Path, help="write the game results to this JSON file")
    play.set_defaults(func=_cmd_bomber_play)
    check = bsub.add_parser(
        "check",
        help="replay recorded Pommerman games and report the first divergence of each",
        description="Differential test: load each recorded game's initial state, apply its actions "
        "with our rules and compare every resulting state with the recording. Exit 1 if any "
        "game diverges.",
    )
    check.add_argument("files", nargs="+", type=Path, help="*.jsonl or *.jsonl.gz trajectories")
    check.set_defaults(func=_cmd_bomber_check)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="palaestra",
        description="Build, train, rate and pit reinforcement-learning agents against each other.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from palaestra import __version__

    parser.add_argument("--version", action="version", version=f"palaestra {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_envs(sub)
    _add_solve(sub)
    _add_evaluate(sub)
    _add_train(sub)
    _add_bomber(sub)
    from palaestra.cli.tournament import add_tournament

    add_tournament(sub)
    from palaestra.cli.replay import add_play, add_replay

    add_replay(sub)
    add_play(sub)
    from palaestra.cli.league import add_league

    add_league(sub)
    from palaestra.cli.es import add_es

    add_es(sub)
    from palaestra.cli.prefs import add_prefs

    add_prefs(sub)
    return parser


def _cmd_envs(args: argparse.Namespace, console: Console) -> int:
    from palaestra.envs import ENVS

    for spec in ENVS:
        console.print(f"[bold]{spec.env_id}[/]  (name: {spec.short_name}, {spec.kind})")
        console.print(f"    {spec.description}", highlight=False)
    return 0


def _cmd_solve(args: argparse.Namespace, console: Console) -> int:
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
    first = int(solution.bet(config.initial_cents, config.max_rounds))
    console.print(f"optimal first bet: ${first / 100:.2f}")
    return 0


def _cmd_evaluate(args: argparse.Namespace, console: Console) -> int:
    import gymnasium as gym
    from rich.progress import Progress

    from palaestra.agents.registry import resolve_kelly_agent
    from palaestra.envs import get_spec
    from palaestra.evaluation.kelly import evaluate_kelly
    from palaestra.evaluation.reports import print_kelly_table

    spec = get_spec(args.env)
    env = gym.make(spec.env_id).unwrapped
    agents = [resolve_kelly_agent(a, env, spec.env_id) for a in args.agent]
    results = []
    with Progress(console=console, transient=True) as bar:
        for agent in agents:
            task = bar.add_task(f"{agent.name}: rounds", total=None)
            results.append(
                evaluate_kelly(
                    env, agent, spec.env_id, args.episodes, args.seed,
                    on_round=lambda t, live, task=task: bar.update(
                        task, completed=t, description=f"{agent.name}: round {t}, {live} live"
                    ),
                )
            )
    print_kelly_table(results, console)
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n")
        console.print(f"results written to {args.json}")
    return 0


def _cmd_train(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from palaestra.evaluation.reports import print_kelly_table
    from palaestra.league.training.run import train
    from palaestra.league.training.config import TrainConfig

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


def _cmd_bomber_play(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import Progress
    from rich.table import Table

    from palaestra.agents.registry import resolve_bomber_agent
    from palaestra.envs.bomber.config import BomberConfig
    from palaestra.envs.bomber.env import BomberParallelEnv
    from palaestra.evaluation.bomber import play_bomber_game, tally

    names = args.agent * 4 if len(args.agent) == 1 else args.agent
    if len(names) != 4:
        raise ValueError(f"give --agent once or 4 times (one per seat), got {len(names)}")
    if args.games < 1:
        raise ValueError(f"--games must be >= 1, got {args.games}")
    agents = [resolve_bomber_agent(n) for n in names]
    config = BomberConfig(mode=args.mode, partially_observable=args.partial)
    env = BomberParallelEnv(render_mode="rgb_array" if args.png else None, mode=args.mode,
                            partially_observable=args.partial)
    show = (lambda e: console.print(e.to_ansi() + "\n", highlight=False)) if args.show else None
    results = []
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("games", total=args.games)
        for g in range(args.games):
            results.append(play_bomber_game(agents, config, args.seed + g, env, on_step=show))
            bar.advance(task)
    table = Table(title=f"Bomber {args.mode}: {args.games} games, seeds {args.seed}..")
    for col in ("seat", "agent", "wins", "ties", "losses", "win rate"):
        table.add_column(col, justify="left" if col in ("seat", "agent") else "right")
    for row in tally(results):
        table.add_row(row["seat"], row["agent"], str(row["wins"]), str(row["ties"]),
                      str(row["losses"]), f"{row['win_rate']:.1%}")
    console.print(table)
    if args.png:
        from palaestra.envs.bomber.render import save_png

        save_png(env.render(), args.png)
        console.print(f"last frame saved to {args.png}")
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n")
        console.print(f"results written to {args.json}")
    return 0


def _cmd_bomber_check(args: argparse.Namespace, console: Console) -> int:
    from palaestra.envs.bomber.fidelity import read_trajectories, replay

    diverged = 0
    for path in args.files:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        games = steps = bad = 0
        for trajectory in read_trajectories(path):
            games += 1
            steps += len(trajectory.get("steps", []))
            cap = 4 if trajectory.get("game_type") in ("Team", "TeamRadio") else 10
            try:
                divergence = replay(trajectory, max_blast_strength=cap)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}: game {games} is not a trajectory ({exc})") from None
            if divergence is not None:
                bad += 1
                if bad == 1:
                    console.print(f"[red]{path} game {games} (seed {trajectory.get('seed')}):[/] "
                                  f"{divergence}", highlight=False, soft_wrap=True)
        diverged += bad
        colour = "green" if bad == 0 else "red"
        console.print(f"[{colour}]{path}: {games} games, {steps} steps, {bad} diverged[/]",
                      soft_wrap=True)
    return 1 if diverged else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console()
    try:
        return int(args.func(args, console))
    except (ValueError, KeyError, FileExistsError, FileNotFoundError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        console.print(f"[bold red]error:[/] {message}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
