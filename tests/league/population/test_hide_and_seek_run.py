"""A hide-and-seek league end to end on a local Ray: two populations, snapshots, PBT within a
side, per-phase stats in events.jsonl and TensorBoard, plots, resume and a member's replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from palaestra.cli.main import main
from palaestra.league.population.sides import side_of
from palaestra.league.population.state import LeagueState

pytest.importorskip("ray")

TINY = ["--env", "hide-and-seek", "--population", "2", "--steps-per-iteration", "240",
        "--minibatch-size", "120", "--epochs", "1", "--snapshot-every", "1", "--pbt-interval", "2",
        "--eval-every", "0", "--num-cpus", "2"]


def test_hide_and_seek_league_trains_resumes_and_replays(tmp_path: Path) -> None:
    out = tmp_path / "hns"
    assert main(["league", "train", "--out", str(out), "--iterations", "2", *TINY]) == 0
    state = LeagueState.load(out / "league.json")
    assert state.learners() == ["h0", "h1", "s0", "s1"] and state.bots() == []
    assert len(state.snapshots()) == 8
    assert len(state.matches) == 8  # 240 steps of 60-step games, twice
    for match in state.matches:  # a hider member against a seeker member
        assert [side_of(m) for m in match.seats] == ["hider", "seeker"]
    assert state.pbt_events and all(side_of(e.target) == side_of(e.donor) for e in state.pbt_events)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    its = [e for e in events if e["event"] == "iteration"]
    assert [e["iteration"] for e in its] == [1, 2]
    assert all(e["phases"]["seek"]["games"] == 4 and -1 <= e["phases"]["seek"]["hider_return"] <= 1
               for e in its)
    assert (out / "plots" / "phases.png").stat().st_size > 10_000
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = EventAccumulator(str(out / "tb")).Reload().Tags()["scalars"]
    assert {"phases/prep/hider_locks", "phases/seek/hider_return", "phases/seek/seeker_ramp_uses"} <= set(tags)

    assert main(["league", "train", "--out", str(out), "--iterations", "3", "--resume", *TINY]) == 0
    assert LeagueState.load(out / "league.json").iteration == 3

    # a member's greedy game against the other side's best learner; the same file twice
    from palaestra.evaluation.replay import load_replay

    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for path in paths:
        assert main(["league", "replay", "--out", str(out), "--member", "s1", "--to", str(path)]) == 0
    replay = load_replay(paths[0])
    assert replay.env_id == "palaestra/HideAndSeek-v0" and replay.steps == 60
    assert replay.agents[2:] == ["s1", "s1"] and side_of(replay.agents[0]) == "hider"
    strip = lambda r: {**r.__dict__, "created": None}  # noqa: E731
    assert strip(load_replay(paths[1])) == strip(replay)
    assert main(["league", "replay", "--out", str(out), "--member", "s1", "--opponent", "s0",
                 "--to", str(tmp_path / "x.json")]) == 2
    assert main(["league", "eval", "--out", str(out), "--games", "1"]) == 2  # Bomber only: a clear error
