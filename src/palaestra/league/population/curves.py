"""Learning curves of a Bomber league: each learner's results against three SimpleAgents (a team
league: against a side of two SimpleAgents) over its training games, window by window, against
env steps and wall-clock time.

The points come from the match history (every training game is recorded) and ``events.jsonl``
(env steps and seconds per iteration). Only games in which every opponent was a SimpleAgent
count, so a point measures one thing throughout, whatever PFSP or the curriculum drew otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from palaestra.league.population.state import LeagueState

OPPONENT = "bot:simple"


@dataclass(frozen=True)
class CurvePoint:
    """A learner's training games against three SimpleAgents in iterations ``first..last``."""

    learner: str
    first: int
    last: int
    env_steps: int
    """Env steps sampled by the league (all learners) up to the end of iteration ``last``."""
    wall_seconds: float
    """Wall-clock seconds of the run up to the end of iteration ``last``."""
    games: int
    wins: int
    ties: int

    @property
    def win_rate(self) -> float:
        return self.wins / self.games

    @property
    def tie_rate(self) -> float:
        return self.ties / self.games


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of ``events.jsonl`` (an empty list when there is none yet)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def iteration_clock(events: list[dict[str, Any]]) -> dict[int, tuple[int, float]]:
    """Iteration -> (env steps, wall seconds) at its end. Wall seconds add up each iteration's
    ``wall_seconds`` (the whole iteration: sampling, learning, evaluation, checkpoint); events
    written before that field existed give ``train_seconds`` (RLlib's ``train()`` alone). The
    imitation warm start (an ``imitation`` event, before the first iteration) adds its seconds."""
    clock: dict[int, tuple[int, float]] = {}
    total = 0.0
    for e in events:
        if e.get("event") == "imitation":
            total += float(e.get("seconds", 0.0))
        if e.get("event") != "iteration":
            continue
        total += float(e.get("wall_seconds", e.get("train_seconds", 0.0)))
        clock[int(e["iteration"])] = (int(e.get("env_steps", 0)), total)
    return clock


def learning_curve(state: LeagueState, events: list[dict[str, Any]], window: int = 10) -> list[CurvePoint]:
    """One point per learner and window of ``window`` iterations with such games."""
    if window < 1:
        raise ValueError(f"window must be positive, got {window}")
    clock = iteration_clock(events)
    tallies: dict[tuple[str, int], list[int]] = {}
    for m in state.matches:
        if m.source != "train" or sum(s == OPPONENT for s in m.seats) != len(m.seats) - 1:
            continue
        for k, seat in enumerate(m.seats):
            if seat in state.members and state.members[seat].kind == "learner":
                won = m.ranks[k] == 0 and m.ranks.count(0) == 1
                tied = m.ranks[k] == 0 and not won
                t = tallies.setdefault((seat, (m.iteration - 1) // window), [0, 0, 0])
                t[0] += 1
                t[1] += won
                t[2] += tied
    points = []
    for (learner, w), (games, wins, ties) in sorted(tallies.items()):
        first, last = w * window + 1, (w + 1) * window
        last = max((i for i in clock if first <= i <= last), default=last)
        steps, seconds = clock.get(last, (0, 0.0))
        points.append(CurvePoint(learner, first, last, steps, seconds, games, wins, ties))
    return points


def plot_learning_curve(points: list[CurvePoint], path: Path, team: bool = False) -> Path:
    """Win rate (solid) and tie rate (dashed) per learner against env steps and wall minutes
    (``team``: the games of a team league, one side against two SimpleAgents)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for learner in sorted({p.learner for p in points}):
        mine = [p for p in points if p.learner == learner]
        for ax, xs in ((axes[0], [p.env_steps / 1e6 for p in mine]),
                       (axes[1], [p.wall_seconds / 60 for p in mine])):
            line, = ax.plot(xs, [p.win_rate for p in mine], marker=".", label=f"{learner} wins")
            ax.plot(xs, [p.tie_rate for p in mine], linestyle="--", color=line.get_color(),
                    label=f"{learner} ties")
    axes[0].set_xlabel("env steps of the league (millions)")
    axes[1].set_xlabel("wall-clock minutes")
    axes[0].set_ylabel("share of training games")
    axes[0].set_ylim(0, 1)
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[1].legend(loc="upper left", fontsize=8)
    against = "a side of two SimpleAgents" if team else "three SimpleAgents"
    fig.suptitle(f"learners against {against} (training games, sampled policy)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
