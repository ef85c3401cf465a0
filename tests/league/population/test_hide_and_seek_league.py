"""Hide-and-seek leagues: sides, matchmaking across sides, PBT within a side, the league env, the
per-phase stats and their plot (the end-to-end run is in test_hide_and_seek_run.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from palaestra.envs.hide_and_seek.config import VARIANTS, variant_config
from palaestra.envs.hide_and_seek.stats import team_ranks
from palaestra.errors import ConfigError
from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.envs.hide_and_seek import HideAndSeekLeagueEnv
from palaestra.league.population.matchmaking import lineup_table
from palaestra.league.population.pbt import PBTConfig, exploit_explore
from palaestra.league.population.phases import plot_phases, summarise
from palaestra.league.population.sides import members_of, rivals, side_learner_ids, side_of
from palaestra.league.population.state import LeagueState, MatchRecord, Member


def _league(population: int = 2) -> LeagueState:
    state = LeagueState.new("hide-and-seek", 0)
    for m in side_learner_ids(population):
        state.add_member(Member(m, "learner", {"lr": 3e-4, "entropy_coeff": 0.01}))
    return state


def test_sides_are_read_from_the_ids() -> None:
    assert side_learner_ids(2) == ["h0", "h1", "s0", "s1"]
    assert side_of("h1") == "hider" and side_of("s0@it20") == "seeker"
    assert rivals("h0", "s1@it5") and not rivals("h0", "h1@it5")
    assert members_of("seeker", ["h0", "s0", "s1@it2"]) == ["s0", "s1@it2"]
    for bad in ("m0", "bot:simple", "hx", "s"):
        with pytest.raises(ConfigError, match="not a hide-and-seek member id"):
            side_of(bad)


def test_config_names_the_two_populations_and_checks_the_variant() -> None:
    c = LeagueConfig(env="hide-and-seek", population=2, snapshot_every=5, iterations=10)
    assert c.hide_and_seek and not c.bomber and not c.solo
    assert c.learner_ids() == ["h0", "h1", "s0", "s1"]
    assert "s1@it10" in c.planned_member_ids()
    assert set(c.initial_hyperparams()) == {"lr", "entropy_coeff"}  # Bomber's shaping does not apply
    with pytest.raises(ConfigError, match="no hide-and-seek variant 'tiny'"):
        LeagueConfig(env="hide-and-seek", variant="tiny")
    with pytest.raises(ConfigError, match="for Bomber leagues"):
        LeagueConfig(env="hide-and-seek", imitation=LeagueConfig().imitation.__class__(teacher="simple"))
    assert variant_config("quadrant").grid_size == 10 and set(VARIANTS) == {"full", "quadrant"}


def test_pfsp_draws_only_the_other_side() -> None:
    state = _league()
    state.take_snapshot("s0", 3)
    table = lineup_table(state, rivals=rivals)
    assert set(table["h0"]) == {"s0", "s1", "s0@it3"}
    assert set(table["s1"]) == {"h0", "h1"}
    assert all(abs(sum(d.values()) - 1) < 1e-9 for d in table.values())
    assert "h1" in lineup_table(state)["h0"]  # without the rule anyone meets anyone


def test_pbt_copies_within_a_side_only() -> None:
    state = _league()
    for i in range(12):  # h0 beats every seeker, h1 loses to them; s0 beats h1, s1 loses to h0
        state.record(MatchRecord(1, "train", ("h0", "s1"), (0, 1), i))
        state.record(MatchRecord(1, "train", ("h1", "s0"), (1, 0), 100 + i))
    rng = np.random.default_rng(0)
    config = PBTConfig(interval=1, min_matches=1)
    events = [e for side in ("hider", "seeker") for e in exploit_explore(
        state, rng, config, 1, among=members_of(side, state.learners()))]
    assert {(e.target, e.donor) for e in events} == {("h1", "h0"), ("s1", "s0")}


def test_team_ranks() -> None:
    assert team_ranks(30, 36) == (0, 1)
    assert team_ranks(5, 36) == (1, 0)
    assert team_ranks(18, 36) == (0, 0)


def _play(env: HideAndSeekLeagueEnv, rng: np.random.Generator) -> tuple[float, float, int]:
    obs, _ = env.reset()
    hider, seeker = env.teams
    totals = {hider: 0.0, seeker: 0.0}
    steps = 0
    while True:
        assert set(obs) == set(env.agents)
        for o in obs.values():
            assert env.observation_spaces.space.contains(o)
        actions = {a: rng.integers(0, [5, 5, 3]) for a in obs}
        obs, rewards, _, truncated, _ = env.step(actions)
        steps += 1
        for a, r in rewards.items():
            if a.endswith("/0") or a.endswith("/2"):  # one hider seat and one seeker seat
                totals[a.split("/")[0]] += r
        if truncated["__all__"]:
            return totals[hider], totals[seeker], steps


def test_league_env_seats_each_team_with_one_member_and_records_the_game() -> None:
    lineups = {"h0": {"s0": 0.5, "s0@it2": 0.5}, "s0": {"h0": 1.0}}
    env = HideAndSeekLeagueEnv({"lineups": lineups, "seed": 3, "variant": "quadrant"})
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(4):
        hider_total, seeker_total, steps = _play(env, rng)
        assert steps == 60 and -1.0 <= hider_total <= 1.0 and hider_total == pytest.approx(-seeker_total)
        (game,) = env.pop_results()
        hider, seeker = game["seats"]
        seen.add((hider, seeker))
        assert side_of(hider) == "hider" and side_of(seeker) == "seeker"
        seek = game["phases"]["seek"]
        assert seek["steps"] == 36 and game["hider_return"] == 2 * seek["hidden_steps"] - 36
        assert hider_total == pytest.approx(game["hider_return"] / 36)
        assert tuple(game["ranks"]) == team_ranks(seek["hidden_steps"], 36)
    assert all(h == "h0" for h, _ in seen) and {s for _, s in seen} <= {"s0", "s0@it2"}
    assert {"h0/0", "h0/1", "s0/2", "s0@it2/3"} <= set(env.possible_agents)
    with pytest.raises(ValueError, match="would meet its own side"):
        env.set_league({"h0": {"h1": 1.0}}, [], {})
    with pytest.raises(ValueError, match="empty lineup"):
        env.set_league({"h0": {}}, [], {})


def test_league_env_is_deterministic_for_a_seed() -> None:
    def run() -> list[dict]:
        env = HideAndSeekLeagueEnv({"lineups": {"h0": {"s0": 1.0}, "s0": {"h0": 1.0}}, "seed": 9})
        rng = np.random.default_rng(1)
        for _ in range(2):
            _play(env, rng)
        return env.pop_results()

    assert run() == run()


def test_phase_summary_and_plot(tmp_path: Path) -> None:
    env = HideAndSeekLeagueEnv({"lineups": {"h0": {"s0": 1.0}, "s0": {"h0": 1.0}}, "seed": 1})
    rng = np.random.default_rng(2)
    for _ in range(3):
        _play(env, rng)
    games = env.pop_results()
    summary = summarise(games)
    assert set(summary) == {"prep", "seek"} and summary["seek"]["games"] == 3
    hidden = sum(g["phases"]["seek"]["hidden_steps"] for g in games)
    assert summary["seek"]["hider_return"] == pytest.approx((2 * hidden - 3 * 36) / (3 * 36))
    assert summary["prep"]["hider_locks"] == pytest.approx(
        np.mean([g["phases"]["prep"]["hider_locks"] for g in games]))
    assert summarise([]) == {}
    events = [{"event": "iteration", "iteration": i, "env_steps": 1000 * i, "phases": summary}
              for i in range(1, 4)] + [{"event": "snapshot", "iteration": 2}]
    path = plot_phases(events, tmp_path / "p" / "phases.png")
    assert path is not None and path.stat().st_size > 10_000
    assert plot_phases([{"event": "iteration", "iteration": 1}], tmp_path / "none.png") is None
