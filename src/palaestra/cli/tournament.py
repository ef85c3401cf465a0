"""``palaestra tournament …``: submit agents, run tournaments, show leaderboards (parse + dispatch)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from palaestra.errors import ConfigError, require_extra

DEFAULT_DB = Path("tournament.sqlite")

EPILOG = """examples:
  palaestra tournament submit my_bot.py --name mybot --env bomber
  palaestra tournament submit runs/ppo --name ppo --env kelly
  palaestra tournament submit --cmd "node bot.js" --name jsbot --env bomber
  palaestra tournament run --env bomber --name cup --agent mybot --agent simple --agent random --agent static
  palaestra tournament run --env hide-and-seek --variant quadrant --name hns --agent heuristic --agent random
  palaestra tournament run --env counting --name count --agent counter --agent rush --agent off-by-one
  palaestra tournament leaderboard --name cup --plots plots/
  palaestra tournament replay --name cup --match MATCH_ID --out match.json.gz
"""


def build_tournament(p: argparse.ArgumentParser) -> None:
    from palaestra.envs import short_names
    from palaestra.envs.bomber.constants import MODES
    from palaestra.envs.hide_and_seek.config import VARIANTS
    from palaestra.evaluation.match import TOURNAMENT_FAMILIES

    envs = sorted(short_names(*TOURNAMENT_FAMILIES))
    p.description = ("A local tournament: submissions run sandboxed, results and replays go to a "
                     "SQLite file (--db), ratings are Elo and OpenSkill.")
    p.epilog, p.formatter_class = EPILOG, argparse.RawDescriptionHelpFormatter
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"tournament database ({DEFAULT_DB})")
    tsub = p.add_subparsers(dest="tournament_command", metavar="ACTION", required=True)

    s = tsub.add_parser("submit", help="validate an agent in the sandbox and register it",
                        description="Validate an agent (load it in the sandbox, play one probe "
                        "game seated and seeded at random like a match) and register it under a "
                        "name. A path ending in .py is a Python file (class Agent or function "
                        "agent(obs, config)); a directory is a "
                        "checkpoint written by `palaestra train`; --cmd runs any program speaking "
                        "the JSON-lines protocol (docs/protocol.md).")
    s.add_argument("path", nargs="?", help="Python file or checkpoint directory")
    s.add_argument("--cmd", help="command line of a JSON-lines program (instead of a path)")
    s.add_argument("--name", required=True, help="name in the tournament")
    s.add_argument("--env", required=True, choices=envs)
    s.add_argument("--replace", action="store_true", help="replace a submission of that name")
    s.set_defaults(func=_cmd_submit)

    r = tsub.add_parser("run", help="run (or resume) a tournament",
                        description="Schedule and play a tournament; rerunning the same --name "
                        "with the same options resumes it, playing only what is missing.")
    r.add_argument("--name", required=True, help="tournament name (resume key)")
    r.add_argument("--env", required=True, choices=envs)
    r.add_argument("--agent", action="append", required=True,
                   help="built-in agent or submission name (repeat; Bomber needs 4 or more, the others "
                   "2). A built-in given again enters as another player, simple#2, simple#3 ...")
    r.add_argument("--schedule", choices=["round-robin", "matchmaking"], default="round-robin")
    r.add_argument("--rounds", type=int, default=1, help="round-robin passes or matchmaking rounds")
    r.add_argument("--players", type=int, help="Kelly, counting: agents per match (default 2)")
    r.add_argument("--mode", choices=list(MODES), help="Bomber mode (ffa)")
    r.add_argument("--variant", choices=list(VARIANTS),
                   help="hide-and-seek game: full (16x16, 2v2, 120 steps; the default) or quadrant "
                        "(10x10, 2v2, 60 steps)")
    r.add_argument("--seed", type=int,
                   help="tournament seed; the same seed replays the same matches. Default: the "
                        "stored tournament's seed when resuming, else a secret one drawn from the "
                        "OS (printed at the end, never shown to agents), since agents that can "
                        "guess the seed can rebuild hidden state (docs/sandbox.md)")
    r.add_argument("--workers", type=int, default=2, help="parallel worker processes (2)")
    r.add_argument("--ray-address", help="run matches on this Ray cluster instead")
    r.add_argument("--trust-submissions", action="store_true",
                   help="run submissions without isolation (only the time and memory limits); "
                        "without it they run jailed (bubblewrap) and the run stops where that "
                        "is impossible")
    r.add_argument("--step-time", type=float, default=0.1, help="seconds per step for submissions")
    r.add_argument("--overage", type=float, default=5.0, help="overage bank in seconds")
    r.add_argument("--init-time", type=float, default=10.0, help="seconds to start up")
    r.add_argument("--memory-mb", type=int, default=1024, help="memory limit per submission")
    r.add_argument("--on-timeout", choices=["default", "forfeit"], default="default",
                   help="play the default action or forfeit the game when out of time")
    r.set_defaults(func=_cmd_run)

    lb = tsub.add_parser("leaderboard", help="ratings table, optionally PNG plots")
    lb.add_argument("--name", required=True)
    lb.add_argument("--plots", type=Path, help="write rating_history.png and win_matrix.png here")
    lb.add_argument("--json", type=Path, help="also write the table as JSON")
    lb.set_defaults(func=_cmd_leaderboard)

    rp = tsub.add_parser("replay", help="export the replay of a match")
    rp.add_argument("--name", required=True)
    rp.add_argument("--match", required=True, help="match id (see `leaderboard --json` or the run)")
    rp.add_argument("--out", type=Path, required=True, help="file to write (.json or .json.gz)")
    rp.set_defaults(func=_cmd_replay)


def _cmd_submit(args: argparse.Namespace, console: Console) -> int:
    from palaestra.agents.sandbox.host import SandboxLimits
    from palaestra.agents.sandbox.submission import validate_submission
    from palaestra.evaluation.store import TournamentStore

    if bool(args.path) == bool(args.cmd):
        raise ConfigError("give either a path (Python file or checkpoint directory) or --cmd")
    if args.cmd:
        spec = f"cmd:{args.cmd}"
    else:
        path = Path(args.path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        spec = f"checkpoint:{path.resolve()}" if path.is_dir() else f"python:{path.resolve()}"
    _check_name(args.name, args.env)
    info = validate_submission(spec, args.env, args.name, SandboxLimits())
    with TournamentStore(args.db) as store:
        store.add_submission(args.name, args.env, info.kind, info.spec, info.sha256,
                             _plain(info), replace=args.replace)
    console.print(f"[green]registered[/] {args.name} ({info.kind}, {args.env}) in {args.db}")
    return 0


def _check_name(name: str, env: str) -> None:
    from palaestra.agents.sandbox.builtins import builtin_agents

    if name in builtin_agents(env) or not name or any(c in name for c in " /:#"):
        raise ConfigError(f"{name!r} cannot name a submission (built-in name, empty, or has ' /:#')")


def _plain(info: object) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    d = asdict(info) if is_dataclass(info) and not isinstance(info, type) else dict(vars(info))
    plain: dict[str, Any] = json.loads(json.dumps(d, default=str))
    return plain


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    if args.ray_address:
        require_extra("rllib", "palaestra tournament run --ray-address", "ray")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from palaestra.envs import get_spec
    from palaestra.evaluation.ratings import print_leaderboard
    from palaestra.evaluation.store import TournamentStore
    from palaestra.evaluation.tournament import (
        TournamentConfig,
        entry_names,
        local_runner,
        run_tournament,
        secret_seed,
        stored_seed,
        tournament_table,
    )

    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    env_config = _env_config(args, get_spec(args.env).family)
    limits = {"step_time_s": args.step_time, "overage_bank_s": args.overage,
              "init_time_s": args.init_time, "memory_mb": args.memory_mb,
              "on_timeout": args.on_timeout}
    if args.ray_address:
        from palaestra.league.ray_runner import ray_runner

        runner = ray_runner(args.ray_address)
    else:
        runner = local_runner(args.workers)
    faults = 0
    with TournamentStore(args.db) as store, Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    ) as bar:
        stored = stored_seed(store, args.name)
        seed = args.seed if args.seed is not None else stored[0] if stored else secret_seed()
        config = TournamentConfig(args.name, args.env, entry_names(args.agent), args.schedule,
                                  args.rounds, args.players, seed, env_config, limits,
                                  seed_bits=stored[1] if stored else 63)  # type: ignore[arg-type]
        task = bar.add_task(f"{args.name}: matches", total=0)

        def scheduled(todo: int, done: int) -> None:
            bar.update(task, total=(bar.tasks[0].total or 0) + todo + done, advance=done)

        def finished(spec: object, outcome: object) -> None:
            nonlocal faults
            bar.advance(task)
            if isinstance(outcome, BaseException):
                console.print(f"[red]match {spec.match_id} could not be played:[/] {outcome}")  # type: ignore[attr-defined]
            elif outcome.faults:  # type: ignore[attr-defined]
                faults += 1
                for seat, why in outcome.faults.items():  # type: ignore[attr-defined]
                    console.print(f"[yellow]{spec.match_id}: {outcome.seats[int(seat)]} {why}[/]",  # type: ignore[attr-defined]
                                  highlight=False)

        summary = run_tournament(store, config, runner, on_match=finished, on_schedule=scheduled,
                                 trust_submissions=args.trust_submissions)
        table = tournament_table(store, args.name)
    word = "resumed" if summary.resumed else "ran"
    console.print(f"{word} {args.name}: {summary.played} played now, {summary.already_done} already "
                  f"recorded, {faults} with agent faults, {len(summary.failed)} failed")
    console.print(f"seed {config.seed} (the same --seed replays these matches)", highlight=False)
    print_leaderboard(table, console)
    return 1 if summary.failed else 0


def _env_config(args: argparse.Namespace, family: str) -> dict[str, Any]:
    """The env keywords of ``--mode`` (Bomber) or ``--variant`` (hide-and-seek: the variant's
    fields, so that the stored config and every replay name the game exactly)."""
    from palaestra.envs.hide_and_seek.config import VARIANTS

    if args.mode and family != "bomber":
        raise ConfigError("--mode is a Bomber option")
    if args.variant and family != "hide_and_seek":
        raise ConfigError("--variant is a hide-and-seek option")
    if args.mode:
        return {"mode": args.mode}
    return dict(VARIANTS[args.variant]) if args.variant else {}


def _cmd_leaderboard(args: argparse.Namespace, console: Console) -> int:
    from palaestra.evaluation.plots import plot_rating_history, plot_win_matrix
    from palaestra.evaluation.ratings import leaderboard_rows, print_leaderboard
    from palaestra.evaluation.store import TournamentStore
    from palaestra.evaluation.tournament import tournament_table

    with TournamentStore(args.db) as store:
        store.tournament_config(args.name)  # clear error for an unknown name
        table = tournament_table(store, args.name)
        matches = store.matches(args.name)
    done = sum(m["status"] == "done" for m in matches)
    console.print(f"{args.name}: {done} of {len(matches)} scheduled matches recorded")
    print_leaderboard(table, console)
    if args.plots:
        args.plots.mkdir(parents=True, exist_ok=True)
        plot_rating_history(table, args.plots / "rating_history.png")
        plot_win_matrix(table, args.plots / "win_matrix.png")
        console.print(f"plots written to {args.plots}/rating_history.png and win_matrix.png")
    if args.json:
        rows = leaderboard_rows(table)
        args.json.write_text(json.dumps({"leaderboard": rows, "matches": matches}, indent=2,
                                        default=str) + "\n")
        console.print(f"table written to {args.json}")
    return 0


def _cmd_replay(args: argparse.Namespace, console: Console) -> int:
    from palaestra.evaluation.replay import replay_from_dict, save_replay
    from palaestra.evaluation.store import TournamentStore

    with TournamentStore(args.db) as store:
        store.tournament_config(args.name)
        data = store.replay(args.match)
    games = data["games"] if "games" in data else [data]
    if len(games) == 1:
        save_replay(replay_from_dict(games[0]), args.out)
        console.print(f"replay written to {args.out}")
    else:
        for k, game in enumerate(games):
            out = args.out.with_name(f"{args.out.name.split('.')[0]}-seat{k}{''.join(args.out.suffixes)}")
            save_replay(replay_from_dict(game), out)
            console.print(f"replay of seat {k} written to {out}")
    return 0
