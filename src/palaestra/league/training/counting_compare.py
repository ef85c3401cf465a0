"""Counting runs side by side: several kinds and seeds trained alike, and their plot.

:func:`run_comparison` trains one :class:`~palaestra.league.training.counting.CountingTrainConfig`
per kind and seed (``scripts/counting_extrapolation.py`` is its command line), in one process or
several; :func:`plot_extrapolation` draws success rate against T, one line per kind;
:func:`load_results` reads the runs of a ``results.json`` back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.errors import FileFormatError
from palaestra.league.training.counting import CountingResult, CountingTrainConfig, train_counting

__all__ = ["load_results", "plot_extrapolation", "run_comparison"]


def run_comparison(
    kinds: Sequence[str],
    seeds: Sequence[int],
    base: CountingTrainConfig,
    progress: Callable[[str, int, int, dict[str, float]], None] | None = None,
    restarts: Mapping[str, int] | None = None,
    workers: int = 1,
) -> list[CountingResult]:
    """Train ``base`` once per kind and seed (same everything else); results in that order.

    ``restarts`` overrides ``base.restarts`` for the kinds it names. With ``workers > 1`` the runs
    train in that many processes (each run is seeded on its own, so the results are the same);
    ``progress`` then hears of each run when it ends, not of every update.
    """
    configs = [replace(base, kind=kind, seed=seed,  # type: ignore[arg-type]
                       restarts=(restarts or {}).get(kind, base.restarts))
               for kind in kinds for seed in seeds]
    tags = [f"{c.kind} seed {c.seed}" for c in configs]
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            # the longest runs first, so that the processes finish close together
            order = sorted(range(len(configs)), key=lambda i: -configs[i].restarts)
            submitted = {i: pool.submit(train_counting, configs[i]) for i in order}
            futures = [submitted[i] for i in range(len(configs))]
            out = []
            for tag, c, future in zip(tags, configs, futures):
                result = future.result()
                if progress is not None:
                    total = c.updates * c.restarts
                    progress(tag, total, total, {"success": result.train_range_success})
                out.append(result)
            return out
    results = []
    for tag, config in zip(tags, configs):
        total = config.updates * config.restarts
        report = None if progress is None else (
            lambda u, s, tag=tag, total=total: progress(tag, u, total, s))
        results.append(train_counting(config, report))
    return results


def plot_extrapolation(results: Sequence[CountingResult], path: str | Path,
                       goal: tuple[int, float] | None = (19, 0.9)) -> Path:
    """Success rate against T, one line per kind (mean over seeds, seeds as thin lines); a PNG.

    The training range of T is shaded; ``goal`` (T, success rate) is marked.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not results:
        raise ValueError("no results to plot")
    colors = {"lstm": "tab:orange", "nac": "tab:blue", "nalu": "tab:green", "nau": "tab:purple"}
    labels = {"lstm": "LSTM", "nac": "NAC", "nalu": "NALU", "nau": "NAU"}
    fig = Figure(figsize=(8.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    c0 = results[0].config
    ax.axvspan(c0.t_min - 0.5, c0.t_max + 0.5, color="0.92", zorder=0,
               label=f"training T ({c0.t_min}..{c0.t_max})")
    for kind in dict.fromkeys(r.config.kind for r in results):
        runs = [r for r in results if r.config.kind == kind]
        ts = sorted(runs[0].success_by_t)
        table = np.array([[r.success_by_t[t] for t in ts] for r in runs])
        color = colors.get(kind, None)
        if len(runs) > 1:
            for row in table:
                ax.plot(ts, row, color=color, linewidth=0.7, alpha=0.35)
        ax.plot(ts, table.mean(axis=0), color=color, linewidth=2.2, marker="o", markersize=3.5,
                label=f"{labels.get(kind, kind)} ({len(runs)} seed{'s' if len(runs) > 1 else ''})")
    if goal is not None:
        ax.plot([goal[0]], [goal[1]], marker="*", markersize=13, color="crimson", linestyle="none",
                label=f"goal: {goal[1]:.0%} at T={goal[0]}")
    ax.set_xlabel("instruction T (steps to arrive in)")
    ax.set_ylabel("success rate (greedy policy)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Grid-world counting: extrapolation beyond the training range of T")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    out = Path(path)
    FigureCanvasAgg(fig)
    fig.savefig(out, format="png", dpi=120)
    return out


def load_results(path: str | Path) -> list[CountingResult]:
    """The runs of a ``results.json`` written by ``scripts/counting_extrapolation.py``, without
    their policies (those lie beside it); a clear error if it is not such a file."""
    path = Path(path)
    try:
        runs = json.loads(path.read_text())["runs"]
        return [_result_from_dict(run) for run in runs]
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise FileFormatError(f"{path}: not a counting results file ({exc!r})") from None


def _result_from_dict(run: dict[str, Any]) -> CountingResult:
    return CountingResult(
        config=CountingTrainConfig(**run["config"]),
        success_by_t={int(t): float(v) for t, v in run["success_by_T"].items()},
        outcomes_by_t={int(t): dict(v) for t, v in run["outcomes_by_T"].items()},
        curve=list(run["curve"]), train_seconds=float(run["train_seconds"]),
        eval_seconds=float(run["eval_seconds"]), selection=list(run.get("selection", [])))
