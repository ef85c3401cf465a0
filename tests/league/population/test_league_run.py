"""League runs end to end on a local Ray: snapshots, PBT, ratings, plots, resume, kill -9."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from palaestra.cli.main import main
from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.run import LEARNER_DIAGNOSTICS, learner_diagnostics
from palaestra.league.population.state import LeagueState

TINY = ["--population", "2", "--steps-per-iteration", "600", "--minibatch-size", "200",
        "--epochs", "1", "--snapshot-every", "2", "--pbt-interval", "2", "--eval-every", "2",
        "--eval-games", "1", "--num-cpus", "2", "--num-boards", "2", "--curriculum"]
# two boards per runner and no curriculum (whose static bots make 800-step games): with 600 env
# steps per iteration, games end and are recorded within the run, as they do at full size


def _state(out: Path) -> LeagueState:
    return LeagueState.load(out / "league.json")


def test_learner_diagnostics_keep_the_trained_members_and_finite_values():
    learners = {"m0": {"entropy": 1.2, "mean_kl_loss": 0.01, "vf_explained_var": float("nan"),
                       "policy_loss": -0.1, "vf_loss": 0.02, "num_module_steps_trained": 8000},
                "m0@it2": {"entropy": 1.0}, "__all_modules__": {"total_loss": 0.3}}
    got = learner_diagnostics(learners, ["m0", "m1"])
    assert got == {"m0": {"entropy": 1.2, "mean_kl_loss": 0.01, "policy_loss": -0.1, "vf_loss": 0.02}}


def test_train_snapshots_pbt_ratings_plots_then_resume(tmp_path):
    out = tmp_path / "league"
    assert main(["league", "train", "--out", str(out), "--iterations", "4", *TINY]) == 0
    state = _state(out)
    assert state.iteration == 4
    assert state.learners() == ["m0", "m1"]
    assert state.snapshots() == ["m0@it2", "m1@it2", "m0@it4", "m1@it4"]
    assert len(state.pbt_events) == 2  # one per PBT round (iterations 2 and 4)
    assert {m.source for m in state.matches} == {"train", "eval"}
    table = state.rating_table()
    assert {"m0", "m1"} <= set(table.players)
    for name in ("league_table.png", "ratings_elo.png", "ratings_ordinal.png", "win_matrix.png"):
        assert (out / "plots" / name).read_bytes()[:4] == b"\x89PNG"
    assert any((out / "tb").iterdir())
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert [e["iteration"] for e in events if e["event"] == "iteration"] == [1, 2, 3, 4]
    for e in (e for e in events if e["event"] == "iteration"):  # the action filter at work, logged
        assert 0.0 < e["action_mask"]["masked_step_share"] <= 1.0
        assert 0.0 < e["action_mask"]["masked_actions_per_step"] < 6.0
        assert e["wall_seconds"] >= e["train_seconds"] > 0
        for learner in ("m0", "m1"):  # PPO's own view of each learner, logged
            got = e["learner"][learner]
            assert set(got) == set(LEARNER_DIAGNOSTICS)
            assert got["entropy"] > 0.0 and got["mean_kl_loss"] >= 0.0
    assert sum(e["event"] == "pbt" for e in events) == 2
    assert len(list((out / "checkpoints").iterdir())) == 2  # keep_checkpoints
    # snapshots are frozen, learners train: compare the two checkpoints kept (iterations 3, 4)
    import pickle

    import numpy as np

    def weights(it, member):
        path = (out / "checkpoints" / f"it{it:06d}" / "learner_group" / "learner" / "rl_module"
                / member / "module_state.pkl")
        return pickle.loads(path.read_bytes())

    def change(member):
        a, b = weights(3, member), weights(4, member)
        return max(float(np.abs(np.asarray(a[k]) - np.asarray(b[k])).max()) for k in a)

    assert change("m0@it2") == 0.0 and change("m1@it2") == 0.0
    assert change("m0") > 0.0 and change("m1") > 0.0

    # a second start on the same directory is refused; --resume continues, with the league's
    # own settings (asking for other ones is an error, not silently ignored)
    assert main(["league", "train", "--out", str(out), "--iterations", "4", *TINY]) == 2
    assert main(["league", "train", "--out", str(out), "--iterations", "5", "--resume",
                 *TINY, "--lr", "0.1"]) == 2
    before = state.matches
    # two more iterations: the second evaluates (a training game may span both on two boards)
    assert main(["league", "train", "--out", str(out), "--iterations", "6", "--resume",
                 *TINY]) == 0
    after = _state(out)
    assert after.iteration == 6 and after.matches[:len(before)] == before
    assert len(after.matches) > len(before)

    rows_path = tmp_path / "eval.json"
    assert main(["league", "eval", "--out", str(out), "--games", "4", "--member", "m0",
                 "--baseline", "random", "--workers", "1", "--json", str(rows_path)]) == 0
    rows = json.loads(rows_path.read_text())
    assert [r["agent"] for r in rows] == ["m0", "random"]
    for r in rows:
        assert r["games"] == 4 and r["wins"] + r["ties"] + r["losses"] == 4 and r["opponent"] == "simple"
    assert main(["league", "eval", "--out", str(out), "--games", "2", "--baseline", "nobody"]) == 2
    assert main(["league", "eval", "--out", str(out), "--member", "nobody"]) == 2

    # a member exported as a checkpoint plays in `bomber play` and passes the sandbox's checks
    from palaestra.agents.registry import resolve_bomber_agent
    from palaestra.agents.sandbox.submission import validate_submission
    from palaestra.envs.bomber.config import BomberConfig
    from palaestra.evaluation.bomber import play_bomber_game

    exported = tmp_path / "m0-export"
    assert main(["league", "export", "--out", str(out), "--member", "m0", "--to",
                 str(exported)]) == 0
    assert main(["league", "export", "--out", str(out), "--member", "m0", "--to",
                 str(exported)]) == 2  # exists
    agent = resolve_bomber_agent(str(exported))
    game = play_bomber_game([agent, *(resolve_bomber_agent("random") for _ in range(3))],
                            BomberConfig(), seed=1)
    assert game.agents[0] == "m0"
    info = validate_submission(str(exported), "bomber", name="m0")
    assert info.name == "m0"


def test_a_team_league_trains_and_rates_teams(tmp_path):
    out = tmp_path / "team"
    assert main(["league", "train", "--out", str(out), "--mode", "team", "--iterations", "3",
                 "--bots", "simple", "filtered-random", *TINY, "--eval-every", "0"]) == 0
    state = _state(out)
    assert state.iteration == 3 and state.matches
    for m in state.matches:  # one record per game, of two teams: each member plays both its seats
        assert len(m.seats) == 2 and len(m.ranks) == 2
    assert {"m0", "m1"} & set(state.rating_table().players)
    assert LeagueConfig.load(out / "league_config.json").mode == "team"
    # resuming keeps the team mode without asking for it again
    assert main(["league", "train", "--out", str(out), "--iterations", "4", "--resume",
                 "--bots", "simple", "filtered-random", *TINY, "--eval-every", "0"]) == 0
    assert _state(out).iteration == 4
    # the evaluation of a team league plays each member on one side against two SimpleAgents
    rows_path = tmp_path / "team-eval.json"
    assert main(["league", "eval", "--out", str(out), "--games", "2", "--member", "m0",
                 "--baseline", "filtered-random", "--workers", "1", "--json", str(rows_path)]) == 0
    rows = json.loads(rows_path.read_text())
    assert [(r["agent"], r["mode"], r["games"]) for r in rows] == [("m0", "team", 2), ("filtered-random", "team", 2)]
    # a replay of evaluation game 1: m0 on side 1 (seats 1 and 3), verified when loaded
    from palaestra.evaluation.replay import load_replay
    from palaestra.evaluation.versus import play_seat

    replay_path = tmp_path / "team-game.json.gz"
    argv = ["league", "replay", "--out", str(out), "--member", "m0", "--game", "1", "--to", str(replay_path)]
    assert main(argv) == 0
    replay = load_replay(replay_path)
    assert replay.agents == ["simple", "m0", "simple", "m0"] and replay.env_config == {"mode": "team"}
    assert replay.meta["member"] == "m0" and replay.meta["game"] == 1
    assert main(argv) == 2  # exists: --force replaces it
    assert main([*argv, "--force"]) == 0 and load_replay(replay_path).actions == replay.actions
    assert main(["league", "replay", "--out", str(out), "--member", "nobody", "--to", str(tmp_path / "x.json")]) == 2
    # the replay's game is the evaluation's: its winners are the side play_seat scores
    from palaestra.league.population.eval import export_member

    exported = export_member(out, "m0", tmp_path / "m0-team")
    won = play_seat(str(exported), "simple", 1, 0, "team") == "win"
    assert won == (set(replay.outcome["winners"]) == {"player_1", "player_3"})


def test_a_team_radio_league_trains_speaks_and_replays(tmp_path):
    out = tmp_path / "radio"
    assert main(["league", "train", "--out", str(out), "--mode", "team_radio", "--iterations", "2",
                 "--bots", "simple", *TINY, "--eval-every", "0"]) == 0
    assert LeagueConfig.load(out / "league_config.json").mode == "team_radio"
    rows_path = tmp_path / "radio-eval.json"
    assert main(["league", "eval", "--out", str(out), "--games", "2", "--member", "m0",
                 "--workers", "1", "--json", str(rows_path)]) == 0
    assert [(r["agent"], r["mode"]) for r in json.loads(rows_path.read_text())] == [("m0", "team_radio")]
    from palaestra.evaluation.replay import load_replay

    replay_path = tmp_path / "radio-game.json.gz"
    assert main(["league", "replay", "--out", str(out), "--member", "m0", "--game", "0",
                 "--to", str(replay_path)]) == 0
    replay = load_replay(replay_path)  # re-simulated and verified
    assert replay.env_config == {"mode": "team_radio"}
    said = [a["player_0"] for a in replay.actions if "player_0" in a]
    assert said and all(len(a) == 3 for a in said)  # the member's moves carry its words


def test_resume_after_kill_9_loses_no_league_state(tmp_path):
    out = tmp_path / "league"
    cmd = [sys.executable, "-m", "palaestra", "league", "train", "--out", str(out),
           "--iterations", "6", *TINY]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            if (out / "league.json").exists() and _state(out).iteration >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the league did not reach iteration 2")
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Ray workers, mid-iteration
    finally:
        proc.wait()
    stored = _state(out)  # whatever state survived is complete and names its checkpoint
    assert stored.checkpoint and (out / stored.checkpoint).is_dir()
    assert main(["league", "train", "--out", str(out), "--iterations", "6", "--resume",
                 *TINY]) == 0
    final = _state(out)
    assert final.iteration == 6
    assert final.matches[:len(stored.matches)] == stored.matches
    assert final.pbt_events[:len(stored.pbt_events)] == stored.pbt_events
    assert set(stored.members) <= set(final.members)


def test_bad_resume_and_bad_options(tmp_path):
    assert main(["league", "train", "--out", str(tmp_path / "none"), "--resume"]) == 2
    assert main(["league", "train", "--out", str(tmp_path / "x"), "--population", "0"]) == 2
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "league.json").write_text("{not json")
    (tmp_path / "bad" / "league_config.json").write_text("{}")
    assert main(["league", "train", "--out", str(tmp_path / "bad"), "--resume"]) == 2


@pytest.mark.slow
def test_league_on_a_two_node_cluster_survives_losing_a_node(tmp_path):
    """Env runners live on a worker node; the node dies mid-run; the league still finishes."""
    import ray
    from ray.cluster_utils import Cluster

    from palaestra.league.population.config import LeagueConfig
    from palaestra.league.population.run import LeagueRun, prepare_run
    from palaestra.league.rllib.session import ray_session

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    worker = cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    out = tmp_path / "league"
    try:
        # one board per runner and 800 steps of it per iteration (a whole game's length), so
        # every iteration in which the runners sample finishes a game and records it: behind the
        # action mask learners live long, and shorter iterations may end none
        config = LeagueConfig(population=2, iterations=6, steps_per_iteration=1600,
                              minibatch_size=400, epochs=1, snapshot_every=0, eval_every=0,
                              num_env_runners=2, num_cpus_per_env_runner=1.0,
                              address=cluster.address, max_restarts=3, num_boards=1)
        config, state = prepare_run(config, out, resume=False, force=False)
        killed: list[int] = []

        def progress(st, stats):
            if st.iteration == 2 and not killed:
                nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
                cluster.remove_node(worker)
                cluster.add_node(num_cpus=2)
                cluster.wait_for_nodes()
                killed.append(len(nodes))

        with ray_session(config):
            run = LeagueRun(config, state, out)
            try:
                final = run.train(progress)
            finally:
                run.stop()
        assert killed == [2]
        assert final.iteration == 6
        assert _state(out).iteration == 6
        # the games in flight on the lost node are gone (iteration 3 may have none, and on a
        # loaded machine the runners may take one more iteration to come back: 4 too); once they
        # are back on the new node every iteration plays and records games again
        its = {m.iteration for m in _state(out).matches}
        assert {1, 2, 5, 6} <= its
    finally:
        cluster.shutdown()


def test_kelly_trains_through_the_same_league_loop(tmp_path):
    out = tmp_path / "kelly"
    args = ["league", "train", "--env", "kelly", "--out", str(out), "--population", "2",
            "--steps-per-iteration", "1200", "--minibatch-size", "400", "--epochs", "1",
            "--pbt-interval", "2", "--gamma", "1.0", "--entropy", "0"]
    assert main([*args, "--iterations", "2"]) == 0
    state = _state(out)
    assert state.bots() == [] and state.snapshots() == [] and state.matches == []
    returns = state.extra["returns"]
    assert set(returns) == {"m0", "m1"} and all(len(rows) >= 1 for rows in returns.values())
    assert len(state.pbt_events) == 1  # ranked by mean return
    e = state.pbt_events[0]
    assert e.donor_rating >= e.target_rating
    assert set(e.after) == {"lr", "entropy_coeff"}
    assert main([*args, "--iterations", "3", "--resume"]) == 0
    assert _state(out).iteration == 3
    # a member's greedy episode as a replay: re-simulated on load, the same file for the same game
    from palaestra.evaluation.replay import load_replay

    paths = [tmp_path / "k.json", tmp_path / "k2.json", tmp_path / "k3.json"]
    for path, game in zip(paths, (1, 1, 2), strict=True):
        assert main(["league", "replay", "--out", str(out), "--member", "m1", "--game", str(game),
                     "--to", str(path)]) == 0
    replay = load_replay(paths[0])
    assert replay.env_id == "palaestra/KellyCoinflip-v0" and replay.agents == ["m1"]
    assert replay.steps >= 1 and all(isinstance(a, int) and a >= 0 for a in replay.actions)
    strip = lambda r: {**r.__dict__, "created": None}  # noqa: E731
    assert strip(load_replay(paths[1])) == strip(replay)
    assert load_replay(paths[2]).seed != replay.seed
    assert main(["league", "replay", "--out", str(out), "--member", "m9", "--to", str(tmp_path / "x.json")]) == 2


def test_a_counting_member_replays_its_episode(tmp_path):
    from palaestra.evaluation.replay import load_replay

    out = tmp_path / "counting"
    assert main(["league", "train", "--env", "counting", "--out", str(out), "--population", "1",
                 "--steps-per-iteration", "400", "--minibatch-size", "200", "--epochs", "1",
                 "--iterations", "1"]) == 0
    path = tmp_path / "c.json.gz"
    assert main(["league", "replay", "--out", str(out), "--member", "m0", "--to", str(path)]) == 0
    replay = load_replay(path)
    assert replay.env_id == "palaestra/GridCounting-v0"
    assert all(a in range(5) for a in replay.actions)
    assert replay.outcome["steps"] == replay.steps and "T" in replay.outcome


def test_old_snapshots_leave_the_algorithm_for_the_archive(tmp_path):
    out = tmp_path / "league"
    args = ["league", "train", "--out", str(out), *TINY, "--snapshot-every", "1",
            "--max-snapshots", "1", "--eval-every", "0", "--pbt-interval", "10"]
    assert main([*args, "--iterations", "3"]) == 0
    state = _state(out)
    assert len(state.snapshots()) == 6  # m0, m1 at iterations 1, 2, 3: all stay in the record
    modules = out / state.checkpoint / "learner_group" / "learner" / "rl_module"
    held = {p.name for p in modules.iterdir() if p.is_dir()}
    assert held == {"m0", "m1", "m0@it3", "m1@it3"}
    assert {p.name for p in (out / "archive").iterdir()} == {"m0@it1", "m1@it1", "m0@it2",
                                                             "m1@it2"}
    # retired snapshots are no longer drawn, but can still be exported and played
    assert main([*args, "--iterations", "4", "--resume"]) == 0
    final = _state(out)
    assert not any("@it1" in s or "@it2" in s for m in final.matches if m.iteration == 4
                   for s in m.seats)
    assert main(["league", "export", "--out", str(out), "--member", "m0@it1", "--to",
                 str(tmp_path / "old")]) == 0


def test_the_imitation_warm_start_reaches_the_learners_and_the_runners(tmp_path, ray_session):
    import numpy as np

    from palaestra.envs.bomber.config import BomberConfig
    from palaestra.league.population.algorithm import module_spec
    from palaestra.league.population.curriculum import CurriculumConfig
    from palaestra.league.population.imitation import collect_demonstrations, fit_module
    from palaestra.league.population.imitation_config import ImitationConfig
    from palaestra.league.population.run import LeagueRun, prepare_run

    teacher = ImitationConfig(teacher="cautious-simple", samples=1500, epochs=10, num_boards=8,
                              minibatch_size=256, lr=3e-3)
    config = LeagueConfig(population=1, iterations=1, steps_per_iteration=600, minibatch_size=200,
                          epochs=1, bots=("simple",), snapshot_every=0, eval_every=0, num_boards=2,
                          imitation=teacher, seed=5, curriculum=CurriculumConfig(stages=(), thresholds=()))
    config, state = prepare_run(config, tmp_path / "warm", resume=False, force=False)
    run = LeagueRun(config, state, tmp_path / "warm")
    try:
        run.start()
        runner_module = run.algo.env_runner_group.local_env_runner.module["m0"]
        other = collect_demonstrations(teacher, BomberConfig(observation="planes"), config.action_filter,
                                       config.gamma, np.random.default_rng(99))
        no_fit = ImitationConfig(teacher="cautious-simple", epochs=1, lr=1e-12)

        def cross_entropy(module) -> float:  # on games the fit never saw, without learning
            return fit_module(module, other, no_fit, np.random.default_rng(0))["cross_entropy"]

        fresh = module_spec(config).build()
        assert cross_entropy(runner_module) < cross_entropy(fresh) - 0.05
        events = [json.loads(line) for line in (tmp_path / "warm" / "events.jsonl").read_text().splitlines()]
        (warm,) = [e for e in events if e["event"] == "imitation"]
        assert warm["teacher"] == "cautious-simple" and warm["fit"]["m0"]["samples"] >= 1500
    finally:
        run.stop()

