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
    with pytest.raises(ValueError, match="gae_lambda must be in"):
        LeagueConfig(gae_lambda=1.5)
    with pytest.raises(ValueError, match="shaping weights must be >= 0, got shape_pickup=-0.1"):
        LeagueConfig(shaping={"shape_pickup": -0.1, "shape_enemy_death": 0.2})
    with pytest.raises(ValueError, match="unknown shaping weights"):
        LeagueConfig(shaping={"shape_kills": 1.0})
    # team leagues: the boards sampler only, and no FFA evaluation rounds
    assert LeagueConfig(mode="team", eval_every=0).mode == "team"
    assert LeagueConfig.from_json(c.to_json()).mode == "ffa"
    with pytest.raises(ValueError, match="mode 'team' is a Bomber mode of the boards sampler"):
        LeagueConfig(mode="team", eval_every=0, sampler="env", model="mlp", action_mask=False)
    assert not LeagueConfig(mode="team").evaluates  # the rounds are FFA: a team league has none
    assert LeagueConfig().evaluates and not LeagueConfig(eval_every=0).evaluates
    assert not LeagueConfig(env="kelly").evaluates
    assert LeagueConfig(mode="team_radio", eval_every=0).mode == "team_radio"
    with pytest.raises(ValueError, match="mode must be one of ffa, team, team_radio, got 'radio'"):
        LeagueConfig(mode="radio", eval_every=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode 'team_radio' needs model 'cnn'"):
        LeagueConfig(mode="team_radio", eval_every=0, model="mlp")
    # GAE's lambda: 0.95 for new leagues; one saved before the field resumes on RLlib's 1.0
    assert c.gae_lambda == 0.95
    old = {k: v for k, v in c.to_json().items() if k != "gae_lambda"}
    assert LeagueConfig.from_json(old).gae_lambda == 1.0
    # the action filter: cautious for new leagues; one saved before the field keeps sure-death
    assert c.action_filter == "cautious"
    old = {k: v for k, v in c.to_json().items() if k != "action_filter"}
    assert LeagueConfig.from_json(old).action_filter == "sure-death"
    with pytest.raises(ValueError, match="unknown action filter 'careful'; known: sure-death, cautious"):
        LeagueConfig(action_filter="careful")  # type: ignore[arg-type]


def test_train_command_line_sets_shaping_and_pfsp_weights():
    from palaestra.cli.league import _config
    from palaestra.cli.main import build_parser

    def config(*extra):
        args = build_parser().parse_args(["league", "train", "--out", "x", *extra])
        return _config(args)

    assert config().shaping == LeagueConfig().shaping
    assert config().action_filter == "cautious"
    assert config("--action-filter", "sure-death").action_filter == "sure-death"
    off = config("--shape-pickup", "0", "--shape-enemy-death", "0")
    assert off.shaping == {"shape_pickup": 0.0, "shape_enemy_death": 0.0}
    assert off.initial_hyperparams()["shape_pickup"] == 0.0
    with pytest.raises(ValueError, match="shaping weights must be >= 0"):
        config("--shape-enemy-death", "-1")
    # PFSP's weights come from the command line too
    assert config().matchmaking == LeagueConfig().matchmaking
    mm = config("--pfsp", "variance", "--bot-weight", "3", "--snapshot-weight", "0").matchmaking
    assert (mm.weighting, mm.bot_weight, mm.snapshot_weight, mm.learner_weight) == ("variance", 3.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="bot_weight must be finite and >= 0"):
        config("--bot-weight", "-1")


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


def _suicide_games(play_out: bool, games: int, seed: int) -> list[dict]:
    """Games of a member that lays a bomb and stands on it (dead within ten steps) against one
    bot of each kind."""
    lineup = {"m0": {b: 1 / 3 for b in BOTS}}
    env = BomberLeagueEnv({"lineups": lineup, "bots": BOTS, "seed": seed, "play_out": play_out})
    records = []
    while len(records) < games:
        env.reset()
        if sorted(s for s in env._seats if s != "m0") != sorted(BOTS):
            continue  # only games with one bot of each kind
        while True:
            _, _, term, trunc, _ = env.step({m: 5 for m in env.agents})
            if term["__all__"] or trunc["__all__"]:
                break
        assert (env.game.agents == []) == play_out  # played to its end, or stopped with m0
        record = env.pop_results()[0]
        record["alive_at_end"] = [bool(a) for a in env.game.batch.agents[0, :, 0]]
        records.append(record)
    return records


def test_bots_play_the_game_out_after_the_member_dies():
    # before issue 17 the game stopped with the member, the three bots sharing first place
    for record in _suicide_games(True, 6, seed=5):
        ranks, alive = record["ranks"], record["alive_at_end"]
        assert ranks[record["seats"].index("m0")] == max(ranks)
        if any(alive):  # first place is exactly who stood at the end of the whole game
            assert [r == 0 for r in ranks] == alive


def test_played_out_games_rate_simple_above_static_and_random():
    from palaestra.evaluation.ratings import RatedGame, rate_games

    def table(records: list[dict]) -> dict[str, float]:
        games = []
        for i, r in enumerate(records):
            dense = {x: j for j, x in enumerate(sorted(set(r["ranks"])))}
            games.append(RatedGame(str(i), [[s] for s in r["seats"]], [dense[x] for x in r["ranks"]]))
        rated = rate_games(games)
        return {p: rated.players[p].mu for p in rated.players}

    played_out = table(_suicide_games(True, 60, seed=7))
    assert played_out["bot:simple"] > played_out["bot:static"] > played_out["bot:random"], played_out


def test_without_play_out_the_game_stops_with_the_member():
    env = BomberLeagueEnv({"lineups": {"m0": {"bot:simple": 1.0}}, "bots": BOTS, "seed": 5,
                           "play_out": False})
    env.reset()
    while True:
        _, _, term, trunc, _ = env.step({m: 5 for m in env.agents})
        if term["__all__"] or trunc["__all__"]:
            break
    assert len(env.game.agents) == 3 and sorted(env.pop_results()[0]["ranks"]).count(0) == 3


def test_evaluation_rounds_rotate_the_learner_through_the_four_seats():
    from palaestra.league.population.eval import play_eval_games

    rng = np.random.default_rng(0)
    games = play_eval_games("m0", lambda obs: int(rng.integers(6)), games=8, seed=5)
    assert [g.seats.index("m0") for g in games] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert all(sorted(g.seats) == ["bot:simple"] * 3 + ["m0"] for g in games)
    env = BomberLeagueEnv({"lineups": {"m0": {"bot:simple": 1.0}}, "bots": ["bot:simple"]})
    with pytest.raises(ValueError, match=r"options\['seat'\] must be an int in 0..3, got 4"):
        env.reset(seed=0, options={"seat": 4})
