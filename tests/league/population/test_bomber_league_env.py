"""The Bomber league env: lineups from the league's table, bots inside, match records, shaping."""

import numpy as np
import pytest

from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.envs.bomber import (
    OBS_SPACE,
    BomberLeagueEnv,
    placement_ranks,
)

BOTS = ["bot:simple", "bot:random", "bot:static"]


def _env(lineups, shaping=None, seed=0):
    return BomberLeagueEnv({"lineups": lineups, "bots": BOTS, "shaping": shaping or {},
                            "seed": seed})


def _play(env, rng, episodes):
    trace = []
    for _ in range(episodes):
        obs, _ = env.reset()
        trace.append(tuple(env._seats))
        while True:
            assert all(OBS_SPACE.contains(o) for o in obs.values())
            obs, rew, term, trunc, _ = env.step({m: int(rng.integers(6)) for m in env.agents})
            assert set(obs) == set(rew)  # agents that just finished get their last view
            trace.append(tuple(sorted(rew.items())))
            if term["__all__"] or trunc["__all__"]:
                break
    return trace, env.pop_results()


def test_lineups_follow_the_table_and_bots_play_inside():
    env = _env({"m0": {"m1": 0.5, "bot:static": 0.5}, "m1": {"m0": 0.2, "bot:simple": 0.8}})
    _, results = _play(env, np.random.default_rng(0), 40)
    assert len(results) == 40
    for r in results:
        seats = r["seats"]
        members = [s for s in seats if not s.startswith("bot:")]
        assert 1 <= len(members) <= 2 and len(set(members)) == len(members)
        if "m0" in seats and "m1" not in seats:
            assert all(s in ("m0", "bot:static") for s in seats)
        assert sorted(set(r["ranks"]))[0] == 0 and len(r["ranks"]) == 4
    # both learners get to play
    assert {s for r in results for s in r["seats"]} >= {"m0", "m1"}


def test_same_seed_same_games():
    lineups = {"m0": {"bot:simple": 0.5, "bot:random": 0.5}}
    a = _play(_env(lineups, seed=3), np.random.default_rng(1), 5)
    b = _play(_env(lineups, seed=3), np.random.default_rng(1), 5)
    assert a == b


def test_placement_ranks():
    # seat 2 won; seat 0 died at step 10, seat 1 at step 5, seat 3 at step 10
    assert placement_ranks([10, 5, None, 10], [2]) == [1, 2, 0, 1]
    # a draw: two survivors share first place
    assert placement_ranks([None, 7, None, 3], []) == [0, 1, 0, 2]


def test_shaping_pays_for_a_pickup():
    env = _env({"m0": {"bot:static": 1.0}}, shaping={"m0": {"shape_pickup": 0.5}})
    obs, _ = env.reset(seed=0)
    seat = env._seats.index("m0")
    board = env.game.batch.board[0]
    r, c = (int(v) for v in env.game.batch.agents[0, seat, 1:3])
    # put a power-up on the cell to the right of the member, and clear it
    board[r, c + 1 if c < 10 else c - 1] = 6
    move = 4 if c < 10 else 3
    _, rew, *_ = env.step({"m0": move})
    assert rew["m0"] == pytest.approx(0.5)


def test_refuses_team_mode_and_reset_without_league():
    with pytest.raises(ValueError, match="FFA"):
        BomberLeagueEnv({"bomber": {"mode": "team"}})
    with pytest.raises(RuntimeError, match="set_league"):
        BomberLeagueEnv({}).reset(seed=0)
    with pytest.raises(ValueError, match="empty lineup"):
        BomberLeagueEnv({"lineups": {"m0": {}}})


def test_league_config_validation_and_round_trip():
    c = LeagueConfig(population=3, iterations=20, snapshot_every=10)
    assert LeagueConfig.from_json(c.to_json()) == c
    assert c.planned_member_ids() == ["m0", "m1", "m2", "m0@it10", "m1@it10", "m2@it10",
                                      "m0@it20", "m1@it20", "m2@it20"]
    with pytest.raises(ValueError, match="population must be a positive integer"):
        LeagueConfig(population=0)
    with pytest.raises(ValueError, match="unknown bots"):
        LeagueConfig(bots=("nope",))
    with pytest.raises(ValueError, match="the league trains on"):
        LeagueConfig(env="chess")
    with pytest.raises(ValueError, match="num_gpus_per_learner needs num_learners"):
        LeagueConfig(num_gpus_per_learner=1.0)
    with pytest.raises(ValueError, match="unknown league config fields"):
        LeagueConfig.from_json({"populaton": 3})


def test_solo_league_env_plays_one_learner_per_episode():
    from palaestra.league.population.envs.solo import SoloLeagueEnv

    env = SoloLeagueEnv({"env": "counting", "lineups": {"m0": {}, "m1": {}}, "seed": 0})
    rng = np.random.default_rng(0)
    players = []
    for _ in range(20):
        obs, _ = env.reset()
        (member,) = obs
        players.append(member)
        assert env.observation_spaces[member].contains(obs[member])
        while True:
            obs, rew, term, trunc, _ = env.step({member: int(rng.integers(5))})
            if term["__all__"] or trunc["__all__"]:
                break
    results = env.pop_results()
    assert [r["member"] for r in results] == players and set(players) == {"m0", "m1"}
    assert all(r["return"] in (0.0, 1.0) for r in results)
    with pytest.raises(ValueError, match="no single-agent league env"):
        SoloLeagueEnv({"env": "chess"})
