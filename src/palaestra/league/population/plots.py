"""The league table (PNG, JSON, terminal) and rating plots of a :class:`LeagueState`.

Figures are drawn on matplotlib's Agg canvas (no pyplot), like :mod:`palaestra.evaluation.plots`,
whose rating-history and win-matrix plots are reused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from palaestra.errors import RunStateError
from palaestra.evaluation.ratings import RatingTable
from palaestra.league.population.state import LeagueState

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["format_hyperparams", "league_rows", "plot_league", "print_league"]

_COLUMNS = ("#", "member", "kind", "ordinal", "Elo", "games", "win rate", "hyperparams")


def format_hyperparams(params: dict[str, float]) -> str:
    """``"entropy_coeff=0.01 lr=0.0003"``: sorted names, 3 significant digits."""
    return " ".join(f"{k}={v:.3g}" for k, v in sorted(params.items()))


def league_rows(state: LeagueState) -> list[dict[str, Any]]:
    """One JSON-ready dict per member, best OpenSkill ordinal first (ties by id); rank from 1.

    Members that have not played yet have the initial ratings and 0 games. ``win_rate`` is the
    fraction of matches the member finished first (alone or tied). ``hyperparams`` is filled for
    learners and snapshots (bots have none).
    """
    table = state.rating_table()
    rows: list[dict[str, Any]] = []
    for member_id, member in state.members.items():
        stats = table.players.get(member_id)
        rows.append({
            "member": member_id, "kind": member.kind,
            "ordinal": stats.ordinal if stats else table.initial_ordinal,
            "elo": stats.elo if stats else table.initial_elo,
            "games": stats.games if stats else 0,
            "wins": stats.wins if stats else 0,
            "win_rate": stats.win_rate if stats else 0.0,
            "hyperparams": dict(member.hyperparams),
            "parent": member.parent,
        })
    rows.sort(key=lambda r: (-r["ordinal"], r["member"]))
    return [{"rank": i, **r} for i, r in enumerate(rows, start=1)]


def _cells(row: dict[str, Any]) -> list[str]:
    params = format_hyperparams(row["hyperparams"]) if row["kind"] == "learner" else ""
    return [str(row["rank"]), row["member"], row["kind"], f"{row['ordinal']:.2f}",
            f"{row['elo']:.0f}", str(row["games"]), f"{100 * row['win_rate']:.1f}%", params]


def _plot_table(state: LeagueState, rows: list[dict[str, Any]], path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cells = [_cells(r) for r in rows]
    width = max(len(c[-1]) for c in cells)
    fig = Figure(figsize=(6.0 + 0.07 * width, 0.4 + 0.25 * (len(rows) + 1)))
    ax = fig.add_subplot()
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=list(_COLUMNS), loc="upper center",
                     cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.auto_set_column_width(list(range(len(_COLUMNS))))
    shade = {"learner": "#dbe9f6", "snapshot": "#f2f2f2", "bot": "#fbe5d6", "external": "#e2f0d9"}
    for (r, _), cell in table.get_celld().items():
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#c9c9c9")
        else:
            cell.set_facecolor(shade[rows[r - 1]["kind"]])
    n_matches = len(state.matches)
    ax.set_title(f"League {state.env}: iteration {state.iteration}, {n_matches} matches, "
                 f"{len(state.pbt_events)} PBT events", fontsize=11)
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=120, bbox_inches="tight", pad_inches=0.2)
    return path


def focus_players(state: LeagueState) -> list[str]:
    """Who the curves and the win matrix show: learners, external members (ES agents), bots and
    each learner's newest snapshot (a long league holds dozens of snapshots, which would bury the
    plots)."""
    newest = {}
    for snap in state.snapshots():
        newest[state.members[snap].parent] = snap
    return [*state.learners(), *state.externals(), *state.bots(), *newest.values()]


def _subset(table: RatingTable, names: list[str]) -> RatingTable:
    """``table`` restricted to ``names`` (their ratings and histories are unchanged)."""
    keep = [n for n in table.players if n in set(names)]
    return RatingTable(
        players={n: table.players[n] for n in keep},
        history=[h for h in table.history if h[1] in keep],
        n_games=table.n_games, initial_elo=table.initial_elo,
        initial_ordinal=table.initial_ordinal,
        beats={k: v for k, v in table.beats.items() if k[0] in keep and k[1] in keep},
        meetings={k: v for k, v in table.meetings.items() if k[0] in keep and k[1] in keep})


def plot_league(state: LeagueState, out_dir: str | os.PathLike[str],
                events: list[dict[str, Any]] | None = None) -> dict[str, Path]:
    """Write the league table (PNG and JSON), rating histories and the win matrix to ``out_dir``;
    given the run's ``events`` (``events.jsonl``), also the learners' learning curve against
    three SimpleAgents (:mod:`palaestra.league.population.curves`), where there are such games.

    Returns ``{"league_table", "league_table_json", "ratings_elo", "ratings_ordinal",
    "win_matrix"[, "learning_curve"][, "phases"]} -> path`` (``phases``: a hide-and-seek league's
    per-phase curves, :func:`palaestra.league.population.phases.plot_phases`). RunStateError
    when no match has been recorded (or none is ratable).
    """
    from palaestra.evaluation.plots import plot_rating_history, plot_win_matrix

    if not state.matches:
        raise RunStateError("the league has no recorded matches: nothing to plot")
    table = state.rating_table()
    if table.n_games == 0:
        raise RunStateError("no recorded match has two distinct members: nothing to rate")
    focus = _subset(table, focus_players(state))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = league_rows(state)
    paths = {
        "league_table": _plot_table(state, rows, out / "league_table.png"),
        "league_table_json": out / "league_table.json",
        "ratings_elo": plot_rating_history(focus, out / "ratings_elo.png", "elo"),
        "ratings_ordinal": plot_rating_history(focus, out / "ratings_ordinal.png", "ordinal"),
        "win_matrix": plot_win_matrix(focus, out / "win_matrix.png"),
    }
    paths["league_table_json"].write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    if events is not None:
        from palaestra.league.population.curves import learning_curve, plot_learning_curve

        points = learning_curve(state, events)
        if points:
            team = any(len(m.seats) == 2 for m in state.matches)  # a team league's records
            paths["learning_curve"] = plot_learning_curve(points, out / "learning_curve.png", team)
        from palaestra.league.population.phases import plot_phases

        drawn = plot_phases(events, out / "phases.png")  # a hide-and-seek league's phases
        if drawn is not None:
            paths["phases"] = drawn
    return paths


def print_league(state: LeagueState, console: Console | None = None) -> None:
    """Print :func:`league_rows` as a rich table (a new console on stdout if none is given).

    Works before any match (everyone at the initial rating).
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    out = Table(title=f"League {state.env}: iteration {state.iteration}, "
                      f"{len(state.matches)} matches, {len(state.pbt_events)} PBT events")
    for name in _COLUMNS:
        out.add_column(name, justify="left" if name in ("member", "kind", "hyperparams")
                       else "right")
    for row in league_rows(state):
        cells = _cells(row)
        out.add_row(*cells[:1], Text(cells[1], style="bold"), *cells[2:])
    console.print(out)
