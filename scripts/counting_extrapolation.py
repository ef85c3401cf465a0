"""Train LSTM, NAC and NAU counting policies on T in 5..12 and plot success rate against T.

The grid-world counting experiment of the NALU paper on ``palaestra/GridCounting-v0``. Every run
is trained with the same REINFORCE loop and the same features; only the recurrent core differs.
Writes, under ``--out``:

* ``extrapolation.png``: success rate (greedy policy, ``--eval-episodes`` unseen episodes per T)
  against T, per kind (mean over seeds, each seed a thin line);
* ``results.json``: per run, the config, success and outcome fractions per T, the training curve;
* ``<kind>-seed<S>/policy.pt``: the trained policies (``load_counting_policy`` reads them).

``--merge DIR ...`` trains nothing: it joins the runs of earlier ``--out`` folders (for instance
``--kinds nau`` and ``--kinds lstm nac`` run apart) into one table, plot and ``results.json``;
the policies stay where they were trained.

Example (about 2 minutes per run on one core)::

    .venv/bin/python scripts/counting_extrapolation.py --kinds lstm nac nau --seeds 0 1 2 3 4 \
        --out runs/counting
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from palaestra.agents.learned.nalu import POLICY_KINDS
from palaestra.errors import FileFormatError
from palaestra.league.training.counting import CountingResult, CountingTrainConfig, save_counting_run
from palaestra.league.training.counting_compare import (
    load_results,
    plot_extrapolation,
    run_comparison,
)

REPORT_TS = (5, 8, 12, 13, 14, 16, 19, 22, 25, 30)
# what must agree for runs to share one table: the training and the evaluation
COMPARED = ("t_min", "t_max", "updates", "batch_episodes", "eval_t_min", "eval_t_max",
            "eval_episodes", "eval_greedy")


def main(argv: list[str] | None = None) -> int:
    defaults = CountingTrainConfig()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kinds", nargs="+", default=["lstm", "nac", "nau"], choices=POLICY_KINDS,
                   help="recurrent cores to train, each on every seed (default: lstm nac nau)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4],
                   help="training seeds; each seeds torch, the sampling and the episodes")
    p.add_argument("--updates", type=int, default=defaults.updates,
                   help=f"policy-gradient updates per run (default {defaults.updates})")
    p.add_argument("--batch-episodes", type=int, default=defaults.batch_episodes)
    p.add_argument("--hidden", type=int, default=defaults.hidden,
                   help="recurrent state size (default: 32 for lstm, 8 for nac/nalu/nau)")
    p.add_argument("--eval-t-max", type=int, default=defaults.eval_t_max,
                   help=f"largest T evaluated and plotted (default {defaults.eval_t_max})")
    p.add_argument("--eval-episodes", type=int, default=defaults.eval_episodes,
                   help="evaluation episodes per T")
    p.add_argument("--restarts", type=int, default=1,
                   help="train this many policies per seed for the kinds of --restart-kinds, "
                        "each from its own seed, and keep the one with the best greedy success "
                        "on the held-out T 13..14 (never a test T; among equals, the one "
                        "whose NAU weights are nearest to -1, 0 and 1); default 1: no selection")
    p.add_argument("--restart-kinds", nargs="+", default=["nau"], choices=POLICY_KINDS,
                   help="the kinds --restarts applies to (default: nau); the others train once")
    p.add_argument("--workers", type=int, default=1,
                   help="train this many runs at once, one process each (default 1); the "
                        "progress bars then move once a run ends")
    p.add_argument("--merge", nargs="+", type=Path, metavar="DIR",
                   help="train nothing: join the results.json of these earlier --out folders "
                        "into one table and plot under --out")
    p.add_argument("--out", type=Path, default=Path("runs/counting"))
    args = p.parse_args(argv)
    # a pipe gets the table's full width, not 80 columns
    console = Console(width=None if sys.stdout.isatty() else 140)
    if args.merge:
        try:
            return _merge(args.merge, args.out, console)
        except FileFormatError as exc:
            console.print(f"[red]error:[/] {exc}")
            return 2
    try:
        base = CountingTrainConfig(updates=args.updates, batch_episodes=args.batch_episodes,
                                   hidden=args.hidden, eval_t_max=args.eval_t_max,
                                   eval_episodes=args.eval_episodes)
        if args.restarts < 1:
            raise ValueError(f"--restarts must be at least 1, got {args.restarts}")
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    runs = len(args.kinds) * len(args.seeds)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[stats]}"),
                  TimeElapsedColumn(), console=console) as bar:
        tasks: dict[str, int] = {}

        def progress(tag: str, update: int, total: int, stats: dict[str, float]) -> None:
            if tag not in tasks:
                tasks[tag] = bar.add_task(f"{tag:<14}", total=total, stats="")
            bar.update(tasks[tag], completed=update, stats=f"success {stats['success']:.2f}")

        results = run_comparison(args.kinds, args.seeds, base, progress,
                                 restarts={kind: args.restarts for kind in args.restart_kinds},
                                 workers=args.workers)
    for r in results:
        save_counting_run(r, args.out / f"{r.config.kind}-seed{r.config.seed}")
    _report(results, {"base_config": asdict(base)}, args.out, console)
    console.print(f"saved {runs} policies under {args.out}")
    return 0


def _merge(folders: list[Path], out: Path, console: Console) -> int:
    results: list[CountingResult] = []
    for folder in folders:
        results += load_results(folder / "results.json")
    if not results:
        raise FileFormatError(f"no runs in {', '.join(map(str, folders))}")
    runs = [(r.config.kind, r.config.seed) for r in results]
    twice = sorted({run for run in runs if runs.count(run) > 1})
    if twice:
        raise FileFormatError(f"runs given twice: {twice}")
    first = asdict(results[0].config)
    for r in results[1:]:
        differ = [k for k in COMPARED if asdict(r.config)[k] != first[k]]
        if differ:
            raise FileFormatError(f"{r.config.kind} seed {r.config.seed} differs from "
                                  f"{results[0].config.kind} seed {results[0].config.seed} "
                                  f"in {differ}: not one comparison")
    out.mkdir(parents=True, exist_ok=True)
    _report(results, {"merged_from": [str(f) for f in folders]}, out, console)
    return 0


def _report(results: list[CountingResult], header: dict[str, object], out: Path,
            console: Console) -> None:
    """Write results.json and the plot under ``out``; print the table."""
    (out / "results.json").write_text(json.dumps(
        {**header, "runs": [r.to_dict() for r in results]}, indent=2) + "\n")
    png = plot_extrapolation(results, out / "extrapolation.png")
    base = results[0].config
    table = Table(title=f"success rate by T (greedy, {base.eval_episodes} episodes each; "
                        f"trained on T {base.t_min}..{base.t_max})")
    table.add_column("run")
    ts = [t for t in REPORT_TS if base.eval_t_min <= t <= base.eval_t_max]
    for t in ts:
        table.add_column(f"T={t}", justify="right")
    table.add_column("restarts", justify="right")
    table.add_column("train s", justify="right")
    for r in results:
        table.add_row(f"{r.config.kind} seed {r.config.seed}",
                      *(f"{r.success_by_t[t]:.2f}" for t in ts), str(r.config.restarts),
                      f"{r.train_seconds:.0f}")
    console.print(table)
    console.print(f"wrote {png} and {out / 'results.json'}")


if __name__ == "__main__":
    sys.exit(main())
