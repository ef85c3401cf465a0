"""What the teams of a hide-and-seek league do, phase by phase, iteration by iteration.

Each finished game carries the env's per-phase counters (``prep`` and ``seek``:
:data:`~palaestra.envs.hide_and_seek.stats.STAT_KEYS`). Every iteration the league logs their
means per game under ``phases`` in ``events.jsonl`` and ``phases/<phase>/<key>`` in TensorBoard,
with the hiders' return per step of each phase (``hider_return``: +1 all hidden, -1 seen; in the
preparation phase as if the seekers were looking, since nobody is paid there). The emergent
phases of hide-and-seek show as changes in these curves: seekers that learn to chase push the
seek-phase hider return down; hiders that learn to barricade raise their prep-phase box moves and
locks, and with them the hider return again. :func:`plot_phases` draws them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from palaestra.envs.hide_and_seek.constants import PHASE_NAMES
from palaestra.envs.hide_and_seek.stats import STAT_KEYS

PER_GAME_KEYS: tuple[str, ...] = tuple(k for k in STAT_KEYS if k != "steps")
"""Counters averaged per game (every stat but the phase's length)."""


def summarise(games: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """``{"prep": {...}, "seek": {...}}``: the mean per game of each counter, the hiders' return
    per step, and ``games``; empty without games (an iteration that finished none)."""
    if not games:
        return {}
    out: dict[str, dict[str, float]] = {}
    for phase in PHASE_NAMES:
        rows = [g["phases"][phase] for g in games]
        means = {k: sum(r[k] for r in rows) / len(rows) for k in PER_GAME_KEYS}
        steps = sum(r["steps"] for r in rows)
        hidden = sum(r["hidden_steps"] for r in rows)
        means["hider_return"] = (2 * hidden - steps) / steps if steps else 0.0
        means["games"] = float(len(rows))
        out[phase] = means
    return out


def log_phases(writer: Any, summary: dict[str, dict[str, float]], iteration: int) -> None:
    """Write a :func:`summarise` result to a TensorBoard ``SummaryWriter``."""
    for phase, values in summary.items():
        for key, value in values.items():
            writer.add_scalar(f"phases/{phase}/{key}", value, iteration)


PLOTTED: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("hiders' return per step", (("prep", "hider_return"), ("seek", "hider_return"))),
    ("hiders' box moves and locks per game",
     (("prep", "hider_box_moves"), ("prep", "hider_locks"), ("seek", "hider_box_moves"),
      ("seek", "hider_locks"))),
    ("seekers' box moves and ramp uses per game",
     (("seek", "seeker_box_moves"), ("seek", "seeker_ramp_uses"), ("seek", "seeker_locks"))),
)
"""The panels of :func:`plot_phases`: a title and the (phase, key) curves it holds."""


def _smooth(values: list[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def phase_rows(events: Sequence[dict[str, Any]]) -> list[tuple[int, int, dict[str, dict[str, float]]]]:
    """(iteration, env steps, summary) of each logged iteration that finished games."""
    return [(int(e["iteration"]), int(e.get("env_steps", 0)), e["phases"]) for e in events
            if e.get("event") == "iteration" and e.get("phases")]


def plot_phases(events: Sequence[dict[str, Any]], path: Path, window: int = 5) -> Path | None:
    """Draw :data:`PLOTTED` against env steps (means over ``window`` iterations); None when no
    iteration logged phases."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = phase_rows(events)
    if not rows:
        return None
    steps = [r[1] / 1e6 for r in rows]
    fig = Figure(figsize=(7.5, 8.5))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(PLOTTED), 1, sharex=True)
    for ax, (title, curves) in zip(axes, PLOTTED, strict=True):
        for phase, key in curves:
            values = [float(r[2].get(phase, {}).get(key, math.nan)) for r in rows]
            ax.plot(steps, _smooth(values, window), label=f"{phase}: {key}")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    axes[0].axhline(0.0, color="grey", linewidth=0.8)
    axes[-1].set_xlabel("env steps (millions)")
    fig.suptitle(f"hide-and-seek phases (means over {window} iterations)", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
