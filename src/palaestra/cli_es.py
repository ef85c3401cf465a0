"""``palaestra es …``: evolution-strategy baselines on Ray actors (parse + dispatch)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

EPILOG = """examples:
  palaestra es train --env kelly --algo openai --generations 200 --workers 2 --out runs/es-kelly
  palaestra es train --env kelly --out runs/es-kelly --generations 400 --resume
  palaestra es train --env kelly --algo canonical --population 20 --out runs/es-canonical
"""


def add_es(sub: argparse._SubParsersAction) -> None:
    from palaestra.league.es.es_run import ESRunConfig

    d = ESRunConfig()
    p = sub.add_parser("es", help="evolution strategies (OpenAI-ES, canonical ES) on Ray",
                       description="Evolution-strategy baselines: perturbations from a shared "
                       "noise table evaluated by Ray actors (only seeds and scalars travel); a "
                       "lost worker costs only its share of a generation.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    esub = p.add_subparsers(dest="es_command", metavar="ACTION", required=True)
    t = esub.add_parser("train", help="train (or resume) an ES run", epilog=EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--env", default=d.env, choices=["kelly"])
    t.add_argument("--algo", default=d.algo, choices=["openai", "canonical"])
    t.add_argument("--out", type=Path, required=True, help="run directory")
    t.add_argument("--generations", type=int, default=d.generations)
    t.add_argument("--population", type=int, default=d.population,
                   help=f"antithetic pairs (openai) or lambda (canonical) ({d.population})")
    t.add_argument("--sigma", type=float, default=d.sigma)
    t.add_argument("--lr", type=float, default=d.lr)
    t.add_argument("--episodes", type=int, default=d.episodes, help="episodes per evaluation")
    t.add_argument("--workers", type=int, default=d.workers, help="Ray actors evaluating")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--address", help="existing Ray cluster (default: a local Ray)")
    t.add_argument("--num-cpus", type=int, default=d.num_cpus, help="CPUs of the local Ray")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from palaestra.league.es.es_run import ESRun, ESRunConfig
    from palaestra.league.ray_session import ray_session

    config = ESRunConfig(env=args.env, algo=args.algo, generations=args.generations,
                         population=args.population, sigma=args.sigma, lr=args.lr,
                         episodes=args.episodes, workers=args.workers, seed=args.seed,
                         address=args.address, num_cpus=args.num_cpus)
    with ray_session(config):
        run = ESRun(config, args.out, resume=args.resume)
        with Progress(TextColumn(f"[bold]{args.algo}-es[/]"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task("es", total=config.generations, completed=run.es.generation,
                                stats="")

            def report(row: dict) -> None:  # type: ignore[type-arg]
                bar.update(task, completed=row["generation"],
                           stats=f"fitness {row['fitness_mean']:.4g} (max {row['fitness_max']:.4g})"
                           f", {row['total_steps']:,} steps, lost {row['lost_workers']}")

            try:
                history = run.train(report)
            finally:
                run.close()
    if history:
        last = history[-1]
        console.print(f"generation {last['generation']}: mean fitness {last['fitness_mean']:.4g}, "
                      f"{last['total_steps']:,} env steps; state in {args.out}")
    return 0
