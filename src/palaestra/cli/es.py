"""``palaestra es …``: evolution-strategy baselines on Ray actors (parse + dispatch)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from palaestra.errors import ConfigError, require_extra

EPILOG = """examples:
  palaestra es train --env kelly --algo openai --generations 200 --workers 2 --out runs/es-kelly
  palaestra es train --env kelly --out runs/es-kelly --generations 400 --resume
  palaestra es train --env kelly --algo canonical --population 20 --out runs/es-canonical
  palaestra es train --env counting --generations 100 --episodes 16 --out runs/es-counting
  palaestra es train --env bomber --league runs/league --hidden 32 --out runs/es-bomber
      (then `palaestra league table --out runs/league` rates es:es-bomber with the league)

Single-agent envs (kelly, counting): fitness is the episode return; the run ends with the mean
return of the final parameters on --eval-episodes unseen episodes. Bomber: fitness is the match
outcome (share of the other three seats placed ahead of) against opponents drawn from the league
by PFSP; after each generation --rate-games matches of the unperturbed agent are recorded in the
league, so the ES agent enters the league's rating table as an external member.
"""


def build_es(p: argparse.ArgumentParser) -> None:
    from palaestra.league.es.run import ESRunConfig
    from palaestra.league.es.workers import ES_ENVS

    d = ESRunConfig()
    p.description = ("Evolution-strategy baselines: perturbations from a shared noise table "
                     "evaluated by Ray actors (only seeds and scalars travel); a lost worker costs "
                     "only its share of a generation.")
    p.epilog, p.formatter_class = EPILOG, argparse.RawDescriptionHelpFormatter
    esub = p.add_subparsers(dest="es_command", metavar="ACTION", required=True)
    t = esub.add_parser("train", help="train (or resume) an ES run", epilog=EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--env", default=d.env, choices=list(ES_ENVS))
    t.add_argument("--algo", default=d.algo, choices=["openai", "canonical"])
    t.add_argument("--out", type=Path, required=True, help="run directory")
    t.add_argument("--generations", type=int, default=d.generations)
    t.add_argument("--population", type=int, default=d.population,
                   help=f"antithetic pairs (openai) or lambda (canonical) ({d.population})")
    t.add_argument("--sigma", type=float, default=d.sigma)
    t.add_argument("--lr", type=float, default=d.lr)
    t.add_argument("--episodes", type=int, default=d.episodes, help="episodes per evaluation")
    t.add_argument("--hidden", type=int, nargs="*", default=list(d.hidden),
                   help=f"hidden layer sizes ({' '.join(map(str, d.hidden))}; none: a linear "
                   "policy)")
    t.add_argument("--memory", type=int, default=None,
                   help="accumulator memory units, 0 for a feed-forward policy (default: 4 on "
                   "counting, which needs to count steps; 0 elsewhere)")
    t.add_argument("--workers", type=int, default=d.workers, help="Ray actors evaluating")
    t.add_argument("--league", help="bomber: the league run to play against and be rated in")
    t.add_argument("--member", help="bomber: the ES agent's id in the league "
                   "(default es:<--out name>)")
    t.add_argument("--rate-games", type=int, default=d.rate_games,
                   help=f"bomber: rated matches per generation ({d.rate_games})")
    t.add_argument("--eval-episodes", type=int, default=1000,
                   help="single-agent envs: unseen episodes for the final evaluation (1000; "
                   "0 skips it)")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--address", help="existing Ray cluster (default: a local Ray)")
    t.add_argument("--num-cpus", type=int, default=d.num_cpus, help="CPUs of the local Ray")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace, console: Console) -> int:
    require_extra("rllib", "palaestra es train", "ray")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from palaestra.league.es.run import ESRun, ESRunConfig
    from palaestra.league.rllib.session import ray_session

    if args.eval_episodes < 0:
        raise ConfigError(f"--eval-episodes must be >= 0, got {args.eval_episodes}")
    config = ESRunConfig(env=args.env, algo=args.algo, generations=args.generations,
                         population=args.population, sigma=args.sigma, lr=args.lr,
                         episodes=args.episodes, hidden=tuple(args.hidden), memory=args.memory,
                         workers=args.workers, seed=args.seed, address=args.address,
                         num_cpus=args.num_cpus, league=args.league, member=args.member,
                         rate_games=args.rate_games)
    with ray_session(config):
        run = ESRun(config, args.out, resume=args.resume)
        with Progress(TextColumn(f"[bold]{args.algo}-es[/]"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task("es", total=config.generations, completed=run.es.generation,
                                stats="")

            def report(row: dict[str, Any]) -> None:
                rated = (f", rated {row['rated_score']:.3f}" if row.get("rated_score") is not None
                         else "")
                bar.update(task, completed=row["generation"],
                           stats=f"fitness {row['fitness_mean']:.4g} (max {row['fitness_max']:.4g})"
                           f"{rated}, {row['total_steps']:,} steps, lost {row['lost_workers']}")

            try:
                history = run.train(report)
            finally:
                run.close()
    returns = None
    if history and args.eval_episodes > 0 and config.league is None:
        with console.status(f"evaluating the final parameters on {args.eval_episodes} episodes"):
            returns = run.evaluate(args.eval_episodes, seed=config.seed + 1_000_003)
    if history:
        last = history[-1]
        console.print(f"generation {last['generation']}: mean fitness {last['fitness_mean']:.4g}, "
                      f"{last['total_steps']:,} env steps; state in {args.out}")
        if returns is not None:
            sem = returns.std(ddof=1) / len(returns) ** 0.5 if len(returns) > 1 else 0.0
            console.print(f"final parameters: mean return {returns.mean():.4g} ± {sem:.2g} over "
                          f"{len(returns)} unseen episodes")
        if config.league is not None:
            console.print(f"rated as {run.member} in {config.league}: "
                          f"`palaestra league table --out {config.league}`")
    return 0
