"""Terminal reports (rich tables)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from palaestra.evaluation.kelly import KellyEvaluation


def kelly_table(results: Sequence[KellyEvaluation]) -> Table:
    """One row per evaluated agent: mean final wealth, its 95% CI, regret, outcome rates."""
    first = results[0]
    title = f"{first.env_id}: {first.episodes} games, seed {first.seed}"
    if first.optimum is not None:
        title += f" (optimum ${first.optimum:.6f})"
    table = Table(title=title)
    table.add_column("agent")
    table.add_column("mean wealth", justify="right", no_wrap=True)
    table.add_column("95% CI", justify="right", no_wrap=True)
    table.add_column("regret", justify="right", no_wrap=True)
    table.add_column("at cap", justify="right", no_wrap=True)
    table.add_column("bust", justify="right", no_wrap=True)
    table.add_column("rounds", justify="right", no_wrap=True)
    for r in results:
        table.add_row(
            r.agent,
            f"${r.mean_wealth:.2f}",
            f"±{(r.ci95_high - r.ci95_low) / 2:.2f}",
            "n/a" if r.regret is None else f"${r.regret:.2f}",
            f"{100 * r.cap_rate:.1f}%",
            f"{100 * r.bust_rate:.1f}%",
            f"{r.mean_rounds:.1f}",
        )
    return table


def print_kelly_table(results: Sequence[KellyEvaluation], console: Console | None = None) -> None:
    (console or Console()).print(kelly_table(results))
