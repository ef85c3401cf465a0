"""``palaestra bomber play`` and ``palaestra bomber check``: games between agents, and the rules
checked against recorded Pommerman games."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from palaestra.errors import ConfigError, FileFormatError, require_extra


def build_bomber(p: argparse.ArgumentParser) -> None:
    from palaestra.agents.registry import bomber_builtins
    from palaestra.envs.bomber.constants import MODES

    agents = "\n".join(f"  {k:<16} {v}" for k, v in bomber_builtins().items())
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
    play.add_argument("--mode", choices=list(MODES), default="ffa")
    play.add_argument("--games", type=int, default=1, help="games to play (default 1)")
    play.add_argument("--seed", type=int, default=0, help="seed of game 0; game i uses seed + i")
    play.add_argument("--partial", action="store_true", help="partially observable (view 4)")
    play.add_argument("--show", action="store_true", help="print the board (text) after every step")
    play.add_argument("--png", type=Path, help="save the last frame of the last game as a PNG")
    play.add_argument("--json", type=Path, help="write the game results to this JSON file")
    play.set_defaults(func=_cmd_play)
    versus = bsub.add_parser(
        "versus",
        help="one agent against three others, seats rotated: wins, ties and losses",
        description="Play --games FFA games of --agent against three --opponent agents. Game g "
        "seats the agent at g % 4 on the board of seed (--seed, g), so every agent measured with "
        "the same seed meets the same boards in the same seats. A win is a game it ends alone on "
        "top; a tie, a game without a winner that it was still standing in at the end; anything "
        "else is a loss. With --mode team the agent plays both seats of side g % 2 (seats 0 and "
        "2, or 1 and 3) against two --opponent agents; its team wins when its side wins and ties "
        "when nobody wins while one of its seats still stands.",
        epilog=f"agents:\n{agents}\nexamples:\n  palaestra bomber versus --agent league "
        "--opponent simple --games 1000 --seed 0\n  palaestra bomber versus --mode team --agent "
        "filtered-random --opponent simple --games 200",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    versus.add_argument("--agent", required=True,
                        help="a name below, or a checkpoint directory from `palaestra league export`")
    versus.add_argument("--opponent", default="simple", help="the agent in the other three seats (simple)")
    versus.add_argument("--mode", choices=list(MODES), default="ffa",
                        help="ffa: one seat against three; team and team_radio: one side (two "
                        "seats) against two (ffa)")
    versus.add_argument("--games", type=int, default=100, help="games to play (100)")
    versus.add_argument("--seed", type=int, default=0)
    versus.add_argument("--workers", type=int, default=None,
                        help="processes playing the games (default: one per CPU); results do not depend on it")
    versus.add_argument("--json", type=Path, help="write the tally to this JSON file")
    versus.set_defaults(func=_cmd_versus)
    check = bsub.add_parser(
        "check",
        help="replay recorded Pommerman games and report the first divergence of each",
        description="Differential test: load each recorded game's initial state, apply its actions "
        "with our rules and compare every resulting state with the recording. Exit 1 if any "
        "game diverges.",
    )
    check.add_argument("files", nargs="+", type=Path, help="*.jsonl or *.jsonl.gz trajectories")
    check.set_defaults(func=_cmd_check)


def _cmd_play(args: argparse.Namespace, console: Console) -> int:
    names = args.agent * 4 if len(args.agent) == 1 else args.agent
    if len(names) != 4:
        raise ConfigError(f"give --agent once or 4 times (one per seat), got {len(names)}")
    if args.games < 1:
        raise ConfigError(f"--games must be >= 1, got {args.games}")
    if args.png:
        require_extra("viewer", "palaestra bomber play --png", "pygame")
    from rich.progress import Progress
    from rich.table import Table

    from palaestra.agents.registry import resolve_bomber_agent
    from palaestra.envs.bomber.config import BomberConfig
    from palaestra.envs.bomber.env import BomberParallelEnv
    from palaestra.evaluation.bomber import play_bomber_game, tally

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


def _cmd_versus(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import Progress

    from palaestra.evaluation.versus import default_workers, play_versus

    workers = default_workers() if args.workers is None else args.workers
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("games", total=args.games)
        t = play_versus(args.agent, args.opponent, args.games, args.seed, workers,
                        lambda n: bar.advance(task, n), mode=args.mode)
    setting = (f"three {t.opponent}, {t.games} FFA games (seats rotated" if t.mode == "ffa" else
               f"two {t.opponent}, {t.games} team games (sides rotated")
    console.print(f"{t.agent} against {setting}, seed {t.seed}): won {t.wins}, tied {t.ties}, "
                  f"lost {t.losses}: {t.win_rate:.1%} wins", highlight=False)
    if args.json:
        args.json.write_text(json.dumps(t.to_dict(), indent=2) + "\n")
        console.print(f"tally written to {args.json}")
    return 0


def _cmd_check(args: argparse.Namespace, console: Console) -> int:
    from palaestra.envs.bomber.fidelity import read_trajectories, recorded_blast_cap, replay

    diverged = 0
    for path in args.files:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        games = steps = bad = 0
        for trajectory in read_trajectories(path):
            games += 1
            steps += len(trajectory.get("steps", []))
            try:
                divergence = replay(trajectory, max_blast_strength=recorded_blast_cap(trajectory))
            except (KeyError, TypeError, ValueError) as exc:
                raise FileFormatError(f"{path}: game {games} is not a trajectory ({exc})") from None
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
