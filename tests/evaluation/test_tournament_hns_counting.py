"""Tournaments of hide-and-seek (a hider player against a seeker player, sides rotated) and of
counting (every seat on its own copy of the same episode): schedules, ranks, stored and verified
replays, determinism, forfeits of faulty submissions, and the errors for bad input."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import palaestra.envs  # noqa: F401  (registers the envs)
from palaestra.agents.sandbox import protocol as P
from palaestra.agents.sandbox.isolation import sha256_of
from palaestra.agents.sandbox.submission import SubmissionError, validate_submission
from palaestra.cli.main import main
from palaestra.envs.hide_and_seek.env import HideAndSeekParallelEnv
from palaestra.envs.hide_and_seek.stats import team_ranks
from palaestra.errors import ConfigError, UnknownNameError
from palaestra.evaluation.ratings import leaderboard_rows
from palaestra.evaluation.replay import load_replay, replay_from_dict, save_replay, verify_replay
from palaestra.evaluation.store import TournamentStore
from palaestra.evaluation.tournament import (
    TournamentConfig,
    local_runner,
    round_robin,
    run_tournament,
    tournament_table,
)

SMALL = {"grid_size": 10, "n_hiders": 2, "n_seekers": 1, "n_boxes": 1, "n_ramps": 1, "max_steps": 30}
"""A quick hide-and-seek game: two hiders (one submission runs two processes) against one seeker."""
SEEK_STEPS = 30 - 12  # prep_fraction 0.4 of 30 steps
NOOP = [0, 0, 0]
FAST = {"step_time_s": 0.5, "overage_bank_s": 1.0, "init_time_s": 20.0}


def _hns(name: str, agents: tuple[str, ...], **kw: Any) -> TournamentConfig:
    return TournamentConfig(name, "hide-and-seek", agents, env_config=dict(SMALL), **kw)


def _submit(store: TournamentStore, tmp_path: Path, name: str, env: str, code: str) -> None:
    path = tmp_path / f"{name}.py"
    path.write_text(code)
    store.add_submission(name, env, "python", f"python:{path}", sha256_of(path), {})


def _done(store: TournamentStore, name: str) -> list[dict[str, Any]]:
    return store.matches(name, status="done")


# -- hide-and-seek --------------------------------------------------------------------------------
def test_hide_and_seek_rule_more_than_half_hidden_wins_half_is_a_draw() -> None:
    assert team_ranks(10, 18) == (0, 1)
    assert team_ranks(9, 18) == (0, 0)
    assert team_ranks(8, 18) == (1, 0)
    assert team_ranks(0, 0) == (0, 0)


def test_hide_and_seek_round_robin_plays_every_pair_on_both_sides(tmp_path: Path) -> None:
    config = _hns("hns", ("heuristic", "random", "noop"), seed=11)
    schedule = round_robin(config)
    assert Counter(tuple(m["seats"]) for m in schedule) == {
        pair: 1 for pair in (("heuristic", "random"), ("random", "heuristic"), ("heuristic", "noop"),
                             ("noop", "heuristic"), ("random", "noop"), ("noop", "random"))}
    seeds = {frozenset(m["seats"]): set() for m in schedule}
    for m in schedule:
        seeds[frozenset(m["seats"])].add(m["seed"])
    assert all(len(s) == 1 for s in seeds.values())  # both sides of a pair on the same layout

    store = TournamentStore(tmp_path / "t.sqlite")
    summary = run_tournament(store, config, local_runner(1))
    assert (summary.played, summary.failed) == (6, {})
    for m in _done(store, "hns"):
        res = m["result"]
        hider, seeker = res["seats"]
        assert res["teams"] == [[0], [1]] and res["faults"] == {} and res["steps"] == 30
        replay = replay_from_dict(store.replay(m["match_id"]))
        verify_replay(replay)  # re-simulated from the seed and the recorded actions
        assert replay.agents == [hider, hider, seeker] and replay.seed == m["seed"]
        assert replay.meta["teams"] == {"hider": hider, "seeker": seeker}
        seek = replay.outcome["stats"]["seek"]
        assert seek["steps"] == SEEK_STEPS
        assert res["ranks"] == list(team_ranks(seek["hidden_steps"], seek["steps"]))
        assert res["scores"] == [replay.outcome["returns"]["hider"], replay.outcome["returns"]["seeker"]]
        assert res["scores"][0] == 2 * seek["hidden_steps"] - SEEK_STEPS == -res["scores"][1]
        save_replay(replay, tmp_path / "r.json.gz")
        assert load_replay(tmp_path / "r.json.gz") == replay
    table = tournament_table(store, "hns")
    assert set(table.players) == {"heuristic", "random", "noop"}
    assert all(table.players[p].games == 4 for p in table.players)


def test_hide_and_seek_matchmaking_alternates_sides() -> None:
    store = TournamentStore(":memory:")
    run_tournament(store, _hns("mm", ("heuristic", "random"), schedule="matchmaking", rounds=4, seed=2),
                   local_runner(1))
    hiders = [m["seats"][0] for m in store.matches("mm")]
    assert len(hiders) == 4 and all(a != b for a, b in zip(hiders, hiders[1:]))


def _tables(tmp_path: Path, tag: str, config: TournamentConfig) -> tuple[str, str]:
    store = TournamentStore(tmp_path / f"{tag}.sqlite")
    run_tournament(store, config, local_runner(1))
    rows = json.dumps(leaderboard_rows(tournament_table(store, config.name)), sort_keys=True)
    matches = store.matches(config.name)
    replays = [store.replay(m["match_id"]) for m in matches]
    for replay in replays:  # the recording time is the only thing allowed to differ
        for game in replay.get("games", [replay]):
            game.pop("created")
    return rows, json.dumps([matches, replays], sort_keys=True)


def test_the_same_seed_gives_byte_identical_tables(tmp_path: Path) -> None:
    for config in (_hns("d", ("heuristic", "random", "noop"), seed=5),
                   TournamentConfig("d", "counting", ("counter", "random", "rush"), rounds=2, seed=5)):
        first, again = _tables(tmp_path, f"{config.env}-a", config), _tables(tmp_path, f"{config.env}-b", config)
        assert first == again
    other = _tables(tmp_path, "other-seed", TournamentConfig("d", "counting", ("counter", "random", "rush"),
                                                               rounds=2, seed=6))
    assert other[1] != first[1]


# -- counting -------------------------------------------------------------------------------------
def test_counting_round_robin_seats_everyone_on_the_same_episode(tmp_path: Path) -> None:
    store = TournamentStore(tmp_path / "t.sqlite")
    config = TournamentConfig("c", "counting", ("counter", "rush", "off-by-one", "random"), players=3, seed=4)
    summary = run_tournament(store, config, local_runner(1))
    assert (summary.played, summary.failed) == (4, {})  # C(4, 3), one match per group
    for m in _done(store, "c"):
        res = m["result"]
        games = [replay_from_dict(g) for g in store.replay(m["match_id"])["games"]]
        assert [g.agents for g in games] == [[a] for a in res["seats"]]
        assert {g.outcome["T"] for g in games} == {games[0].outcome["T"]}  # the same episode
        for game, score in zip(games, res["scores"]):
            verify_replay(game)
            assert game.seed == m["seed"] and score == game.outcome["reward"] == float(game.outcome["success"])
        assert res["ranks"] == [0 if s == max(res["scores"]) else 1 for s in res["scores"]]
        if "counter" in res["seats"]:  # the exact counter is always on time
            assert res["ranks"][res["seats"].index("counter")] == 0
        assert res["steps"] == max(g.steps for g in games)


# -- faults ---------------------------------------------------------------------------------------
CRASHES = '''class Agent:
    """Moves about; the instance in a team's second seat, or a seeker, crashes at its sixth step."""
    def reset(self, rng):
        self.n = 0
    def act(self, obs):
        me = obs["self"]
        if self.n == 5 and (me[7] == 1 or me[6] == 1):
            raise RuntimeError("boom at step 5")
        self.n += 1
        return [1 + self.n % 4, 0, 0]
'''
GARBAGE = "def agent(obs, config):\n    print('garbage on stdout')\n    return 'all in'\n"


def test_a_crashing_or_garbage_submission_forfeits_and_the_match_plays_on(tmp_path: Path, trust: bool) -> None:
    store = TournamentStore(tmp_path / "t.sqlite")
    _submit(store, tmp_path, "crashes", "hide-and-seek", CRASHES)
    _submit(store, tmp_path, "garbage", "hide-and-seek", GARBAGE)
    summary = run_tournament(store, _hns("bad", ("noop", "crashes", "garbage"), seed=1, limits=FAST),
                             local_runner(1), trust_submissions=trust)
    assert (summary.played, summary.failed) == (6, {})
    for m in _done(store, "bad"):
        res = m["result"]
        replay = replay_from_dict(store.replay(m["match_id"]))
        verify_replay(replay)
        assert res["steps"] == replay.steps == 30  # played to the end
        faulty = {k for k, name in enumerate(res["seats"]) if name != "noop"}
        assert set(map(int, res["faults"])) == faulty
        for k in faulty:
            why = res["faults"][str(k)]
            assert why.startswith("crash:" if res["seats"][k] == "crashes" else ("invalid_action:", "protocol:"))
        if len(faulty) == 1:
            (k,) = faulty
            assert res["ranks"][k] == 1 and res["ranks"][1 - k] == 0  # a forfeit ranks last
        else:
            assert res["ranks"] == [0, 0]  # both forfeited: a draw
        names = ["hider_0", "hider_1", "seeker_0"]
        team = {0: names[:2], 1: names[2:]}
        for k in faulty:
            after = 0 if res["seats"][k] == "garbage" else 6  # the crash in step 5 stops the team
            assert all(step[n] == NOOP for step in replay.actions[after:] for n in team[k])
        if res["seats"][0] == "crashes":  # the first hider moved until its teammate crashed
            assert all(step["hider_0"] != NOOP for step in replay.actions[:6])
            assert replay.actions[5]["hider_1"] == NOOP
    # counting: the crash forfeits its copy, the other seat's game is untouched
    _submit(store, tmp_path, "quits", "counting",
            "def agent(obs, config):\n    raise RuntimeError('no counting today')\n")
    summary = run_tournament(store, TournamentConfig("cq", "counting", ("counter", "quits"), seed=3, limits=FAST),
                             local_runner(1), trust_submissions=trust)
    assert (summary.played, summary.failed) == (1, {})
    (m,) = _done(store, "cq")
    res = m["result"]
    assert res["ranks"] == [0, 1] and res["scores"][0] == 1.0 and res["faults"]["1"].startswith("crash:")
    games = [replay_from_dict(g) for g in store.replay(m["match_id"])["games"]]
    for game in games:
        verify_replay(game)
    assert set(games[1].actions) == {0} and games[1].outcome["result"] == "timeout"


def test_submissions_for_these_envs_are_validated_in_the_sandbox(tmp_path: Path) -> None:
    bot = tmp_path / "walker.py"
    bot.write_text("def agent(obs, config):\n    return [int(obs['self'][0]) % 5, 1, 0]\n")
    info = validate_submission(str(bot), "hide-and-seek", "walker", config=SMALL)
    assert info.env == "hide-and-seek" and info.probe_steps == 30
    info = validate_submission("builtin:counter", "counting", "counter")  # a built-in served by the worker
    assert info.env == "counting" and info.probe_steps > 0
    (tmp_path / "bad.py").write_text("def agent(obs, config):\n    return [1, 2]\n")
    with pytest.raises(SubmissionError, match=r"invalid_action.*\[move, face, interact\]"):
        validate_submission(str(tmp_path / "bad.py"), "hide-and-seek", "bad", config=SMALL)
    with pytest.raises(SubmissionError, match="checkpoint submissions are supported for bomber, kelly, "
                       "kelly-generalized only, not counting"):
        validate_submission(str(tmp_path), "counting", "ckpt")


# -- protocol -------------------------------------------------------------------------------------
def test_observations_and_actions_of_these_envs_cross_the_protocol() -> None:
    game = HideAndSeekParallelEnv(**SMALL)
    obs, _ = game.reset(seed=3)
    counting, _ = gym.make(P.env_ids()["counting"]).reset(seed=3)
    for env, observation in (("hide-and-seek", obs["seeker_0"]), ("counting", counting)):
        decoded = P.decode_observation(env, P.loads(P.dumps(P.act_message(observation)))["obs"])
        assert decoded.keys() == observation.keys()
        for key, value in observation.items():
            assert type(decoded[key]) is type(value)
            assert np.asarray(decoded[key]).dtype == np.asarray(value).dtype
            np.testing.assert_array_equal(decoded[key], value)
    hns, count = P.action_rule("hide-and-seek"), P.action_rule("counting")
    assert hns.check([4, 4, 2]) == [4, 4, 2] and hns.default(3) == NOOP
    for bad in ([5, 0, 0], [0, 5, 0], [0, 0, 3], [1, 2], 1, [True, 0, 0], "[0,0,0]"):
        with pytest.raises(P.InvalidAction):
            hns.check(bad)
    assert count.check(4) == 4 and count.default(0) == 0 and count.default(7) == 0
    for bad in (5, -1, 1.0, True, [1]):
        with pytest.raises(P.InvalidAction):
            count.check(bad)


# -- bad input ------------------------------------------------------------------------------------
def test_bad_input_is_refused_with_what_to_do(tmp_path: Path) -> None:
    store = TournamentStore(tmp_path / "t.sqlite")
    with pytest.raises(UnknownNameError, match="unknown agent 'simple' for hide-and-seek; known: heuristic, "
                       "noop, random"):
        run_tournament(store, _hns("x", ("simple", "random")))
    with pytest.raises(UnknownNameError, match="unknown agent 'kelly' for counting; known: counter"):
        run_tournament(store, TournamentConfig("x", "counting", ("kelly", "counter")))
    with pytest.raises(ConfigError, match="'seeker' plays the seekers only.*use one of heuristic, noop, random"):
        run_tournament(store, _hns("x", ("heuristic", "seeker")))
    _submit(store, tmp_path, "bettor", "kelly", "def agent(obs, config):\n    return 0\n")
    with pytest.raises(ConfigError, match="'bettor' was submitted for kelly, not counting"):
        run_tournament(store, TournamentConfig("x", "counting", ("bettor", "counter")))
    with pytest.raises(ConfigError, match=r"hide-and-seek matches always have 2 players \(a hider"):
        _hns("x", ("heuristic", "random", "noop"), players=3)
    with pytest.raises(ConfigError, match="n_seekers must lie in 1..3"):
        TournamentConfig("x", "hide-and-seek", ("heuristic", "random"), env_config={"n_seekers": 0})
    with pytest.raises(ConfigError, match="env_config is not valid for counting"):
        TournamentConfig("x", "counting", ("counter", "rush"), env_config={"mode": "team"})
    assert store.tournaments() == []  # nothing was scheduled


def test_the_cli_runs_exports_and_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "t.sqlite")
    argv = ["tournament", "--db", db, "run", "--env", "hide-and-seek", "--variant", "quadrant", "--name", "q",
            "--agent", "heuristic", "--agent", "random", "--seed", "7", "--workers", "1"]
    assert main(argv) == 0
    assert "ran q: 2 played now" in capsys.readouterr().out
    with TournamentStore(db) as store:
        config = store.tournament_config("q")
        matches = store.matches("q")
    assert config["env_config"]["grid_size"] == 10 and config["env_config"]["max_steps"] == 60
    out = tmp_path / "m.json.gz"
    assert main(["tournament", "--db", db, "replay", "--name", "q", "--match", matches[0]["match_id"],
                 "--out", str(out)]) == 0
    assert load_replay(out).agents == [matches[0]["seats"][0]] * 2 + [matches[0]["seats"][1]] * 2
    capsys.readouterr()
    assert main(["tournament", "--db", db, "run", "--env", "counting", "--variant", "full", "--name", "c",
                 "--agent", "counter", "--agent", "rush"]) == 2
    assert "--variant is a hide-and-seek option" in capsys.readouterr().out
