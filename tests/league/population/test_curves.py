"""Learning curves: training games against three SimpleAgents, window by window."""

from __future__ import annotations

from pathlib import Path

from palaestra.league.population.curves import iteration_clock, learning_curve, plot_learning_curve
from palaestra.league.population.state import LeagueState, MatchRecord, Member

S = "bot:simple"


def _state() -> LeagueState:
    state = LeagueState.new("palaestra/Bomber-v0", 0)
    for m in ("m0", "m1"):
        state.add_member(Member(m, "learner", {"lr": 1e-3}))
    for bot in (S, "bot:static"):
        state.add_member(Member(bot, "bot"))
    return state


def test_points_count_wins_and_ties_against_three_simple_agents_only() -> None:
    state = _state()
    games = [
        (1, ("m0", S, S, S), (0, 1, 2, 3)),   # m0 wins
        (2, (S, "m0", S, S), (0, 0, 2, 3)),   # m0 shares first place: a tie
        (2, (S, S, "m0", S), (0, 1, 3, 2)),   # m0 loses
        (3, ("m0", S, "bot:static", S), (0, 1, 2, 3)),  # not three SimpleAgents: left out
        (4, ("m0", "m1", S, S), (0, 1, 2, 3)),          # nor a game among learners
        (12, (S, S, S, "m1"), (1, 2, 3, 0)),  # m1 wins, second window
    ]
    for it, seats, ranks in games:
        state.record(MatchRecord(it, "train", seats, ranks, it))
    state.record(MatchRecord(5, "eval", ("m0", S, S, S), (3, 0, 1, 2), 9))  # eval games: not training
    events = [{"event": "iteration", "iteration": i, "env_steps": 1000 * i, "wall_seconds": 2.0}
              for i in range(1, 13)]
    events.insert(3, {"event": "pbt", "iteration": 3})
    points = learning_curve(state, events, window=10)
    assert [(p.learner, p.first, p.last, p.games, p.wins, p.ties) for p in points] == [
        ("m0", 1, 10, 3, 1, 1), ("m1", 11, 12, 1, 1, 0)]
    assert (points[0].env_steps, points[0].wall_seconds) == (10_000, 20.0)
    assert (points[1].env_steps, points[1].wall_seconds) == (12_000, 24.0)
    assert points[0].win_rate == points[0].tie_rate == 1 / 3


def test_old_events_time_the_run_by_train_seconds_and_the_plot_is_written(tmp_path: Path) -> None:
    events = [{"event": "iteration", "iteration": i, "env_steps": 10 * i, "train_seconds": 1.5}
              for i in (1, 2)]
    assert iteration_clock(events) == {1: (10, 1.5), 2: (20, 3.0)}
    # the imitation warm start comes before the first iteration: its time counts
    warm = [{"event": "imitation", "seconds": 600.0}, *events]
    assert iteration_clock(warm) == {1: (10, 601.5), 2: (20, 603.0)}
    state = _state()
    state.record(MatchRecord(1, "train", ("m0", S, S, S), (0, 1, 2, 3), 1))
    path = plot_learning_curve(learning_curve(state, events), tmp_path / "c.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_a_team_leagues_records_count_against_a_side_of_simple_agents(tmp_path: Path) -> None:
    state = _state()
    for it, seats, ranks in [(1, ("m0", S), (0, 1)), (1, (S, "m0"), (0, 0)), (2, (S, "m0"), (0, 1)),
                             (2, ("m0", "bot:static"), (0, 1))]:  # the last: not SimpleAgents
        state.record(MatchRecord(it, "train", seats, ranks, it))
    events = [{"event": "iteration", "iteration": i, "env_steps": 100 * i, "wall_seconds": 1.0} for i in (1, 2)]
    (point,) = learning_curve(state, events)
    assert (point.games, point.wins, point.ties) == (3, 1, 1)
    assert plot_learning_curve([point], tmp_path / "t.png", team=True).read_bytes()[:4] == b"\x89PNG"
