"""`palaestra prefs train --env bomber`: the config, the clips of the learner's games, and the loop
end to end on a tiny league (two training rounds of one 256-step iteration each)."""

from __future__ import annotations

import json
import shlex
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from palaestra.cli.main import build_parser, main
from palaestra.league.population.envs.bomber import OBS_SPACE
from palaestra.league.prefs.bomber_queries import INITIAL_AGENT, clip_starts, draw_pairs, play_round
from palaestra.league.prefs.bomber_run import BomberPrefsConfig, BomberPrefsRun
from palaestra.league.prefs.labels import LabelStore
from palaestra.league.prefs.rounds import Labelling, RoundsConfig
from palaestra.league.prefs.segments import Segment


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


def test_config_is_checked_and_names_the_bad_value() -> None:
    for bad, message in (
            ({"member": "m1"}, "member 'm1' is not a learner of a population of 1 (m0)"),
            ({"games_per_round": 0}, "games_per_round must be a positive integer, got 0"),
            ({"segments_per_game": 1.5}, "segments_per_game must be a positive integer, got 1.5"),
            ({"num_env_runners": -1}, "num_env_runners must be an integer >= 0, got -1"),
            ({"timesteps": 300, "steps_per_iteration": 200, "minibatch_size": 100, "rounds": 3},
             "timesteps 300 make 2 league iterations of 200 steps, fewer than the 3 rounds"),
            ({"minibatch_size": 5000}, "minibatch_size 5000 exceeds steps_per_iteration 4000"),
            ({"labels": "robot"}, "labels must be 'synthetic' or 'human', got 'robot'"),
            ({"budget": 3, "rounds": 5}, "less than one label per round")):
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            BomberPrefsConfig(**bad)  # type: ignore[arg-type]
    c = BomberPrefsConfig(timesteps=10_000, steps_per_iteration=4000, rounds=2, population=2,
                          member="m1")
    assert c.iterations == 3 and [c.iterations_after(k) for k in (1, 2)] == [1, 3]
    assert c.segment_length == 32 and c.to_json()["env"] == "bomber"
    league = c.league_config(3)
    assert (league.sampler, league.model, league.action_mask, league.population) == ("boards", "cnn", True, 2)


def test_the_baseline_command_is_the_same_league_on_the_true_reward(tmp_path: Path) -> None:
    from palaestra.cli.league import _config

    c = BomberPrefsConfig(timesteps=10_000, steps_per_iteration=2000, minibatch_size=250, seed=7,
                          rounds=2, num_cpus=1)
    commands = c.baseline_commands(tmp_path / "prefs", tmp_path / "true")
    argv = shlex.split(commands["train"])[1:]
    args = build_parser([argv[0]]).parse_args(argv)
    assert _config(args) == c.league_config(5)  # every league setting, the reward model apart
    assert args.out == tmp_path / "true"
    for key, league in (("eval", tmp_path / "true"), ("eval_prefs", tmp_path / "prefs" / "league")):
        argv = shlex.split(commands[key])[1:]
        ev = build_parser([argv[0]]).parse_args(argv)
        assert (ev.out, ev.member, ev.games) == (league, ["m0"], 1000)


def test_options_of_another_env_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "p")
    code, text = run(capsys, "prefs", "train", "--env", "kelly", "--games-per-round", "4", "--out", out)
    assert code == 2 and "--games-per-round applies to --env bomber only, not --env kelly" in text
    code, text = run(capsys, "prefs", "train", "--env", "bomber", "--action-offset", "1",
                     "--eval-episodes", "5", "--out", out)
    assert code == 2 and ("--action-offset, --eval-episodes applies to --env kelly and "
                          "kelly-generalized only, not --env bomber") in text
    code, text = run(capsys, "prefs", "train", "--env", "bomber", "--member", "m4", "--out", out)
    assert code == 2 and "member 'm4' is not a learner" in text
    assert not (tmp_path / "p").exists()


def test_clip_windows_end_with_the_last_steps_and_do_not_overlap() -> None:
    rng = np.random.default_rng(0)
    assert clip_starts(5, 8, 4, rng) == [0]  # a short life: one clip, padded
    starts = clip_starts(100, 8, 4, rng)
    assert len(starts) == 4 and starts[-1] == 92 and starts == sorted(starts)
    assert all(b - a >= 8 for a, b in zip(starts, starts[1:])) and all((92 - s) % 8 == 0 for s in starts)
    assert clip_starts(100, 8, 4, np.random.default_rng(1)) == clip_starts(100, 8, 4, np.random.default_rng(1))
    segs = [Segment("bomber", np.zeros((2, 3)), np.zeros(2), np.zeros(2), start=k) for k in range(4)]
    pairs = draw_pairs(segs, 6, np.random.default_rng(0))
    assert len({frozenset((a.start, b.start)) for a, b in pairs}) == 6  # every pair once
    assert all(a is not b for a, b in pairs)
    with pytest.raises(ValueError, match="4 clips make 6 pairs, fewer than the 7 asked for"):
        draw_pairs(segs, 7, np.random.default_rng(0))


def test_a_round_replays_the_same_games_and_clips_for_a_seed(tmp_path: Path) -> None:
    pytest.importorskip("pygame")

    def one(tile: int | None, replays: Path | None = None) -> tuple[list[Segment], object]:
        return play_round(tmp_path / "no-league", "m0", pairs=3, min_games=2, seed=11, length=8,
                          per_game=2, rng=np.random.default_rng(3), tile=tile, replays=replays)

    clips, games = one(None, tmp_path / "replays")
    again, _ = one(16)
    assert games.player == INITIAL_AGENT and games.games >= 2 and games.clips == len(clips)
    assert len(clips) * (len(clips) - 1) // 2 >= 3
    assert [(c.seed, c.start, c.agent) for c in clips] == [(c.seed, c.start, c.agent) for c in again]
    assert all(np.array_equal(a.obs, b.obs) and np.array_equal(a.actions, b.actions)
               for a, b in zip(clips, again))
    assert clips[0].obs.shape == (8, OBS_SPACE.shape[0]) and clips[0].frames is None
    assert again[0].frames is not None and again[0].frames.shape[0] == 8  # for the window
    assert clips[0].agent == f"{INITIAL_AGENT} (player_0)" and clips[-1].agent.endswith(f"(player_{games.games - 1})")
    assert len(list((tmp_path / "replays").glob("game-*.json.gz"))) == games.games


def test_a_human_labels_store_each_segment_once_and_a_stop_is_seen(tmp_path: Path) -> None:
    segs = [Segment("bomber", np.full((2, 3), k), np.zeros(2), np.full(2, k)) for k in range(3)]
    pairs = [(segs[0], segs[1]), (segs[1], segs[2]), (segs[0], segs[2])]
    with LabelStore(tmp_path / "l.sqlite") as store:
        labelling = Labelling(RoundsConfig(labels="human"), store, lambda shown: [1.0, None])
        assert labelling.label(pairs, np.random.default_rng(0)) == 1 and labelling.stopped
        assert store.count("bomber", "human") == 1
        synthetic = Labelling(RoundsConfig(), store)
        assert synthetic.label(pairs, np.random.default_rng(0)) == 3 and not synthetic.stopped
        assert [c.label for c in store.comparisons("bomber")][1:] == [0.0, 0.0, 0.0]
    with sqlite3.connect(tmp_path / "l.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM segments").fetchone()[0] == 2 + 3  # once a call
    with pytest.raises(ValueError, match="human labels need a labeller"):
        Labelling(RoundsConfig(labels="human"), LabelStore(tmp_path / "x.sqlite"))


def test_a_human_who_stops_in_the_initial_round_ends_the_run_before_any_league(tmp_path: Path) -> None:
    pytest.importorskip("pygame")
    shown: list[list[tuple[Segment, Segment]]] = []

    def labeller(pairs: list[tuple[Segment, Segment]]) -> list[float | None]:
        shown.append(pairs)
        return [1.0]  # one label, then the window was closed

    config = BomberPrefsConfig(labels="human", budget=6, rounds=2, timesteps=400,
                               steps_per_iteration=200, minibatch_size=100, games_per_round=2,
                               segments_per_game=2, segment_length=8)
    summary = BomberPrefsRun(config, tmp_path / "me", labeller=labeller).train()
    assert len(shown) == 1 and len(shown[0]) == 2 and all(s.frames is not None for s in shown[0][0])
    assert summary["labels"] == 1 and [h["round"] for h in summary["history"]] == [0]
    assert summary["baseline"] is None and summary["league"]["iterations"] == 0
    assert not (tmp_path / "me" / "league").exists() and (tmp_path / "me" / "reward_model").is_dir()


def test_prefs_train_bomber_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "prefs"
    args = ["prefs", "train", "--env", "bomber", "--budget", "6", "--rounds", "2", "--timesteps",
            "512", "--steps-per-iteration", "256", "--minibatch-size", "128", "--games-per-round",
            "2", "--segments-per-game", "2", "--segment-length", "8", "--ensemble", "2",
            "--num-cpus", "1", "--out", str(out)]
    code, text = run(capsys, *args)
    assert code == 0, text
    assert "round 2: 6 labels" in text and "palaestra league train --env bomber" in text
    summary = json.loads((out / "prefs_results.json").read_text())
    history = summary["history"]
    assert summary["labels"] == 6 and [h["labels"] for h in history] == [2, 4, 6]
    assert [h["player"] for h in history] == [INITIAL_AGENT, INITIAL_AGENT, "m0@it1"]  # then the learner
    assert [h["league_iteration"] for h in history] == [0, 1, 2]
    # resumed: the steps go on (the boards sampler steps its 32 boards at once: 8 steps of 32)
    assert [h["ppo_steps"] for h in history] == [0, 256, 512]
    # 8 steps a board: games rarely finish inside this tiny league's iterations
    assert all(h["train_games"] == 0 or 0.0 <= h["train_win_rate"] <= 1.0 for h in history[1:])
    assert all(0.0 <= h["fit_accuracy"] <= 1.0 for h in history)
    assert summary["config"]["iterations"] == 2 and summary["league"]["ppo_steps"] == 512
    assert "--iterations 2 --steps-per-iteration 256" in summary["baseline"]["train"]
    with LabelStore(out / "labels.sqlite") as store:
        assert store.count("bomber", "synthetic") == 6
    assert (out / "reward_model" / "reward_model.pt").is_file()
    league = json.loads((out / "league" / "league.json").read_text())
    assert league["iteration"] == 2 and (out / "league" / league["checkpoint"]).is_dir()
    config = json.loads((out / "league" / "league_config.json").read_text())
    assert config["reward_model"] == str((out / "reward_model").resolve())
    assert sorted(p.name for p in (out / "replays").iterdir()) == ["r00", "r01", "r02"]
    code, text = run(capsys, "league", "eval", "--out", str(out / "league"), "--games", "1",
                     "--workers", "1")
    assert code == 0 and "m0" in text, text
    assert run(capsys, *args)[0] == 2  # the run exists: --force replaces it
