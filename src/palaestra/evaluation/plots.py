"""PNG plots of a :class:`~palaestra.evaluation.ratings.RatingTable`.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no display, no global backend
switch), so this works headless and from worker threads.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

from palaestra.errors import ConfigError, RunStateError
from palaestra.evaluation.ratings import RatingTable, leaderboard_rows

__all__ = ["plot_rating_history", "plot_win_matrix"]

_SYSTEMS = {"elo": "Elo rating", "ordinal": "OpenSkill ordinal (μ − 3σ)"}


def _check(table: RatingTable) -> None:
    if not table.players or table.n_games == 0:
        raise RunStateError("the rating table is empty: no games have been rated")


def _colors(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` distinguishable colours: tab10, tab20, then evenly spaced hues."""
    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [colormaps["turbo"](i / (n - 1)) for i in range(n)]


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    out = Path(path)
    FigureCanvasAgg(fig)
    fig.savefig(out, format="png", dpi=120)
    return out


def plot_rating_history(table: RatingTable, path: str | os.PathLike[str],
                        system: str = "elo") -> Path:
    """One line per player: its rating after each game of the tournament; writes a PNG.

    ``system`` is ``"elo"`` or ``"ordinal"`` (OpenSkill ``mu - 3 sigma``). The x axis counts the
    games of the whole tournament; each line starts at the initial rating (x = 0) and stays flat
    between the games its player was in. Players are listed in the legend best first by their
    final rating. Returns ``path`` as a :class:`~pathlib.Path`.
    """
    _check(table)
    if system not in _SYSTEMS:
        raise ConfigError(f"system must be one of {tuple(_SYSTEMS)}, got {system!r}")
    start = table.initial_elo if system == "elo" else table.initial_ordinal
    series: dict[str, tuple[list[int], list[float]]] = {p: ([0], [start]) for p in table.players}
    for game, player, elo, ordinal in table.history:
        xs, ys = series[player]
        xs.append(game + 1)
        ys.append(elo if system == "elo" else ordinal)
    order = sorted(series, key=lambda p: (-series[p][1][-1], p))

    n = len(order)
    legend_cols = 1 if n <= 18 else 2
    fig = Figure(figsize=(9.5 + 1.6 * legend_cols, 5.5), layout="constrained")
    ax = fig.add_subplot()
    markers = table.n_games <= 60
    for player, color in zip(order, _colors(n)):
        xs, ys = series[player]
        ax.plot([*xs, table.n_games], [*ys, ys[-1]], drawstyle="steps-post", color=color,
                linewidth=1.8, label=f"{player} ({ys[-1]:.0f})" if system == "elo"
                else f"{player} ({ys[-1]:.1f})")
        if markers:
            ax.plot(xs[1:], ys[1:], linestyle="none", marker="o", markersize=3.5, color=color)
    ax.axhline(start, color="0.6", linewidth=0.8, linestyle="--", zorder=0)
    pad = max(0.4, 0.012 * table.n_games)  # room for the markers of the last game
    ax.set_xlim(-pad, table.n_games + pad)
    if table.n_games <= 20:
        ax.set_xticks(range(table.n_games + 1))
    ax.set_xlabel("games played in the tournament")
    ax.set_ylabel(_SYSTEMS[system])
    ax.set_title(f"{_SYSTEMS[system]} after each game ({table.n_games} games, {n} players)")
    ax.grid(True, alpha=0.3)
    ax.legend(title="player (final)", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              ncols=legend_cols, fontsize="small", frameon=False)
    return _save(fig, path)


def _text_color(cmap: Colormap, value: float) -> str:
    r, g, b, _ = cmap(value)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def plot_win_matrix(table: RatingTable, path: str | os.PathLike[str]) -> Path:
    """Heatmap of how often each row player beat each column player; writes a PNG.

    Cells show the win rate (games the row ranked strictly better / games the two met as
    opponents, so draws count as not won) with the counts written in; pairs that never met are
    grey. Players are in leaderboard order (OpenSkill ordinal, best first) on both axes.
    Returns ``path`` as a :class:`~pathlib.Path`.
    """
    _check(table)
    players = [r["player"] for r in leaderboard_rows(table, "ordinal")]
    n = len(players)
    wins = np.array(table.win_matrix(players), dtype=float)
    met = np.array(table.meeting_matrix(players), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(met > 0, wins / np.where(met > 0, met, 1.0), np.nan)

    cmap = colormaps["RdYlGn"].with_extremes(bad="0.88")
    side = max(5.0, 0.85 * n + 2.5)
    fig = Figure(figsize=(side + 1.3, side), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(rate), cmap=cmap, vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), labels=players, rotation=40, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), labels=players)
    ax.set_xlabel("opponent (column)")
    ax.set_ylabel("player (row)")
    ax.set_title(f"How often the row beat the column ({table.n_games} games)")
    ax.set_xticks(np.arange(n + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(n + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    if n <= 25:
        size = 9 if n <= 8 else 7 if n <= 14 else 5.5
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                if math.isnan(rate[i, j]):
                    ax.text(j, i, "–", ha="center", va="center", fontsize=size, color="0.45")
                    continue
                ax.text(j, i, f"{rate[i, j]:.0%}\n{int(wins[i, j])}/{int(met[i, j])}",
                        ha="center", va="center", fontsize=size,
                        color=_text_color(cmap, float(rate[i, j])))
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label("win rate of row against column (wins / games met)")
    bar.ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    return _save(fig, path)
