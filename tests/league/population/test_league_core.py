"""League state (files), PFSP matchmaking, PBT and the league plots: the pure-Python core."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from palaestra.league.population.matchmaking import (
    MatchmakingConfig,
    choose_lineup,
    lineup_table,
    pfsp_distribution,
)
from palaestra.league.population.pbt import PBTConfig, exploit_explore
from palaestra.league.population.plots import league_rows, plot_league, print_league
from palaestra.league.population.state import (
    LeagueState,
    LeagueStateError,
    MatchRecord,
    Member,
    WinRecord,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _league(n_learners: int = 2, bots: tuple[str, ...] = ("bot:simple",),
            seed: int = 0) -> LeagueState:
    state = LeagueState.new("palaestra/Bomber-v0", seed)
    for i in range(n_learners):
        state.add_member(Member(f"m{i}", "learner", {"lr": 1e-3 * (i + 1),
                                                     "entropy_coeff": 0.01,
                                                     "shape_bomb": 0.5}))
    for bot in bots:
        state.add_member(Member(bot, "bot"))
    return state


def _play(state: LeagueState, seats: list[str], ranks: list[int], times: int = 1,
          source: str = "train") -> None:
    for _ in range(times):
        state.record(MatchRecord(state.iteration, source, tuple(seats), tuple(ranks),
                                 len(state.matches)))


def _ladder(state: LeagueState, times: int = 4) -> None:
    """FFA games among the learners where a higher index always finishes better."""
    learners = state.learners()
    _play(state, learners, [len(learners) - 1 - i for i in range(len(learners))], times)


# ------------------------------------------------------------------------------ state and files


def test_members_matches_and_merged_seats() -> None:
    state = _league(2)
    with pytest.raises(ValueError, match="already in the league"):
        state.add_member(Member("m0", "learner"))
    with pytest.raises(ValueError, match="kind"):
        Member("x", "robot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2 ranks for 3 seats"):
        MatchRecord(0, "train", ("m0", "m1", "bot:simple"), (0, 1), 0)
    with pytest.raises(ValueError, match="unknown members"):
        state.record(MatchRecord(0, "train", ("m0", "ghost"), (0, 1), 0))
    snap = state.take_snapshot("m0", 10)
    assert (snap.member_id, snap.parent, snap.frozen) == ("m0@it10", "m0", True)
    assert snap.hyperparams == state.members["m0"].hyperparams
    assert state.learners() == ["m0", "m1"] and state.snapshots() == ["m0@it10"]
    assert state.bots() == ["bot:simple"]
    # the bot has two seats: it counts once, with its better place (1), so m1 (2) lost to it
    _play(state, ["m0", "bot:simple", "m1", "bot:simple"], [0, 3, 2, 1])
    _play(state, ["m0", "m1"], [0, 0], source="eval")
    assert state.win_rate("m1", "bot:simple") == WinRecord(0.0, 1)
    assert state.win_rate("m0", "m1") == WinRecord(1.5, 2)  # the draw counts half
    assert state.win_rate("m0", "m1", sources=("eval",)).rate == 0.5
    table = state.rating_table()
    assert table.n_games == 2 and table.players["bot:simple"].games == 1
    assert table.players["bot:simple"].elo > table.players["m1"].elo
    with pytest.raises(ValueError, match="two different"):
        state.win_rate("m0", "m0")


def test_save_load_round_trip_is_exact_and_rng_continues(tmp_path: Path) -> None:
    state = _league(4, bots=("bot:simple", "bot:random"), seed=7)
    state.members["m3"].hyperparams["shape_bomb"] = 0.1 + 0.2  # a float that shows rounding
    state.take_snapshot("m1", 3)
    _ladder(state)
    _play(state, ["m0", "bot:random", "bot:random", "m1@it3"], [1, 0, 3, 2], source="eval")
    gen = state.rng()
    exploit_explore(state, gen, PBTConfig(), iteration=5)
    state.store_rng(gen)
    state.iteration, state.checkpoint, state.extra = 5, "checkpoints/it5", {"note": [1, 2.5]}

    path = state.save(tmp_path / "league.json")
    assert not (tmp_path / "league.json.tmp").exists()
    data = json.loads(path.read_text())
    assert (data["format"], data["version"]) == ("palaestra-league", 1)
    loaded = LeagueState.load(path)
    assert loaded == state
    assert loaded.members["m3"].hyperparams["shape_bomb"] == 0.1 + 0.2
    assert list(loaded.members) == list(state.members)
    assert loaded.pbt_events == state.pbt_events and len(loaded.pbt_events) == 1
    np.testing.assert_array_equal(loaded.rng().random(8), gen.random(8))
    assert LeagueState.from_json(state.to_json()) == state


def test_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = _league(2)
    path = state.save(tmp_path / "league.json")
    before = path.read_bytes()
    state.iteration = 99
    _play(state, ["m0", "m1"], [0, 1])

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        state.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert LeagueState.load(path).iteration == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["league.json"]


def _edit(data: dict, change: str) -> dict:
    if change == "format":
        data["format"] = "something-else"
    elif change == "version":
        data["version"] = 2
    elif change == "unknown_member":
        data["matches"][0]["seats"][1] = "ghost"
    elif change == "missing_members":
        del data["members"]
    elif change == "bad_kind":
        data["members"][0]["kind"] = "robot"
    elif change == "bad_rng":
        data["rng_state"] = {"bit_generator": "Nope"}
    return data


@pytest.mark.parametrize(("change", "message"), [
    ("format", r"'format' must be 'palaestra-league'"),
    ("version", r"'version' must be 1"),
    ("unknown_member", r"matches\[0\]\.seats: unknown member 'ghost'"),
    ("missing_members", r"'members' is missing"),
    ("bad_kind", r"members\[0\]: .*kind"),
    ("bad_rng", r"rng_state"),
])
def test_malformed_league_files_are_rejected(tmp_path: Path, change: str, message: str) -> None:
    state = _league(2)
    _play(state, ["m0", "m1"], [0, 1])
    path = tmp_path / "league.json"
    path.write_text(json.dumps(_edit(json.loads(json.dumps(state.to_json())), change)))
    with pytest.raises(LeagueStateError, match=message) as info:
        LeagueState.load(path)
    assert str(path) in str(info.value)


def test_missing_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(LeagueStateError, match="not found"):
        LeagueState.load(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "palaestra-league", "vers')
    with pytest.raises(LeagueStateError, match="bad.json: not a JSON"):
        LeagueState.load(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(LeagueStateError, match="JSON object"):
        LeagueState.load(bad)


# ------------------------------------------------------------------------------- matchmaking


def test_pfsp_hard_prefers_the_opponent_the_learner_loses_to() -> None:
    state = _league(2)
    state.take_snapshot("m0", 1)
    _play(state, ["m0", "m1"], [1, 0], times=10)        # m0 always loses to m1
    _play(state, ["m0", "m0@it1"], [0, 1], times=10)    # ... and always beats its snapshot
    config = MatchmakingConfig(weighting="hard", min_prob=0.0)
    dist = pfsp_distribution(state, "m0", config)
    assert list(dist) == ["m1", "bot:simple", "m0@it1"]  # creation order; never m0 itself
    assert dist["m1"] > dist["bot:simple"] > dist["m0@it1"]
    w = {"m1": (1 - 1 / 12) ** 2, "bot:simple": 0.25, "m0@it1": (1 - 11 / 12) ** 2}
    assert dist == pytest.approx({k: v / sum(w.values()) for k, v in w.items()}, rel=1e-12)
    # variance weighting prefers the unknown bot (p = 0.5) to both one-sided opponents
    var = pfsp_distribution(state, "m0", MatchmakingConfig(weighting="variance", min_prob=0.0))
    assert var["bot:simple"] > var["m1"] == pytest.approx(var["m0@it1"])
    uni = pfsp_distribution(state, "m0", MatchmakingConfig(weighting="uniform", bot_weight=2.0))
    assert uni == pytest.approx({"m1": 0.25, "bot:simple": 0.5, "m0@it1": 0.25})
    # a kind with weight 0 is left out
    assert "bot:simple" not in pfsp_distribution(state, "m0", MatchmakingConfig(bot_weight=0.0))
    assert set(lineup_table(state, config)) == {"m0", "m1"}
    assert lineup_table(state, config)["m0"] == dist


def test_pfsp_probabilities_sum_to_one_and_respect_the_floor() -> None:
    state = _league(6, bots=("bot:a", "bot:b"))
    _ladder(state, times=20)  # m0 loses to everyone, m5 beats everyone
    for min_prob in (0.0, 0.02, 0.1):
        config = MatchmakingConfig(min_prob=min_prob)
        dist = pfsp_distribution(state, "m5", config)
        assert sum(dist.values()) == pytest.approx(1.0, abs=1e-12)
        assert min(dist.values()) >= min_prob - 1e-12
    # m2 beats m0 and m1 (tiny weights), loses to m3..m5, has not met the bots
    raw = pfsp_distribution(state, "m2", MatchmakingConfig(min_prob=0.0))
    floored = pfsp_distribution(state, "m2", MatchmakingConfig(min_prob=0.05))
    assert raw["m0"] < 0.05 and floored["m0"] == floored["m1"] == pytest.approx(0.05)
    assert raw["bot:a"] > 0.05 and raw["bot:a"] > floored["bot:a"]
    # those above the floor keep their ratios
    assert floored["bot:a"] / floored["m4"] == pytest.approx(raw["bot:a"] / raw["m4"])
    # a floor that cannot hold for everyone gives the uniform distribution
    assert list(pfsp_distribution(state, "m5", MatchmakingConfig(min_prob=0.5)).values()) \
        == [1 / 7] * 7
    for bad in ({"weighting": "easy"}, {"min_prob": 1.0}, {"prior_games": -1.0},
                {"bot_weight": math.nan}):
        with pytest.raises(ValueError):
            MatchmakingConfig(**bad)  # type: ignore[arg-type]


def test_lineups_have_no_duplicate_non_bots_and_are_deterministic() -> None:
    state = _league(3, bots=("bot:simple",))
    state.take_snapshot("m1", 4)
    _ladder(state)
    config = MatchmakingConfig()
    lineups = [choose_lineup(state, "m0", 5, np.random.default_rng(s), config) for s in range(40)]
    for lineup in lineups:
        assert len(lineup) == 5 and "m0" not in lineup
        non_bots = [m for m in lineup if not m.startswith("bot:")]
        assert len(non_bots) == len(set(non_bots)) <= 3
        assert lineup.count("bot:simple") >= 2  # only 3 non-bots exist: the rest are bots
    assert len({tuple(x) for x in lineups}) > 1
    again = [choose_lineup(state, "m0", 5, np.random.default_rng(s), config) for s in range(40)]
    assert again == lineups
    # single draws follow the distribution
    dist = pfsp_distribution(state, "m0", config)
    rng = np.random.default_rng(123)
    draws = [choose_lineup(state, "m0", 1, rng, config)[0] for _ in range(3000)]
    for member, p in dist.items():
        assert draws.count(member) / 3000 == pytest.approx(p, abs=0.03)
    # bots with weight 0 are still the fallback when the non-bots run out
    no_bots = MatchmakingConfig(bot_weight=0.0)
    assert choose_lineup(state, "m0", 4, np.random.default_rng(0), no_bots)[-1] == "bot:simple"


def test_lineup_errors() -> None:
    state = _league(2, bots=())
    state.take_snapshot("m0", 1)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown learner"):
        choose_lineup(state, "m9", 1, rng)
    with pytest.raises(ValueError, match="is a snapshot, not a learner"):
        pfsp_distribution(state, "m0@it1")
    with pytest.raises(ValueError, match="only 2 other learners/snapshots and no bots"):
        choose_lineup(state, "m0", 3, rng)
    lonely = _league(1, bots=())
    with pytest.raises(ValueError, match="no opponents"):
        pfsp_distribution(lonely, "m0")


# ------------------------------------------------------------------------------------------ PBT


def test_pbt_replaces_the_worst_with_perturbed_copies_of_the_best() -> None:
    state = _league(4)
    state.members["m3"].hyperparams.update(lr=1e-2, entropy_coeff=0.0, shape_bomb=0.9)
    _ladder(state)  # m3 best ... m0 worst
    config = PBTConfig(fraction=0.25)
    events = exploit_explore(state, np.random.default_rng(1), config, iteration=10)
    assert len(events) == 1 and state.pbt_events == events
    event = events[0]
    assert (event.iteration, event.target, event.donor) == (10, "m0", "m3")
    assert event.target_rating < event.donor_rating
    assert event.before == {"lr": 1e-3, "entropy_coeff": 0.01, "shape_bomb": 0.5}
    after = state.members["m0"].hyperparams
    assert after == event.after and state.members["m0"].parent == "m3"
    assert after["lr"] in (pytest.approx(8e-3), 1e-2)           # x0.8, or x1.25 clipped
    assert after["entropy_coeff"] == 0.0                        # perturbing 0 keeps 0
    assert after["shape_bomb"] in (pytest.approx(0.72), 1.0)    # x0.8, or x1.25 clipped
    assert state.members["m3"].hyperparams["lr"] == 1e-2        # the donor is untouched
    # same seed, same result
    again = _league(4)
    again.members["m3"].hyperparams.update(lr=1e-2, entropy_coeff=0.0, shape_bomb=0.9)
    _ladder(again)
    assert exploit_explore(again, np.random.default_rng(1), config, iteration=10) == events


def test_pbt_never_self_donor_and_resampling_stays_in_bounds() -> None:
    state = _league(8)
    _ladder(state)
    config = PBTConfig(fraction=0.5, resample_prob=1.0,
                       bounds={"lr": (1e-4, 1e-3), "entropy_coeff": (0.0, 0.02)})
    events = exploit_explore(state, np.random.default_rng(3), config, iteration=1)
    assert [e.target for e in events] == ["m0", "m1", "m2", "m3"]   # worst first
    assert {e.donor for e in events} <= {"m4", "m5", "m6", "m7"}
    for e in events:
        assert e.target != e.donor
        assert 1e-4 <= e.after["lr"] <= 1e-3 and 0.0 <= e.after["entropy_coeff"] <= 0.02
        assert 0.0 <= e.after["shape_bomb"] <= 1.0 and e.after != e.before


def test_pbt_small_populations_min_matches_and_errors() -> None:
    solo = _league(1)
    _play(solo, ["m0", "bot:simple"], [0, 1])
    assert exploit_explore(solo, np.random.default_rng(0), PBTConfig(), 1) == []
    assert solo.pbt_events == []
    state = _league(3)
    _play(state, ["m1", "m2"], [0, 1], times=3)  # m0 has not played
    events = exploit_explore(state, np.random.default_rng(0), PBTConfig(min_matches=1), 1)
    assert [(e.target, e.donor) for e in events] == [("m2", "m1")]
    state.members["m0"].hyperparams["gamma"] = 0.99
    before = {m: dict(state.members[m].hyperparams) for m in state.members}
    with pytest.raises(ValueError, match="'gamma' has no bounds"):
        exploit_explore(state, np.random.default_rng(0), PBTConfig(), 2)
    assert {m: state.members[m].hyperparams for m in state.members} == before
    for bad in ({"interval": 0}, {"fraction": 0.6}, {"perturb_factors": (0.8, -1.0)},
                {"resample_prob": 1.5}, {"bounds": {"lr": (0.0, 1.0)}}, {"min_matches": -1}):
        with pytest.raises(ValueError):
            PBTConfig(**bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- plots


def test_plots_write_pngs_and_refuse_an_empty_league(tmp_path: Path) -> None:
    state = _league(3)
    with pytest.raises(ValueError, match="no recorded matches"):
        plot_league(state, tmp_path / "empty")
    state.take_snapshot("m2", 2)
    _ladder(state, times=3)
    _play(state, ["m0", "bot:simple", "bot:simple", "m2@it2"], [2, 0, 1, 3])
    paths = plot_league(state, tmp_path / "plots")
    assert set(paths) == {"league_table", "league_table_json", "ratings_elo", "ratings_ordinal",
                          "win_matrix"}
    for key, path in paths.items():
        assert path.parent == tmp_path / "plots" and path.stat().st_size > 0
        if key != "league_table_json":
            assert path.read_bytes()[:8] == PNG_MAGIC
    rows = json.loads(paths["league_table_json"].read_text())
    assert rows == json.loads(json.dumps(league_rows(state)))
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["member"] == "m2" and rows[0]["ordinal"] >= rows[-1]["ordinal"]
    console = Console(record=True, width=160)
    print_league(state, console)
    text = console.export_text()
    assert all(m in text for m in state.members) and "lr=0.003" in text
